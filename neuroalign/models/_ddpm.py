"""The default diffusion model: a small pixel-space DDPM trained on the synthetic world.

A ``diffusers`` ``UNet2DModel`` (about one million parameters, 32 x 32 RGB) and its
``DDPMScheduler``, trained by ``experiments/train_ddpm.py`` on the synthetic stimuli.
The weights are shipped as float16 safetensors together with both configurations.
"""

import json
from pathlib import Path

from neuroalign._backend import resolve_device
from neuroalign._optional import import_optional
from neuroalign.models._weights import read_weights

__all__ = ["DDPM_SCHEDULER_CONFIG", "DDPM_UNET_CONFIG", "DEFAULT_DDPM_WEIGHTS", "default_ddpm"]

DEFAULT_DDPM_WEIGHTS = Path(__file__).parent / "weights" / "default_ddpm.safetensors"
_TRAINING_SCRIPT = "experiments/train_ddpm.py"

DDPM_UNET_CONFIG = {
    "sample_size": 32,
    "in_channels": 3,
    "out_channels": 3,
    "block_out_channels": [32, 64, 64],
    "layers_per_block": 1,
    "down_block_types": ["DownBlock2D", "DownBlock2D", "DownBlock2D"],
    "up_block_types": ["UpBlock2D", "UpBlock2D", "UpBlock2D"],
    "norm_num_groups": 8,
}
DDPM_SCHEDULER_CONFIG = {
    "num_train_timesteps": 1000,
    "beta_schedule": "squaredcos_cap_v2",
    "prediction_type": "epsilon",
    "clip_sample": True,
    # Schedulers derived with from_config (DPM-Solver, Euler...) inherit this spacing; their
    # default "linspace" starts at t=999, where this schedule's signal is 5e-5 of the sample
    # and the first clean-image estimate overflows.
    "timestep_spacing": "leading",
}


def default_ddpm(weights=None, *, device="cpu"):
    """The project's default diffusion pipeline: a small DDPM of the synthetic world.

    Samples are 32 x 32 RGB images in [-1, 1] (the diffusers convention); brain
    objectives in :mod:`neuroalign.synthesis` map them to [0, 1] and resample them to
    the feature extractor's resolution.

    Parameters
    ----------
    weights : str or path-like, optional
        A safetensors file written by ``experiments/train_ddpm.py``; default: the
        weights shipped in ``neuroalign/models/weights/default_ddpm.safetensors``.
    device : {"cpu", "cuda", "cuda:N", "auto"} or torch.device, default="cpu"

    Returns
    -------
    pipeline : diffusers.DDPMPipeline
        ``pipeline.unet`` (in eval mode, float32) and ``pipeline.scheduler``; replace
        the scheduler with any other diffusers scheduler, e.g.
        ``DDIMScheduler.from_config(pipeline.scheduler.config)``.

    Raises
    ------
    FileNotFoundError
        If the weights file does not exist.
    ValueError
        If the file is not a readable safetensors file written by the training script.
    neuroalign.exceptions.MissingDependencyError
        If ``diffusers`` is not installed (``pip install 'neuroalign[synthesis]'``).

    See Also
    --------
    neuroalign.synthesis.guided_sample : steer its samples with a brain objective.

    Examples
    --------
    >>> from neuroalign.models import default_ddpm
    >>> pipeline = default_ddpm()
    >>> pipeline.unet.config.sample_size, type(pipeline.scheduler).__name__
    (32, 'DDPMScheduler')
    """
    diffusers = import_optional("diffusers", extra="synthesis", feature="The default DDPM")
    path, state, metadata = read_weights(
        weights,
        DEFAULT_DDPM_WEIGHTS,
        script=_TRAINING_SCRIPT,
        required=("unet_config", "scheduler_config"),
    )
    unet = diffusers.UNet2DModel(**json.loads(metadata["unet_config"]))
    try:
        unet.load_state_dict({key: value.float() for key, value in state.items()})
    except RuntimeError as err:
        raise ValueError(
            f"'weights' file {str(path)!r} does not match its UNet configuration ({err}). "
            f"Recreate it with `python {_TRAINING_SCRIPT}`."
        ) from err
    scheduler = diffusers.DDPMScheduler(**json.loads(metadata["scheduler_config"]))
    unet = unet.to(resolve_device(device)).eval()
    unet.requires_grad_(False)
    return diffusers.DDPMPipeline(unet=unet, scheduler=scheduler)
