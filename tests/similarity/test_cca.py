"""CCA and SVCCA against scikit-learn and a QR-based numpy reference."""

import numpy as np
import pytest
from sklearn.cross_decomposition import CCA

from neuroalign.exceptions import DimensionError
from neuroalign.similarity import canonical_correlations, cca_similarity, svcca


def _correlations(x, y):
    """Canonical correlations: singular values of Q_x^T Q_y for QR bases of centred data."""
    qx = np.linalg.qr(x - x.mean(0))[0]
    qy = np.linalg.qr(y - y.mean(0))[0]
    return np.linalg.svd(qx.T @ qy, compute_uv=False)


def _svcca(x, y, variance):
    """Raghu et al. (2017): SVD each side, keep the leading directions, then CCA."""
    reduced = []
    for m in (x, y):
        u, s, _ = np.linalg.svd(m - m.mean(0), full_matrices=False)
        k = int(np.searchsorted(np.cumsum(s**2) / np.sum(s**2), variance) + 1)
        reduced.append(u[:, :k] * s[:k])
    return _correlations(*reduced).mean()


@pytest.fixture
def pair(rng):
    x = rng.standard_normal((200, 5))
    y = x[:, :3] @ rng.standard_normal((3, 4)) + 2 * rng.standard_normal((200, 4))
    return x, y


def test_first_canonical_correlation_matches_sklearn(pair):
    x, y = pair
    model = CCA(n_components=1, max_iter=5000, tol=1e-12).fit(x, y)
    u, v = model.transform(x, y)
    expected = np.corrcoef(u[:, 0], v[:, 0])[0, 1]
    # sklearn's iterative (NIPALS) estimate agrees to 1e-6 at this tolerance.
    assert float(canonical_correlations(x, y, device="cpu")[0]) == pytest.approx(expected, abs=1e-6)


def test_all_correlations_and_mean_match_reference(pair):
    x, y = pair
    expected = _correlations(x, y)
    got = canonical_correlations(x, y, device="cpu").numpy()
    np.testing.assert_allclose(got, expected, atol=1e-10)
    assert float(cca_similarity(x, y, device="cpu")) == pytest.approx(expected.mean(), abs=1e-10)


def test_rank_deficient_side_uses_its_rank(rng):
    x = rng.standard_normal((50, 3))
    y = np.c_[x @ rng.standard_normal((3, 2)), np.zeros(50), x[:, :1] + x[:, 1:2]]
    assert canonical_correlations(x, y, device="cpu").shape == (3,)
    assert float(cca_similarity(x, y, device="cpu")) == pytest.approx(1.0, abs=1e-8)


@pytest.mark.parametrize("variance", [0.5, 0.9, 0.99])
def test_svcca_matches_reference(rng, variance):
    signal = rng.standard_normal((80, 4))
    x = signal @ rng.standard_normal((4, 30)) + 0.3 * rng.standard_normal((80, 30))
    y = signal[:, :2] @ rng.standard_normal((2, 20)) + 0.3 * rng.standard_normal((80, 20))
    got = float(svcca(x, y, variance=variance, device="cpu"))
    assert got == pytest.approx(_svcca(x, y, variance), abs=1e-8)


@pytest.mark.parametrize("function", [cca_similarity, svcca])
def test_batched_equals_per_pair(rng, function):
    layers = [rng.standard_normal((40, p)) for p in (2, 6, 60)]
    rois = [rng.standard_normal((40, p)) + layers[0][:, :1] for p in (3, 5)]
    batched = function(layers, rois, device="cpu")
    for i, layer in enumerate(layers):
        for j, roi in enumerate(rois):
            assert float(batched[i, j]) == pytest.approx(float(function(layer, roi)), abs=1e-10)


def test_errors(rng):
    x = rng.standard_normal((10, 3))
    with pytest.raises(DimensionError, match="one matrix"):
        canonical_correlations([x, x], x)
    with pytest.raises(ValueError, match=r"'variance' must be in \(0, 1\]"):
        svcca(x, x, variance=1.5)
