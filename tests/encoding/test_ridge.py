"""solve_ridge_cv against himalaya and scikit-learn on the same data, folds and alphas.

Tolerances: in float64 the two solvers agree to rounding (predictions within 1e-9
relative); in float32 best alphas are identical on these well-separated problems and
predictions agree within 1e-4 relative to their scale.
"""

import numpy as np
import pytest
import torch
from sklearn.linear_model import Ridge
from sklearn.model_selection import GroupKFold, KFold

from neuroalign.encoding import make_folds, solve_ridge_cv
from neuroalign.exceptions import DimensionError, NeuroalignWarning

ALPHAS = np.logspace(-2, 5, 15)


def _problem(rng, n_samples, n_features, n_targets=30):
    X = rng.standard_normal((n_samples, n_features))
    weights = rng.standard_normal((n_features, n_targets)) * rng.uniform(0, 1, n_targets)
    noise = rng.standard_normal((n_samples, n_targets)) * rng.uniform(0.5, 20, n_targets)
    return X, X @ weights + noise + 3.0


def _himalaya(X, Y, scoring, cv):
    backend = pytest.importorskip("himalaya.backend")
    from himalaya.ridge import RidgeCV
    from himalaya.scoring import correlation_score, l2_neg_loss, r2_score

    backend.set_backend("numpy")
    score_func = {"r2": r2_score, "pearson": correlation_score, "neg_mse": l2_neg_loss}[scoring]
    return RidgeCV(
        alphas=ALPHAS, cv=cv, fit_intercept=True, solver_params={"score_func": score_func}
    ).fit(X, Y)


@pytest.mark.filterwarnings("ignore:Solving ridge is slower:UserWarning")
@pytest.mark.parametrize("scoring", ["pearson", "r2", "neg_mse"])
@pytest.mark.parametrize(("n_samples", "n_features"), [(120, 30), (50, 200)])
def test_matches_himalaya_in_float64(rng, scoring, n_samples, n_features):
    X, Y = _problem(rng, n_samples, n_features)
    cv = KFold(5)
    ours = solve_ridge_cv(X, Y, ALPHAS, cv=cv, scoring=scoring, device="cpu", dtype="float64")
    reference = _himalaya(X, Y, scoring, cv)
    assert ours.method == ("primal" if n_features <= n_samples else "dual")
    np.testing.assert_allclose(ours.best_alphas.numpy(), reference.best_alphas_, rtol=1e-10)
    X_test = rng.standard_normal((20, n_features))
    expected = reference.predict(X_test)
    np.testing.assert_allclose(
        ours.predict(X_test).numpy(), expected, rtol=0, atol=1e-9 * np.abs(expected).max()
    )


def test_float32_agrees_with_float64(rng):
    X, Y = _problem(rng, 150, 40)
    exact = solve_ridge_cv(X, Y, ALPHAS, device="cpu", dtype="float64")
    fast = solve_ridge_cv(X, Y, ALPHAS, device="cpu", dtype="float32")
    assert fast.coef.dtype == torch.float32
    np.testing.assert_array_equal(fast.best_alphas.numpy(), exact.best_alphas.numpy())
    scale = exact.coef.abs().max()
    np.testing.assert_allclose(fast.coef.double(), exact.coef, atol=1e-4 * scale)


@pytest.mark.parametrize("method", ["primal", "dual"])
@pytest.mark.parametrize("standardize", [False, True])
def test_refit_matches_sklearn_ridge(rng, method, standardize):
    X, Y = _problem(rng, 80, 20, n_targets=6)
    X = X * rng.uniform(0.1, 10, 20) + rng.uniform(-5, 5, 20)
    result = solve_ridge_cv(
        X, Y, ALPHAS, method=method, standardize=standardize, device="cpu", dtype="float64"
    )
    mean, scale = X.mean(0), X.std(0) if standardize else np.ones(20)
    X_test = rng.standard_normal((10, 20))
    for j, alpha in enumerate(result.best_alphas.numpy()):
        ridge = Ridge(alpha=alpha).fit((X - mean) / scale, Y[:, j])
        expected = ridge.predict((X_test - mean) / scale)
        # The dual form squares the condition number of these badly scaled features.
        np.testing.assert_allclose(result.predict(X_test).numpy()[:, j], expected, rtol=1e-7)


@pytest.mark.parametrize("standardize", [False, True])
def test_dual_form_predicts_from_dual_coefficients_before_forming_weights(rng, standardize):
    X, Y = _problem(rng, 40, 90, n_targets=5)
    result = solve_ridge_cv(X, Y, ALPHAS, standardize=standardize, device="cpu", dtype="float64")
    assert result.method == "dual" and result.dual_coef.shape == (40, 5)
    X_test = rng.standard_normal((7, 90))
    from_dual = result.predict(X_test)
    assert "coef" not in result.__dict__
    from_weights = torch.as_tensor(X_test) @ result.coef + result.intercept
    np.testing.assert_allclose(from_dual.numpy(), from_weights.numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(result.predict(X_test).numpy(), from_dual.numpy(), rtol=1e-9)


def test_without_intercept_matches_sklearn(rng):
    X, Y = _problem(rng, 60, 10, n_targets=3)
    result = solve_ridge_cv(X, Y, [1.0], fit_intercept=False, device="cpu", dtype="float64")
    expected = Ridge(alpha=1.0, fit_intercept=False).fit(X, Y).coef_.T
    np.testing.assert_allclose(result.coef.numpy(), expected, rtol=1e-9)
    assert np.all(result.intercept.numpy() == 0)


def test_cv_scores_are_validation_scores_of_each_alpha(rng):
    X, Y = _problem(rng, 60, 8, n_targets=4)
    result = solve_ridge_cv(X, Y, ALPHAS[:4], scoring="r2", device="cpu", dtype="float64")
    expected = np.zeros((4, 4))
    for train, test in make_folds(60, 5):
        for a, alpha in enumerate(ALPHAS[:4]):
            pred = Ridge(alpha=alpha).fit(X[train], Y[train]).predict(X[test])
            residual = ((Y[test] - pred) ** 2).sum(0)
            total = ((Y[test] - Y[test].mean(0)) ** 2).sum(0)
            expected[a] += (1 - residual / total) / 5
    np.testing.assert_allclose(result.cv_scores.numpy(), expected, rtol=1e-8)
    np.testing.assert_allclose(result.best_scores.numpy(), expected.max(0), rtol=1e-8)


def test_chunking_over_targets_gives_identical_results(rng):
    X, Y = _problem(rng, 100, 20, n_targets=50)
    whole = solve_ridge_cv(X, Y, ALPHAS, device="cpu", dtype="float64")
    chunked = solve_ridge_cv(X, Y, ALPHAS, device="cpu", dtype="float64", max_memory="200KB")
    np.testing.assert_array_equal(chunked.best_alphas.numpy(), whole.best_alphas.numpy())
    np.testing.assert_allclose(chunked.coef.numpy(), whole.coef.numpy(), rtol=1e-12)


def test_groups_keep_repetitions_in_one_fold(rng):
    stimuli = np.repeat(np.arange(20), 3)
    folds = make_folds(60, 5, groups=stimuli)
    for train, test in folds:
        assert not set(stimuli[train]) & set(stimuli[test])
    X, Y = _problem(rng, 60, 5, n_targets=2)
    reference = solve_ridge_cv(X, Y, ALPHAS, cv=GroupKFold(5), groups=stimuli, device="cpu")
    ours = solve_ridge_cv(X, Y, ALPHAS, groups=stimuli, device="cpu")
    np.testing.assert_array_equal(ours.best_alphas.numpy(), reference.best_alphas.numpy())


def test_rank_deficient_features_are_well_posed(rng):
    base = rng.standard_normal((50, 3))
    X = np.hstack([base, base, base[:, :1] * 2])
    Y = base @ np.array([[1.0], [2.0], [-1.0]]) + 0.1 * rng.standard_normal((50, 1))
    result = solve_ridge_cv(X, Y, ALPHAS, device="cpu", dtype="float64")
    assert torch.isfinite(result.coef).all()
    expected = Ridge(alpha=result.best_alphas.item()).fit(X, Y).coef_.reshape(-1, 1)
    np.testing.assert_allclose(result.coef.numpy(), expected, rtol=1e-7, atol=1e-10)


def test_constant_targets_warn_and_score_zero(rng):
    X, Y = _problem(rng, 40, 5, n_targets=3)
    Y[:, 1] = 7.0
    with pytest.warns(NeuroalignWarning, match="1 of 3 targets are constant"):
        result = solve_ridge_cv(X, Y, ALPHAS, device="cpu")
    assert torch.isfinite(result.cv_scores).all()
    assert (result.cv_scores[:, 1] == 0).all()
    np.testing.assert_allclose(result.coef[:, 1].numpy(), 0, atol=1e-6)
    assert result.intercept[1].item() == pytest.approx(7.0)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"alphas": [1.0, -1.0]}, ValueError, "got -1.0 at index 1"),
        ({"alphas": []}, ValueError, "non-empty"),
        ({"X": np.zeros((10, 2, 2))}, DimensionError, "'X' must be 2-D"),
        ({"Y": np.zeros((9, 2))}, DimensionError, "'X' has 10 samples but 'Y' has 9"),
        ({"X": np.full((10, 2), np.nan)}, ValueError, "NaN or infinite .* row 0, column 0"),
        ({"cv": 11}, ValueError, "at least 11 samples; got 10 samples"),
        ({"scoring": "accuracy"}, ValueError, "'scoring' must be one of"),
        ({"method": "svd"}, ValueError, "'method' must be one of"),
    ],
)
def test_bad_input_raises_clear_errors(rng, kwargs, error, match):
    arguments = {"X": rng.standard_normal((10, 2)), "Y": rng.standard_normal((10, 2))}
    arguments |= {"alphas": [1.0]} | kwargs
    with pytest.raises(error, match=match):
        solve_ridge_cv(arguments.pop("X"), arguments.pop("Y"), arguments.pop("alphas"), **arguments)


def test_groups_split_repetitions_error(rng):
    with pytest.raises(ValueError, match="group 0 in both"):
        make_folds(4, [(np.array([0, 1]), np.array([2, 3]))], groups=[0, 1, 0, 1])


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu(rng):
    X, Y = _problem(rng, 200, 50, n_targets=100)
    cpu = solve_ridge_cv(X, Y, ALPHAS, device="cpu", dtype="float64")
    gpu = solve_ridge_cv(X, Y, ALPHAS, device="cuda", dtype="float64")
    np.testing.assert_array_equal(gpu.best_alphas.numpy(), cpu.best_alphas.numpy())
    np.testing.assert_allclose(gpu.coef.numpy(), cpu.coef.numpy(), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("scoring", ["r2", "pearson"])
def test_dual_form_matches_himalaya_kernel_ridge(rng, scoring):
    pytest.importorskip("himalaya")
    from himalaya.backend import set_backend
    from himalaya.kernel_ridge import KernelRidgeCV
    from himalaya.scoring import correlation_score, r2_score

    set_backend("numpy")
    X, Y = _problem(rng, 40, 150)
    cv = KFold(5)
    score_func = {"r2": r2_score, "pearson": correlation_score}[scoring]
    reference = KernelRidgeCV(
        alphas=ALPHAS,
        kernel="linear",
        fit_intercept=True,
        cv=cv,
        solver_params={"score_func": score_func},
    ).fit(X, Y)
    ours = solve_ridge_cv(X, Y, ALPHAS, cv=cv, scoring=scoring, device="cpu", dtype="float64")
    assert ours.method == "dual"
    np.testing.assert_allclose(ours.best_alphas.numpy(), reference.best_alphas_, rtol=1e-10)
    X_test = rng.standard_normal((10, 150))
    expected = reference.predict(X_test)
    np.testing.assert_allclose(
        ours.predict(X_test).numpy(), expected, atol=1e-9 * np.abs(expected).max()
    )
