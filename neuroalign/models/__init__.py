"""Networks shipped with neuroalign.

:func:`default_model` returns the small convnet trained on the synthetic world
(``experiments/train_default_model.py``); :data:`DEFAULT_LAYERS` lists its layers from
shallow to deep for comparison with the brain.
"""

from neuroalign.models._convnet import DEFAULT_LAYERS, DEFAULT_WEIGHTS, ConvNet, default_model

__all__ = ["DEFAULT_LAYERS", "DEFAULT_WEIGHTS", "ConvNet", "default_model"]
