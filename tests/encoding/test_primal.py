"""Primal folds from whole-data statistics against the per-fold projections.

When the folds partition the samples, each fold's Gram matrix and ``Xᵀ Y`` are
differences of whole-data ones; otherwise each fold projects its own training rows.
In float64 both give the same scores and weights to rounding (1e-9 relative).
"""

import numpy as np
import pytest
import torch
from sklearn.linear_model import Ridge
from sklearn.model_selection import GroupKFold, KFold, ShuffleSplit

from neuroalign.encoding import _ridge, solve_ridge_cv
from neuroalign.encoding._primal import is_partition

ALPHAS = np.logspace(-2, 5, 12)


def _problem(rng, n_samples=90, n_features=15, n_targets=8):
    X = rng.standard_normal((n_samples, n_features)) * rng.uniform(0.1, 10, n_features)
    X += rng.uniform(-20, 20, n_features)
    Y = X @ rng.standard_normal((n_features, n_targets)) + 5 * rng.standard_normal(
        (n_samples, n_targets)
    )
    return X, Y + 40.0


def _folds(splitter, n_samples, groups=None):
    return [
        (torch.as_tensor(train), torch.as_tensor(test))
        for train, test in splitter.split(np.zeros(n_samples), groups=groups)
    ]


def test_partition_is_recognised():
    groups = np.repeat(np.arange(12), 3)
    assert is_partition(_folds(KFold(4), 36), 36)
    assert is_partition(_folds(KFold(4, shuffle=True, random_state=0), 36), 36)
    assert is_partition(_folds(GroupKFold(3), 36, groups), 36)
    assert not is_partition(_folds(ShuffleSplit(3, test_size=0.25, random_state=0), 36), 36)
    train, test = torch.arange(10, 36), torch.arange(10)
    assert not is_partition([(train[1:], test), (test, train)], 36)  # a sample never trained


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("standardize", [False, True])
@pytest.mark.parametrize("scoring", ["pearson", "r2"])
def test_whole_data_statistics_equal_per_fold_projections(
    rng, monkeypatch, fit_intercept, standardize, scoring
):
    X, Y = _problem(rng)
    options = dict(
        cv=KFold(5, shuffle=True, random_state=1),
        scoring=scoring,
        fit_intercept=fit_intercept,
        standardize=standardize,
        device="cpu",
        dtype="float64",
    )
    shared = solve_ridge_cv(X, Y, ALPHAS, **options)
    monkeypatch.setattr(_ridge, "is_partition", lambda folds, n: False)
    separate = solve_ridge_cv(X, Y, ALPHAS, **options)
    np.testing.assert_allclose(shared.cv_scores.numpy(), separate.cv_scores.numpy(), atol=1e-9)
    np.testing.assert_array_equal(shared.best_alphas.numpy(), separate.best_alphas.numpy())
    scale = np.abs(separate.coef.numpy()).max()
    np.testing.assert_allclose(shared.coef.numpy(), separate.coef.numpy(), atol=1e-9 * scale)
    np.testing.assert_allclose(
        shared.intercept.numpy(), separate.intercept.numpy(), rtol=1e-9, atol=1e-9
    )


def test_shuffle_splits_score_like_sklearn_ridge(rng):
    # Overlapping test sets: every fold projects its own training rows.
    X, Y = _problem(rng, n_targets=4)
    folds = list(ShuffleSplit(4, test_size=0.3, random_state=0).split(X))
    result = solve_ridge_cv(X, Y, ALPHAS[:5], cv=folds, scoring="r2", device="cpu", dtype="float64")
    expected = np.zeros((5, 4))
    for train, test in folds:
        for a, alpha in enumerate(ALPHAS[:5]):
            pred = Ridge(alpha=alpha).fit(X[train], Y[train]).predict(X[test])
            residual = ((Y[test] - pred) ** 2).sum(0)
            total = ((Y[test] - Y[test].mean(0)) ** 2).sum(0)
            expected[a] += (1 - residual / total) / len(folds)
    np.testing.assert_allclose(result.cv_scores.numpy(), expected, rtol=1e-8)


def test_large_target_means_keep_float32_accuracy(rng):
    # fMRI signals often ride on a baseline of thousands: in float32 the baseline must
    # not cost the scores or the predictions more than rounding.
    X, Y = _problem(rng, n_samples=200, n_features=20, n_targets=30)
    Y = Y - Y.mean(0)
    plain = solve_ridge_cv(X, Y, ALPHAS, device="cpu", dtype="float64")
    shifted = solve_ridge_cv(X, Y + 1e4, ALPHAS, device="cpu", dtype="float32")
    # Validation R² within float32 rounding (best alphas may differ only where the
    # scores of neighbouring alphas tie to ~1e-6).
    np.testing.assert_allclose(shifted.cv_scores.numpy(), plain.cv_scores.numpy(), atol=1e-5)
    X_test = rng.standard_normal((10, 20)) * X.std(0) + X.mean(0)
    expected = plain.predict(X_test).numpy()
    got = shifted.predict(X_test).double().numpy() - 1e4
    np.testing.assert_allclose(got, expected, atol=1e-4 * np.abs(expected).max())


def test_constant_feature_is_ignored_when_standardising(rng):
    X, Y = _problem(rng)
    with_constant = np.hstack([X, np.full((len(X), 1), 7.0)])
    options = dict(standardize=True, device="cpu", dtype="float64")
    reference = solve_ridge_cv(X, Y, ALPHAS, **options)
    result = solve_ridge_cv(with_constant, Y, ALPHAS, **options)
    np.testing.assert_array_equal(result.best_alphas.numpy(), reference.best_alphas.numpy())
    np.testing.assert_allclose(result.coef.numpy()[:-1], reference.coef.numpy(), rtol=1e-9)
    np.testing.assert_allclose(result.coef.numpy()[-1], 0.0, atol=1e-12)


def test_float32_scores_stay_accurate_for_power_law_features(rng):
    # Network activations have power-law spectra: tiny eigenvalues whose ridge weights
    # 1 / (s + alpha) amplify any rounding that leaks into them. The block products are
    # taken in the eigenbasis of all samples, so float32 scores stay within 1e-6 of
    # float64 (4e-7 here; products of the raw features leaked 3e-6 here, and 1.4e-5
    # on an 800 x 400 problem of this kind).
    latent = rng.standard_normal((400, 150)) * np.arange(1, 151) ** -1.0
    X = np.maximum(latent @ rng.standard_normal((150, 150)), 0)
    Y = X @ rng.standard_normal((150, 300)) / X.std() / 12 + rng.standard_normal((400, 300))
    alphas = np.logspace(-3, 6, 12)
    exact = solve_ridge_cv(X, Y, alphas, scoring="r2", device="cpu", dtype="float64")
    fast = solve_ridge_cv(X, Y, alphas, scoring="r2", device="cpu", dtype="float32")
    np.testing.assert_allclose(fast.cv_scores.numpy(), exact.cv_scores.numpy(), atol=1e-6)
    assert (fast.best_alphas == exact.best_alphas).double().mean() > 0.99
