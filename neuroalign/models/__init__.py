"""Networks shipped with neuroalign.

:func:`default_model` returns the small convnet trained on the synthetic world
(``experiments/train_default_model.py``); :data:`DEFAULT_LAYERS` lists its layers from
shallow to deep for comparison with the brain. :func:`default_ddpm` returns the small
diffusion model trained on the same world (``experiments/train_ddpm.py``), the default
generator of :mod:`neuroalign.synthesis`.
"""

from neuroalign.models._convnet import DEFAULT_LAYERS, DEFAULT_WEIGHTS, ConvNet, default_model
from neuroalign.models._ddpm import (
    DDPM_SCHEDULER_CONFIG,
    DDPM_UNET_CONFIG,
    DEFAULT_DDPM_WEIGHTS,
    default_ddpm,
)

__all__ = [
    "DDPM_SCHEDULER_CONFIG",
    "DDPM_UNET_CONFIG",
    "DEFAULT_DDPM_WEIGHTS",
    "DEFAULT_LAYERS",
    "DEFAULT_WEIGHTS",
    "ConvNet",
    "default_ddpm",
    "default_model",
]
