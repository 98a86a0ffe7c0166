"""The partial-fraction sweep against the stacked predictions of every alpha.

Both compute the same validation scores. In float64 the partial fractions reorder the
arithmetic, so the scores agree within 1e-9 (absolute, scores are O(1)). In float32
the far pairs run in float32 with bounded amplification and the near pairs in float64,
so the squared norms stay within a few times float32's own rounding of the direct
products.
"""

import numpy as np
import pytest
import torch

from neuroalign.encoding._primal import FeatureStats, primal_fold
from neuroalign.encoding._ridge import _stacked_norms, _sweep_scores
from neuroalign.encoding._sweep import MAX_FAR_AMPLIFICATION, PartialFractions

ALPHAS = torch.tensor(np.logspace(-2, 5, 12))


def _primal_fold(X, train, test, fit_intercept, dtype=torch.float64):
    stats = FeatureStats(torch.as_tensor(X), fit_intercept, False, dtype)
    return primal_fold(
        stats,
        train,
        test,
        fit_intercept=fit_intercept,
        standardize=False,
        dtype=dtype,
        partition=False,
    )


def _fold(X, n_test, dtype=torch.float64):
    n_samples = X.shape[0]
    train, test = torch.arange(n_test, n_samples), torch.arange(n_test)
    return _primal_fold(X, train, test, True, dtype)


def _direct_scores(fold, alphas, Y, scoring):
    fold._cache[("fractions", scoring == "pearson")] = None
    return _sweep_scores(fold, alphas, Y, scoring)


def _build(fold, alphas, centered, dtype=torch.float64):
    return PartialFractions.build(
        fold._test_basis64, fold.eigenvalues, alphas, centered=centered, dtype=dtype
    )


@pytest.mark.parametrize("scoring", ["pearson", "r2", "neg_mse"])
def test_partial_fractions_match_stacked_predictions(rng, scoring):
    X = rng.standard_normal((120, 20)) * np.linspace(0.2, 3.0, 20)
    Y = torch.as_tensor(X @ rng.standard_normal((20, 15)) + rng.standard_normal((120, 15)))
    fold = _fold(X, 30)
    assert fold.fractions(ALPHAS, centered=scoring == "pearson") is not None
    fast = _sweep_scores(fold, ALPHAS, Y, scoring)
    direct = _direct_scores(_fold(X, 30), ALPHAS, Y, scoring)
    np.testing.assert_allclose(fast.numpy(), direct.numpy(), rtol=0, atol=1e-9)


@pytest.mark.parametrize("centered", [True, False])
def test_norms_equal_squared_norms_of_predictions(rng, centered):
    X = rng.standard_normal((80, 10))
    fold = _fold(X, 20)
    inverse = fold.inverse(ALPHAS)
    B = torch.as_tensor(rng.standard_normal((10, 7)))
    fractions = fold.fractions(ALPHAS, centered=centered)
    served = fractions.alphas
    expected = _stacked_norms(fold, inverse[served], B, centered)
    np.testing.assert_allclose(
        fractions.norms(inverse[served], B).numpy(), expected.numpy(), rtol=1e-10
    )


def test_alphas_far_above_the_spectrum_keep_the_direct_sweep(rng):
    # Their weights are nearly equal over the spectrum, which would amplify every pair:
    # those alphas are swept directly, the others by the partial fractions, and the
    # scores of all of them still equal the direct sweep.
    X = rng.standard_normal((300, 40))
    Y = torch.as_tensor(X @ rng.standard_normal((40, 9)) + rng.standard_normal((300, 9)))
    alphas = torch.tensor(np.logspace(-1, 8, 10))
    fold = _fold(X, 60)
    fractions = fold.fractions(alphas, centered=False)
    largest = float(fold.eigenvalues.max())
    np.testing.assert_array_equal(fractions.alphas.numpy(), (alphas <= 2 * largest).numpy())
    assert 0 < int(fractions.alphas.sum()) < len(alphas)
    fast = _sweep_scores(fold, alphas, Y, "r2")
    direct = _direct_scores(_fold(X, 60), alphas, Y, "r2")
    np.testing.assert_allclose(fast.numpy(), direct.numpy(), rtol=0, atol=1e-9)


def test_float32_norms_stay_close_to_float64_predictions(rng):
    # Far pairs in float32 (amplification <= MAX_FAR_AMPLIFICATION), near pairs in
    # float64 blocks: relative error of the squared norms below 2e-5, against 1e-6 for
    # float32 direct products on the same input.
    X = rng.standard_normal((700, 300))
    alphas = torch.tensor(np.logspace(-1, 3.5, 8))
    fold64, fold32 = _fold(X, 140), _fold(X, 140, torch.float32)
    B = torch.as_tensor(rng.standard_normal((300, 50)))
    fractions = fold32.fractions(alphas, centered=True)
    assert fractions is not None and fractions.far is not None and bool(fractions.alphas.all())
    reference = _stacked_norms(fold64, fold64.inverse(alphas), B, True)
    fast = fractions.norms(fold32.inverse(alphas), B.float())
    direct32 = _stacked_norms(fold32, fold32.inverse(alphas), B.float(), True).double()
    assert float(((direct32 - reference).abs() / reference).max()) < 1e-6
    assert float(((fast - reference).abs() / reference).max()) < 2e-5


def test_near_blocks_cover_every_close_pair(rng):
    X = rng.standard_normal((500, 200))
    fold = _fold(X, 100, torch.float32)
    alphas = torch.tensor(np.logspace(-1, 3, 6))
    fractions = fold.fractions(alphas, centered=False)
    values = fold.eigenvalues[fractions.start :]
    threshold = (float(values.max()) + float(alphas.max())) / MAX_FAR_AMPLIFICATION
    covered = torch.zeros((values.numel(),) * 2, dtype=torch.bool)
    for r0, r1, c0, c1, block in fractions.near:
        covered[r0:r1, c0:c1] = True
        assert block.dtype == torch.float64
    close = (values[None] - values[:, None]).abs() < threshold
    assert bool(covered[close].all())
    assert bool((fractions.far.double()[covered] == 0).all())


def test_null_space_is_left_out_and_scores_still_match(rng):
    base = rng.standard_normal((100, 6))
    X = np.hstack([base, base[:, :3], np.zeros((100, 2))])
    Y = torch.as_tensor(base @ rng.standard_normal((6, 5)) + rng.standard_normal((100, 5)))
    fold = _fold(X, 25)
    fractions = fold.fractions(ALPHAS, centered=False)
    assert fractions is not None and fractions.start == 5
    fast = _sweep_scores(fold, ALPHAS, Y, "r2")
    direct = _direct_scores(_fold(X, 25), ALPHAS, Y, "r2")
    np.testing.assert_allclose(fast.numpy(), direct.numpy(), rtol=0, atol=1e-9)


def test_nearly_equal_eigenvalues_fall_back_to_the_direct_sweep(rng):
    # Orthogonal columns of equal norm: every eigenvalue of the training Gram matrix is
    # (almost) the same, so the partial fractions would amplify rounding without bound.
    train, _ = np.linalg.qr(rng.standard_normal((75, 8)))
    X = np.vstack([train * 10.0, rng.standard_normal((25, 8))])
    fold = _primal_fold(X, torch.arange(75), torch.arange(75, 100), False)
    assert fold.fractions(ALPHAS, centered=False) is None


def test_direct_sweep_is_kept_when_cheaper(rng):
    X = rng.standard_normal((400, 60))
    fold = _fold(X, 10)
    assert _build(fold, torch.tensor([1.0, 10.0]), centered=True) is None


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_target_constant_within_a_test_fold_scores_like_sklearn(rng, dtype):
    # sklearn's r2_score (force_finite): a constant test target scores 0 unless the
    # prediction is perfect; rounding of its spread must not turn into huge scores.
    X = rng.standard_normal((100, 10))
    Y = rng.standard_normal((100, 3)) + 5.0
    Y[:25, 1] = 5.0
    fold = _fold(X, 25, dtype)
    scores = _sweep_scores(fold, ALPHAS, torch.as_tensor(Y, dtype=dtype), "r2")
    np.testing.assert_array_equal(scores[:, 1].numpy(), 0.0)
    assert bool((scores[:, [0, 2]].abs() < 1).all())
