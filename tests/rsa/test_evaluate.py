"""evaluate() against rsatoolbox 0.3 ``eval_fixed`` / ``eval_bootstrap_pattern`` /
``eval_bootstrap_rdm`` / ``eval_dual_bootstrap`` (k=1).

With the same integer seed neuroalign draws the very bootstrap samples rsatoolbox
draws after ``np.random.seed(seed)``, so with ``dtype="float64"`` every number
(bootstrap samples, noise ceilings, SEs, CIs, p-values) agrees to 1e-10. With
the default float32 rank kernels, samples agree to 1e-4 and SEs to 1e-3
(relative). With independent seeds the SEs agree within 10% at 400 samples
on 30 stimuli (sampling error of an SE estimate is about 1/sqrt(2 * 400) = 3.5%
for normal statistics; with fewer stimuli the bootstrap distribution is heavy
tailed and SEs from different seeds can differ by more).
"""

import warnings

import numpy as np
import pytest
import scipy.stats

from neuroalign.rsa import as_rdms, evaluate
from neuroalign.rsa._compare import RSATOOLBOX_NAMES
from neuroalign.rsa._inference import correct_pvalues

rsatoolbox = pytest.importorskip("rsatoolbox")
from rsatoolbox.inference import (  # noqa: E402
    eval_bootstrap_pattern,
    eval_bootstrap_rdm,
    eval_dual_bootstrap,
    eval_fixed,
)
from rsatoolbox.model import ModelFixed  # noqa: E402
from rsatoolbox.rdm import RDMs  # noqa: E402

N_STIMULI, N_SUBJECTS, N_BOOT = 8, 4, 12
N_PAIRS = N_STIMULI * (N_STIMULI - 1) // 2


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(11)
    truth = rng.random(N_PAIRS)
    data = truth + 0.6 * rng.random((N_SUBJECTS, N_PAIRS))
    models = np.stack([truth + 0.4 * rng.random(N_PAIRS), rng.random(N_PAIRS), np.round(truth * 3)])
    return models, data


def _reference(kind, models, data, method, n_bootstrap, seed):
    rdms = RDMs(data)
    fixed = [ModelFixed(f"m{i}", RDMs(m[None])) for i, m in enumerate(models)]
    np.random.seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind is None:
            return eval_fixed(fixed, rdms, method=method)
        if kind == "pattern":
            return eval_bootstrap_pattern(fixed, rdms, method=method, N=n_bootstrap)
        if kind == "rdm":
            return eval_bootstrap_rdm(fixed, rdms, method=method, N=n_bootstrap)
        return eval_dual_bootstrap(
            fixed, rdms, method=method, N=n_bootstrap, k_pattern=1, k_rdm=1, use_correction=False
        )


def _samples(reference, kind):
    evaluations = reference.evaluations
    ceilings = np.asarray(reference.noise_ceiling)
    if kind == "both":
        return evaluations[:, :, 0, 0, 0], ceilings[:, :, 0, 0].T
    return evaluations, ceilings.T


CASES = [(m, k) for m in RSATOOLBOX_NAMES for k in (None, "pattern")] + [
    (m, k) for m in ("rho_a", "pearson", "cosine_cov", "kendall_tau_a") for k in ("rdm", "both")
]


@pytest.mark.parametrize(("method", "kind"), CASES)
def test_matches_rsatoolbox(problem, method, kind):
    models, data = problem
    reference = _reference(kind, models, data, RSATOOLBOX_NAMES[method], N_BOOT, seed=5)
    result = evaluate(
        models, data, method=method, bootstrap=kind, n_bootstrap=N_BOOT, seed=5, dtype="float64"
    )
    tol = {"atol": 1e-10}
    np.testing.assert_allclose(result.bootstrap_mean, reference.get_means(), **tol)
    np.testing.assert_allclose(result.se, reference.get_sem(), **tol)
    ci = np.stack([result.ci_low, result.ci_high])
    np.testing.assert_allclose(ci, np.stack(reference.get_ci(0.95)), **tol)
    p_pairwise, p_zero, p_noise = reference.test_all()
    np.testing.assert_allclose(result.p_pairwise, p_pairwise, **tol)
    np.testing.assert_allclose(result.p_zero, p_zero, **tol)
    np.testing.assert_allclose(result.p_noise_ceiling, p_noise, **tol)
    if kind is None:
        np.testing.assert_allclose(result.evaluations, reference.evaluations[0], **tol)
        np.testing.assert_allclose(result.noise_ceiling, reference.noise_ceiling, **tol)
    else:
        samples, ceilings = _samples(reference, kind)
        np.testing.assert_allclose(result.bootstrap_samples, samples, **tol)
        np.testing.assert_allclose(result.noise_ceiling_samples, ceilings, **tol)


@pytest.mark.parametrize("method", ["rho_a", "spearman"])
@pytest.mark.parametrize("kind", ["pattern", "rdm", "both"])
def test_float32_rank_kernels_agree_with_float64(problem, method, kind):
    models, data = problem
    fast = evaluate(models, data, method=method, bootstrap=kind, n_bootstrap=N_BOOT, seed=2)
    exact = evaluate(
        models, data, method=method, bootstrap=kind, n_bootstrap=N_BOOT, seed=2, dtype="float64"
    )
    np.testing.assert_allclose(fast.bootstrap_samples, exact.bootstrap_samples, atol=1e-4)
    np.testing.assert_allclose(fast.se, exact.se, rtol=1e-3)
    np.testing.assert_array_equal(fast.scores, exact.scores)


def test_standard_errors_with_independent_samples():
    rng = np.random.default_rng(3)
    n_pairs = 30 * 29 // 2
    truth = rng.random(n_pairs)
    data = truth + 0.6 * rng.random((N_SUBJECTS, n_pairs))
    models = np.stack([truth + 0.4 * rng.random(n_pairs), rng.random(n_pairs)])
    reference = _reference("pattern", models, data, "corr", 400, seed=100)
    result = evaluate(models, data, method="pearson", n_bootstrap=400, seed=200)
    np.testing.assert_allclose(result.se, reference.get_sem(), rtol=0.10)
    np.testing.assert_allclose(result.bootstrap_mean, reference.get_means(), atol=0.01)


def test_small_batches_give_the_same_samples(problem):
    models, data = problem
    whole = evaluate(models, data, method="rho_a", n_bootstrap=20, seed=1)
    pieces = evaluate(models, data, method="rho_a", n_bootstrap=20, seed=1, max_memory=40_000)
    np.testing.assert_allclose(pieces.bootstrap_samples, whole.bootstrap_samples, atol=1e-12)
    np.testing.assert_allclose(pieces.noise_ceiling_samples, whole.noise_ceiling_samples)


def test_result_tables_and_labels(problem):
    models, data = problem
    labelled = as_rdms(models, sources=["truthy", "random", "coarse"])
    result = evaluate(labelled, data, n_bootstrap=30, seed=0, ci_method="percentile")
    table = result.to_frame()
    assert table.model.tolist() == ["truthy", "random", "coarse"]
    assert {"score", "ci_low", "ci_high", "ceiling_low", "ceiling_high", "p_zero"} <= set(table)
    assert (table.ci_low <= table.ci_high).all()
    assert result.noise_ceiling[0] <= result.noise_ceiling[1]
    pairs = result.pairwise_frame()
    assert len(pairs) == 3 and (pairs.p_corrected >= pairs.p).all()
    assert result.scores[0] > result.scores[1]


@pytest.mark.parametrize("correction", ["holm", "bonferroni", "fdr_bh"])
def test_pvalue_corrections(correction):
    p = np.array([0.01, 0.04, 0.03, 0.2, np.nan])
    corrected = correct_pvalues(p, correction)
    finite = p[:4]
    if correction == "bonferroni":
        expected = np.minimum(finite * 4, 1)
    elif correction == "holm":
        expected = np.array([0.04, 0.09, 0.09, 0.2])
    else:
        expected = scipy.stats.false_discovery_control(finite)
    np.testing.assert_allclose(corrected[:4], expected)
    assert np.isnan(corrected[4])


def test_bad_input(problem):
    models, data = problem
    with pytest.raises(ValueError, match="different numbers of stimuli"):
        evaluate(models[:, :21], data)
    with pytest.raises(ValueError, match="'bootstrap' must be one of"):
        evaluate(models, data, bootstrap="subjects")
    with pytest.raises(ValueError, match="percentile.*needs bootstrap"):
        evaluate(models, data, bootstrap=None, ci_method="percentile")
    nan = data.copy()
    nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="'data_rdms' contains 1 NaN"):
        evaluate(models, nan)
    with pytest.raises(TypeError, match="'seed' must be an int"):
        evaluate(models, data, seed=1.5)
    stimuli = [f"s{i}" for i in range(N_STIMULI)]
    with pytest.raises(ValueError, match="different stimulus sets"):
        evaluate(as_rdms(models, stimuli=stimuli), as_rdms(data))


def test_single_data_rdm_has_no_ceiling(problem):
    models, data = problem
    result = evaluate(models, data[:1], n_bootstrap=20, seed=0)
    assert np.isnan(result.noise_ceiling).all() and np.isnan(result.p_noise_ceiling).all()
    assert np.isfinite(result.se).all() and np.isfinite(result.p_zero).all()
    reference = _reference("pattern", models, data[:1], "rho-a", 20, seed=0)
    np.testing.assert_allclose(result.bootstrap_samples, reference.evaluations, atol=1e-4)
    with pytest.raises(ValueError, match="needs at least 2; got 1"):
        evaluate(models, data[:1], bootstrap="rdm")
