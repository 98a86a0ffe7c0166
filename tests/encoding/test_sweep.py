"""The partial-fraction sweep against the stacked predictions of every alpha.

Both compute the same validation scores; the partial fractions reorder float64
arithmetic, so in float64 the scores agree within 1e-9 (absolute, scores are O(1)).
"""

import numpy as np
import pytest
import torch

from neuroalign.encoding._ridge import _primal_fold, _stacked_norms, _sweep_scores
from neuroalign.encoding._sweep import PartialFractions

ALPHAS = torch.tensor(np.logspace(-2, 5, 12))


def _fold(X, n_test, dtype=torch.float64):
    n_samples = X.shape[0]
    train, test = torch.arange(n_test, n_samples), torch.arange(n_test)
    return _primal_fold(torch.as_tensor(X), train, test, True, False, dtype)


def _inverse(fold):
    return 1.0 / (fold.eigenvalues[None] + ALPHAS[:, None])


def _direct_scores(fold, inverse, Y, scoring):
    fold._fractions = {True: None, False: None}
    return _sweep_scores(fold, inverse, Y, scoring)


@pytest.mark.parametrize("scoring", ["pearson", "r2", "neg_mse"])
def test_partial_fractions_match_stacked_predictions(rng, scoring):
    X = rng.standard_normal((120, 20)) * np.linspace(0.2, 3.0, 20)
    Y = torch.as_tensor(X @ rng.standard_normal((20, 15)) + rng.standard_normal((120, 15)))
    fold = _fold(X, 30)
    inverse = _inverse(fold)
    assert fold.fractions(inverse, centered=scoring == "pearson") is not None
    fast = _sweep_scores(fold, inverse, Y, scoring)
    direct = _direct_scores(_fold(X, 30), inverse, Y, scoring)
    np.testing.assert_allclose(fast.numpy(), direct.numpy(), rtol=0, atol=1e-9)


@pytest.mark.parametrize("centered", [True, False])
def test_norms_equal_squared_norms_of_predictions(rng, centered):
    X = rng.standard_normal((80, 10))
    fold = _fold(X, 20)
    inverse = _inverse(fold)
    B = torch.as_tensor(rng.standard_normal((10, 7)))
    fractions = fold.fractions(inverse, centered=centered)
    expected = _stacked_norms(fold, inverse, B, centered)
    np.testing.assert_allclose(fractions.norms(inverse, B).numpy(), expected.numpy(), rtol=1e-10)


def test_null_space_is_left_out_and_scores_still_match(rng):
    base = rng.standard_normal((100, 6))
    X = np.hstack([base, base[:, :3], np.zeros((100, 2))])
    Y = torch.as_tensor(base @ rng.standard_normal((6, 5)) + rng.standard_normal((100, 5)))
    fold = _fold(X, 25)
    inverse = _inverse(fold)
    fractions = fold.fractions(inverse, centered=False)
    assert fractions is not None and int(fractions.keep.sum()) == 6
    fast = _sweep_scores(fold, inverse, Y, "r2")
    direct = _direct_scores(_fold(X, 25), inverse, Y, "r2")
    np.testing.assert_allclose(fast.numpy(), direct.numpy(), rtol=0, atol=1e-9)


def test_nearly_equal_eigenvalues_fall_back_to_the_direct_sweep(rng):
    # Orthogonal columns of equal norm: every eigenvalue of the training Gram matrix is
    # (almost) the same, so the partial fractions would amplify rounding without bound.
    train, _ = np.linalg.qr(rng.standard_normal((75, 8)))
    X = np.vstack([train * 10.0, rng.standard_normal((25, 8))])
    fold = _primal_fold(
        torch.as_tensor(X), torch.arange(75), torch.arange(75, 100), False, False, torch.float64
    )
    assert fold.fractions(_inverse(fold), centered=False) is None


def test_direct_sweep_is_kept_when_cheaper(rng):
    X = rng.standard_normal((400, 60))
    fold = _fold(X, 10)
    few_alphas = 1.0 / (fold.eigenvalues[None] + torch.tensor([1.0, 10.0])[:, None])
    assert (
        PartialFractions.build(
            fold._test_basis64, fold.eigenvalues, float(few_alphas.min()), centered=True, n_alphas=2
        )
        is None
    )
