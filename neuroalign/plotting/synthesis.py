"""Synthesis figures: guided against unguided samples, with their activations."""

import numpy as np

from neuroalign.exceptions import DimensionError

__all__ = ["plot_synthesis_grid"]


def plot_synthesis_grid(
    guided,
    unguided,
    *,
    guided_scores=None,
    unguided_scores=None,
    true_scores=None,
    title=None,
    score_label="predicted",
    max_columns=8,
    image_size=1.2,
):
    """A grid of guided samples above the unguided samples drawn from the same seeds.

    Each image is labelled with its predicted activation and, when given (e.g. from the
    synthetic world's simulator), its true activation.

    Parameters
    ----------
    guided, unguided : array-like of shape (n_images, 3, height, width) or SynthesisResult
        RGB images in [0, 1]; column ``i`` pairs the two images of seed ``i``. A
        :class:`~neuroalign.synthesis.SynthesisResult` gives its images and scores.
    guided_scores, unguided_scores : array-like of shape (n_images,), optional
        Predicted activation of each image (default: the results' scores).
    true_scores : dict with keys "guided" and "unguided" of array-like (n_images,), optional
        True activations, shown as ``true=...``.
    title : str, optional
    score_label : str, default="predicted"
    max_columns : int, default=8
        Images per row; longer sets wrap to more row pairs.
    image_size : float, default=1.2
        Inches per image.

    Returns
    -------
    figure : matplotlib.figure.Figure

    Raises
    ------
    DimensionError
        If the image sets or the scores do not have the same number of images, or the
        images are not (n, 3, height, width).

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.plotting.synthesis import plot_synthesis_grid
    >>> images = np.random.default_rng(0).random((3, 3, 8, 8))
    >>> figure = plot_synthesis_grid(images, images[::-1], guided_scores=[1, 2, 3])
    >>> len(figure.axes)
    6
    """
    from neuroalign.plotting._common import new_figure

    guided, guided_scores = _images_and_scores("guided", guided, guided_scores)
    unguided, unguided_scores = _images_and_scores("unguided", unguided, unguided_scores)
    if len(guided) != len(unguided):
        raise DimensionError(
            f"'guided' and 'unguided' must hold the same number of images (one pair per "
            f"seed); got {len(guided)} and {len(unguided)}."
        )
    true_scores = {} if true_scores is None else dict(true_scores)
    unknown = sorted(set(true_scores) - {"guided", "unguided"})
    if unknown:
        raise ValueError(f"'true_scores' keys must be 'guided' and/or 'unguided'; got {unknown}.")
    true = {
        key: _scores(f"true_scores[{key!r}]", value, len(guided))
        for key, value in true_scores.items()
    }
    n = len(guided)
    columns = max(1, min(int(max_columns), n))
    blocks = -(-n // columns)
    figure = new_figure((columns * image_size, blocks * 2 * (image_size + 0.35)))
    grid = figure.add_gridspec(2 * blocks, columns)
    rows = (("guided", guided, guided_scores), ("unguided", unguided, unguided_scores))
    for index in range(n):
        block, column = divmod(index, columns)
        for offset, (name, images, scores) in enumerate(rows):
            ax = figure.add_subplot(grid[2 * block + offset, column])
            ax.imshow(np.clip(images[index].transpose(1, 2, 0), 0, 1))
            ax.set_xticks([])
            ax.set_yticks([])
            lines = []
            if scores is not None:
                lines.append(f"{score_label}={scores[index]:.2f}")
            if name in true:
                lines.append(f"true={true[name][index]:.2f}")
            ax.set_title("\n".join(lines), fontsize=7)
            if column == 0:
                ax.set_ylabel(name, fontsize=8)
    if title:
        figure.suptitle(title)
    return figure


def _images_and_scores(name, images, scores):
    if hasattr(images, "images") and hasattr(images, "scores"):
        scores = images.scores if scores is None else scores
        images = images.images
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[1] != 3:
        raise DimensionError(
            f"'{name}' must be images of shape (n_images, 3, height, width); got shape "
            f"{images.shape}."
        )
    return images, None if scores is None else _scores(f"{name}_scores", scores, len(images))


def _scores(name, values, n):
    values = np.asarray(values, dtype=float).ravel()
    if len(values) != n:
        raise DimensionError(f"'{name}' must have one value per image ({n}); got {len(values)}.")
    return values
