"""Logistic regression of all folds at once: curvature bound, stopping rule, references."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from neuroalign.decoding import LogisticDecoder, _logistic, decode_over_time
from neuroalign.decoding._logistic import bound_factors, transposed_with_ones
from neuroalign.decoding._solvers import fit_linear
from neuroalign.exceptions import NeuroalignWarning

mne_decoding = pytest.importorskip("mne.decoding")


def _hessian(Xa, weights, beta, C, penalty):
    """Full Hessian (K * q square) of the weighted multinomial objective at ``beta`` (K, q)."""
    logits = Xa @ beta.T
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    K, q = beta.shape
    hessian = np.zeros((K * q, K * q))
    for i, (x, w) in enumerate(zip(Xa, weights, strict=True)):
        curvature = np.diag(p[i]) - np.outer(p[i], p[i])
        hessian += C * w * np.kron(curvature, np.outer(x, x))
    return hessian + np.kron(np.eye(K), np.diag(penalty))


@pytest.mark.parametrize("n_classes", [2, 4])
def test_bound_majorises_the_hessian(rng, n_classes):
    X = rng.standard_normal((40, 3)) * [1.0, 2.0, 0.5]
    weights = rng.uniform(0.5, 2.0, 40) * (rng.random(40) < 0.8)
    penalty = np.array([1.0, 4.0, 0.25, 0.0])
    C = 0.7
    XaT = transposed_with_ones(torch.as_tensor(X)[None])
    factors = bound_factors(XaT, torch.as_tensor(weights), torch.as_tensor(penalty)[None], 0.5, C)
    # The factored matrix is the bound on weights summing to zero over classes.
    factor = factors[0].numpy()
    bound_block = factor @ factor.T
    K = n_classes
    centring = np.eye(K) - np.ones((K, K)) / K
    bound = np.kron(centring, bound_block - np.diag(penalty)) + np.kron(np.eye(K), np.diag(penalty))
    # Directions whose class weights sum to zero (all of them for the binary pair).
    basis = np.kron(np.linalg.svd(centring)[0][:, : K - 1], np.eye(4))
    for _ in range(5):
        beta = rng.standard_normal((K, 4)) * 2.0
        hessian = _hessian(XaT[0].T.numpy(), weights, beta, C, penalty)
        gap = basis.T @ (bound - hessian) @ basis
        # Böhning: the bound minus the Hessian is positive semi-definite (rounding aside).
        assert np.linalg.eigvalsh(gap).min() >= -1e-10 * np.abs(bound).max()


def test_bound_with_equal_weights_is_the_scaled_gram(rng):
    X = rng.standard_normal((2, 30, 3))
    penalty = torch.tensor([[1.0, 2.0, 0.5, 0.0], [0.5, 1.0, 1.0, 0.0]], dtype=torch.float64)
    XaT = transposed_with_ones(torch.as_tensor(X))
    factors = bound_factors(XaT, torch.full((30,), 0.8, dtype=torch.float64), penalty, 0.25, 2.0)
    Xa = XaT.mT.numpy()
    expected = 0.25 * 2.0 * 0.8 * Xa.transpose(0, 2, 1) @ Xa + np.stack(
        [np.diag(row) for row in penalty.numpy()]
    )
    np.testing.assert_allclose((factors @ factors.mT).numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("scale", [1.0, 30.0])
def test_softmax_without_shift_equals_the_shifted_one(rng, scale):
    logits = torch.as_tensor(rng.standard_normal((2, 3, 4, 5)) * scale, dtype=torch.float32)
    shape = tuple(logits.shape)
    results = []
    for bounded in (False, True):
        workspace = _logistic._Workspace(shape, torch.float32, "cpu")
        partition, probabilities = _logistic._log_partition_into(logits, workspace, bounded=bounded)
        results.append((partition.clone(), probabilities.clone()))
    for partition, probabilities in results:
        torch.testing.assert_close(partition, torch.logsumexp(logits, 2, keepdim=True))
        torch.testing.assert_close(probabilities, torch.softmax(logits, 2))


def test_softmax_of_huge_logits_stays_finite():
    logits = torch.tensor([1000.0, -1000.0, 999.0]).view(1, 1, 3, 1)
    workspace = _logistic._Workspace((1, 1, 3, 1), torch.float32, "cpu")
    partition, probabilities = _logistic._log_partition_into(logits, workspace)
    expected = 1000.0 + np.log1p(np.exp(-1.0))
    np.testing.assert_allclose(partition.item(), expected, rtol=1e-6)
    np.testing.assert_allclose(probabilities.flatten(), [1 / (1 + np.exp(-1)), 0, 0.2689414], 1e-6)


def _preconditioner_matrix(inverses, penalty, fold, shape):
    """The linear map ``_precondition`` as a dense (K * q) matrix for one fold."""
    columns = []
    for unit in torch.eye(shape[2] * shape[3], dtype=torch.float64):
        vector = torch.zeros(shape, dtype=torch.float64)
        vector[0, fold] = unit.view(shape[2:])
        columns.append(_logistic._precondition(vector, inverses, penalty)[0, fold].flatten())
    return torch.stack(columns, 1).numpy()


@pytest.mark.parametrize("n_outputs", [1, 3])
def test_two_loop_equals_the_dense_bfgs_inverse(rng, n_outputs):
    """The two-loop recursion on kept preconditioned vectors is H_k g of dense BFGS updates."""
    shape = (1, 2, n_outputs, 4)  # one time point, two folds
    size = n_outputs * 4

    def tensor(values):
        return torch.as_tensor(values, dtype=torch.float64)

    factors = rng.standard_normal((1, n_outputs, 4, 4))
    inverses = tensor(factors @ factors.transpose(0, 1, 3, 2) + np.eye(4))
    penalty = tensor(rng.uniform(0.5, 2.0, (1, 2, 1, 4)))
    penalty[..., -1] = 0.0  # the intercept is not penalised
    curvature = rng.standard_normal((size, size))
    curvature = curvature @ curvature.T + size * np.eye(size)
    history = []
    for _ in range(3):
        step = tensor(rng.standard_normal(shape))
        change = tensor((curvature @ step.reshape(2, size).numpy().T).T.reshape(shape))
        rho = 1.0 / _logistic._dot(step, change)
        preconditioned = _logistic._precondition(change, inverses, penalty)
        history.append((step, change, rho, preconditioned))
    gradient = tensor(rng.standard_normal(shape))
    state = SimpleNamespace(
        gradient=gradient,
        preconditioned=_logistic._precondition(gradient, inverses, penalty),
        history=history,
    )
    direction = _logistic._two_loop(state, torch.finfo(torch.float64).tiny)
    for fold in range(2):
        matrix = _preconditioner_matrix(inverses, penalty, fold, shape)
        pairs = [
            (s[0, fold].flatten().numpy(), y[0, fold].flatten().numpy()) for s, y, *_ in history
        ]
        s_last, y_last = pairs[-1]
        inverse = (s_last @ y_last) / (y_last @ matrix @ y_last) * matrix
        for s, y in pairs:
            rho = 1.0 / (s @ y)
            update = np.eye(size) - rho * np.outer(s, y)
            inverse = update @ inverse @ update.T + rho * np.outer(s, s)
        expected = -inverse @ gradient[0, fold].flatten().numpy()
        np.testing.assert_allclose(direction[0, fold].flatten().numpy(), expected, rtol=1e-10)


@pytest.mark.parametrize("shift", ["as chosen", "always"])
def test_large_weights_match_sklearn_with_and_without_the_softmax_shift(rng, monkeypatch, shift):
    # Nearly separable classes and a weak penalty: logits in the tens.
    if shift == "always":
        original = _logistic._probabilities_into

        def shifted(logits, out, workspace, *, bounded=False):
            return original(logits, out, workspace, bounded=False)

        monkeypatch.setattr(_logistic, "_probabilities_into", shifted)
    y = np.arange(90) % 3
    X = rng.standard_normal((90, 4))
    X[:, 0] += 3.0 * y
    X[:, 1] -= 3.0 * (y == 2)
    fitted = fit_linear(
        torch.as_tensor(X)[None], torch.as_tensor(y), 3, classifier="logistic", C=100.0
    )
    model = make_pipeline(
        StandardScaler(), LogisticRegression(C=100.0, tol=1e-12, max_iter=100_000)
    ).fit(X, y)
    ours = X @ fitted.weights[0].numpy() + fitted.bias[0].numpy()
    expected = model.decision_function(X)
    assert np.abs(expected).max() > 10
    np.testing.assert_allclose(ours, expected, atol=1e-5 * np.abs(expected).max())


def test_multinomial_balanced_folds_match_mne(rng):
    n, n_times = 120, 6
    y = np.array([0] * 60 + [1] * 36 + [2] * 24)
    rng.shuffle(y)
    X = rng.standard_normal((n, 4, n_times))
    X[y == 1, 0, 3:] += 1.0
    X[y == 2, 1, 3:] += 1.0
    reference = LogisticRegression(class_weight="balanced", tol=1e-10, max_iter=10_000)
    expected = {}
    for scoring in ("balanced_accuracy", "accuracy"):
        estimator = mne_decoding.SlidingEstimator(
            make_pipeline(StandardScaler(), reference), scoring=scoring, verbose=False
        )
        expected[scoring] = mne_decoding.cross_val_multiscore(
            estimator, X, y, cv=StratifiedKFold(5)
        )
        ours = decode_over_time(
            X,
            y,
            classifier="logistic",
            scoring=scoring,
            class_weight="balanced",
            device="cpu",
            dtype="float64",
        )
        # Fold weights differ by fold (balanced per training set): same predictions.
        np.testing.assert_allclose(ours.scores, expected[scoring], atol=1e-9)


def test_multinomial_decision_values_match_sklearn_per_fold(rng):
    y = np.arange(90) % 3
    X = rng.standard_normal((90, 5, 3)) * [[1.0], [10.0], [0.1], [1.0], [3.0]] + 5.0
    X[:, 0] += y[:, None]
    result = decode_over_time(
        X, y, classifier=LogisticDecoder(C=0.5), cv=3, device="cpu", dtype="float64"
    )
    data = torch.as_tensor(X).permute(2, 0, 1)
    for train, test in result.folds:
        fitted = fit_linear(
            data - data.mean(1, keepdim=True),
            torch.as_tensor(y),
            3,
            train=torch.as_tensor(train),
            classifier="logistic",
            C=0.5,
        )
        for t in range(3):
            model = make_pipeline(
                StandardScaler(), LogisticRegression(C=0.5, tol=1e-12, max_iter=10_000)
            ).fit(X[train, :, t], y[train])
            expected = model.decision_function(X[test, :, t])
            centred = X[test, :, t] - X[:, :, t].mean(0)
            ours = centred @ fitted.weights[t].numpy() + fitted.bias[t].numpy()
            # Both optimisers stop near the same optimum of a strongly convex objective.
            np.testing.assert_allclose(ours, expected, atol=1e-6)


@pytest.mark.parametrize(("tol", "rule"), [(None, 1e-4), (1e-6, 1e-6)])
def test_float32_multinomial_meets_the_float64_gradient_tolerance(rng, tol, rule):
    y = np.arange(150) % 3
    X = rng.standard_normal((2, 150, 5)).astype(np.float32) * np.float32(2.0) + np.float32(1.0)
    X[:, y == 1, 0] += np.float32(1.5)
    X[:, y == 2, 1] += np.float32(3.0)
    decision = fit_linear(torch.as_tensor(X), torch.as_tensor(y), 3, classifier="logistic", tol=tol)
    data = X.astype(np.float64)
    centred = data - data.mean(1, keepdims=True)
    scale = data.std(1)
    weights = decision.weights.numpy()
    logits = np.einsum("bnp,bpk->bnk", data, weights) + decision.bias.numpy()[:, None]
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    residual = p - np.eye(3)[y]
    gradient_weights = (
        np.einsum("bnp,bnk->bpk", centred, residual) + scale[..., None] ** 2 * weights
    )
    gradient = np.concatenate([gradient_weights, residual.sum(1)[:, None]], 1)
    # The stopping rule: every entry below tol * C * n (default tol 1e-4 for float32).
    assert np.abs(gradient).max() <= rule * 150


def test_multinomial_not_converged_warns(rng):
    X = rng.standard_normal((60, 3))
    y = np.arange(60) % 3
    X[:, 0] += y
    with pytest.warns(NeuroalignWarning, match="max_iter=2"):
        LogisticDecoder(max_iter=2, device="cpu", dtype="float64").fit(X, y)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_batch_bookkeeping_matches_time_points_fitted_alone(rng, monkeypatch, n_classes):
    # Pure-noise time points converge in a few iterations and leave the batch while the
    # separable ones go on; chunks of two time points exercise the chunking too.
    n, n_times = 90, 6
    y = np.arange(n) % n_classes
    X = rng.standard_normal((n_times, n, 4))
    X[3:, :, 0] += 2.5 * y
    X = torch.as_tensor(X - X.mean(1, keepdims=True))
    folds = list(StratifiedKFold(3).split(np.zeros(n), y))
    weights = torch.zeros(n, len(folds), dtype=torch.float64)
    for index, (train, _) in enumerate(folds):
        weights[train, index] = 1.0
    options = {"C": 1.0, "max_iter": 200, "tol": 1e-10}
    codes = torch.as_tensor(y)
    n_outputs = 1 if n_classes == 2 else n_classes
    monkeypatch.setattr(_logistic, "_CHUNK_ELEMENTS", 2 * len(folds) * n_outputs * n)
    monkeypatch.setattr(_logistic, "_SCALED_ELEMENTS", 5 * n)  # refresh one time point at a time
    two_loop, checked = _logistic._two_loop, []

    def checked_two_loop(state, tiny):
        # The kept preconditioned vectors follow the refresh and the batch's compaction.
        def precondition(vector):
            return _logistic._precondition(vector, state.inverses, state.penalty)

        torch.testing.assert_close(state.preconditioned, precondition(state.gradient))
        for _, change, _, preconditioned in state.history:
            torch.testing.assert_close(preconditioned, precondition(change))
        checked.append(len(state.history))
        return two_loop(state, tiny)

    monkeypatch.setattr(_logistic, "_two_loop", checked_two_loop)
    coef, bias, _ = _logistic.fit_logistic_folds(X, codes, n_classes, weights, **options)
    assert max(checked) == _logistic._MEMORY
    for t in range(n_times):
        alone, alone_bias, _ = _logistic.fit_logistic_folds(
            X[t : t + 1], codes, n_classes, weights, **options
        )
        # Both stop at a gradient below tol=1e-10 of a strongly convex objective.
        np.testing.assert_allclose(coef[t].numpy(), alone[0].numpy(), rtol=0, atol=1e-8)
        np.testing.assert_allclose(bias[t].numpy(), alone_bias[0].numpy(), rtol=0, atol=1e-8)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_float64_check_in_blocks_matches_one_block(rng, monkeypatch, n_classes):
    # Float32 data: the float64 confirmation runs blocks of two time points, with tol
    # tight enough that some of them need float64 iterations.
    n, n_times = 90, 5
    y = np.arange(n) % n_classes
    X = rng.standard_normal((n_times, n, 4)).astype(np.float32)
    X[2:, :, 0] += np.float32(2.0) * y
    X = torch.as_tensor(X - X.mean(1, keepdims=True))
    weights = torch.zeros(n, 3, dtype=torch.float64)
    for index, (train, _) in enumerate(StratifiedKFold(3).split(np.zeros(n), y)):
        weights[train, index] = 1.0
    options = {"C": 1.0, "max_iter": 300, "tol": 1e-8}
    codes = torch.as_tensor(y)
    whole = _logistic.fit_logistic_folds(X, codes, n_classes, weights, **options)
    monkeypatch.setattr(_logistic, "_CHECK_ELEMENTS", 2 * 5 * n)
    blocks = _logistic.fit_logistic_folds(X, codes, n_classes, weights, **options)
    assert blocks[2] == whole[2] > 0
    for ours, reference in zip(blocks[:2], whole[:2], strict=True):
        np.testing.assert_allclose(ours.numpy(), reference.numpy(), rtol=0, atol=1e-9)
