"""Banded ridge and variance partitioning against himalaya on the same data and folds.

Tolerances: in float64, given the same candidate band weights, alphas and folds, the
best (band weights, alpha) of every target are identical to himalaya's
``MultipleKernelRidgeCV`` (random search) and test predictions agree within 1e-9
relative to their scale (both primal and dual forms); CV scores agree within 1e-8
(himalaya adds ``1e-10 * log(alpha)`` to break ties). float32 CV scores are within
1e-5 of float64; float32 picks the same (band weights, alpha) for at least 80% of the
targets, the others being near-ties (float64 scores within 1e-5), and where the choice
is the same predictions agree within 1e-4 relative to their scale.
The R² split equals himalaya's ``r2_score_split`` within 1e-12.
"""

import numpy as np
import pytest
import sklearn.metrics
import torch
from sklearn.model_selection import KFold

from neuroalign.encoding import (
    make_folds,
    partition_r2,
    partition_r2_subsets,
    sample_band_weights,
    solve_banded_ridge_cv,
    solve_ridge_cv,
)
from neuroalign.exceptions import DimensionError

ALPHAS = np.logspace(-1, 5, 13)


def _problem(rng, n_samples=120, sizes=(30, 200), n_targets=40):
    """Spaces with offsets; each target mixes the spaces with its own random strengths."""
    Xs = [rng.standard_normal((n_samples, p)) + rng.uniform(-1, 1, p) for p in sizes]
    Y = sum(
        X @ rng.standard_normal((X.shape[1], n_targets)) * rng.uniform(0, 1, n_targets) ** 2
        for X in Xs
    )
    return Xs, Y + 3 * rng.standard_normal((n_samples, n_targets)) + 2.0


def _himalaya_banded(Xs, Y, candidates, cv, scoring):
    backend = pytest.importorskip("himalaya.backend")
    from himalaya.kernel_ridge import MultipleKernelRidgeCV
    from himalaya.scoring import correlation_score, r2_score

    backend.set_backend("numpy")
    params = dict(
        n_iter=candidates,
        alphas=ALPHAS,
        score_func={"r2": r2_score, "pearson": correlation_score}[scoring],
        progress_bar=False,
        return_alphas=True,
    )
    model = MultipleKernelRidgeCV(
        kernels="precomputed", solver="random_search", solver_params=params, cv=cv
    )
    model.set_params(fit_intercept=True)
    return model.fit(np.stack([X @ X.T for X in Xs]), Y)


@pytest.mark.filterwarnings("ignore:divide by zero encountered in log:RuntimeWarning")
@pytest.mark.parametrize("scoring", ["r2", "pearson"])
@pytest.mark.parametrize("method", ["primal", "dual"])
def test_matches_himalaya_random_search_in_float64(rng, method, scoring):
    Xs, Y = _problem(rng)
    train, test = slice(0, 100), slice(100, None)
    candidates = sample_band_weights(10, 2, seed=1)
    folds = make_folds(100, 5)
    ours = solve_banded_ridge_cv(
        [X[train] for X in Xs],
        Y[train],
        ALPHAS,
        n_iter=candidates,
        cv=folds,
        scoring=scoring,
        method=method,
        device="cpu",
        dtype="float64",
    )
    reference = _himalaya_banded([X[train] for X in Xs], Y[train], candidates, folds, scoring)
    assert ours.method == method
    best_alphas = np.asarray(reference.best_alphas_)
    np.testing.assert_allclose(ours.best_alphas.numpy(), best_alphas, rtol=1e-12)
    np.testing.assert_allclose(
        ours.gammas.numpy(), np.exp(reference.deltas_) * best_alphas, rtol=0, atol=1e-9
    )
    np.testing.assert_allclose(ours.cv_scores.numpy(), reference.cv_scores_, rtol=0, atol=1e-8)
    expected = reference.predict(np.stack([X[test] @ X[train].T for X in Xs]))
    np.testing.assert_allclose(
        ours.predict([X[test] for X in Xs]).numpy(),
        expected,
        rtol=0,
        atol=1e-9 * np.abs(expected).max(),
    )
    assert len({ours.gammas[0, j].item() for j in range(Y.shape[1])}) > 2  # a real search


def test_float32_sweeps_agree_with_float64(rng):
    Xs, Y = _problem(rng, sizes=(20, 10), n_targets=20)
    exact = solve_banded_ridge_cv(Xs, Y, ALPHAS, n_iter=8, seed=0, device="cpu", dtype="float64")
    fast = solve_banded_ridge_cv(Xs, Y, ALPHAS, n_iter=8, seed=0, device="cpu")
    assert fast.intercept.dtype == torch.float32
    np.testing.assert_allclose(fast.cv_scores, exact.cv_scores, rtol=0, atol=1e-5)
    same = (fast.gammas == exact.gammas).all(0) & (fast.best_alphas == exact.best_alphas)
    assert same.double().mean() >= 0.8  # the others are near-ties of weak targets:
    chosen = fast.cv_scores.double().argmax(0)
    assert (exact.cv_scores[chosen, range(20)] >= exact.best_scores - 1e-5).all()
    scale = exact.predict(Xs).abs().max().item()
    np.testing.assert_allclose(
        fast.predict(Xs)[:, same].double().numpy(),
        exact.predict(Xs)[:, same].numpy(),
        rtol=0,
        atol=1e-4 * scale,
    )


def test_one_space_equals_ridge_cv(rng):
    X, Y = rng.standard_normal((90, 12)), rng.standard_normal((90, 6))
    Y += X @ rng.standard_normal((12, 6))
    banded = solve_banded_ridge_cv([X], Y, ALPHAS, cv=KFold(4), device="cpu", dtype="float64")
    ridge = solve_ridge_cv(X, Y, ALPHAS, cv=KFold(4), scoring="r2", device="cpu", dtype="float64")
    assert banded.candidates.tolist() == [[1.0]]
    np.testing.assert_array_equal(banded.best_alphas.numpy(), ridge.best_alphas.numpy())
    np.testing.assert_allclose(banded.coef.numpy(), ridge.coef.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(banded.intercept.numpy(), ridge.intercept.numpy(), rtol=1e-9)
    np.testing.assert_allclose(
        banded.best_scores.numpy(), ridge.cv_scores.max(0).values.numpy(), atol=1e-12
    )


def test_band_weights_find_the_informative_space(rng):
    n_samples = 200
    Xs = [rng.standard_normal((n_samples, 5)), rng.standard_normal((n_samples, 80))]
    Y = np.hstack([Xs[0] @ rng.standard_normal((5, 3)), Xs[1] @ rng.standard_normal((80, 3))])
    Y += 0.5 * rng.standard_normal(Y.shape)
    result = solve_banded_ridge_cv(Xs, Y, ALPHAS, n_iter=15, seed=0, device="cpu")
    assert (result.gammas[0, :3] > 0.9).all() and (result.gammas[1, 3:] > 0.9).all()
    assert result.method == "primal" and result.cv_scores.shape == (15, 6)
    assert torch.allclose(result.gammas.sum(0), torch.ones(6, dtype=torch.float64))


def test_target_chunks_give_the_same_result(rng):
    Xs, Y = _problem(rng, n_samples=60, sizes=(10, 70), n_targets=25)
    whole = solve_banded_ridge_cv(Xs, Y, ALPHAS, n_iter=6, seed=2, device="cpu", dtype="float64")
    chunked = solve_banded_ridge_cv(
        Xs, Y, ALPHAS, n_iter=6, seed=2, device="cpu", dtype="float64", max_memory=1_300_000
    )
    assert whole.method == "dual"
    for name in ("best_alphas", "gammas", "cv_scores", "coef", "intercept"):
        np.testing.assert_allclose(getattr(chunked, name), getattr(whole, name), rtol=1e-12)


def test_sample_band_weights():
    gammas = sample_band_weights(9, 3, concentration=[0.1, 1.0, np.inf], seed=0)
    assert gammas.shape == (9, 3)
    np.testing.assert_allclose(gammas[:4], np.vstack([np.full(3, 1 / 3), np.eye(3)]))
    np.testing.assert_allclose(gammas.sum(1), 1.0)
    np.testing.assert_allclose(gammas[6], 1 / 3)  # concentrations cycle: the inf draw
    assert (gammas >= 0).all()
    np.testing.assert_array_equal(
        gammas, sample_band_weights(9, 3, seed=0, concentration=[0.1, 1.0, np.inf])
    )
    assert sample_band_weights(2, 4).shape == (2, 4)
    assert sample_band_weights(5, 1).tolist() == [[1.0]]
    with pytest.raises(ValueError, match="'concentration' must be a positive"):
        sample_band_weights(5, 2, concentration=0.0)


def test_bad_input_raises_clear_errors(rng):
    X1, X2, Y = rng.standard_normal((30, 3)), rng.standard_normal((30, 4)), rng.standard_normal(30)
    with pytest.raises(TypeError, match="'Xs' must be a list"):
        solve_banded_ridge_cv(X1, Y, ALPHAS)
    with pytest.raises(DimensionError, match="'Xs\\[1\\]' has 29 samples"):
        solve_banded_ridge_cv([X1, X2[:29]], Y, ALPHAS)
    with pytest.raises(DimensionError, match="'Y' has 29"):
        solve_banded_ridge_cv([X1, X2], Y[:29], ALPHAS)
    bad = X2.copy()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="'Xs\\[1\\]' contains 1 NaN"):
        solve_banded_ridge_cv([X1, bad], Y, ALPHAS)
    with pytest.raises(ValueError, match="row 1 is \\[0.5, 0.6\\]"):
        solve_banded_ridge_cv([X1, X2], Y, ALPHAS, n_iter=[[0.5, 0.5], [0.5, 0.6]])
    with pytest.raises(ValueError, match="shape \\(n_candidates, 2\\)"):
        solve_banded_ridge_cv([X1, X2], Y, ALPHAS, n_iter=[[1.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match="'alphas' must be positive"):
        solve_banded_ridge_cv([X1, X2], Y, [1.0, -1.0])
    result = solve_banded_ridge_cv([X1, X2], Y, ALPHAS, n_iter=2, device="cpu")
    with pytest.raises(ValueError, match="must have 2 feature spaces"):
        result.predict([X1])
    with pytest.raises(DimensionError, match="'Xs\\[1\\]' must have 4 features"):
        result.predict([X1, X1])


# --- variance partitioning ------------------------------------------------------------------


def _split_predictions(Xs, coefs):
    return np.stack([X @ w for X, w in zip(Xs, coefs)])


@pytest.mark.parametrize("include_correlation", [True, False])
def test_partition_matches_himalaya_r2_score_split(rng, include_correlation):
    pytest.importorskip("himalaya")
    from himalaya.scoring import r2_score_split

    Xs = [rng.standard_normal((50, 4)), rng.standard_normal((50, 3))]
    Xs = [X - X.mean(0) for X in Xs]
    coefs = [rng.standard_normal((4, 6)), rng.standard_normal((3, 6))]
    Y = _split_predictions(Xs, coefs).sum(0) + 2 * rng.standard_normal((50, 6))
    Y -= Y.mean(0)
    ours = partition_r2(Xs, Y, coefs, include_correlation=include_correlation, device="cpu")
    expected = r2_score_split(Y, _split_predictions(Xs, coefs), include_correlation)
    np.testing.assert_allclose(ours.split.numpy(), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        ours.total.numpy(),
        sklearn.metrics.r2_score(Y, _split_predictions(Xs, coefs).sum(0), multioutput="raw_values"),
        atol=1e-12,
    )


def test_partition_of_a_fitted_model_sums_to_its_test_r2(rng):
    Xs, Y = _problem(rng, n_samples=150, sizes=(8, 12), n_targets=10)
    train, test = slice(0, 100), slice(100, None)
    model = solve_banded_ridge_cv(
        [X[train] for X in Xs], Y[train], ALPHAS, n_iter=6, seed=0, device="cpu", dtype="float64"
    )
    part = partition_r2(
        [X[test] for X in Xs], Y[test], list(model.coefs), intercept=model.intercept
    )
    r2 = sklearn.metrics.r2_score(
        Y[test], model.predict([X[test] for X in Xs]).numpy(), multioutput="raw_values"
    )
    np.testing.assert_allclose(part.total.numpy(), r2, atol=1e-12)
    np.testing.assert_allclose(part.split.sum(0).numpy(), r2, atol=1e-12)
    assert part.split.shape == (2, 10) and part.split.dtype == torch.float64


def test_partition_rejects_mismatched_weights(rng):
    Xs, Y = (
        [rng.standard_normal((20, 3)), rng.standard_normal((20, 2))],
        rng.standard_normal((20, 4)),
    )
    with pytest.raises(DimensionError, match="'coefs\\[1\\]' must have shape \\(2, 4\\)"):
        partition_r2(Xs, Y, [np.zeros((3, 4)), np.zeros((3, 4))])
    with pytest.raises(ValueError, match="one weight matrix per space \\(2\\)"):
        partition_r2(Xs, Y, [np.zeros((3, 4))])
    with pytest.raises(DimensionError, match="'intercept' must have shape \\(4,\\)"):
        partition_r2(Xs, Y, [np.zeros((3, 4)), np.zeros((2, 4))], intercept=np.zeros(3))


def test_subset_partition_is_inclusion_exclusion_of_refits(rng):
    n_samples, n_targets = 160, 5
    common = rng.standard_normal((n_samples, 2))
    Xs = [np.hstack([common, rng.standard_normal((n_samples, 3))]) for _ in range(3)]
    Y = sum(X @ rng.standard_normal((5, n_targets)) for X in Xs[:2])
    Y += rng.standard_normal((n_samples, n_targets))
    train, test = slice(0, 120), slice(120, None)
    kwargs = dict(n_iter=5, seed=3, device="cpu", dtype="float64")
    part = partition_r2_subsets(
        [X[train] for X in Xs], Y[train], [X[test] for X in Xs], Y[test], ALPHAS, **kwargs
    )
    assert part.subsets == ((0,), (1,), (2,), (0, 1), (0, 2), (1, 2), (0, 1, 2))
    # every subset model is the banded model fitted on those spaces alone
    for index in (0, 3, 6):
        subset = part.subsets[index]
        model = solve_banded_ridge_cv([Xs[i][train] for i in subset], Y[train], ALPHAS, **kwargs)
        r2 = sklearn.metrics.r2_score(
            Y[test], model.predict([Xs[i][test] for i in subset]).numpy(), multioutput="raw_values"
        )
        np.testing.assert_allclose(part.r2[index].numpy(), r2, atol=1e-9)
    f = dict(zip(part.subsets, part.r2))
    np.testing.assert_allclose(part.unique[0], f[(0, 1, 2)] - f[(1, 2)], atol=1e-12)
    np.testing.assert_allclose(
        part.regions[5], f[(0, 1)] + f[(0, 2)] - f[(0,)] - f[(0, 1, 2)], atol=1e-12
    )  # shared by spaces 1 and 2 only
    np.testing.assert_allclose(part.regions.sum(0), f[(0, 1, 2)], atol=1e-12)
    assert part.shared.shape == (4, n_targets)
    assert (part.unique[2] < 0.05).all() and (part.unique[0] > 0.05).all()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu(rng):
    Xs, Y = _problem(rng, n_samples=100, sizes=(20, 150), n_targets=30)
    cpu = solve_banded_ridge_cv(Xs, Y, ALPHAS, n_iter=6, seed=0, device="cpu", dtype="float64")
    gpu = solve_banded_ridge_cv(Xs, Y, ALPHAS, n_iter=6, seed=0, device="cuda", dtype="float64")
    np.testing.assert_array_equal(gpu.gammas.numpy(), cpu.gammas.numpy())
    np.testing.assert_allclose(gpu.coef.numpy(), cpu.coef.numpy(), rtol=1e-8, atol=1e-10)
