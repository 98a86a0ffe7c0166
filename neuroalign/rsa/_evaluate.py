"""Model RDMs against data RDMs in one call: scores, bootstrap, noise ceiling, tests."""

import dataclasses

import numpy as np
import pandas as pd
import scipy.stats
import torch

from neuroalign._backend import resolve_device, resolve_dtype, to_numpy
from neuroalign._validation import check_option, check_positive_int
from neuroalign.rsa._compare import features, resolve_method, similarity
from neuroalign.rsa._inference import (
    BOOTSTRAP_KINDS,
    CORRECTIONS,
    correct_pvalues,
    draw,
    evaluate_samples,
    model_tests,
    noise_ceiling,
    random_state,
    variances,
)
from neuroalign.rsa._labelled import as_vectors, match_stimuli

__all__ = ["EvaluationResult", "evaluate"]


@dataclasses.dataclass(frozen=True, eq=False)
class EvaluationResult:
    """Evaluation of model RDMs on data RDMs.

    Attributes
    ----------
    models : tuple of str
        Model names (sources of ``model_rdms``).
    data : tuple of str
        Data RDM names (subjects).
    method : str
        Comparator.
    bootstrap : {"pattern", "rdm", "both"} or None
    evaluations : numpy.ndarray of shape (n_models, n_rdms)
        Comparator value of each model with each data RDM, on all stimuli.
    scores : numpy.ndarray of shape (n_models,)
        Point estimate: mean of ``evaluations`` over data RDMs.
    noise_ceiling : numpy.ndarray of shape (2,)
        Lower (leave-one-RDM-out) and upper (all RDMs) bound on all data; NaN with
        a single data RDM.
    bootstrap_samples : numpy.ndarray of shape (n_bootstrap, n_models) or None
        Mean evaluation in each bootstrap sample (the joint resampling for
        ``"both"``); NaN rows for samples with fewer than 3 distinct stimuli.
    noise_ceiling_samples : numpy.ndarray of shape (n_bootstrap, 2) or None
        NaN with a single data RDM (no ceiling; tests against it are NaN too).
    bootstrap_mean : numpy.ndarray of shape (n_models,)
        Mean over valid samples, as rsatoolbox's ``Result.get_means`` (for
        ``"both"``, over the joint, RDM and pattern resamplings together); equals
        ``scores`` without bootstrap. The t-tests use it.
    se : numpy.ndarray of shape (n_models,)
        Standard error (rsatoolbox's ``get_sem``: bootstrap variance with the
        n/(n-1) correction, or the across-RDM SEM without bootstrap).
    ci_low, ci_high : numpy.ndarray of shape (n_models,)
    ci_level : float
    ci_method : {"t", "percentile"}
    dof : int
        Degrees of freedom of the t-tests.
    p_zero : numpy.ndarray of shape (n_models,)
        One-sided test of each model against 0.
    p_noise_ceiling : numpy.ndarray of shape (n_models,)
        Two-sided test of each model against the (bootstrap mean) lower bound.
    p_pairwise : numpy.ndarray of shape (n_models, n_models)
        Two-sided tests of model differences, uncorrected; diagonal 1.
    p_pairwise_corrected : numpy.ndarray of shape (n_models, n_models)
        The same after ``correction`` over the n_models*(n_models-1)/2 pairs.
    correction : str
    variance : Variances or None
        Variances of models, pairwise differences and differences to the ceiling.
    n_stimuli : int
    n_bootstrap : int
    extra_samples : dict
        For ``"both"``: ``{"rdm": ..., "pattern": ...}`` evaluations of the RDM-only
        and pattern-only resamplings of the same draws (n_bootstrap, n_models).
    """

    models: tuple
    data: tuple
    method: str
    bootstrap: object
    evaluations: np.ndarray
    scores: np.ndarray
    noise_ceiling: np.ndarray
    bootstrap_samples: object
    noise_ceiling_samples: object
    bootstrap_mean: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    ci_level: float
    ci_method: str
    dof: int
    p_zero: np.ndarray
    p_noise_ceiling: np.ndarray
    p_pairwise: np.ndarray
    p_pairwise_corrected: np.ndarray
    correction: str
    variance: object
    n_stimuli: int
    n_bootstrap: int
    extra_samples: dict

    def to_frame(self):
        """One row per model.

        Returns
        -------
        table : pandas.DataFrame
            Columns ``model, method, score, se, ci_low, ci_high, ceiling_low,
            ceiling_high, p_zero, p_noise_ceiling, n_stimuli, n_rdms, bootstrap``.
        """
        return pd.DataFrame(
            {
                "model": list(self.models),
                "method": self.method,
                "score": self.scores,
                "se": self.se,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "ceiling_low": self.noise_ceiling[0],
                "ceiling_high": self.noise_ceiling[1],
                "p_zero": self.p_zero,
                "p_noise_ceiling": self.p_noise_ceiling,
                "n_stimuli": self.n_stimuli,
                "n_rdms": len(self.data),
                "bootstrap": self.bootstrap or "none",
            }
        )

    def pairwise_frame(self):
        """One row per pair of models: difference of scores and its tests.

        Returns
        -------
        table : pandas.DataFrame
            Columns ``model_a, model_b, difference, p, p_corrected``.
        """
        rows, cols = np.triu_indices(len(self.models), k=1)
        return pd.DataFrame(
            {
                "model_a": [self.models[i] for i in rows],
                "model_b": [self.models[j] for j in cols],
                "difference": self.bootstrap_mean[rows] - self.bootstrap_mean[cols],
                "p": self.p_pairwise[rows, cols],
                "p_corrected": self.p_pairwise_corrected[rows, cols],
            }
        )


def _confidence(result_means, se, dof, samples, level, ci_method):
    alpha = (1 - level) / 2
    if ci_method == "percentile":
        valid = samples[~np.isnan(samples[:, 0])]
        return np.quantile(valid, alpha, axis=0), np.quantile(valid, 1 - alpha, axis=0)
    if dof < 1:
        nan = np.full(len(result_means), np.nan)
        return nan, nan
    half = se * scipy.stats.t.ppf(1 - alpha, dof)
    return result_means - half, result_means + half


def _corrected_matrix(p_pairwise, correction):
    n = p_pairwise.shape[0]
    rows, cols = np.triu_indices(n, k=1)
    corrected = np.ones_like(p_pairwise)
    values = correct_pvalues(p_pairwise[rows, cols], correction)
    corrected[rows, cols] = corrected[cols, rows] = values
    return corrected


def _run_bootstrap(kind, models, data, method, full, n_bootstrap, rng, device, max_memory, dtype):
    """Samples (n_bootstrap, n_models[, 3]) and ceilings (n_bootstrap, 2[, 3])."""
    n_rdms, n_stimuli = data.values.shape[0], len(data.stimuli)
    draws = draw(kind, n_rdms, n_stimuli, n_bootstrap, rng)
    x = torch.as_tensor(models.values, device=device)
    y = torch.as_tensor(data.values, device=device)
    settings = {
        "pattern": [(True, False)],
        "rdm": [(False, True)],
        "both": [(True, True), (False, True), (True, False)],
    }[kind]
    outputs = [
        evaluate_samples(
            x,
            y,
            method,
            draws,
            full,
            pattern=pattern,
            rdm=rdm,
            device=device,
            max_memory=max_memory,
            dtype=dtype,
        )
        for pattern, rdm in settings
    ]
    if kind != "both":
        return outputs[0]
    evaluations = np.stack([o[0] for o in outputs], axis=-1)
    ceilings = np.stack([o[1] for o in outputs], axis=-1)
    return evaluations, ceilings


def evaluate(
    model_rdms,
    data_rdms,
    *,
    method="rho_a",
    bootstrap="pattern",
    n_bootstrap=1000,
    seed=None,
    ci_level=0.95,
    ci_method="t",
    correction="holm",
    device=None,
    dtype=None,
    max_memory=None,
):
    """Evaluate fixed model RDMs on data RDMs with bootstrap inference and noise ceilings.

    The numbers follow rsatoolbox 0.3: ``bootstrap=None`` is ``eval_fixed``,
    ``"pattern"`` is ``eval_bootstrap_pattern``, ``"rdm"`` is
    ``eval_bootstrap_rdm`` and ``"both"`` is ``eval_dual_bootstrap`` (k=1), each
    with its noise ceiling (``boot_noise_ceiling``) and ``Result`` tests. All
    bootstrap samples are evaluated in batched tensor operations.

    Parameters
    ----------
    model_rdms : array-like or labelled RDMs
        Model RDMs, (n_models, n_pairs) or (n_models, n, n), or labelled RDMs
        (source names become model names).
    data_rdms : array-like or labelled RDMs
        Data RDMs (subjects), over the same stimuli.
    method : str, default="rho_a"
        Comparator, see :func:`compare`.
    bootstrap : {"pattern", "rdm", "both"} or None, default="pattern"
        Resample stimuli (pairs of copies of one stimulus are dropped, as
        rsatoolbox does), data RDMs, or both; None for across-RDM t-tests only.
    n_bootstrap : int, default=1000
    seed : int or numpy.random.RandomState or None, default=None
        With an int, the samples equal those rsatoolbox draws after
        ``np.random.seed(seed)``.
    ci_level : float, default=0.95
    ci_method : {"t", "percentile"}, default="t"
        ``"t"``: bootstrap mean ± t quantile × SE, as rsatoolbox's ``get_ci``;
        ``"percentile"``: quantiles of the bootstrap samples.
    correction : {"holm", "fdr_bh", "bonferroni", "none"}, default="holm"
        Correction of the pairwise model tests.
    device : see :func:`neuroalign._backend.resolve_device`, default=None
    dtype : see :func:`neuroalign._backend.resolve_dtype`, default=None
        Working precision of the per-sample rank kernels (``"rho_a"``,
        ``"spearman"``; float32 unless configured). Weights, ranks and ties are
        exact in float32 and only sums round, so bootstrap samples agree with
        float64 to about 1e-5; pass ``"float64"`` to reproduce rsatoolbox to
        machine precision. Point estimates, noise ceilings on all data and the
        other comparators are always computed in float64.
    max_memory : int or str, optional
        Budget for one batch of bootstrap samples.

    Returns
    -------
    result : EvaluationResult

    Raises
    ------
    ValueError
        Different stimulus sets, NaN dissimilarities, fewer than 3 stimuli,
        unknown options.

    See Also
    --------
    compare, crossval, rsa_scores

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.rsa import evaluate
    >>> rng = np.random.default_rng(0)
    >>> truth = rng.random(45)
    >>> data = truth + 0.3 * rng.random((4, 45))
    >>> models = np.stack([truth, rng.random(45)])
    >>> result = evaluate(models, data, method="spearman", n_bootstrap=100, seed=1)
    >>> bool(result.scores[0] > result.scores[1]), result.bootstrap_samples.shape
    (True, (100, 2))
    """
    method = resolve_method(method)
    if bootstrap is not None:
        check_option("bootstrap", bootstrap, BOOTSTRAP_KINDS)
        n_bootstrap = check_positive_int("n_bootstrap", n_bootstrap, minimum=2)
    check_option("ci_method", ci_method, ("t", "percentile"))
    check_option("correction", correction, CORRECTIONS)
    if not 0 < ci_level < 1:
        raise ValueError(f"'ci_level' must be between 0 and 1; got {ci_level!r}.")
    if ci_method == "percentile" and bootstrap is None:
        raise ValueError("ci_method='percentile' needs bootstrap samples; set 'bootstrap'.")
    rng = random_state(seed)
    data = as_vectors(data_rdms, "data_rdms")
    if bootstrap in ("rdm", "both") and data.values.shape[0] < 2:
        raise ValueError(
            f"bootstrap={bootstrap!r} resamples data RDMs and needs at least 2; got 1. Use "
            "bootstrap='pattern' or None."
        )
    models = match_stimuli(data, as_vectors(model_rdms, "model_rdms"), ("data_rdms", "model_rdms"))
    device = resolve_device(device)
    x = torch.as_tensor(models.values, device=device)
    y = torch.as_tensor(data.values, device=device)
    data_features = features(y, method)
    full_t = similarity(features(x, method), data_features, method)
    full = to_numpy(full_t)
    ones = torch.ones((1, y.shape[0]), dtype=y.dtype, device=device)
    if y.shape[0] > 1:
        ceiling = to_numpy(noise_ceiling(y, method, ones, None, data_features))[0]
    else:
        ceiling = np.full(2, np.nan)
    scores = full.mean(1)
    samples = ceilings = None
    extra = {}
    if bootstrap is None:
        means, ceiling_mean = scores, ceiling[0]
    else:
        samples, ceilings = _run_bootstrap(
            bootstrap,
            models,
            data,
            method,
            full_t,
            n_bootstrap,
            rng,
            device,
            max_memory,
            resolve_dtype(dtype),
        )
        if y.shape[0] == 1:
            ceilings = None
        valid = ~np.isnan(samples.reshape(n_bootstrap, -1)[:, 0])
        means = np.nanmean(samples[valid].reshape(valid.sum(), len(scores), -1), axis=-1).mean(0)
        ceiling_mean = np.nan if ceilings is None else np.nanmean(ceilings[:, 0])
        if bootstrap == "both":
            extra = {"rdm": samples[..., 1], "pattern": samples[..., 2]}
    variance, dof = variances(bootstrap, samples, ceilings, full, len(data.stimuli))
    se = (
        np.sqrt(np.maximum(variance.model, 0))
        if variance is not None
        else np.full(len(scores), np.nan)
    )
    if bootstrap == "both":
        samples, ceilings = samples[..., 0], ceilings[..., 0]
    if ceilings is None and samples is not None:
        ceilings = np.full((n_bootstrap, 2), np.nan)
    ci_low, ci_high = _confidence(means, se, dof, samples, ci_level, ci_method)
    p_pairwise, p_zero, p_ceiling = model_tests(means, variance, ceiling_mean, dof)
    return EvaluationResult(
        models=models.sources,
        data=data.sources,
        method=method,
        bootstrap=bootstrap,
        evaluations=full,
        scores=scores,
        noise_ceiling=ceiling,
        bootstrap_samples=samples,
        noise_ceiling_samples=ceilings,
        bootstrap_mean=means,
        se=se,
        ci_low=ci_low,
        ci_high=ci_high,
        ci_level=float(ci_level),
        ci_method=ci_method,
        dof=int(dof),
        p_zero=p_zero,
        p_noise_ceiling=p_ceiling,
        p_pairwise=p_pairwise,
        p_pairwise_corrected=_corrected_matrix(p_pairwise, correction),
        correction=correction,
        variance=variance,
        n_stimuli=len(data.stimuli),
        n_bootstrap=0 if bootstrap is None else n_bootstrap,
        extra_samples=extra,
    )
