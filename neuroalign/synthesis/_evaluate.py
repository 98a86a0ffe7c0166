"""Check synthesised images against a known, image-computable brain."""

import numpy as np
import torch

from neuroalign.exceptions import DimensionError

__all__ = ["cohens_d", "region_effects"]


def cohens_d(a, b):
    """Standardised difference of means, ``(mean(a) - mean(b)) / pooled_sd``.

    Parameters
    ----------
    a, b : array-like of shape (n_a,) and (n_b,)

    Returns
    -------
    d : float

    Examples
    --------
    >>> from neuroalign.synthesis import cohens_d
    >>> round(cohens_d([2.0, 3.0, 4.0], [0.0, 1.0, 2.0]), 3)
    2.0
    """
    a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"Cohen's d needs at least 2 values per group; got {len(a)} and {len(b)}.")
    pooled = ((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2)
    return float((a.mean() - b.mean()) / np.sqrt(pooled))


def region_effects(guided, unguided, respond, regions, *, batch_size=64):
    """How much guided images raise every region's true response over unguided ones.

    Parameters
    ----------
    guided, unguided : Tensor or SynthesisResult of shape (n, 3, height, width)
        Images in [0, 1], e.g. drawn from the same seeds with and without guidance.
    respond : callable
        Images -> responses (n, n_targets), e.g. a simulated subject's ``respond``.
    regions : array-like of str of shape (n_targets,)
        Region of every target.
    batch_size : int, default=64

    Returns
    -------
    effects : pandas.DataFrame
        One row per region: ``guided_mean`` and ``unguided_mean`` (mean response of
        the region's targets, averaged over images), ``difference`` and ``cohens_d``.

    Examples
    --------
    >>> import torch
    >>> from neuroalign.synthesis import region_effects
    >>> respond = lambda images: images.mean(dim=(2, 3))  # 3 "targets": R, G, B
    >>> red = torch.zeros(4, 3, 2, 2)
    >>> red[:, 0] = torch.linspace(0.5, 1, 4)[:, None, None]
    >>> effects = region_effects(red, torch.rand(4, 3, 2, 2) * 0.1, respond, ["r", "g", "b"])
    >>> bool(effects.loc["r", "cohens_d"] > 3), bool(effects.loc["g", "difference"] < 0.1)
    (True, True)
    """
    import pandas as pd

    regions = np.asarray(regions).astype(str)
    values = {}
    for name, images in (("guided", guided), ("unguided", unguided)):
        images = getattr(images, "images", images)
        with torch.no_grad():
            responses = torch.cat(
                [
                    torch.as_tensor(respond(batch)).float().cpu()
                    for batch in images.split(batch_size)
                ]
            ).numpy()
        if responses.ndim != 2 or responses.shape[1] != len(regions):
            raise DimensionError(
                f"'respond' must return (n_images, {len(regions)}) responses, one per entry "
                f"of 'regions'; got shape {responses.shape}."
            )
        values[name] = responses
    rows = []
    for region in dict.fromkeys(regions):
        mask = regions == region
        g, u = values["guided"][:, mask].mean(1), values["unguided"][:, mask].mean(1)
        rows.append(
            {
                "region": region,
                "guided_mean": g.mean(),
                "unguided_mean": u.mean(),
                "difference": g.mean() - u.mean(),
                "cohens_d": cohens_d(g, u),
            }
        )
    return pd.DataFrame(rows).set_index("region")
