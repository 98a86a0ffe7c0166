"""Procedural stimuli of the synthetic world: textured, coloured shapes on a grey background.

Every image shows one object of a known category. Its colour, size, position,
orientation and texture (a luminance grating) are drawn at random, so that category is
the only property shared by all members of a category. Shapes are scaled to the same
area, so that size does not betray the category either.

Rendering is vectorised over images with numpy: each shape is a polygon (or a disk)
whose signed distance to every pixel centre gives an anti-aliased mask.
"""

import dataclasses
import functools

import numpy as np
import pandas as pd

from neuroalign._validation import check_positive_int

__all__ = ["CATEGORIES", "SYMMETRY", "StimulusSet", "make_stimuli"]

CATEGORIES = ("disk", "square", "triangle", "star", "cross")
# Smallest rotation (radians) that maps each shape onto itself.
SYMMETRY = {
    "disk": 2 * np.pi,
    "square": np.pi / 2,
    "triangle": 2 * np.pi / 3,
    "star": 2 * np.pi / 5,
    "cross": np.pi / 2,
}

# Ranges of the random parameters (sizes and positions are fractions of the image side).
_HUE = (0.0, 1.0)
_SATURATION = (0.6, 1.0)
_VALUE = (0.65, 1.0)
_SIZE = (0.11, 0.18)  # radius of the disk of equal area
_POSITION = (0.3, 0.7)
_TEXTURE_FREQUENCY = (3.0, 10.0)  # cycles per image side
_BACKGROUND = (0.35, 0.65)
_TEXTURE_CONTRAST = 0.4
_BACKGROUND_NOISE = 0.03  # std of achromatic pixel noise
_STAR_INNER_RATIO = 0.5
_CROSS_ARM_RATIO = 1.0 / 3.0  # arm half-width / arm half-length


@dataclasses.dataclass(frozen=True)
class StimulusSet:
    """A set of synthetic images with their generating parameters.

    Attributes
    ----------
    images : ndarray of shape (n_stimuli, 3, image_size, image_size), dtype float32
        RGB images with values in [0, 1].
    metadata : pandas.DataFrame with n_stimuli rows
        One row per image, in the order of ``images``: ``stimulus_id``, ``category``,
        ``hue``, ``saturation``, ``value`` (colour, HSV in [0, 1]), ``size`` (radius of the
        disk of equal area, fraction of the image side), ``x``, ``y`` (centre, fraction
        of the image side, origin top-left, ``y`` pointing down), ``orientation``
        (radians), ``texture_frequency`` (cycles per image side),
        ``texture_orientation``, ``texture_phase`` (radians) and ``background``
        (grey level).
    categories : tuple of str
        All categories the set was drawn from, in label order.
    """

    images: np.ndarray
    metadata: pd.DataFrame
    categories: tuple

    @property
    def stimulus_ids(self):
        """ndarray of str of shape (n_stimuli,): identifier of each image."""
        return self.metadata["stimulus_id"].to_numpy(dtype=str)

    @property
    def labels(self):
        """ndarray of int of shape (n_stimuli,): each image's category index in ``categories``."""
        lookup = {name: index for index, name in enumerate(self.categories)}
        return self.metadata["category"].map(lookup).to_numpy(dtype=np.int64, copy=True)

    def __len__(self):
        return len(self.metadata)


def make_stimuli(n_per_category=20, *, image_size=64, seed=0):
    """Draw and render a balanced set of synthetic object images.

    Parameters
    ----------
    n_per_category : int, default=20
        Images per category; the set holds ``n_per_category * len(CATEGORIES)`` images
        in random order.
    image_size : int, default=64
        Height and width of the images in pixels (at least 16).
    seed : int, default=0
        Seed of every random choice; the same seed gives the same images.

    Returns
    -------
    stimuli : StimulusSet
        Images of shape (n_stimuli, 3, image_size, image_size) in [0, 1] and their
        parameters; ids are ``"stim_0000"``, ``"stim_0001"``, ...

    Raises
    ------
    ValueError
        If ``n_per_category`` is smaller than 1 or ``image_size`` smaller than 16.

    See Also
    --------
    make_world : stimuli together with simulated subjects.

    Examples
    --------
    >>> from data_adapters.synthetic import make_stimuli
    >>> stimuli = make_stimuli(2, image_size=32, seed=0)
    >>> stimuli.images.shape, str(stimuli.stimulus_ids[0])
    ((10, 3, 32, 32), 'stim_0000')
    """
    n_per_category = check_positive_int("n_per_category", n_per_category)
    image_size = check_positive_int("image_size", image_size, minimum=16)
    rng = np.random.default_rng(seed)
    metadata = _draw_parameters(rng, n_per_category)
    images = _render(metadata, image_size, rng)
    return StimulusSet(images=images, metadata=metadata, categories=CATEGORIES)


def _draw_parameters(rng, n_per_category):
    """One row of random parameters per stimulus, categories balanced and shuffled."""
    n = n_per_category * len(CATEGORIES)
    categories = rng.permutation(np.repeat(np.array(CATEGORIES), n_per_category))
    columns = {
        "stimulus_id": [f"stim_{i:04d}" for i in range(n)],
        "category": categories,
        "hue": rng.uniform(*_HUE, n),
        "saturation": rng.uniform(*_SATURATION, n),
        "value": rng.uniform(*_VALUE, n),
        "size": rng.uniform(*_SIZE, n),
        "x": rng.uniform(*_POSITION, n),
        "y": rng.uniform(*_POSITION, n),
        "orientation": rng.uniform(0.0, 2 * np.pi, n),
        "texture_frequency": rng.uniform(*_TEXTURE_FREQUENCY, n),
        "texture_orientation": rng.uniform(0.0, np.pi, n),
        "texture_phase": rng.uniform(0.0, 2 * np.pi, n),
        "background": rng.uniform(*_BACKGROUND, n),
    }
    return pd.DataFrame(columns)


def _render(metadata, image_size, rng):
    """Images of shape (n, 3, image_size, image_size), float32 in [0, 1]."""
    n = len(metadata)
    column = {
        name: metadata[name].to_numpy(dtype=np.float32)[:, None, None]
        for name in metadata.columns
        if name not in ("stimulus_id", "category")
    }
    grid = (np.arange(image_size, dtype=np.float32) + 0.5) / image_size
    ys, xs = grid[None, :, None], grid[None, None, :]
    mask = np.empty((n, image_size, image_size), dtype=np.float32)
    categories = metadata["category"].to_numpy()
    for category in CATEGORIES:
        rows = np.flatnonzero(categories == category)
        if rows.size:
            mask[rows] = _shape_mask(
                category, xs, ys, {k: v[rows] for k, v in column.items()}, image_size
            )
    phase = (
        2
        * np.pi
        * column["texture_frequency"]
        * (xs * np.cos(column["texture_orientation"]) + ys * np.sin(column["texture_orientation"]))
        + column["texture_phase"]
    )
    texture = 1.0 - _TEXTURE_CONTRAST * 0.5 * (1.0 + np.cos(phase))
    colour = _hsv_to_rgb(column["hue"], column["saturation"], column["value"])  # (n, 3, 1, 1)
    obj = colour * texture[:, None]
    noise = rng.normal(0.0, _BACKGROUND_NOISE, (n, 1, image_size, image_size)).astype(np.float32)
    background = column["background"][:, None] + noise
    images = background + mask[:, None] * (obj - background)
    return np.clip(images, 0.0, 1.0).astype(np.float32)


def _shape_mask(category, xs, ys, params, image_size):
    """Anti-aliased coverage in [0, 1] of one category's shapes, shape (n_rows, H, W)."""
    dx, dy = xs - params["x"], ys - params["y"]
    cos, sin = np.cos(params["orientation"]), np.sin(params["orientation"])
    u = (cos * dx + sin * dy) / params["size"]
    v = (-sin * dx + cos * dy) / params["size"]
    if category == "disk":
        distance = np.sqrt(u**2 + v**2) - 1.0
    else:
        distance = _polygon_distance(u, v, _shape_vertices(category))
    distance_px = distance * params["size"] * image_size
    return np.clip(0.5 - distance_px, 0.0, 1.0)


@functools.cache
def _shape_vertices(category):
    """Vertices of a polygon of area pi (the unit disk's), shape (n_vertices, 2)."""
    if category in ("square", "triangle"):
        k = 4 if category == "square" else 3
        radius = np.sqrt(2 * np.pi / (k * np.sin(2 * np.pi / k)))
        angles = -np.pi / 2 + 2 * np.pi * np.arange(k) / k
        radii = np.full(k, radius)
    elif category == "star":
        outer = np.sqrt(np.pi / (5 * _STAR_INNER_RATIO * np.sin(np.pi / 5)))
        angles = -np.pi / 2 + np.pi * np.arange(10) / 5
        radii = np.where(np.arange(10) % 2 == 0, outer, outer * _STAR_INNER_RATIO)
    elif category == "cross":
        r = _CROSS_ARM_RATIO
        half_length = np.sqrt(np.pi / (8 * r - 4 * r**2))
        a, b = half_length, half_length * r
        corners = [
            (b, a),
            (b, b),
            (a, b),
            (a, -b),
            (b, -b),
            (b, -a),
            (-b, -a),
            (-b, -b),
            (-a, -b),
            (-a, b),
            (-b, b),
            (-b, a),
        ]
        return np.array(corners, dtype=np.float32)
    else:
        raise ValueError(f"'category' must be one of {list(CATEGORIES)}; got {category!r}.")
    return np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1).astype(np.float32)


def _polygon_distance(u, v, vertices):
    """Signed distance (negative inside) from points (u, v) to a closed polygon."""
    distance_sq = np.full(np.broadcast_shapes(u.shape, v.shape), np.inf, dtype=np.float32)
    inside = np.zeros(distance_sq.shape, dtype=bool)
    for (x0, y0), (x1, y1) in zip(vertices, np.roll(vertices, 1, axis=0)):
        ex, ey = x1 - x0, y1 - y0
        wx, wy = u - x0, v - y0
        t = np.clip((wx * ex + wy * ey) / (ex * ex + ey * ey), 0.0, 1.0)
        distance_sq = np.minimum(distance_sq, (wx - ex * t) ** 2 + (wy - ey * t) ** 2)
        crosses = (v >= y0) != (v >= y1)
        left = ex * wy > ey * wx
        inside ^= crosses & (left == (y1 > y0))
    return np.where(inside, -1.0, 1.0) * np.sqrt(distance_sq)


def _hsv_to_rgb(hue, saturation, value):
    """RGB of HSV colours, arrays of shape (n, 1, 1) -> (n, 3, 1, 1)."""
    k = (np.array([5.0, 3.0, 1.0], dtype=np.float32)[None, :, None, None] + hue[:, None] * 6) % 6
    ramp = np.clip(np.minimum(k, 4 - k), 0.0, 1.0)
    return value[:, None] - value[:, None] * saturation[:, None] * ramp
