"""Feature regression over time: every time point's fit against direct solves."""

import numpy as np
import pytest
import torch
from sklearn.model_selection import KFold

from neuroalign.decoding._ridge_over_time import (
    _prediction_norms,
    _unsafe_times,
    ridge_predictions_over_time,
)
from neuroalign.encoding import DEFAULT_ALPHAS, make_folds, solve_ridge_cv
from neuroalign.exceptions import NeuroalignWarning

ALPHAS = np.asarray(DEFAULT_ALPHAS)


def _pearson_columns(y, pred):
    y, pred = y - y.mean(0), pred - pred.mean(0)
    spread = np.linalg.norm(y, axis=0) * np.linalg.norm(pred, axis=0)
    return np.where(spread > 0, (y * pred).sum(0) / np.where(spread > 0, spread, 1.0), 0.0)


def _ridge(X, Y, alpha):
    """Intercept and weights of ridge on rows X, Y, by a direct solve."""
    x_mean, y_mean = X.mean(0), Y.mean(0)
    Xc = X - x_mean
    weights = np.linalg.solve(Xc.T @ Xc + alpha * np.eye(X.shape[1]), Xc.T @ (Y - y_mean))
    return x_mean, y_mean, weights


def reference(X, Y, train, test, alphas):
    """One time point: 5-fold inner CV by direct solves, best alpha per target, refit."""
    scores = np.zeros((len(alphas), Y.shape[1]))
    for fit, held in KFold(5).split(train):
        fit, held = train[fit], train[held]
        for index, alpha in enumerate(alphas):
            x_mean, y_mean, weights = _ridge(X[fit], Y[fit], alpha)
            scores[index] += _pearson_columns(Y[held], (X[held] - x_mean) @ weights + y_mean)
    best = alphas[scores.argmax(0)]
    predictions = np.empty((len(test), Y.shape[1]))
    for alpha in np.unique(best):
        columns = best == alpha
        x_mean, y_mean, weights = _ridge(X[train], Y[train][:, columns], alpha)
        predictions[:, columns] = (X[test] - x_mean) @ weights + y_mean
    return predictions, best


def _assert_matches_direct_solves(X, Y, train, test):
    predictions, best = _run(X, Y, train, test)
    for t in range(X.shape[0]):
        expected, expected_best = reference(X[t], Y, train, test, ALPHAS)
        np.testing.assert_array_equal(best[t], expected_best)
        np.testing.assert_allclose(predictions[t], expected, rtol=0, atol=1e-9)


def _problem(rng, n, n_channels, n_times, n_targets):
    Y = rng.standard_normal((n, n_targets))
    mixing = rng.standard_normal((n_targets, n_channels)) * 0.3
    X = rng.standard_normal((n_times, n, n_channels)) + (Y @ mixing)[None]
    return X, Y


def _run(X, Y, train, test, **kwargs):
    predictions, best = ridge_predictions_over_time(
        torch.as_tensor(X).permute(1, 2, 0),
        torch.as_tensor(Y),
        train,
        test,
        torch.as_tensor(ALPHAS),
        **kwargs,
    )
    return predictions.numpy(), best.numpy()


@pytest.mark.parametrize(
    ("n", "n_channels", "form"),
    [(120, 12, "primal"), (60, 44, "primal, rank-deficient inner folds"), (40, 50, "dual")],
)
def test_every_time_point_matches_direct_solves(rng, n, n_channels, form):
    X, Y = _problem(rng, n, n_channels, n_times=3, n_targets=7)
    train, test = make_folds(n, 5)[2]
    _assert_matches_direct_solves(X, Y, train, test)


def test_matches_the_encoding_solver_in_float64(rng):
    X, Y = _problem(rng, 150, 20, n_times=4, n_targets=30)
    train, test = make_folds(150, 5)[0]
    predictions, best = _run(X, Y, train, test)
    for t in range(X.shape[0]):
        fit = solve_ridge_cv(X[t][train], Y[train], ALPHAS, device="cpu", dtype=torch.float64)
        np.testing.assert_array_equal(best[t], fit.best_alphas.numpy())
        expected = fit.predict(X[t][test]).numpy()
        np.testing.assert_allclose(predictions[t], expected, rtol=0, atol=1e-10)


def test_chunks_of_time_points_give_the_same_fit(rng):
    X, Y = _problem(rng, 80, 10, n_times=7, n_targets=5)
    train, test = make_folds(80, 4)[1]
    whole, whole_best = _run(X, Y, train, test)
    chunked, chunked_best = _run(X, Y, train, test, max_memory=40_000)
    np.testing.assert_array_equal(chunked_best, whole_best)
    np.testing.assert_allclose(chunked, whole, rtol=0, atol=1e-12)


def _double_eigenvalue_rows(rng, n_quadruples):
    """Rows (a, b, z), (-b, a, -z), (-a, -b, z), (b, -a, -z).

    Every block of whole quadruples has mean 0 and the Gram matrix
    ``diag(c, c, d)`` with ``c = Σ a² + b²`` and ``d = Σ z²``: a double eigenvalue.
    """
    a, b, z = rng.standard_normal((3, n_quadruples))
    rows = [np.c_[a, b, z], np.c_[-b, a, -z], np.c_[-a, -b, z], np.c_[b, -a, -z]]
    return np.stack(rows, axis=1).reshape(-1, 3)


def test_equal_eigenvalues_take_the_direct_norms(rng):
    n = 100  # outer test blocks of 20 rows and inner blocks of 16 keep quadruples whole
    X = rng.standard_normal((3, n, 3))
    X[1] = _double_eigenvalue_rows(rng, n // 4)
    Y = X[1] @ rng.standard_normal((3, 4)) + rng.standard_normal((n, 4))
    train, test = make_folds(n, 5)[1]
    for fit, _ in KFold(5).split(train):
        centred = X[1][train[fit]] - X[1][train[fit]].mean(0)
        eigenvalues = np.linalg.eigvalsh(centred.T @ centred)
        assert np.sort(np.abs(np.diff(eigenvalues)))[0] < 1e-12 * eigenvalues[-1]
    _assert_matches_direct_solves(X, Y, train, test)


def test_close_eigenvalues_are_flagged_and_get_exact_norms(rng):
    s = torch.tensor([[0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 1.0 + 1e-9, 3.0], [0.0, 1.0, 1.0, 3.0]])
    s = s.double()
    kept = s > 0
    unsafe = _unsafe_times(s, kept, alpha_max=100.0)
    assert unsafe.tolist() == [False, True, True]
    basis = torch.as_tensor(rng.standard_normal((3, 9, 4)))
    gram = basis.mT @ basis
    B = torch.as_tensor(rng.standard_normal((3, 4, 5))) * kept[..., None]
    alphas = torch.tensor([0.1, 10.0, 100.0], dtype=torch.float64)
    weights = 1.0 / (s[:, None, :] + alphas[None, :, None])
    norms = _prediction_norms(gram, s, B, weights, kept, alpha_max=100.0)
    for t in range(3):
        for a in range(3):
            predictions = basis[t] @ (weights[t, a][:, None] * B[t])
            expected = (predictions**2).sum(0)
            torch.testing.assert_close(norms[t, a], expected, rtol=1e-10, atol=0)


def test_constant_targets_warn_and_predict_their_mean(rng):
    X, Y = _problem(rng, 50, 6, n_times=2, n_targets=3)
    Y[:, 1] = 2.5
    train, test = make_folds(50, 5)[0]
    with pytest.warns(NeuroalignWarning, match="1 of 3 targets are constant"):
        predictions, _ = _run(X, Y, train, test)
    np.testing.assert_allclose(predictions[:, :, 1], 2.5, rtol=0, atol=1e-12)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu(rng):
    X, Y = _problem(rng, 90, 12, n_times=5, n_targets=20)
    train, test = make_folds(90, 5)[3]
    cpu, cpu_best = _run(X, Y, train, test)
    gpu, gpu_best = ridge_predictions_over_time(
        torch.as_tensor(X, device="cuda").permute(1, 2, 0),
        torch.as_tensor(Y, device="cuda"),
        train,
        test,
        torch.as_tensor(ALPHAS, device="cuda"),
    )
    np.testing.assert_array_equal(gpu_best.cpu().numpy(), cpu_best)
    np.testing.assert_allclose(gpu.cpu().numpy(), cpu, rtol=0, atol=1e-9)
