"""Multiple-comparison corrections of p-values: Benjamini-Hochberg/Yekutieli FDR and Holm."""

from typing import NamedTuple

import numpy as np

from neuroalign._validation import check_option

__all__ = ["Correction", "fdr_correction", "holm_correction"]


class Correction(NamedTuple):
    """Adjusted p-values and the tests rejected at level ``alpha``.

    Attributes
    ----------
    reject : numpy.ndarray of bool
        ``p_adjusted <= alpha``, same shape as the input p-values.
    p_adjusted : numpy.ndarray of float64
        Adjusted p-values, same shape as the input.
    """

    reject: np.ndarray
    p_adjusted: np.ndarray


def _check_p_values(p_values, alpha):
    if hasattr(p_values, "detach"):
        p_values = p_values.detach().cpu().numpy()
    values = np.asarray(p_values, dtype=float)
    if values.size == 0:
        raise ValueError("'p_values' is empty; pass at least one p-value.")
    if not np.all((values >= 0) & (values <= 1)):
        bad = values.ravel()[~((values.ravel() >= 0) & (values.ravel() <= 1))][0]
        raise ValueError(
            f"'p_values' must lie in [0, 1] without NaN; got {bad!r}. Drop untested entries "
            "before correcting."
        )
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise ValueError(f"'alpha' must be a number in (0, 1), e.g. 0.05; got {alpha!r}.")
    return values


def fdr_correction(p_values, *, alpha=0.05, method="bh"):
    """False-discovery-rate adjusted p-values (Benjamini-Hochberg or -Yekutieli).

    All entries, whatever the shape, form one family.

    Parameters
    ----------
    p_values : array-like of any shape
        Values in [0, 1].
    alpha : float, default=0.05
        FDR level for ``reject``.
    method : {"bh", "by"}, default="bh"
        Benjamini-Hochberg (independent or positively dependent tests) or
        Benjamini-Yekutieli (any dependence).

    Returns
    -------
    correction : Correction
        ``(reject, p_adjusted)``; ``p_adjusted`` equals
        ``scipy.stats.false_discovery_control(p_values, method=method)``.

    Raises
    ------
    ValueError
        If p-values are outside [0, 1] or NaN, ``alpha`` is not in (0, 1), or
        ``method`` is unknown.

    See Also
    --------
    holm_correction : family-wise error control.
    scipy.stats.false_discovery_control : the reference.

    Examples
    --------
    >>> from neuroalign.stats import fdr_correction
    >>> result = fdr_correction([0.01, 0.04, 0.03, 0.2])
    >>> result.p_adjusted.round(3).tolist(), result.reject.tolist()
    ([0.04, 0.053, 0.053, 0.2], [True, False, False, False])
    """
    check_option("method", method, ("bh", "by"))
    values = _check_p_values(p_values, alpha)
    flat = values.ravel()
    m = flat.size
    order = np.argsort(flat, kind="stable")
    ranked = flat[order] * m / np.arange(1, m + 1)
    if method == "by":
        ranked *= np.sum(1.0 / np.arange(1, m + 1))
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = np.clip(ranked, 0, 1)
    adjusted = adjusted.reshape(values.shape)
    return Correction(reject=adjusted <= alpha, p_adjusted=adjusted)


def holm_correction(p_values, *, alpha=0.05):
    """Holm-Bonferroni step-down adjusted p-values (family-wise error control).

    All entries, whatever the shape, form one family.

    Parameters
    ----------
    p_values : array-like of any shape
        Values in [0, 1].
    alpha : float, default=0.05
        Family-wise error level for ``reject``.

    Returns
    -------
    correction : Correction
        ``(reject, p_adjusted)``, as ``statsmodels.stats.multitest.multipletests(...,
        method="holm")``.

    Raises
    ------
    ValueError
        If p-values are outside [0, 1] or NaN, or ``alpha`` is not in (0, 1).

    See Also
    --------
    fdr_correction : false-discovery-rate control, more powerful for many tests.

    Examples
    --------
    >>> from neuroalign.stats import holm_correction
    >>> result = holm_correction([0.01, 0.04, 0.03, 0.2])
    >>> result.p_adjusted.round(3).tolist(), result.reject.tolist()
    ([0.04, 0.09, 0.09, 0.2], [True, False, False, False])
    """
    values = _check_p_values(p_values, alpha)
    flat = values.ravel()
    m = flat.size
    order = np.argsort(flat, kind="stable")
    stepped = np.maximum.accumulate(flat[order] * (m - np.arange(m)))
    adjusted = np.empty(m)
    adjusted[order] = np.clip(stepped, 0, 1)
    adjusted = adjusted.reshape(values.shape)
    return Correction(reject=adjusted <= alpha, p_adjusted=adjusted)
