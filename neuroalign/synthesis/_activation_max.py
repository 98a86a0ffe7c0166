"""Activation maximisation in pixel space: the classic baseline for brain-guided diffusion."""

import math

import torch
from torch.nn import functional as F  # noqa: N812
from tqdm.auto import tqdm

from neuroalign._backend import resolve_device
from neuroalign._validation import check_option, check_positive_int
from neuroalign.synthesis._result import SynthesisResult

__all__ = ["PARAMETERIZATIONS", "maximize_activation"]

PARAMETERIZATIONS = ("fourier", "pixel")
# Square root of the colour covariance of natural images (decorrelated colour space,
# values as popularised by the Lucid feature-visualisation library).
_COLOUR_SQRT = torch.tensor(
    [[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], dtype=torch.float32
)
_COLOUR_SQRT = _COLOUR_SQRT / _COLOUR_SQRT.norm(dim=0).max()


def maximize_activation(
    objective,
    *,
    n=4,
    image_size=64,
    steps=128,
    lr=0.1,
    parameterization="fourier",
    jitter=4,
    blur_sigma=0.0,
    decay=1.0,
    seed=0,
    device="cpu",
    progress=True,
):
    """Optimise images directly to raise an objective (feature-visualisation baseline).

    Images are parameterised in a decorrelated space (``"fourier"``: a spectrum scaled
    by ``1 / frequency ** decay`` and decorrelated colours, which favours natural-looking
    low frequencies) or as raw pixel logits (``"pixel"``); every step applies a random
    translation of up to ``jitter`` pixels and an optional Gaussian blur before the
    objective, and Adam raises the objective.

    Parameters
    ----------
    objective : torch.nn.Module
        Images (batch, 3, image_size, image_size) in [0, 1] -> scores (batch,), on
        ``device``.
    n : int, default=4
        Images optimised together from different random starts.
    image_size : int, default=64
    steps : int, default=128
    lr : float, default=0.1
    parameterization : {"fourier", "pixel"}, default="fourier"
    jitter : int, default=4
        Largest random shift in pixels (0 disables it).
    blur_sigma : float, default=0.0
        Standard deviation in pixels of a Gaussian blur applied before the objective.
    decay : float, default=1.0
        Spectral decay of the Fourier parameterisation.
    seed : int, default=0
    device : str or torch.device, default="cpu"
    progress : bool, default=True

    Returns
    -------
    result : SynthesisResult
        The images (without jitter or blur) and their scores.

    See Also
    --------
    guided_sample : the diffusion-prior alternative.

    Examples
    --------
    >>> from neuroalign.synthesis import maximize_activation
    >>> redness = lambda images: images[:, 0].mean(dim=(1, 2)) - images[:, 1:].mean(dim=(1, 2, 3))
    >>> result = maximize_activation(redness, n=2, image_size=16, steps=50, progress=False)
    >>> bool((result.scores > 0.2).all())
    True
    """
    n = check_positive_int("n", n)
    image_size = check_positive_int("image_size", image_size, minimum=8)
    steps = check_positive_int("steps", steps)
    check_option("parameterization", parameterization, PARAMETERIZATIONS)
    jitter = int(jitter)
    if jitter < 0 or jitter >= image_size:
        raise ValueError(f"'jitter' must be in [0, {image_size - 1}]; got {jitter}.")
    device = resolve_device(device)
    generator = torch.Generator().manual_seed(seed)
    image_of = _Parameterization(parameterization, n, image_size, decay, generator, device)
    optimiser = torch.optim.Adam([image_of.params], lr=lr)
    for _ in tqdm(range(steps), disable=not progress, desc="activation maximisation"):
        images = _augment(image_of(), jitter, blur_sigma, generator)
        loss = -objective(images).sum()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        images = image_of()
        scores = objective(images).float().cpu()
    settings = {
        "method": "activation maximisation",
        "parameterization": parameterization,
        "steps": steps,
        "lr": lr,
        "jitter": jitter,
        "blur_sigma": blur_sigma,
        "seed": int(seed),
    }
    return SynthesisResult(images.float().cpu(), scores, torch.arange(n), settings)


class _Parameterization:
    """Optimised parameters -> images in [0, 1]."""

    def __init__(self, kind, n, size, decay, generator, device):
        self.kind, self.size = kind, size
        if kind == "pixel":
            shape = (n, 3, size, size)
            self.params = (0.1 * torch.randn(shape, generator=generator)).to(device)
        else:
            fy = torch.fft.fftfreq(size)[:, None]
            fx = torch.fft.rfftfreq(size)[None, :]
            frequency = (fx**2 + fy**2).sqrt().clamp_min(1.0 / size) * size
            self.scale = (1.0 / frequency**decay).to(device)
            shape = (n, 3, size, size // 2 + 1, 2)
            self.params = (0.1 * torch.randn(shape, generator=generator)).to(device)
            self.colour = _COLOUR_SQRT.to(device)
        self.params.requires_grad_(True)

    def __call__(self):
        if self.kind == "pixel":
            return torch.sigmoid(self.params)
        spectrum = torch.view_as_complex(self.params) * self.scale
        decorrelated = torch.fft.irfft2(spectrum, s=(self.size, self.size), norm="ortho")
        rgb = torch.einsum("nchw,dc->ndhw", decorrelated, self.colour)
        return torch.sigmoid(rgb * self.size / 4)


def _augment(images, jitter, blur_sigma, generator):
    if jitter:
        dy, dx = torch.randint(-jitter, jitter + 1, (2,), generator=generator).tolist()
        images = torch.roll(images, shifts=(dy, dx), dims=(2, 3))
    if blur_sigma > 0:
        radius = max(1, int(math.ceil(3 * blur_sigma)))
        x = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device)
        kernel = torch.exp(-0.5 * (x / blur_sigma) ** 2)
        row = (kernel / kernel.sum()).view(1, 1, 1, -1).repeat(3, 1, 1, 1)
        images = F.pad(images, (radius,) * 4, mode="reflect")
        images = F.conv2d(F.conv2d(images, row, groups=3), row.transpose(2, 3), groups=3)
    return images
