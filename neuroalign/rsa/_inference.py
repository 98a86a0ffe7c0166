"""Bootstrap resampling, noise ceilings and model tests, batched over samples.

Bootstrap samples are drawn as index arrays with numpy's legacy ``RandomState``
in the order rsatoolbox draws them, so ``seed=s`` reproduces the samples of
rsatoolbox after ``np.random.seed(s)``. Each batch of samples is then evaluated
at once: pattern resampling becomes pair weights (see :mod:`._compare`), RDM
(subject) resampling becomes subject counts.
"""

from typing import NamedTuple

import numpy as np
import scipy.stats
import torch

from neuroalign._backend import plan_batches, to_numpy
from neuroalign._validation import check_option
from neuroalign.rsa._batched import LINEAR, RANKED, linear_samples, plan_ranks, rank_samples
from neuroalign.rsa._compare import features, pool_transform, resampling_from_counts, similarity

__all__ = ["BOOTSTRAP_KINDS", "CORRECTIONS"]

BOOTSTRAP_KINDS = ("pattern", "rdm", "both")
CORRECTIONS = ("holm", "fdr_bh", "bonferroni", "none")


class Draws(NamedTuple):
    """Counts of each RDM and each stimulus in every bootstrap sample (internal)."""

    rdm_counts: object  # (n_bootstrap, n_rdms) float array or None
    pattern_counts: object  # (n_bootstrap, n_stimuli) float array or None
    valid: np.ndarray  # (n_bootstrap,) bool: at least 3 distinct stimuli


def random_state(seed):
    """A legacy ``RandomState`` (rsatoolbox draws from ``np.random``'s global one)."""
    if isinstance(seed, np.random.RandomState):
        return seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise TypeError(
            f"'seed' must be an int, None or a numpy RandomState; got {type(seed).__name__}."
        )
    return np.random.RandomState(seed)


def _counts(indices, n):
    offsets = np.arange(indices.shape[0])[:, None] * n
    flat = np.bincount((indices + offsets).ravel(), minlength=indices.shape[0] * n)
    return flat.reshape(indices.shape[0], n).astype(np.float64)


def draw(kind, n_rdms, n_stimuli, n_bootstrap, rng):
    """Draw bootstrap samples as rsatoolbox does.

    ``"pattern"`` and ``"rdm"`` draw one ``randint`` vector per sample
    (``eval_bootstrap_pattern`` / ``eval_bootstrap_rdm``). ``"both"`` draws RDMs
    then stimuli per sample and consumes the shuffles that ``eval_dual_bootstrap``
    performs (k=1 cross-validation), so later samples stay in step.
    """
    if kind == "pattern":
        counts = _counts(rng.randint(0, n_stimuli, size=(n_bootstrap, n_stimuli)), n_stimuli)
        return Draws(None, counts, (counts > 0).sum(-1) >= 3)
    if kind == "rdm":
        counts = _counts(rng.randint(0, n_rdms, size=(n_bootstrap, n_rdms)), n_rdms)
        return Draws(counts, None, np.ones(n_bootstrap, bool))
    rdm_idx = np.empty((n_bootstrap, n_rdms), np.int64)
    pattern_idx = np.empty((n_bootstrap, n_stimuli), np.int64)
    for sample in range(n_bootstrap):
        rdm_idx[sample] = rng.randint(0, n_rdms, size=n_rdms)
        pattern_idx[sample] = rng.randint(0, n_stimuli, size=n_stimuli)
        unique_rdms = len(np.unique(rdm_idx[sample]))
        unique_patterns = len(np.unique(pattern_idx[sample]))
        if unique_patterns >= 3:
            for length in (unique_rdms, unique_patterns, unique_rdms, n_stimuli):
                rng.shuffle(np.arange(length))
            for length in (n_rdms, unique_patterns):
                rng.shuffle(np.arange(length))
    pattern_counts = _counts(pattern_idx, n_stimuli)
    return Draws(_counts(rdm_idx, n_rdms), pattern_counts, (pattern_counts > 0).sum(-1) >= 3)


def noise_ceiling(data, method, rdm_counts, resampling=None, data_features=None):
    """Leave-one-RDM-out (lower) and all-RDM (upper) noise ceilings per sample.

    As rsatoolbox's ``boot_noise_ceiling``: each distinct RDM of the sample is
    predicted by the pooled (``pool_rdm``) average of the other RDMs of the
    sample (lower bound) or of all of them (upper bound); bounds are the mean over
    distinct RDMs of the comparator values.

    Parameters
    ----------
    data : torch.Tensor of shape (n_rdms, n_pairs)
    method : str
    rdm_counts : torch.Tensor of shape (n_samples, n_rdms)
        How often each RDM is in each sample.
    resampling : Resampling, optional
        Pattern resampling of the same samples.
    data_features : Features, optional
        ``features(data, method, resampling)`` if already computed.

    Returns
    -------
    bounds : torch.Tensor of shape (n_samples, 2)
        Lower and upper bound.
    """
    n_samples, n_rdms = rdm_counts.shape
    pooled = pool_transform(data, method, resampling)
    pooled = pooled.expand(n_samples, n_rdms, data.shape[-1])
    total = torch.einsum("bs,bsp->bp", rdm_counts, pooled)
    size = rdm_counts.sum(-1)
    present = rdm_counts > 0
    n_present = present.sum(-1).to(data.dtype)
    leave_out = (size[:, None] - rdm_counts).clamp(min=1)
    train = (total[:, None, :] - rdm_counts[..., None] * pooled) / leave_out[..., None]
    everything = total / size[:, None]
    single = (n_present == 1)[:, None, None]
    train = torch.where(single, everything[:, None, :], train)
    if data_features is None:
        data_features = features(data, method, resampling)
    lower = similarity(features(train, method, resampling), data_features, method, paired=True)
    upper = similarity(features(everything[:, None, :], method, resampling), data_features, method)
    upper = upper[:, 0, :]
    mask = present.to(data.dtype)
    return torch.stack(
        [(lower * mask).sum(-1) / n_present, (upper * mask).sum(-1) / n_present], dim=-1
    )


def _memory_plan(method, n_models, n_rdms, n_pairs, n_stimuli):
    """Bytes per bootstrap sample and bytes needed once, for :func:`plan_batches`."""
    if method in LINEAR:
        per = 4 * n_pairs
        fixed = (n_models * n_rdms + n_rdms * n_rdms + 2 * n_models + n_rdms) * n_pairs
    elif method in RANKED:
        per = (n_models + 6 * n_rdms + 6) * n_pairs
        fixed = 3 * (n_models + n_rdms) * n_pairs
    elif method in ("corr_cov", "cosine_cov"):
        per, fixed = 3 * (n_models + 4 * n_rdms + 4) * n_stimuli * n_stimuli, 0
    else:
        per, fixed = 3 * (n_models + 4 * n_rdms + 4) * n_pairs, 0
    return 8 * per, 8 * fixed


def evaluate_samples(
    models, data, method, draws, full, *, pattern, rdm, device, max_memory, dtype=torch.float64
):
    """Model evaluations and noise ceilings of every bootstrap sample.

    Parameters
    ----------
    models, data : torch.Tensor of shape (n_models, n_pairs), (n_rdms, n_pairs)
    method : str
    draws : Draws
    full : torch.Tensor of shape (n_models, n_rdms)
        Comparisons on the full data (reused when stimuli are not resampled).
    pattern, rdm : bool
        Which of the drawn resamplings to apply.
    dtype : torch.dtype, default=torch.float64
        Working precision of the rank kernels (Spearman, rho-a). Weights, ranks
        and tie structure are exact in float32; only their sums round. Other
        comparators always run in float64.

    Returns
    -------
    evaluations : numpy.ndarray of shape (n_bootstrap, n_models)
        Mean over the sample's RDMs; NaN for samples with fewer than 3 stimuli.
    ceilings : numpy.ndarray of shape (n_bootstrap, 2)
    """
    n_bootstrap = draws.valid.shape[0]
    n_models, n_rdms = full.shape
    n_stimuli = 0 if draws.pattern_counts is None else draws.pattern_counts.shape[1]
    per_sample, fixed = _memory_plan(method, n_models, n_rdms, data.shape[1], max(n_stimuli, 3))
    evaluations = np.full((n_bootstrap, n_models), np.nan)
    ceilings = np.full((n_bootstrap, 2), np.nan)
    ranked = method in RANKED
    if ranked:
        models, data = models.to(dtype), data.to(dtype)
    plans = (plan_ranks(models), plan_ranks(data)) if ranked else None
    batches = plan_batches(n_bootstrap, per_sample, max_memory, device=device, fixed_bytes=fixed)
    for batch in batches:
        keep = np.flatnonzero(draws.valid[batch]) + batch.start
        if keep.size == 0:
            continue
        if rdm:
            rdm_counts = torch.as_tensor(draws.rdm_counts[keep], device=device, dtype=data.dtype)
        else:
            rdm_counts = torch.ones((keep.size, n_rdms), dtype=data.dtype, device=device)
        resampling = None
        if pattern:
            resampling = resampling_from_counts(
                torch.as_tensor(draws.pattern_counts[keep], device=device, dtype=data.dtype)
            )
        weights = None if resampling is None else resampling.weights
        if method in LINEAR:
            values, bounds = linear_samples(method, models, data, weights, rdm_counts)
        elif method in RANKED:
            values, bounds = rank_samples(method, models, data, weights, rdm_counts, plans)
        else:
            values, bounds = _generic_samples(method, models, data, full, resampling, rdm_counts)
        evaluations[keep] = to_numpy(values.double())
        ceilings[keep] = to_numpy(bounds.double())
    return evaluations, ceilings


def _generic_samples(method, models, data, full, resampling, rdm_counts):
    """Any comparator, via per-sample features (used for tau-a and the whitened ones)."""
    if resampling is None:
        data_features = None
        sims = full.expand(rdm_counts.shape[0], *full.shape)
    else:
        data_features = features(data, method, resampling)
        sims = similarity(features(models, method, resampling), data_features, method)
    weights = rdm_counts / rdm_counts.sum(-1, keepdim=True)
    values = (sims * weights[:, None, :]).sum(-1)
    return values, noise_ceiling(data, method, rdm_counts, resampling, data_features)


def _pair_contrast(n_models):
    rows, cols = np.triu_indices(n_models, k=1)
    contrast = np.zeros((len(rows), n_models))
    contrast[np.arange(len(rows)), rows] = 1
    contrast[np.arange(len(rows)), cols] = -1
    return contrast


def _dual(variances, n_rdms, n_stimuli):
    """rsatoolbox's small-sample dual-bootstrap combination (``_dual_bootstrap``)."""
    joint, rdm, pattern = variances
    f_rdm, f_pattern = n_rdms / (n_rdms - 1), n_stimuli / (n_stimuli - 1)
    combined = f_rdm * rdm + f_pattern * pattern - f_rdm * f_pattern * (joint - rdm - pattern)
    combined = np.maximum(np.maximum(combined, f_rdm * rdm), f_pattern * pattern)
    return np.minimum(combined, joint)


class Variances(NamedTuple):
    """Variance estimates behind the t-based tests (rsatoolbox ``extract_variances``).

    Attributes
    ----------
    model : numpy.ndarray of shape (n_models,)
    difference : numpy.ndarray of shape (n_models * (n_models - 1) / 2,)
        Of pairwise differences, pairs in upper-triangle order.
    noise_ceiling : numpy.ndarray of shape (n_models, 2)
        Of each model's difference to the lower and upper bound.
    """

    model: np.ndarray
    difference: np.ndarray
    noise_ceiling: np.ndarray


def _split(covariance, n_models, with_ceiling):
    contrast = _pair_contrast(n_models)
    models = covariance[..., :n_models, :n_models]
    model_var = np.diagonal(models, axis1=-2, axis2=-1)
    difference = np.einsum("ij,...jk,ik->...i", contrast, models, contrast)
    if with_ceiling:
        cross = covariance[..., :n_models, n_models:]
        ceiling_var = np.diagonal(covariance[..., n_models:, n_models:], axis1=-2, axis2=-1)
        to_ceiling = model_var[..., :, None] - 2 * cross + ceiling_var[..., None, :]
    else:
        to_ceiling = np.stack([model_var, model_var], axis=-1)
    return model_var, difference, to_ceiling


def variances(kind, evaluations, ceilings, full, n_stimuli):
    """Variances of model evaluations as rsatoolbox's ``Result`` derives them.

    Parameters
    ----------
    kind : {"pattern", "rdm", "both", None}
    evaluations : numpy.ndarray of shape (n_bootstrap, n_models[, 3])
        For ``"both"`` the last axis holds the joint, RDM and pattern bootstrap.
    ceilings : numpy.ndarray of shape (n_bootstrap, 2[, 3]) or None
        None when there is no noise ceiling (a single data RDM).
    full : numpy.ndarray of shape (n_models, n_rdms)
        Per-RDM evaluations on the full data (used when ``kind`` is None).
    n_stimuli : int

    Returns
    -------
    variances : Variances or None
        None when no variance can be estimated (no bootstrap and one RDM).
    dof : int
    """
    n_models, n_rdms = full.shape
    if kind is None:
        if n_rdms < 2:
            return None, 0
        covariance = np.atleast_2d(np.cov(full, ddof=0)) / n_rdms * n_rdms / (n_rdms - 1)
        return Variances(*_split(covariance, n_models, False)), n_rdms - 1
    valid = ~np.isnan(evaluations.reshape(evaluations.shape[0], -1)[:, 0])
    if kind == "rdm":
        covariance = np.atleast_2d(np.cov(evaluations.T)) * n_rdms / (n_rdms - 1)
        return Variances(*_split(covariance, n_models, False)), n_rdms - 1
    if kind == "pattern":
        with_ceiling = ceilings is not None
        parts = [evaluations[valid]] + ([ceilings[valid]] if with_ceiling else [])
        covariance = np.atleast_2d(np.cov(np.concatenate(parts, axis=1).T))
        covariance = covariance * n_stimuli / (n_stimuli - 1)
        return Variances(*_split(covariance, n_models, with_ceiling)), n_stimuli - 1
    stacked = np.concatenate([evaluations[valid], ceilings[valid]], axis=1)
    stacked = stacked - stacked.mean(0, keepdims=True)
    covariance = np.einsum("ijk,ilk->kjl", stacked, stacked) / (stacked.shape[0] - 1)
    parts = _split(covariance, n_models, True)
    combined = [_dual(p, n_rdms, n_stimuli) for p in parts]
    return Variances(*combined), min(n_rdms, n_stimuli) - 1


def _t_sf(t, dof):
    return scipy.stats.t.sf(t, dof) if dof > 0 else np.full(np.shape(t), np.nan)


def model_tests(means, variance, ceiling_mean, dof):
    """rsatoolbox's t-tests: pairwise (two-sided), against 0 (one-sided), against the
    lower noise ceiling (two-sided).

    Returns
    -------
    p_pairwise : numpy.ndarray of shape (n_models, n_models)
        Diagonal is 1.
    p_zero, p_noise_ceiling : numpy.ndarray of shape (n_models,)
    """
    n_models = len(means)
    if variance is None:
        nan = np.full(n_models, np.nan)
        pairwise = np.full((n_models, n_models), np.nan)
        np.fill_diagonal(pairwise, 1.0)
        return pairwise, nan, nan
    eps = np.finfo(float).eps
    diffs = _pair_contrast(n_models) @ means
    t_pairs = diffs / np.sqrt(np.maximum(variance.difference, eps))
    pairwise = np.ones((n_models, n_models))
    rows, cols = np.triu_indices(n_models, k=1)
    pairwise[rows, cols] = pairwise[cols, rows] = 2 * _t_sf(np.abs(t_pairs), dof)
    p_zero = _t_sf(means / np.sqrt(np.maximum(variance.model, eps)), dof)
    t_ceiling = (means - ceiling_mean) / np.sqrt(np.maximum(variance.noise_ceiling[:, 0], eps))
    return pairwise, p_zero, 2 * _t_sf(np.abs(t_ceiling), dof)


def correct_pvalues(p_values, method):
    """Family-wise (Holm, Bonferroni) or false-discovery-rate (Benjamini-Hochberg) correction.

    Holm and Benjamini-Hochberg come from :mod:`neuroalign.stats`.

    Parameters
    ----------
    p_values : array of shape (n_tests,)
    method : {"holm", "fdr_bh", "bonferroni", "none"}

    Returns
    -------
    corrected : numpy.ndarray of shape (n_tests,)
        NaN entries stay NaN and do not count as tests.
    """
    from neuroalign.stats import fdr_correction, holm_correction

    check_option("correction", method, CORRECTIONS)
    p_values = np.asarray(p_values, dtype=float)
    corrected = np.full_like(p_values, np.nan)
    finite = np.isfinite(p_values)
    p = np.clip(p_values[finite], 0.0, 1.0)
    if method == "none" or p.size == 0:
        corrected[finite] = p
    elif method == "bonferroni":
        corrected[finite] = np.minimum(p * p.size, 1.0)
    elif method == "holm":
        corrected[finite] = holm_correction(p).p_adjusted
    else:
        corrected[finite] = fdr_correction(p, method="bh").p_adjusted
    return corrected
