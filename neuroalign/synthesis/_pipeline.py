"""The parts of a diffusers pipeline that guided sampling needs, checked once."""

import dataclasses
import inspect

import torch

__all__ = ["PipelineParts", "pipeline_parts"]


@dataclasses.dataclass
class PipelineParts:
    """A pipeline's denoiser, scheduler and (for latent pipelines) VAE and prompt embedding.

    Attributes
    ----------
    unet : torch.nn.Module
    scheduler : diffusers scheduler
    vae : torch.nn.Module or None
        ``None`` for pixel-space pipelines.
    prompt_embeds : Tensor of shape (1, n_tokens, dim) or None
        Conditioning of a ``UNet2DConditionModel`` (the empty prompt).
    sample_shape : tuple of int
        Shape of one sample the scheduler works on: (channels, height, width).
    image_size : tuple of int
        (height, width) of the decoded images.
    vae_scale : float
        Latents are divided by it before decoding (``vae.config.scaling_factor``).
    """

    unet: torch.nn.Module
    scheduler: object
    vae: object
    prompt_embeds: object
    sample_shape: tuple
    image_size: tuple
    vae_scale: float = 1.0

    def denoise(self, sample, t):
        """The UNet's raw prediction for ``sample`` at timestep ``t``."""
        if self.prompt_embeds is None:
            return self.unet(sample, t).sample
        embeds = self.prompt_embeds.expand(len(sample), -1, -1)
        return self.unet(sample, t, encoder_hidden_states=embeds).sample

    def decode(self, clean):
        """Images in [-1, 1] from predicted clean samples (identity in pixel space)."""
        if self.vae is None:
            return clean
        return self.vae.decode(clean / self.vae_scale).sample


def pipeline_parts(pipeline, *, height=None, width=None, prompt_embeds=None, device):
    """Check a pipeline and collect what guided sampling needs.

    Parameters
    ----------
    pipeline : diffusers pipeline or any object with ``unet`` and ``scheduler``
        Pixel space: a ``UNet2DModel`` with 3 input channels. Latent space: also a
        ``vae`` (``AutoencoderKL``); a ``UNet2DConditionModel`` is conditioned on
        ``prompt_embeds`` or, by default, the empty prompt (through the pipeline's
        ``tokenizer`` and ``text_encoder``, or zeros when it has none).
    height, width : int, optional
        Image size; default the UNet's ``sample_size`` (times the VAE's scale factor).
    prompt_embeds : Tensor of shape (1, n_tokens, dim), optional
    device : torch.device

    Returns
    -------
    parts : PipelineParts

    Raises
    ------
    ValueError
        If the pipeline has no scheduler or UNet, the scheduler does not predict noise
        or velocity, or the image size does not fit the UNet and VAE.
    """
    unet = getattr(pipeline, "unet", None)
    scheduler = getattr(pipeline, "scheduler", None)
    if scheduler is None or not hasattr(scheduler, "set_timesteps"):
        raise ValueError(
            f"'pipeline' ({type(pipeline).__name__}) has no scheduler; give it one, e.g. "
            f"pipeline.scheduler = diffusers.DDIMScheduler(num_train_timesteps=1000)."
        )
    if not isinstance(unet, torch.nn.Module):
        raise ValueError(
            f"'pipeline' ({type(pipeline).__name__}) has no 'unet' module; pass a diffusers "
            f"pipeline (e.g. DDPMPipeline or StableDiffusionPipeline)."
        )
    prediction = getattr(scheduler.config, "prediction_type", "epsilon")
    if prediction not in ("epsilon", "v_prediction"):
        raise ValueError(
            f"The scheduler's prediction_type must be 'epsilon' or 'v_prediction'; got "
            f"{prediction!r}."
        )
    vae = getattr(pipeline, "vae", None)
    factor = 1 if vae is None else 2 ** (len(vae.config.block_out_channels) - 1)
    channels = unet.config.in_channels
    if vae is None and channels != 3:
        raise ValueError(
            f"The UNet takes {channels} input channels but the pipeline has no 'vae' to "
            f"decode them; pixel-space pipelines need a 3-channel UNet2DModel."
        )
    if vae is not None and vae.config.latent_channels != channels:
        raise ValueError(
            f"The VAE's latent_channels ({vae.config.latent_channels}) differ from the "
            f"UNet's in_channels ({channels}); the two do not belong together."
        )
    default = _as_pair(unet.config.sample_size)
    height = default[0] * factor if height is None else int(height)
    width = default[1] * factor if width is None else int(width)
    multiple = factor * 2 ** (len(unet.config.block_out_channels) - 1)
    for name, size in (("height", height), ("width", width)):
        if size < multiple or size % multiple:
            raise ValueError(
                f"'{name}' must be a positive multiple of {multiple} (the VAE's factor "
                f"{factor} times the UNet's downsampling {multiple // factor}); got {size}. "
                f"Try {max(multiple, round(size / multiple) * multiple)}."
            )
    embeds = None
    if getattr(unet.config, "cross_attention_dim", None) is not None:
        embeds = _prompt_embeds(pipeline, unet, prompt_embeds, device)
    return PipelineParts(
        unet=unet,
        scheduler=scheduler,
        vae=vae,
        prompt_embeds=embeds,
        sample_shape=(channels, height // factor, width // factor),
        image_size=(height, width),
        vae_scale=1.0 if vae is None else float(getattr(vae.config, "scaling_factor", 1.0)),
    )


def accepts(function, name):
    """Whether ``function`` takes an argument called ``name``."""
    return name in inspect.signature(function).parameters


def _as_pair(size):
    return (int(size), int(size)) if isinstance(size, int) else tuple(int(s) for s in size)


def _prompt_embeds(pipeline, unet, prompt_embeds, device):
    dim = unet.config.cross_attention_dim
    if prompt_embeds is not None:
        embeds = torch.as_tensor(prompt_embeds, dtype=unet.dtype, device=device)
        if embeds.ndim != 3 or len(embeds) != 1 or embeds.shape[-1] != dim:
            raise ValueError(
                f"'prompt_embeds' must have shape (1, n_tokens, {dim}); got {tuple(embeds.shape)}."
            )
        return embeds
    tokenizer = getattr(pipeline, "tokenizer", None)
    text_encoder = getattr(pipeline, "text_encoder", None)
    if tokenizer is None or text_encoder is None:
        return torch.zeros((1, 1, dim), dtype=unet.dtype, device=device)
    tokens = tokenizer(
        [""], padding="max_length", max_length=tokenizer.model_max_length, return_tensors="pt"
    )
    with torch.no_grad():
        return text_encoder(tokens.input_ids.to(device))[0].to(unet.dtype)
