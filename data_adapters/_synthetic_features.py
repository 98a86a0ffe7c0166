"""Image-computable, differentiable features behind every simulated subject.

Three fixed (not learned) feature stages, computed in torch so that gradients flow
back to the pixels:

``early``
    Local oriented energy: quadrature Gabor energy of the luminance image at four
    orientations and two spatial frequencies, averaged over an 8 x 8 grid of small
    receptive fields.
``mid``
    Colour and curvature: six hue-tuned, half-wave rectified chroma channels and a
    corner/curvature energy (determinant of the structure tensor of the figure map) at
    two scales, averaged over a 4 x 4 grid.
``late``
    Category: normalised cross-correlation of the figure map with the silhouette of
    every category at several scales and orientations, a maximum over positions in the
    central part of the image, a smooth maximum over scale and orientation, and a
    softmax over categories. The figure map is the saturating chroma magnitude of the
    image (objects are coloured, backgrounds are grey).

Every feature channel is z-scored with statistics of a fixed calibration set, so that
subjects can weight features of different stages on a common scale.
"""

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from data_adapters._synthetic_stimuli import CATEGORIES, SYMMETRY, _shape_mask, make_stimuli

__all__ = ["STAGES", "VisualFeatures"]

STAGES = ("early", "mid", "late")
IMAGE_SIZE = 64  # resolution at which the simulated visual system sees every image

_LUMINANCE = (0.299, 0.587, 0.114)
_GABOR_ORIENTATIONS = 4
_GABOR_WAVELENGTHS = (4.0, 8.0)  # pixels at IMAGE_SIZE
_GABOR_STRIDE = 2  # energy is sampled every other pixel before pooling
_EARLY_GRID = 8
_HUES = 6
_CORNER_SCALES = (1.0, 2.0)  # structure-tensor smoothing, pixels at IMAGE_SIZE / 2
_MID_GRID = 4
_FIGURE_CHROMA = 0.05  # chroma at which the figure map reaches tanh(1)
_TEMPLATE_RESOLUTION = 32
_TEMPLATE_SIZES = (0.115, 0.135, 0.155, 0.175)
# Per category, evenly spaced over its rotational symmetry (identical copies for the
# disk), so that every category has the same number of templates.
_TEMPLATE_ORIENTATIONS = 8
_SUPPORT_RATIO = 1.8  # template support radius / equal-area radius
_LATE_FIELD = (6, 26)  # rows/columns (at _TEMPLATE_RESOLUTION) where objects are detected
_NCC_FLOOR = 1e-2  # keeps the correlation of blank patches near zero
_MAX_SHARPNESS = 200.0  # inverse temperature of the smooth maximum over scale and orientation
_CATEGORY_SHARPNESS = 30.0  # inverse temperature of the softmax over categories
_CALIBRATION_PER_CATEGORY = 10
_CALIBRATION_SEED = 20240601
_EPS = 1e-6


class VisualFeatures(nn.Module):
    """Fixed feature stages shared by the simulated subjects of one world.

    The module has no trainable parameters; its filters and z-scoring statistics are
    buffers, so ``.to(device)`` moves them.

    Attributes
    ----------
    sizes : dict of str to int
        Number of features of each stage: 512 (early), 128 (mid), ``len(CATEGORIES)``
        (late).
    grids : dict of str to int
        Side of the receptive-field grid of the spatial stages (8 early, 4 mid).
    """

    def __init__(self):
        super().__init__()
        self.register_buffer("gabors", _gabor_bank())
        self.register_buffer("hue_axes", _hue_axes())
        templates, supports = _template_bank()
        self.register_buffer("templates", templates)
        self.register_buffer("supports", supports)
        self.grids = {"early": _EARLY_GRID, "mid": _MID_GRID}
        self.sizes = {
            "early": _GABOR_ORIENTATIONS * len(_GABOR_WAVELENGTHS) * _EARLY_GRID**2,
            "mid": (_HUES + len(_CORNER_SCALES)) * _MID_GRID**2,
            "late": len(CATEGORIES),
        }
        calibration = make_stimuli(_CALIBRATION_PER_CATEGORY, seed=_CALIBRATION_SEED)
        with torch.no_grad():
            raw = self._raw(torch.from_numpy(calibration.images))
        for stage, values in raw.items():
            per_channel = (0, 2, 3) if values.ndim == 4 else (0,)
            self.register_buffer(f"{stage}_mean", values.mean(per_channel, keepdim=True))
            self.register_buffer(f"{stage}_std", values.std(per_channel, keepdim=True) + _EPS)
            self.register_buffer(f"{stage}_calibration", self._zscore(stage, values))

    def calibration(self):
        """Z-scored features of the fixed calibration images.

        Returns
        -------
        features : dict of str to Tensor
            As returned by :meth:`forward`, for 10 images per category drawn with a
            fixed seed; subjects use them to scale their responses.
        """
        return {stage: getattr(self, f"{stage}_calibration") for stage in STAGES}

    def forward(self, images):
        """Z-scored features of each stage.

        Parameters
        ----------
        images : Tensor of shape (n_images, 3, height, width)
            RGB values in [0, 1]; other sizes are resampled to 64 x 64.

        Returns
        -------
        features : dict of str to Tensor
            ``"early"``: (n_images, 8, 8, 8) channels (orientation x frequency) on an
            8 x 8 grid; ``"mid"``: (n_images, 8, 4, 4) channels (6 hues, 2 corner
            scales) on a 4 x 4 grid; ``"late"``: (n_images, n_categories).
        """
        raw = self._raw(images)
        return {stage: self._zscore(stage, raw[stage]) for stage in STAGES}

    def _zscore(self, stage, values):
        return (values - getattr(self, f"{stage}_mean")) / getattr(self, f"{stage}_std")

    def _raw(self, images):
        if images.shape[-2:] != (IMAGE_SIZE, IMAGE_SIZE):
            images = F.interpolate(
                images,
                size=(IMAGE_SIZE, IMAGE_SIZE),
                mode="bilinear",
                align_corners=False,
                antialias=True,
            )
        luminance = torch.einsum("nchw,c->nhw", images, images.new_tensor(_LUMINANCE)).unsqueeze(1)
        chroma = images - images.mean(1, keepdim=True)
        figure = torch.tanh(torch.sqrt((chroma**2).sum(1, keepdim=True) + _EPS) / _FIGURE_CHROMA)
        figure_small = F.avg_pool2d(figure, IMAGE_SIZE // _TEMPLATE_RESOLUTION)
        return {
            "early": self._oriented_energy(luminance),
            "mid": self._colour_curvature(chroma, figure_small),
            "late": self._category(figure_small),
        }

    def _oriented_energy(self, luminance):
        responses = F.conv2d(
            luminance - luminance.mean((2, 3), keepdim=True),
            self.gabors,
            padding=self.gabors.shape[-1] // 2,
            stride=_GABOR_STRIDE,
        )
        even, odd = responses[:, 0::2], responses[:, 1::2]
        energy = torch.sqrt(even**2 + odd**2 + _EPS)
        return F.adaptive_avg_pool2d(energy, _EARLY_GRID)

    def _colour_curvature(self, chroma, figure):
        hues = F.relu(torch.einsum("nchw,kc->nkhw", chroma, self.hue_axes))
        corners = [_corner_energy(figure, sigma) for sigma in _CORNER_SCALES]
        pooled = [F.adaptive_avg_pool2d(hues, _MID_GRID)]
        pooled += [F.adaptive_avg_pool2d(c, _MID_GRID) for c in corners]
        return torch.cat(pooled, dim=1)

    def _category(self, figure):
        radius = self.templates.shape[-1] // 2
        start, stop = _LATE_FIELD
        window = F.pad(figure, (radius,) * 4)[
            ..., start : stop + 2 * radius, start : stop + 2 * radius
        ]
        correlation = F.conv2d(window, self.templates)
        area = self.supports.sum((1, 2, 3)).reshape(1, -1, 1, 1)
        patch_sum = F.conv2d(window, self.supports)
        patch_var = F.relu(F.conv2d(window**2, self.supports) - patch_sum**2 / area)
        ncc = (
            correlation.unflatten(1, (len(_TEMPLATE_SIZES), -1))
            * torch.rsqrt(patch_var + _NCC_FLOOR)[:, :, None]
        )
        best = ncc.amax(dim=(-2, -1)).unflatten(2, (len(CATEGORIES), -1))
        best = best.transpose(1, 2).flatten(2)
        evidence = (
            torch.logsumexp(_MAX_SHARPNESS * best, dim=2) - math.log(best.shape[2])
        ) / _MAX_SHARPNESS
        return torch.softmax(_CATEGORY_SHARPNESS * evidence, dim=1)


def _corner_energy(figure, sigma):
    """Square root of the structure-tensor determinant, shape (n, 1, h, w)."""
    dx = figure[..., :, 2:] - figure[..., :, :-2]
    dy = figure[..., 2:, :] - figure[..., :-2, :]
    dx = F.pad(dx, (1, 1, 0, 0))
    dy = F.pad(dy, (0, 0, 1, 1))
    kernel = _gaussian_kernel(sigma).to(figure)
    products = torch.cat([dx * dx, dy * dy, dx * dy], dim=1)
    jxx, jyy, jxy = (
        F.conv2d(products.flatten(0, 1)[:, None], kernel, padding=kernel.shape[-1] // 2)
        .unflatten(0, (-1, 3))
        .unbind(1)
    )
    return torch.sqrt(F.relu(jxx * jyy - jxy**2) + _EPS)


def _gaussian_kernel(sigma):
    radius = int(math.ceil(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=torch.float32)
    g = torch.exp(-(t**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :])[None, None]


def _gabor_bank():
    """Even/odd Gabor pairs, shape (2 * n_orientations * n_wavelengths, 1, k, k)."""
    size = int(2 * math.ceil(max(_GABOR_WAVELENGTHS)) + 1)
    t = torch.arange(size, dtype=torch.float32) - size // 2
    y, x = torch.meshgrid(t, t, indexing="ij")
    filters = []
    for wavelength in _GABOR_WAVELENGTHS:
        sigma = 0.5 * wavelength
        envelope = torch.exp(-(x**2 + y**2) / (2 * sigma**2))
        for k in range(_GABOR_ORIENTATIONS):
            theta = math.pi * k / _GABOR_ORIENTATIONS
            phase = 2 * math.pi * (x * math.cos(theta) + y * math.sin(theta)) / wavelength
            even = envelope * torch.cos(phase)
            even = even - even.mean() * envelope / envelope.mean()
            odd = envelope * torch.sin(phase)
            filters += [even / even.norm(), odd / odd.norm()]
    return torch.stack(filters)[:, None]


def _hue_axes():
    """Unit chroma directions of evenly spaced hues, shape (n_hues, 3)."""
    hue = torch.arange(_HUES, dtype=torch.float32) / _HUES
    k = (torch.tensor([5.0, 3.0, 1.0])[None] + hue[:, None] * 6) % 6
    rgb = 1.0 - torch.clamp(torch.minimum(k, 4 - k), 0.0, 1.0)
    axes = rgb - rgb.mean(1, keepdim=True)
    return axes / axes.norm(dim=1, keepdim=True)


def _template_bank():
    """Silhouette templates and the disk supports of each scale.

    Returns
    -------
    templates : Tensor of shape (n_scales * n_categories * n_orientations, 1, k, k)
        Zero mean and unit norm on their support, ordered scale, category, orientation.
    supports : Tensor of shape (n_scales, 1, k, k)
    """
    radius = int(math.ceil(_SUPPORT_RATIO * max(_TEMPLATE_SIZES) * _TEMPLATE_RESOLUTION))
    size = 2 * radius + 1
    grid = (np.arange(size, dtype=np.float32) + 0.5) / _TEMPLATE_RESOLUTION
    centre = size / (2 * _TEMPLATE_RESOLUTION)
    ys, xs = grid[None, :, None], grid[None, None, :]
    distance = np.hypot(xs - centre, ys - centre) * _TEMPLATE_RESOLUTION
    supports = (
        distance <= _SUPPORT_RATIO * np.array(_TEMPLATE_SIZES)[:, None, None] * _TEMPLATE_RESOLUTION
    ).astype(np.float32)
    templates = []
    for scale, support in zip(_TEMPLATE_SIZES, supports):
        for category in CATEGORIES:
            n = _TEMPLATE_ORIENTATIONS
            orientation = SYMMETRY[category] * np.arange(n) / n
            params = {
                "x": np.full((n, 1, 1), centre, np.float32),
                "y": np.full((n, 1, 1), centre, np.float32),
                "size": np.full((n, 1, 1), scale, np.float32),
                "orientation": orientation[:, None, None],
            }
            masks = _shape_mask(category, xs, ys, params, _TEMPLATE_RESOLUTION) * support
            mean = masks.sum((1, 2), keepdims=True) / support.sum()
            centred = (masks - mean) * support
            centred /= np.sqrt((centred**2).sum((1, 2), keepdims=True))
            templates.append(centred.astype(np.float32))
    return torch.from_numpy(np.concatenate(templates))[:, None], torch.from_numpy(supports)[:, None]
