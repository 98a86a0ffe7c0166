"""Bootstrap confidence intervals against a plain loop over the same resamples.

The resamples are documented (``floor(u * n_units)`` with ``u`` drawn by
``numpy.random.default_rng(seed).random``), so the loop below draws exactly the same
ones. float64: agreement to 1e-12 (the batched version sums with matrix products in
another order). float32: 1e-5 against the float64 result.
"""

import math

import numpy as np
import pandas as pd
import pytest
import scipy.stats
import sklearn.metrics
import torch

import neuroalign.stats._bootstrap as bootstrap_module
from neuroalign.exceptions import NeuroalignWarning
from neuroalign.stats import BootstrapResult, bootstrap_scores, pearson_r, percentile_ci

ATOL = 1e-12
F32_ATOL = 1e-5


def _pair(rng, n_samples=40, n_targets=4, slope=0.5):
    y_true = rng.standard_normal((n_samples, n_targets))
    y_pred = slope * y_true + rng.standard_normal((n_samples, n_targets))
    return y_true, y_pred


def _draws(seed, n_bootstrap, n_units):
    u = np.random.default_rng(seed).random((n_bootstrap, n_units))
    return np.minimum((u * n_units).astype(np.int64), n_units - 1)


def _score(metric, y_true, y_pred):
    if metric == "pearson":
        return scipy.stats.pearsonr(y_true, y_pred, axis=0)[0]
    return sklearn.metrics.r2_score(y_true, y_pred, multioutput="raw_values")


def _loop(y_true, y_pred, *, metric, n_bootstrap, seed, ci, groups=None):
    """One resample at a time: rows of the drawn samples, or of the drawn groups."""
    if groups is None:
        members = [np.array([i]) for i in range(len(y_true))]
    else:
        codes, uniques = pd.factorize(groups)
        members = [np.flatnonzero(codes == g) for g in range(len(uniques))]
    samples = []
    for draw in _draws(seed, n_bootstrap, len(members)):
        rows = np.concatenate([members[u] for u in draw])
        samples.append(_score(metric, y_true[rows], y_pred[rows]))
    samples = np.array(samples)
    q = [(1 - ci) / 2, (1 + ci) / 2]
    low, high = np.quantile(samples, q, axis=0)
    return samples.std(0, ddof=1), low, high


@pytest.mark.parametrize("metric", ["pearson", "r2"])
def test_matches_a_loop_over_the_same_resamples(rng, metric):
    y_true, y_pred = _pair(rng)
    result = bootstrap_scores(
        y_true, y_pred, metric=metric, n_bootstrap=200, seed=5, ci=0.9, device="cpu"
    )
    assert isinstance(result, BootstrapResult)
    assert result.n_bootstrap == 200 and result.ci == 0.9
    se, low, high = _loop(y_true, y_pred, metric=metric, n_bootstrap=200, seed=5, ci=0.9)
    np.testing.assert_allclose(result.estimate, _score(metric, y_true, y_pred), atol=ATOL)
    np.testing.assert_allclose(result.se, se, rtol=0, atol=ATOL)
    np.testing.assert_allclose(result.ci_low, low, rtol=0, atol=ATOL)
    np.testing.assert_allclose(result.ci_high, high, rtol=0, atol=ATOL)


@pytest.mark.parametrize("metric", ["pearson", "r2"])
def test_groups_are_resampled_whole(rng, metric):
    # Unequal group sizes: every drawn group brings all its rows.
    groups = np.repeat([f"stim_{i}" for i in range(15)], rng.integers(1, 5, 15))
    y_true, y_pred = _pair(rng, n_samples=len(groups), n_targets=3)
    result = bootstrap_scores(
        y_true, y_pred, metric=metric, n_bootstrap=100, groups=groups, seed=2, device="cpu"
    )
    se, low, high = _loop(
        y_true, y_pred, metric=metric, n_bootstrap=100, seed=2, ci=0.95, groups=groups
    )
    np.testing.assert_allclose(result.se, se, rtol=0, atol=ATOL)
    np.testing.assert_allclose(result.ci_low, low, rtol=0, atol=ATOL)
    np.testing.assert_allclose(result.ci_high, high, rtol=0, atol=ATOL)


def test_repeated_rows_in_groups_equal_resampling_the_stimuli(rng):
    # Three identical repetitions per stimulus, grouped: the same as resampling stimuli.
    y_true, y_pred = _pair(rng, n_samples=30, n_targets=3)
    ids = np.tile(np.arange(30), 3)
    repeated = bootstrap_scores(
        y_true[ids], y_pred[ids], n_bootstrap=150, groups=ids, seed=9, device="cpu"
    )
    stimuli = bootstrap_scores(y_true, y_pred, n_bootstrap=150, seed=9, device="cpu")
    for field in ("estimate", "se", "ci_low", "ci_high"):
        np.testing.assert_allclose(
            getattr(repeated, field), getattr(stimuli, field), rtol=0, atol=ATOL
        )
    # Resampling repetitions independently understates the uncertainty.
    naive = bootstrap_scores(y_true[ids], y_pred[ids], n_bootstrap=150, seed=9, device="cpu")
    assert np.all(naive.se < repeated.se)


def test_batches_give_the_same_result(rng, monkeypatch):
    y_true, y_pred = _pair(rng, n_samples=50, n_targets=6)
    whole = bootstrap_scores(y_true, y_pred, n_bootstrap=101, seed=1, device="cpu")
    monkeypatch.setattr(
        bootstrap_module,
        "plan_batches",
        lambda n, *args, **kwargs: [slice(i, min(n, i + 7)) for i in range(0, n, 7)],
    )
    batched = bootstrap_scores(y_true, y_pred, n_bootstrap=101, seed=1, device="cpu")
    for field in ("estimate", "se", "ci_low", "ci_high"):
        np.testing.assert_allclose(
            getattr(batched, field), getattr(whole, field), rtol=0, atol=ATOL
        )


def test_small_memory_budget_batches_or_refuses(rng):
    y_true, y_pred = _pair(rng, n_samples=50, n_targets=6)
    whole = bootstrap_scores(y_true, y_pred, n_bootstrap=64, seed=1, device="cpu")
    tight = bootstrap_scores(
        y_true, y_pred, n_bootstrap=64, seed=1, device="cpu", max_memory="60kB"
    )
    np.testing.assert_allclose(tight.ci_high, whole.ci_high, rtol=0, atol=ATOL)
    with pytest.raises(MemoryError, match="max_memory"):
        bootstrap_scores(y_true, y_pred, n_bootstrap=64, seed=1, device="cpu", max_memory=1000)


def test_se_matches_fisher_for_large_samples(rng):
    # Bivariate normal, rho = 0.5: se(r) ~ (1 - r²) / sqrt(n - 3). With 400 resamples
    # each bootstrap se has a Monte Carlo error of about 1 / sqrt(2 * 400) = 3.5 %.
    n_samples, n_targets = 2000, 40
    y_true = rng.standard_normal((n_samples, n_targets))
    y_pred = 0.5 * y_true + math.sqrt(0.75) * rng.standard_normal((n_samples, n_targets))
    result = bootstrap_scores(y_true, y_pred, n_bootstrap=400, seed=0, device="cpu")
    analytic = (1 - result.estimate**2) / math.sqrt(n_samples - 3)
    ratio = result.se / analytic
    assert abs(ratio.mean() - 1) < 0.03, ratio.mean()
    assert np.all(np.abs(ratio - 1) < 0.15), ratio
    # The 95 % interval covers about 2 x 1.96 standard errors.
    width = (result.ci_high - result.ci_low) / (2 * 1.96 * analytic)
    assert abs(width.mean() - 1) < 0.05, width.mean()


def test_float32_and_torch_inputs(rng):
    y_true, y_pred = _pair(rng, n_samples=60, n_targets=5)
    reference = bootstrap_scores(y_true, y_pred, n_bootstrap=100, seed=4, device="cpu")
    as_torch = bootstrap_scores(
        torch.as_tensor(y_true, dtype=torch.float32),
        torch.as_tensor(y_pred, dtype=torch.float32),
        n_bootstrap=100,
        seed=4,
    )
    assert isinstance(as_torch.se, torch.Tensor) and as_torch.se.dtype == torch.float32
    for field in ("estimate", "se", "ci_low", "ci_high"):
        np.testing.assert_allclose(
            getattr(as_torch, field).numpy(), getattr(reference, field), rtol=0, atol=F32_ATOL
        )
    as_numpy32 = bootstrap_scores(
        y_true.astype(np.float32), y_pred.astype(np.float32), n_bootstrap=100, seed=4
    )
    assert isinstance(as_numpy32.se, np.ndarray) and as_numpy32.se.dtype == np.float32


def test_leading_dims_and_1d_inputs(rng):
    y_true, _ = _pair(rng, n_samples=40, n_targets=3)
    y_pred = rng.standard_normal((2, 40, 3)) + y_true
    result = bootstrap_scores(y_true, y_pred, n_bootstrap=50, seed=3, device="cpu")
    assert result.ci_low.shape == (2, 3)
    for i in range(2):
        single = bootstrap_scores(y_true, y_pred[i], n_bootstrap=50, seed=3, device="cpu")
        np.testing.assert_allclose(result.ci_low[i], single.ci_low, rtol=0, atol=ATOL)
        np.testing.assert_allclose(result.estimate[i], pearson_r(y_true, y_pred[i]), atol=ATOL)
    scalar = bootstrap_scores(y_true[:, 0], y_pred[0, :, 0], n_bootstrap=50, seed=3)
    assert np.ndim(scalar.se) == 0 and scalar.ci_low < scalar.estimate < scalar.ci_high


def test_deterministic_for_a_seed(rng):
    y_true, y_pred = _pair(rng)
    first = bootstrap_scores(y_true, y_pred, n_bootstrap=50, seed=11, device="cpu")
    again = bootstrap_scores(y_true, y_pred, n_bootstrap=50, seed=11, device="cpu")
    other = bootstrap_scores(y_true, y_pred, n_bootstrap=50, seed=12, device="cpu")
    np.testing.assert_array_equal(first.se, again.se)
    assert not np.array_equal(first.se, other.se)


def test_constant_targets_warn(rng):
    y_true, y_pred = _pair(rng, n_samples=30, n_targets=3)
    y_true[:, 0] = 2.0
    with pytest.warns(NeuroalignWarning, match="1 of 3 targets have a constant"):
        result = bootstrap_scores(y_true, y_pred, n_bootstrap=20, seed=0, device="cpu")
    assert result.estimate[0] == 0.0 and result.ci_low[0] == 0.0 and result.se[0] == 0.0
    assert not np.isnan(result.se).any()
    # A binary target with one 1: many resamples miss it and are constant.
    binary = np.zeros((30, 1))
    binary[0] = 1.0
    with pytest.warns(NeuroalignWarning, match="resampled scores of the other targets"):
        bootstrap_scores(binary, binary + y_pred[:, :1], n_bootstrap=50, seed=0, device="cpu")


def test_argument_errors(rng):
    y_true, y_pred = _pair(rng)
    with pytest.raises(ValueError, match="'n_bootstrap' must be >= 2; got 1"):
        bootstrap_scores(y_true, y_pred, n_bootstrap=1)
    with pytest.raises(ValueError, match="'metric' must be one of.*Did you mean 'pearson'"):
        bootstrap_scores(y_true, y_pred, metric="pearsn")
    with pytest.raises(ValueError, match="'ci' must be a confidence level"):
        bootstrap_scores(y_true, y_pred, ci=95)
    with pytest.raises(ValueError, match=r"'groups' must be 1-D with one label per sample \(40\)"):
        bootstrap_scores(y_true, y_pred, groups=np.arange(39))
    with pytest.raises(ValueError, match="at least 2 distinct groups"):
        bootstrap_scores(y_true, y_pred, groups=np.zeros(40))
    with pytest.raises(ValueError, match="same number of samples"):
        bootstrap_scores(y_true, y_pred[:-1])


# --- percentile_ci ---------------------------------------------------------------------------


def test_percentile_ci_matches_numpy(rng):
    samples = rng.standard_normal((97, 4, 3))
    for ci in (0.95, 0.9, 0.5, 0.683):
        q = [(1 - ci) / 2, (1 + ci) / 2]
        low, high = percentile_ci(samples, ci)
        np.testing.assert_array_equal(low, np.quantile(samples, q[0], axis=0))
        np.testing.assert_array_equal(high, np.quantile(samples, q[1], axis=0))
    low, high = percentile_ci(torch.as_tensor(samples), 0.9, axis=1)
    assert isinstance(low, torch.Tensor) and low.shape == (97, 3)
    np.testing.assert_array_equal(high.numpy(), np.quantile(samples, 0.95, axis=1))
    with_nan = samples[:, 0, :].copy()
    with_nan[3, 1] = np.nan
    low, _ = percentile_ci(with_nan)
    assert np.isnan(low[1]) and not np.isnan(low[[0, 2]]).any()
    with pytest.raises(ValueError, match="'ci' must be a confidence level"):
        percentile_ci(samples, 1.0)
    with pytest.raises(ValueError, match="'axis' must index a dimension"):
        percentile_ci(samples, axis=3)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu(rng):
    y_true, y_pred = _pair(rng, n_samples=300, n_targets=20)
    groups = np.repeat(np.arange(100), 3)
    on_cpu = bootstrap_scores(y_true, y_pred, n_bootstrap=500, groups=groups, seed=0)
    on_cuda = bootstrap_scores(
        y_true, y_pred, n_bootstrap=500, groups=groups, seed=0, device="cuda"
    )
    assert isinstance(on_cuda.se, np.ndarray)  # numpy in, numpy out
    from_tensors = bootstrap_scores(
        torch.as_tensor(y_true, device="cuda"),
        torch.as_tensor(y_pred, device="cuda"),
        n_bootstrap=500,
        groups=groups,
        seed=0,
    )
    assert from_tensors.se.device.type == "cuda"
    for field in ("estimate", "se", "ci_low", "ci_high"):
        np.testing.assert_allclose(getattr(on_cuda, field), getattr(on_cpu, field), atol=ATOL)
        np.testing.assert_allclose(
            getattr(from_tensors, field).cpu().numpy(), getattr(on_cpu, field), atol=ATOL
        )
