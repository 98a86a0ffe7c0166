"""Noise ceilings from repeated presentations: NCSNR (NSD style) and split-half reliability.

Array level, vectorised over neuroids (and any trailing axes such as time): inputs
are numpy arrays or torch tensors with presentations along axis 0; torch in gives
torch out on the same device. These estimators are computed entirely in float64
(they are cheap next to model fitting) and returned in the input's float dtype.
"""

import math
import warnings
from fractions import Fraction

import numpy as np
import pandas as pd
import torch
import xarray as xr

from neuroalign._backend import plan_batches
from neuroalign._validation import check_positive_int
from neuroalign.data import validate
from neuroalign.exceptions import NeuroalignWarning
from neuroalign.stats._scores import _as_tensors, _group_sum, _output, _pearson

__all__ = [
    "correlation_ceiling",
    "ncsnr",
    "noise_ceiling",
    "noise_ceiling_from_responses",
    "spearman_brown",
    "split_half_reliability",
]

_FLOAT64 = torch.float64


class _Repeated:
    """Presentations of the stimuli shown at least twice, grouped by stimulus.

    Attributes
    ----------
    rows : ndarray of int
        Kept presentation rows, in data order.
    codes : ndarray of int
        Stimulus index (0..n_stimuli-1, order of first appearance) of each kept row.
    counts : ndarray of int
        Presentations of each kept stimulus.
    """

    def __init__(self, stimulus_ids, n_presentations, caller, stacklevel):
        ids = stimulus_ids
        if isinstance(ids, torch.Tensor):
            ids = ids.detach().cpu().numpy()
        ids = np.asarray(getattr(ids, "values", ids))
        if ids.ndim != 1 or len(ids) != n_presentations:
            raise ValueError(
                f"'stimulus_ids' must be 1-D with one id per presentation (axis 0 of 'data', "
                f"{n_presentations}); got shape {ids.shape}."
            )
        codes, uniques = pd.factorize(ids)
        if (codes < 0).any():
            raise ValueError(
                f"'stimulus_ids' must not contain missing values; got {int((codes < 0).sum())}."
            )
        counts = np.bincount(codes, minlength=len(uniques))
        repeated = counts >= 2
        n_single = int((~repeated).sum())
        if repeated.sum() < 2:
            raise ValueError(
                f"{caller} needs at least 2 stimuli shown at least twice; got "
                f"{int(repeated.sum())} of {len(uniques)} stimuli with 2 or more presentations "
                f"(presentations per stimulus: {np.unique(counts).tolist()})."
            )
        if n_single:
            first = uniques[np.flatnonzero(~repeated)[0]]
            warnings.warn(
                f"{caller} left out {n_single} of {len(uniques)} stimuli with a single "
                f"presentation (e.g. {first!r}); it needs repetitions to measure noise.",
                NeuroalignWarning,
                stacklevel=stacklevel,
            )
        keep = repeated[codes]
        self.rows = np.flatnonzero(keep)
        self.codes, _ = pd.factorize(codes[keep])
        self.counts = np.bincount(self.codes)
        self.n_stimuli = len(self.counts)


def _data_tensor(data, caller):
    """The data as a float64 tensor of shape (n_presentations, n_features), and how to return."""
    (tensor,), torch_out, out_device, dtype = _as_tensors((data,), ("data",))
    if tensor.ndim < 1:
        raise ValueError(f"{caller}: 'data' must have shape (n_presentations, ...); got a scalar.")
    trailing = tuple(tensor.shape[1:])
    flat = tensor.reshape(tensor.shape[0], -1).to(_FLOAT64)
    return flat, trailing, (torch_out, out_device, dtype)


def _check_ncsnr(value):
    """Convert an NCSNR input to a tensor and check it is non-negative."""
    (tensor,), torch_out, out_device, dtype = _as_tensors((value,), ("ncsnr",))
    if (tensor < 0).any():
        raise ValueError(
            f"'ncsnr' must be >= 0 (a ratio of standard deviations); got minimum "
            f"{float(tensor.min())}."
        )
    return tensor, (torch_out, out_device, dtype)


def _check_n_averaged(n_averaged, device):
    values = n_averaged
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    try:
        values = None if isinstance(values, bool) else np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        values = None
    if values is None or not (np.isfinite(values).all() and (values > 0).all()):
        raise ValueError(
            f"'n_averaged' must be a positive number of averaged presentations (e.g. 3 for "
            f"NSD's three repetitions); got {n_averaged!r}."
        )
    return torch.as_tensor(values, dtype=_FLOAT64, device=device)


def ncsnr(data, stimulus_ids):
    """Noise-ceiling signal-to-noise ratio per neuroid from repeated presentations.

    The NCSNR of Allen et al. (2022, the Natural Scenes Dataset) is the ratio of the
    standard deviation of the stimulus-driven signal to that of the trial-to-trial
    noise, ``ncsnr = sigma_signal / sigma_noise``, estimated per neuroid (and per
    time point or any trailing axis) with a one-way random-effects ANOVA:

    - noise variance: the pooled within-stimulus variance
      ``sigma_noise² = sum_s sum_i (x_si - mean_s)² / (n_presentations - n_stimuli)``;
      with the same number of repetitions for every stimulus this equals NSD's mean
      over stimuli of the across-repetition variance (ddof=1);
    - signal variance: ``sigma_signal² = max(0, var_s(mean_s) - sigma_noise² *
      mean_s(1 / r_s))``, where ``var_s`` is the variance (ddof=1) across stimuli of
      the per-stimulus means and ``r_s`` the presentations of stimulus ``s``
      (``sigma_noise² / r`` for ``r`` repetitions each).

    Both are unbiased under the model ``x_si = signal_s + noise_si``, for equal or
    unequal repetition counts, and the ratio does not depend on the data's scale or
    offset, so the data need not be z-scored. NSD z-scores betas per session and uses
    ``1 - sigma_noise²`` for the signal variance (total minus noise variance); that
    total-variance form is biased low by a factor of about ``(n_stimuli - 1) /
    n_stimuli`` for the signal part and needs z-scored data, hence the ANOVA form here.

    Parameters
    ----------
    data : array or Tensor of shape (n_presentations, n_neuroids[, ...])
        One row per presentation; any trailing axes (e.g. time) are estimated
        independently.
    stimulus_ids : array-like of shape (n_presentations,)
        Stimulus of each presentation (strings or integers).

    Returns
    -------
    ncsnr : array or Tensor of shape (n_neuroids[, ...])
        Non-negative; 0 where no signal variance is detected (including constant
        neuroids) and ``inf`` where signal is present but the repetitions are
        identical (no noise). Same type and device as ``data``, in its float dtype
        (float64 for integer data); computed in float64.

    Raises
    ------
    ValueError
        If ``stimulus_ids`` does not have one entry per presentation, or fewer than
        2 stimuli were shown at least twice.

    Warns
    -----
    NeuroalignWarning
        When stimuli with a single presentation are left out (they carry no
        information on the noise).

    See Also
    --------
    noise_ceiling : the NCSNR turned into a percentage of explainable variance.
    correlation_ceiling : the highest Pearson r a perfect model can reach.
    noise_ceiling_from_responses : the same from a labelled recording.
    split_half_reliability : reliability from split halves, for few repetitions.

    References
    ----------
    Allen, E. J. et al. (2022). A massive 7T fMRI dataset to bridge cognitive
    neuroscience and artificial intelligence. Nature Neuroscience, 25, 116-126.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.stats import ncsnr
    >>> data = np.array([[1.0], [3.0], [2.0], [4.0], [5.0], [3.0]])
    >>> ids = ["a", "b", "a", "b", "c", "c"]
    >>> ncsnr(data, ids).round(3).tolist()  # noise variance 1, signal variance 1.25
    [1.118]
    """
    return _ncsnr(data, stimulus_ids, stacklevel=4)


def _ncsnr(data, stimulus_ids, *, stacklevel):
    """:func:`ncsnr`, warning ``stacklevel`` frames up from the exclusion check."""
    flat, trailing, out = _data_tensor(data, "ncsnr")
    groups = _Repeated(stimulus_ids, flat.shape[0], "ncsnr", stacklevel=stacklevel)
    x = flat[torch.as_tensor(groups.rows, device=flat.device)]
    codes = torch.as_tensor(groups.codes, device=x.device)
    counts = torch.as_tensor(groups.counts, dtype=_FLOAT64, device=x.device)
    means = _group_sum(x, codes, groups.n_stimuli) / counts[:, None]
    noise_var = (x - means[codes]).square().sum(0) / (x.shape[0] - groups.n_stimuli)
    signal_var = means.var(0, correction=1) - noise_var * (1.0 / counts).mean()
    value = torch.where(
        signal_var > 0, torch.sqrt(signal_var.clamp(min=0)) / torch.sqrt(noise_var), 0.0
    )
    value = torch.where(signal_var.isnan() | noise_var.isnan(), math.nan, value)
    return _output(value.reshape(trailing), *out)


def noise_ceiling(ncsnr, n_averaged):
    """Percentage of explainable variance from the NCSNR (NSD noise ceiling).

    ``NC = 100 * ncsnr² / (ncsnr² + 1 / n_averaged)``: the share of the variance of
    data averaged over ``n_averaged`` presentations per stimulus that is signal, i.e.
    the most variance (R² x 100) any model can explain in such data.

    Parameters
    ----------
    ncsnr : float or array or Tensor, non-negative
        Output of :func:`ncsnr`.
    n_averaged : float or array-like, positive
        Presentations averaged per stimulus in the data being predicted (e.g. 3 when
        scoring against the mean of NSD's three repetitions, 1 for single trials); a
        non-integer value such as the harmonic mean of unequal counts is allowed.
        Broadcasts against ``ncsnr``.

    Returns
    -------
    ceiling : same type as ``ncsnr``
        Percent, in [0, 100]; 100 where ``ncsnr`` is infinite.

    Raises
    ------
    ValueError
        If ``ncsnr`` is negative or ``n_averaged`` is not positive.

    See Also
    --------
    ncsnr, correlation_ceiling

    Examples
    --------
    >>> from neuroalign.stats import noise_ceiling
    >>> float(noise_ceiling(1.0, 3))
    75.0
    """
    value, out = _check_ncsnr(ncsnr)
    n = _check_n_averaged(n_averaged, value.device)
    snr2 = value.to(_FLOAT64).square()
    fraction = torch.where(torch.isinf(snr2), 1.0, snr2 / (snr2 + 1.0 / n))
    return _output(100.0 * fraction, *out)


def correlation_ceiling(ncsnr, n_averaged):
    """Highest Pearson r a perfect model can reach, from the NCSNR.

    ``sqrt(ncsnr² / (ncsnr² + 1 / n_averaged))``, the square root of the
    :func:`noise_ceiling` fraction: the correlation between the true signal and data
    averaged over ``n_averaged`` presentations. Divide Pearson-r scores by it to
    normalise them to the ceiling.

    Parameters
    ----------
    ncsnr : float or array or Tensor, non-negative
    n_averaged : float or array-like, positive
        As in :func:`noise_ceiling`.

    Returns
    -------
    ceiling : same type as ``ncsnr``
        In [0, 1].

    See Also
    --------
    noise_ceiling, ncsnr, split_half_reliability

    Examples
    --------
    >>> from neuroalign.stats import correlation_ceiling
    >>> float(correlation_ceiling(1.0, 3))
    0.8660254037844386
    """
    value, out = _check_ncsnr(ncsnr)
    n = _check_n_averaged(n_averaged, value.device)
    snr2 = value.to(_FLOAT64).square()
    fraction = torch.where(torch.isinf(snr2), 1.0, snr2 / (snr2 + 1.0 / n))
    return _output(torch.sqrt(fraction), *out)


def noise_ceiling_from_responses(da, *, n_averaged=None):
    """NCSNR and noise ceilings of a labelled recording, per neuroid (and time point).

    Parameters
    ----------
    da : xarray.DataArray of dims (presentation, neuroid[, time])
        A recording in the neuroalign schema; its ``stimulus_id`` coordinate says
        which presentations repeat a stimulus. Integer data (spike counts) are
        accepted; a neuroid with a NaN value gets NaN ceilings.
    n_averaged : float, optional
        Presentations averaged per stimulus in the data that models will be scored
        on. Default: the harmonic mean of the presentations per stimulus in ``da``
        (the number of repetitions when all stimuli have the same count), which is
        what :func:`neuroalign.data.average_repetitions` produces; the harmonic mean
        is exact for the average noise variance ``sigma_noise² * mean(1 / r_s)``.

    Returns
    -------
    ceilings : xarray.Dataset
        Variables of dims ``(neuroid[, time])`` with the neuroid (and time)
        coordinates of ``da``: ``ncsnr``, ``noise_ceiling`` (percent explainable
        variance) and ``correlation_ceiling`` (highest Pearson r). ``attrs`` hold
        ``n_averaged`` and the recording's provenance.

    Raises
    ------
    SchemaError
        If ``da`` does not follow the schema.
    ValueError
        If fewer than 2 stimuli were shown at least twice.

    Warns
    -----
    NeuroalignWarning
        When stimuli with a single presentation are left out of the estimate.

    See Also
    --------
    ncsnr, noise_ceiling, correlation_ceiling

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.data import responses
    >>> from neuroalign.stats import noise_ceiling_from_responses
    >>> rng = np.random.default_rng(0)
    >>> signal = rng.standard_normal((20, 3))
    >>> data = np.concatenate([signal, signal]) + 0.5 * rng.standard_normal((40, 3))
    >>> da = responses(data, [f"s{i}" for i in range(20)] * 2, modality="fmri")
    >>> ceilings = noise_ceiling_from_responses(da)
    >>> ceilings.noise_ceiling.dims, ceilings.attrs["n_averaged"]
    (('neuroid',), 2.0)
    """
    validate(da, allow_nan=True)
    ids = da["stimulus_id"].values
    if n_averaged is None:
        counts = pd.Series(ids).value_counts().to_numpy()
        sizes, n_with = np.unique(counts, return_counts=True)  # exact for equal counts
        n_averaged = float(
            Fraction(len(counts)) / sum(Fraction(int(m), int(c)) for c, m in zip(sizes, n_with))
        )
    snr = _ncsnr(da.values, ids, stacklevel=4)
    template = da.isel(presentation=0, drop=True)
    attrs = {key: value for key, value in da.attrs.items() if key in ("modality", "subject")}
    attrs["n_averaged"] = n_averaged
    attrs["estimator"] = "ncsnr (one-way ANOVA, Allen et al. 2022)"
    return xr.Dataset(
        {
            "ncsnr": template.copy(data=snr),
            "noise_ceiling": template.copy(data=noise_ceiling(snr, n_averaged)),
            "correlation_ceiling": template.copy(data=correlation_ceiling(snr, n_averaged)),
        },
        attrs=attrs,
    )


def spearman_brown(r, factor=2.0):
    """Spearman-Brown prophecy: reliability of a measure lengthened by ``factor``.

    ``r_new = factor * r / (1 + (factor - 1) * r)``. With ``factor=2`` it turns the
    correlation between two half-averages into the reliability of the full average.
    ``spearman_brown(spearman_brown(r, k), 1 / k)`` gives back ``r``.

    Parameters
    ----------
    r : float or array or Tensor
        Reliability (correlation) of the shorter measure, in [-1, 1].
    factor : float, default=2.0
        How many times longer the new measure is; positive. The formula is
        undefined at ``r = -1 / (factor - 1)`` (e.g. ``r = -1`` for ``factor=2``),
        where it returns an infinity.

    Returns
    -------
    r_new : same type as ``r``
        In the float dtype of ``r`` (float64 for Python numbers).

    Raises
    ------
    ValueError
        If ``factor`` is not a positive finite number.

    See Also
    --------
    split_half_reliability

    Examples
    --------
    >>> from neuroalign.stats import spearman_brown
    >>> float(spearman_brown(0.5))
    0.6666666666666666
    """
    if (
        isinstance(factor, bool)
        or not isinstance(factor, (int, float, np.number))
        or not (math.isfinite(factor) and factor > 0)
    ):
        raise ValueError(f"'factor' must be a positive finite number; got {factor!r}.")
    (value,), torch_out, out_device, dtype = _as_tensors((r,), ("r",))
    factor = float(factor)
    return _output(factor * value / (1.0 + (factor - 1.0) * value), torch_out, out_device, dtype)


def split_half_reliability(data, stimulus_ids, *, n_splits=100, seed=None, max_memory=None):
    """Split-half reliability per neuroid, Spearman-Brown corrected, over random splits.

    For each split, the presentations of every stimulus are divided at random into
    two halves (with an odd count, the first half gets the extra one, as in
    :func:`neuroalign.data.split_halves`); each half is averaged per stimulus and the
    two half-averages are correlated across stimuli per neuroid (Pearson). The mean
    correlation over splits is then corrected with :func:`spearman_brown`
    (``factor=2``): the result estimates the reliability of the average over all
    presentations, i.e. the squared correlation ceiling of data averaged that way
    (its square root is the highest Pearson r a perfect model can reach). With
    unequal or odd counts the halves are not exactly half as long, so the factor-2
    correction is approximate.

    All splits are computed in batches (no loop over splits or neuroids): half
    membership is drawn with random keys, and half-averages are one sparse matrix
    product per batch.

    Parameters
    ----------
    data : array or Tensor of shape (n_presentations, n_neuroids[, ...])
        One row per presentation; trailing axes (e.g. time) are treated
        independently.
    stimulus_ids : array-like of shape (n_presentations,)
    n_splits : int, default=100
        Random splits to average over. Even with 2 presentations per stimulus the
        splits differ: which presentation lands in which half changes the
        correlation across stimuli.
    seed : int or numpy.random.Generator or None, default=None
        The splits are reproducible for a seed: with ``keys =
        numpy.random.default_rng(seed).random((n_splits, n_kept))`` over the kept
        presentations (those of stimuli shown at least twice, in data order), split
        ``k``'s first half holds, for each stimulus with ``r`` presentations, the
        ``ceil(r / 2)`` with the smallest keys.
    max_memory : int or str or None, default=None
        Memory budget for one batch of splits; see
        :func:`neuroalign._backend.plan_batches`.

    Returns
    -------
    reliability : array or Tensor of shape (n_neuroids[, ...])
        Same type and device as ``data``, in its float dtype; computed in float64.

    Raises
    ------
    ValueError
        If ``stimulus_ids`` does not match ``data`` or fewer than 2 stimuli were shown
        at least twice.

    Warns
    -----
    NeuroalignWarning
        When stimuli with a single presentation are left out, and when a neuroid's
        half-average is constant across stimuli in some split (that split's
        correlation counts as 0).

    See Also
    --------
    spearman_brown, ncsnr, neuroalign.data.split_halves

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.stats import split_half_reliability
    >>> rng = np.random.default_rng(0)
    >>> signal = rng.standard_normal((50, 2))
    >>> data = np.concatenate([signal] * 4) + rng.standard_normal((200, 2))
    >>> reliability = split_half_reliability(data, list(range(50)) * 4, n_splits=20, seed=0)
    >>> reliability.shape
    (2,)
    """
    n_splits = check_positive_int("n_splits", n_splits)
    flat, trailing, out = _data_tensor(data, "split_half_reliability")
    groups = _Repeated(stimulus_ids, flat.shape[0], "split_half_reliability", stacklevel=3)
    device = flat.device
    x = flat[torch.as_tensor(groups.rows, device=device)]
    n_rows, n_features = x.shape
    n_stimuli = groups.n_stimuli
    codes = torch.as_tensor(groups.codes, device=device)
    counts = torch.as_tensor(groups.counts, device=device)
    n_first = (counts + 1) // 2
    n_second = counts - n_first
    totals = _group_sum(x, codes, n_stimuli)
    # In presentations sorted by stimulus, the first n_first of each stimulus form half A.
    sorted_codes = torch.repeat_interleave(torch.arange(n_stimuli, device=device), counts)
    starts = torch.cumsum(counts, 0) - counts
    position = torch.arange(n_rows, device=device) - starts[sorted_codes]
    in_first = position < n_first[sorted_codes]
    first_codes = sorted_codes[in_first]
    weights = (1.0 / n_first.to(_FLOAT64))[first_codes]
    n_first_rows = int(in_first.sum())

    # Per split: keys, sort orders, sparse indices, and three (n_stimuli, n_features)
    # float64 blocks for the half-averages plus the centred copies in the correlation.
    bytes_per_split = 8 * (4 * n_rows + 4 * n_first_rows) + 8 * 6 * n_stimuli * n_features
    batches = plan_batches(
        n_splits, bytes_per_split, max_memory, device=device, fixed_bytes=x.numel() * 8 * 2
    )
    rng = np.random.default_rng(seed)
    r_sum = torch.zeros(n_features, dtype=_FLOAT64, device=device)
    ever_constant = torch.zeros(n_features, dtype=torch.bool, device=device)
    for batch in batches:
        n_batch = batch.stop - batch.start
        keys = torch.as_tensor(rng.random((n_batch, n_rows)), device=device)
        by_key = torch.argsort(keys, dim=1)
        by_stimulus = torch.argsort(codes[by_key], dim=1, stable=True)
        order = by_key.gather(1, by_stimulus)  # sorted by stimulus, then by key
        rows_first = order[:, in_first]  # (n_batch, n_first_rows)
        # Row (split k, stimulus s) of the product averages s's first half in split k.
        split_index = torch.arange(n_batch, device=device)[:, None]
        sparse_rows = (split_index * n_stimuli + first_codes[None, :]).reshape(-1)
        averaging = torch.sparse_coo_tensor(
            torch.stack([sparse_rows, rows_first.reshape(-1)]),
            weights.repeat(n_batch),
            (n_batch * n_stimuli, n_rows),
            check_invariants=False,  # valid by construction
        )
        mean_first = torch.sparse.mm(averaging, x).reshape(n_batch, n_stimuli, n_features)
        mean_second = (totals - n_first[:, None] * mean_first) / n_second[:, None]
        r, constant = _pearson(mean_first, mean_second)
        r_sum += r.sum(0)
        ever_constant |= constant.any(0)
    n_constant = int(ever_constant.sum())
    if n_constant:
        warnings.warn(
            f"split_half_reliability: {n_constant} of {n_features} neuroids had a constant "
            "half-average across stimuli in at least one split; their correlation in those "
            "splits counted as 0.",
            NeuroalignWarning,
            stacklevel=2,
        )
    r_mean = r_sum / n_splits
    reliability = 2.0 * r_mean / (1.0 + r_mean)
    return _output(reliability.reshape(trailing), *out)
