"""Bootstrap confidence intervals of per-target scores, all resamples in batched form.

A bootstrap resample is a vector of counts (how often each sample or group was
drawn), so every score of every resample follows from a few weighted sums, and the
weighted sums of a batch of resamples are one matrix product ``counts @ moments``.
No (n_bootstrap x n_samples x n_targets) array is ever formed: the largest
intermediates are (batch x n_units) counts and (batch x k * n_targets) sums, and
batches are planned to fit ``max_memory``.
"""

import dataclasses
import math
import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch

from neuroalign._backend import plan_batches, resolve_device
from neuroalign._validation import check_option, check_positive_int
from neuroalign.exceptions import NeuroalignWarning
from neuroalign.stats._scores import (
    _as_tensors,
    _group_sum,
    _output,
    _pearson,
    _r2,
    _shape_pair,
)

__all__ = ["BootstrapResult", "ConfidenceInterval", "bootstrap_scores", "percentile_ci"]

_FLOAT64 = torch.float64
_METRICS = ("pearson", "r2")


@dataclasses.dataclass(frozen=True, eq=False)
class BootstrapResult:
    """Scores per target with their bootstrap standard error and confidence interval.

    Attributes
    ----------
    estimate : array or Tensor of shape (..., n_targets)
        The score on the full data (not the mean of the resamples).
    se : array or Tensor of shape (..., n_targets)
        Standard deviation (ddof=1) of the scores over resamples.
    ci_low, ci_high : array or Tensor of shape (..., n_targets)
        Percentile confidence interval of the scores over resamples.
    n_bootstrap : int
        Number of resamples.
    ci : float
        Confidence level of ``(ci_low, ci_high)``.
    samples : array or Tensor of shape (n_bootstrap, ..., n_targets)
        The score of every target on every resample, e.g. to bootstrap a summary
        such as the mean over the targets of a region with :func:`percentile_ci`.
    """

    estimate: object
    se: object
    ci_low: object
    ci_high: object
    n_bootstrap: int
    ci: float
    samples: object


class ConfidenceInterval(NamedTuple):
    """Lower and upper bounds of a confidence interval.

    Attributes
    ----------
    low, high : array or Tensor
    """

    low: object
    high: object


def _check_ci(ci):
    if (
        isinstance(ci, bool)
        or not isinstance(ci, (int, float, np.number))
        or not (0.0 < float(ci) < 1.0)
    ):
        raise ValueError(
            f"'ci' must be a confidence level between 0 and 1 (e.g. 0.95); got {ci!r}."
        )
    return float(ci)


def _lerp(low, high, weight):
    """numpy's linear interpolation, so percentiles match ``numpy.quantile`` exactly."""
    difference = high - low
    if weight >= 0.5:
        return high - difference * (1.0 - weight)
    return low + difference * weight


def _percentiles(samples, quantiles, dim):
    """``numpy.quantile(..., method="linear")`` of a tensor along ``dim``; NaN propagates."""
    n = samples.shape[dim]
    ordered = torch.sort(samples, dim=dim).values
    has_nan = samples.isnan().any(dim)
    results = []
    for q in quantiles:
        position = (n - 1) * q
        below = math.floor(position)
        above = min(below + 1, n - 1)
        value = _lerp(ordered.select(dim, below), ordered.select(dim, above), position - below)
        results.append(torch.where(has_nan, math.nan, value))
    return results


def percentile_ci(samples, ci=0.95, *, axis=0):
    """Percentile confidence interval of bootstrap (or permutation) samples.

    The bounds are the ``(1 - ci) / 2`` and ``(1 + ci) / 2`` quantiles along
    ``axis`` with linear interpolation, the same numbers as
    ``numpy.quantile(samples, [(1 - ci) / 2, (1 + ci) / 2], axis=axis)``.

    Parameters
    ----------
    samples : array or Tensor of shape (n_samples, ...)
        Resampled statistics, resamples along ``axis``.
    ci : float, default=0.95
        Confidence level, in (0, 1).
    axis : int, default=0
        Axis of the resamples.

    Returns
    -------
    interval : ConfidenceInterval
        ``(low, high)``, each of the shape of ``samples`` without ``axis``; same type,
        device and float dtype as ``samples``. NaN where a column holds a NaN.

    Raises
    ------
    ValueError
        If ``ci`` is not in (0, 1) or ``samples`` is empty along ``axis``.

    See Also
    --------
    bootstrap_scores

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.stats import percentile_ci
    >>> low, high = percentile_ci(np.arange(101.0), ci=0.5)
    >>> float(low), float(high)
    (25.0, 75.0)
    """
    ci = _check_ci(ci)
    (values,), torch_out, out_device, dtype = _as_tensors((samples,), ("samples",))
    if values.ndim == 0 or not -values.ndim <= axis < values.ndim:
        raise ValueError(
            f"'axis' must index a dimension of 'samples' (shape {tuple(values.shape)}); got {axis}."
        )
    if values.shape[axis] == 0:
        raise ValueError(f"'samples' is empty along axis {axis}; shape {tuple(values.shape)}.")
    low, high = _percentiles(values, ((1.0 - ci) / 2, (1.0 + ci) / 2), axis)
    return ConfidenceInterval(
        _output(low, torch_out, out_device, dtype), _output(high, torch_out, out_device, dtype)
    )


def _unit_codes(groups, n_samples):
    """Resampling unit of each sample (groups in order of first appearance)."""
    if groups is None:
        return None, n_samples
    values = groups.detach().cpu().numpy() if isinstance(groups, torch.Tensor) else groups
    values = np.asarray(getattr(values, "values", values))
    if values.ndim != 1 or len(values) != n_samples:
        raise ValueError(
            f"'groups' must be 1-D with one label per sample ({n_samples}); got shape "
            f"{values.shape}."
        )
    codes, uniques = pd.factorize(values)
    if (codes < 0).any():
        raise ValueError("'groups' must not contain missing values.")
    if len(uniques) < 2:
        raise ValueError(
            f"'groups' must hold at least 2 distinct groups to resample; got {len(uniques)}."
        )
    return codes, len(uniques)


def _unit_sums(columns, codes, n_units):
    """Sum the rows of ``columns`` (n_samples, m) within resampling units."""
    if codes is None:
        return columns
    return _group_sum(columns, codes, n_units)


def _standardised(values, mean, scale, dtype):
    return ((values.to(_FLOAT64) - mean) / scale).to(dtype)


def _moment_columns(y_true, y_pred, metric, dtype):
    """Per-sample columns whose weighted sums give the score of any resample.

    ``y_true`` and ``y_pred`` are (n_samples, n_targets). Each target is standardised
    in float64 (Pearson: each variable by its own mean and std; R²: both by
    ``y_true``'s) before the products are formed, which leaves the scores unchanged
    and keeps the one-pass moment formulas free of cancellation.
    """

    def moments(values):
        mean = values.sum(0, dtype=_FLOAT64) / values.shape[0]
        spread = (values.to(_FLOAT64) - mean).square().mean(0).sqrt()
        return mean, torch.where(spread > 0, spread, 1.0)

    mean_t, scale_t = moments(y_true)
    z_true = _standardised(y_true, mean_t, scale_t, dtype)
    if metric == "pearson":
        mean_p, scale_p = moments(y_pred)
        z_pred = _standardised(y_pred, mean_p, scale_p, dtype)
        parts = (z_true, z_pred, z_true * z_true, z_pred * z_pred, z_true * z_pred)
    else:
        z_pred = _standardised(y_pred, mean_t, scale_t, dtype)
        parts = (z_true, z_true * z_true, (z_true - z_pred).square())
    return torch.cat(parts, dim=1)


def _resample_scores(sums, n_drawn, metric, constant_data, n_units, dtype):
    """Scores of a batch of resamples from their weighted sums.

    Returns float64 scores (batch, n_targets) and a mask of resamples in which a
    variable was constant: constant in the data (``constant_data``), or with a
    resampled variance within rounding of zero relative to its second moment
    (``4 * sqrt(n_units) * eps`` of the compute dtype).
    """
    n_targets = constant_data.shape[0]
    sums = sums.to(_FLOAT64).unflatten(1, (-1, n_targets))
    n = n_drawn[:, None]
    tolerance = 4.0 * math.sqrt(n_units) * torch.finfo(dtype).eps
    if metric == "pearson":
        s_t, s_p, s_tt, s_pp, s_tp = sums.unbind(1)
        var_t = s_tt - s_t * s_t / n
        var_p = s_pp - s_p * s_p / n
        constant = (var_t <= tolerance * s_tt) | (var_p <= tolerance * s_pp) | constant_data
        denominator = torch.sqrt((var_t * var_p).clamp(min=0))
        cov = s_tp - s_t * s_p / n
        scores = torch.where(constant, 0.0, cov / torch.where(constant, 1.0, denominator))
        return scores.clamp(-1.0, 1.0), constant
    s_t, s_tt, s_res = sums.unbind(1)
    ss_tot = s_tt - s_t * s_t / n
    constant = (ss_tot <= tolerance * s_tt) | constant_data
    exact = torch.where(s_res == 0, 1.0, 0.0).to(_FLOAT64)
    scores = torch.where(constant, exact, 1.0 - s_res / torch.where(constant, 1.0, ss_tot))
    return scores, constant


def bootstrap_scores(
    y_true,
    y_pred,
    *,
    metric="pearson",
    n_bootstrap=1000,
    groups=None,
    ci=0.95,
    seed=None,
    max_memory=None,
    device=None,
):
    """Bootstrap standard errors and percentile confidence intervals of per-target scores.

    Samples (or whole groups of samples, e.g. all repetitions of a stimulus) are drawn
    with replacement ``n_bootstrap`` times and the score of every target is
    recomputed on every resample. All resamples are computed in batches: a resample
    is a vector of draw counts, and the sums a score needs are one matrix product
    per batch, so the cost is that of ``n_bootstrap x n_units x n_targets``
    multiply-adds with no per-resample copy of the data.

    Parameters
    ----------
    y_true : array or Tensor of shape (n_samples,) or (..., n_samples, n_targets)
        Observed values, samples along axis -2.
    y_pred : array or Tensor of shape (n_samples,) or (..., n_samples, n_targets)
        Predictions; leading axes broadcast as in :func:`pearson_r`. Every target
        (and leading index) is resampled with the same draws.
    metric : {"pearson", "r2"}, default="pearson"
        :func:`pearson_r` or :func:`r2_score`.
    n_bootstrap : int, default=1000
        Number of resamples; at least 2.
    groups : array-like of shape (n_samples,), optional
        Resampling units: samples with the same label are drawn together (e.g.
        stimulus ids, so that repetitions of one stimulus stay together). Units are
        the distinct labels in order of first appearance. Default: each sample.
    ci : float, default=0.95
        Confidence level of the percentile interval.
    seed : int or numpy.random.Generator or None, default=None
        Resample ``b`` draws units ``floor(u[b] * n_units)`` with ``u =
        numpy.random.default_rng(seed).random((n_bootstrap, n_units))``: the same
        seed gives the same resamples on every device and for every ``max_memory``.
    max_memory : int or str or None, default=None
        Memory budget; resamples are processed in batches that fit it (see
        :func:`neuroalign._backend.plan_batches`).
    device : {"auto", "cpu", "cuda", "cuda:N"} or torch.device or None, default=None
        Where to compute; ``None`` computes on the device of tensor inputs, or on the
        configured default device for numpy inputs. Results are returned like the
        inputs (tensors on the inputs' device, or numpy arrays).

    Returns
    -------
    result : BootstrapResult
        ``estimate``, ``se``, ``ci_low``, ``ci_high`` of shape (..., n_targets) (0-d
        for 1-D inputs), ``n_bootstrap`` and ``ci``.

    Raises
    ------
    ValueError
        If the inputs do not match (see :func:`pearson_r`), ``metric`` is unknown,
        ``n_bootstrap < 2``, ``ci`` is not in (0, 1), or ``groups`` does not have one
        label per sample or holds fewer than 2 groups.
    MemoryError
        If even one resample does not fit ``max_memory``.

    Warns
    -----
    NeuroalignWarning
        When targets are constant in the data, or constant in some resamples (e.g. a
        binary target whose resample drew only one class); such scores follow
        :func:`pearson_r` (0) and :func:`r2_score` (scikit-learn's convention).

    Notes
    -----
    Precision: each target is standardised in float64 by full-data moments, the
    weighted sums are formed in the compute dtype (float32 for float32 inputs) and
    combined into scores in float64; the full-data ``estimate`` accumulates in
    float64. Resampled scores of float32 inputs typically agree with a float64
    computation to about 1e-6, far below the bootstrap's own sampling error.
    Memory: fixed ``k * n_units * n_targets`` compute-dtype sums (k = 5 for Pearson,
    3 for R²) and the ``n_bootstrap x n_targets`` resampled scores, plus per batch of
    resamples ``n_units`` counts and ``k * n_targets`` sums each. NaN in the inputs
    propagates to the scores, standard errors and intervals of the targets it touches.

    See Also
    --------
    percentile_ci : percentile interval of any resampled statistic.
    pearson_r, r2_score : the scores.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.stats import bootstrap_scores
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_normal((200, 3))
    >>> result = bootstrap_scores(y, y + rng.standard_normal((200, 3)), n_bootstrap=200, seed=0)
    >>> result.estimate.shape, bool((result.ci_low < result.estimate).all())
    ((3,), True)
    """
    check_option("metric", metric, _METRICS)
    n_bootstrap = check_positive_int("n_bootstrap", n_bootstrap, minimum=2)
    ci = _check_ci(ci)
    has_tensor = isinstance(y_true, torch.Tensor) or isinstance(y_pred, torch.Tensor)
    compute_device = None if device is None and has_tensor else resolve_device(device)
    (y_true, y_pred), torch_out, out_device, dtype = _as_tensors(
        (y_true, y_pred), ("y_true", "y_pred"), device=compute_device
    )
    y_true, y_pred, scalar = _shape_pair(y_true, y_pred)
    y_true, y_pred = torch.broadcast_tensors(y_true, y_pred)
    batch_shape = y_true.shape[:-2]
    n_samples = y_true.shape[-2]
    # Samples first, every (leading index, target) pair as one column.
    y_true = y_true.movedim(-2, 0).reshape(n_samples, -1)
    y_pred = y_pred.movedim(-2, 0).reshape(n_samples, -1)
    n_targets = y_true.shape[1]
    codes, n_units = _unit_codes(groups, n_samples)
    device = y_true.device

    score = _pearson if metric == "pearson" else _r2
    estimate, constant_data = score(y_true, y_pred)

    unit_columns = _unit_sums(_moment_columns(y_true, y_pred, metric, dtype), codes, n_units)
    sizes = torch.ones(n_units, dtype=_FLOAT64, device=device)
    if codes is not None:
        sizes = torch.as_tensor(np.bincount(codes), dtype=_FLOAT64, device=device)
    n_sums = unit_columns.shape[1]
    itemsize = torch.finfo(dtype).bits // 8
    bytes_per_resample = n_units * (8 + 8 + itemsize + 8) + n_sums * (itemsize + 8) * 2
    fixed_bytes = unit_columns.numel() * itemsize + n_bootstrap * n_targets * (2 * itemsize + 8)
    batches = plan_batches(
        n_bootstrap, bytes_per_resample, max_memory, device=device, fixed_bytes=fixed_bytes
    )

    rng = np.random.default_rng(seed)
    samples = torch.empty((n_bootstrap, n_targets), dtype=dtype, device=device)
    n_constant_resamples = 0
    for batch in batches:
        n_batch = batch.stop - batch.start
        draws = np.minimum((rng.random((n_batch, n_units)) * n_units).astype(np.int64), n_units - 1)
        draws = torch.as_tensor(draws, device=device)
        counts = torch.zeros((n_batch, n_units), dtype=dtype, device=device)
        counts.scatter_add_(1, draws, torch.ones_like(counts))
        n_drawn = counts.to(_FLOAT64) @ sizes
        scores, constant = _resample_scores(
            counts @ unit_columns, n_drawn, metric, constant_data, n_units, dtype
        )
        samples[batch] = scores.to(dtype)
        n_constant_resamples += int((constant & ~constant_data).sum())
    del unit_columns

    mean = samples.sum(0, dtype=_FLOAT64) / n_bootstrap
    se = torch.sqrt((samples.to(_FLOAT64) - mean).square().sum(0) / (n_bootstrap - 1))
    low, high = _percentiles(samples, ((1.0 - ci) / 2, (1.0 + ci) / 2), 0)

    n_constant = int(constant_data.sum())
    if n_constant or n_constant_resamples:
        what = "a constant y_true or y_pred" if metric == "pearson" else "a constant y_true"
        rule = "set to 0" if metric == "pearson" else "scored 1.0 if exact, else 0.0"
        warnings.warn(
            f"bootstrap_scores: {n_constant} of {n_targets} targets have {what} in the data, "
            f"and {n_constant_resamples} of {n_bootstrap * n_targets} resampled scores of the "
            f"other targets came from a resample with {what}; those scores were {rule}.",
            NeuroalignWarning,
            stacklevel=2,
        )

    def finish(values, leading=()):
        values = values.reshape(leading + batch_shape + (-1,))
        return _output(values[..., 0] if scalar else values, torch_out, out_device, dtype)

    return BootstrapResult(
        estimate=finish(estimate),
        se=finish(se),
        ci_low=finish(low),
        ci_high=finish(high),
        n_bootstrap=n_bootstrap,
        ci=ci,
        samples=finish(samples, (n_bootstrap,)),
    )
