"""Procrustes / generalised shape metrics against a numpy port of netrep's LinearMetric."""

import numpy as np
import pytest

from neuroalign.similarity import procrustes_distance


def _whiten(X, alpha, tol=1e-7):
    """netrep.utils.whiten(X, alpha, preserve_variance=True), written out."""
    if alpha > 1 - tol:
        return X
    lam, V = np.linalg.eigh(X.T @ X)
    lam = np.maximum(lam, tol)
    d = alpha + (1 - alpha) * lam ** (-1 / 2)
    new_var = np.sum(alpha**2 * lam + 2 * alpha * (1 - alpha) * lam**0.5 + (1 - alpha) ** 2)
    d *= np.sqrt(np.sum(lam) / new_var)
    return X @ ((V * d[None, :]) @ V.T)


def _netrep(X, Y, alpha, metric):
    """netrep LinearMetric(alpha, center_columns=True, zero_pad=True, score_method=metric)."""
    width = max(X.shape[1], Y.shape[1])
    X = np.pad(X, ((0, 0), (0, width - X.shape[1])))
    Y = np.pad(Y, ((0, 0), (0, width - Y.shape[1])))
    Xw = _whiten(X - X.mean(0), alpha)
    Yw = _whiten(Y - Y.mean(0), alpha)
    U, _, Vt = np.linalg.svd(Xw.T @ Yw)
    Xr, Yr = Xw @ U, Yw @ Vt.T
    if metric == "angular":
        cosine = np.sum(Xr * Yr) / (np.linalg.norm(Xr) * np.linalg.norm(Yr))
        return np.arccos(np.clip(cosine, -1, 1))
    return np.linalg.norm(Xr - Yr) / np.sqrt(X.shape[0])


def _related(rng, n, p, q):
    x = rng.standard_normal((n, p)) * np.linspace(0.3, 3, p)
    return x, x[:, : min(p, q)] @ rng.standard_normal((min(p, q), q)) + rng.standard_normal((n, q))


# float64 throughout: agreement with the reference to 1e-8 (observed ~1e-12).
@pytest.mark.parametrize("metric", ["angular", "euclidean"])
@pytest.mark.parametrize("alpha", [1.0, 0.5, 0.0])
@pytest.mark.parametrize(("p", "q"), [(4, 6), (7, 7)])
def test_matches_netrep_reference(rng, alpha, metric, p, q):
    x, y = _related(rng, 25, p, q)
    got = float(procrustes_distance(x, y, alpha=alpha, metric=metric, device="cpu"))
    assert got == pytest.approx(_netrep(x, y, alpha, metric), abs=1e-8)


@pytest.mark.parametrize("alpha", [1.0, 0.3])
def test_matches_netrep_with_more_features_than_stimuli(rng, alpha):
    # Features outnumber stimuli: the feature covariance has p - n null directions.
    x, y = _related(rng, 12, 20, 15)
    got = float(procrustes_distance(x, y, alpha=alpha, metric="euclidean", device="cpu"))
    assert got == pytest.approx(_netrep(x, y, alpha, "euclidean"), abs=1e-6)


def test_zero_for_rotated_shifted_copy(rng):
    x = rng.standard_normal((30, 6))
    rotation = np.linalg.qr(rng.standard_normal((6, 6)))[0]
    copy = x @ rotation + 4.0
    # arccos is steep at 1: the angular distance of a copy is ~sqrt(2 * 1e-16) in float64.
    assert float(procrustes_distance(x, copy, device="cpu")) == pytest.approx(0, abs=1e-6)
    assert float(procrustes_distance(x, 2 * copy, device="cpu")) == pytest.approx(0, abs=1e-6)
    euclidean = procrustes_distance(x, copy, metric="euclidean", device="cpu")
    assert float(euclidean) == pytest.approx(0, abs=1e-6)
    padded = np.c_[copy, np.zeros((30, 3))]
    assert float(procrustes_distance(x, padded, device="cpu")) == pytest.approx(0, abs=1e-6)


def test_symmetric_and_batched_equals_per_pair(rng):
    layers = [rng.standard_normal((20, p)) for p in (3, 8, 30)]
    rois = [rng.standard_normal((20, p)) for p in (4, 25)]
    batched = procrustes_distance(layers, rois, alpha=0.5, device="cpu")
    reverse = procrustes_distance(rois, layers, alpha=0.5, device="cpu")
    np.testing.assert_allclose(batched.numpy(), reverse.numpy().T, atol=1e-10)
    for i, layer in enumerate(layers):
        for j, roi in enumerate(rois):
            single = float(procrustes_distance(layer, roi, alpha=0.5, device="cpu"))
            assert float(batched[i, j]) == pytest.approx(single, abs=1e-10)


def test_invalid_options(rng):
    x = rng.standard_normal((10, 3))
    with pytest.raises(ValueError, match=r"'alpha' must be a number in \[0, 1\]"):
        procrustes_distance(x, x, alpha=2)
    with pytest.raises(ValueError, match="'metric' must be one of.*Did you mean 'angular'"):
        procrustes_distance(x, x, metric="angle")
