"""Random positive readouts of the feature stages, shared by all simulated modalities.

A readout unit (voxel, neural source, spiking unit) weights the z-scored features of
one stage with non-negative weights: a spatial receptive field (a Gaussian over the
stage's grid) times a preference over its channels (Dirichlet-distributed). Its
output is scaled to zero mean and unit variance on the calibration images, so that
noise levels mean the same for every unit.
"""

import zlib

import numpy as np
import torch
from torch import nn

__all__ = ["Readout", "check_seed", "derive_rng", "stage_weights"]

_HUE_CHANNELS = 6  # mid-stage channels 0..5 are hues, the rest corner energy
_STD_FLOOR = 1e-6


def check_seed(seed):
    """Check that ``seed`` is a non-negative integer and return it as ``int``.

    Raises
    ------
    ValueError
        If it is not.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"'seed' must be a non-negative integer; got {seed!r}.")
    return int(seed)


def derive_rng(seed, *keys):
    """An independent generator for one (seed, purpose) pair.

    Parameters
    ----------
    seed : int
        Non-negative seed of the world.
    *keys : str
        Purpose labels, e.g. ``"fmri", "sub-01"``; hashed stably (CRC-32).

    Returns
    -------
    numpy.random.Generator
    """
    words = [int(seed)] + [zlib.crc32(str(key).encode()) for key in keys]
    return np.random.default_rng(np.random.SeedSequence(words))


def stage_weights(
    rng, stage, n_units, *, sizes, grids, concentration, rf_centres=None, rf_width=None
):
    """Non-negative weights of ``n_units`` readouts of one stage.

    Parameters
    ----------
    rng : numpy.random.Generator
    stage : {"early", "mid", "late"}
    n_units : int
    sizes : dict of str to int
        Number of features per stage (``VisualFeatures.sizes``).
    grids : dict of str to int
        Receptive-field grid side of the spatial stages (``VisualFeatures.grids``).
    concentration : float
        Dirichlet concentration of the channel preferences; small values give
        selective units.
    rf_centres : ndarray of shape (n_units, 2), optional
        Receptive-field centres (x, y) as fractions of the image; uniform in
        [0.25, 0.75] when omitted. Ignored for the late stage.
    rf_width : (float, float), optional
        Range of the receptive-field standard deviation, fraction of the image; required
        for the spatial stages, ignored for the late stage.

    Returns
    -------
    weights : ndarray of shape (n_units, sizes[stage]), float32
        Rows sum to one.
    """
    if stage == "late":
        return rng.dirichlet(np.full(sizes["late"], concentration), n_units).astype(np.float32)
    grid = grids[stage]
    n_channels = sizes[stage] // grid**2
    if stage == "mid":
        colour_share = rng.uniform(0.3, 0.7, (n_units, 1))
        hue = rng.dirichlet(np.full(_HUE_CHANNELS, concentration), n_units)
        corner = rng.dirichlet(np.full(n_channels - _HUE_CHANNELS, 1.0), n_units)
        channels = np.concatenate([colour_share * hue, (1 - colour_share) * corner], axis=1)
    else:
        channels = rng.dirichlet(np.full(n_channels, concentration), n_units)
    if rf_centres is None:
        rf_centres = rng.uniform(0.25, 0.75, (n_units, 2))
    widths = rng.uniform(*rf_width, n_units)
    cells = (np.arange(grid) + 0.5) / grid
    dx = cells[None, None, :] - rf_centres[:, 0, None, None]
    dy = cells[None, :, None] - rf_centres[:, 1, None, None]
    spatial = np.exp(-(dx**2 + dy**2) / (2 * widths[:, None, None] ** 2)).reshape(n_units, -1)
    spatial /= spatial.sum(1, keepdims=True)
    weights = channels[:, :, None] * spatial[:, None, :]
    return weights.reshape(n_units, -1).astype(np.float32)


class Readout(nn.Module):
    """Weighted sums of one stage's features, standardised on the calibration images.

    Parameters
    ----------
    stage : {"early", "mid", "late"}
    weights : ndarray of shape (n_units, n_features)
    calibration : dict of str to Tensor
        Calibration features (``VisualFeatures.calibration()``).
    """

    def __init__(self, stage, weights, calibration):
        super().__init__()
        self.stage = stage
        self.register_buffer("weights", torch.as_tensor(weights))
        raw = self._mix(calibration)
        self.register_buffer("mean", raw.mean(0))
        self.register_buffer("std", raw.std(0) + _STD_FLOOR)

    def forward(self, features):
        """Standardised drive of each unit.

        Parameters
        ----------
        features : dict of str to Tensor
            Output of ``VisualFeatures``; only ``features[stage]`` is read.

        Returns
        -------
        drive : Tensor of shape (n_images, n_units)
        """
        return (self._mix(features) - self.mean) / self.std

    def _mix(self, features):
        return features[self.stage].flatten(1) @ self.weights.T
