"""Linear / RBF / debiased CKA against direct numpy formulas, invariances and batching."""

import numpy as np
import pytest
import torch

from neuroalign.exceptions import DimensionError
from neuroalign.similarity import linear_cka, rbf_cka


def _hsic(K, L):
    """Biased HSIC with explicit centring matrices: tr(K H L H) / (n - 1)^2."""
    n = K.shape[0]
    H = np.eye(n) - np.ones((n, n)) / n
    return np.trace(K @ H @ L @ H) / (n - 1) ** 2


def _unbiased_hsic(K, L):
    """Song et al. (2012), eq. 5, written out term by term."""
    n = K.shape[0]
    K, L = K.copy(), L.copy()
    np.fill_diagonal(K, 0)
    np.fill_diagonal(L, 0)
    ones = np.ones(n)
    return (
        np.trace(K @ L)
        + (ones @ K @ ones) * (ones @ L @ ones) / ((n - 1) * (n - 2))
        - 2 / (n - 2) * ones @ K @ L @ ones
    ) / (n * (n - 3))


def _cka(K, L, hsic=_hsic):
    return hsic(K, L) / np.sqrt(hsic(K, K) * hsic(L, L))


def _rbf(X, bandwidth):
    """Kornblith et al. (2019) reference: sigma^2 = bandwidth^2 * median squared distance."""
    sq = (X**2).sum(1)
    distances = sq[:, None] + sq[None, :] - 2 * X @ X.T
    return np.exp(-distances / (2 * bandwidth**2 * np.median(distances)))


@pytest.fixture
def pair(rng):
    x = rng.standard_normal((40, 12))
    y = x[:, :5] @ rng.standard_normal((5, 7)) + rng.standard_normal((40, 7))
    return x, y


# Float64 kernels: agreement to 1e-6 (observed ~1e-14); float32 kernels (the default): 1e-5.
@pytest.mark.parametrize(("dtype", "tol"), [("float64", 1e-6), ("float32", 1e-5)])
def test_linear_cka_matches_hsic_with_centering_matrices(pair, dtype, tol):
    x, y = pair
    expected = _cka(x @ x.T, y @ y.T)
    got = float(linear_cka(x, y, device="cpu", dtype=dtype))
    assert got == pytest.approx(expected, abs=tol)


def test_debiased_cka_matches_unbiased_hsic_formula(pair):
    x, y = pair
    expected = _cka(x @ x.T, y @ y.T, hsic=_unbiased_hsic)
    got = float(linear_cka(x, y, debiased=True, device="cpu", dtype="float64"))
    assert got == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("debiased", [False, True])
@pytest.mark.parametrize("bandwidth", [0.5, 1.0])
def test_rbf_cka_matches_reference(pair, bandwidth, debiased):
    x, y = pair
    hsic = _unbiased_hsic if debiased else _hsic
    expected = _cka(_rbf(x, bandwidth), _rbf(y, bandwidth), hsic=hsic)
    got = rbf_cka(x, y, bandwidth=bandwidth, debiased=debiased, device="cpu", dtype="float64")
    assert float(got) == pytest.approx(expected, abs=1e-6)


def test_linear_cka_invariant_to_rotation_and_isotropic_scaling(pair, rng):
    x, y = pair
    rotation = np.linalg.qr(rng.standard_normal((7, 7)))[0]
    reference = float(linear_cka(x, y, device="cpu", dtype="float64"))
    transformed = float(linear_cka(x * 5.0, 0.1 * y @ rotation, device="cpu", dtype="float64"))
    assert transformed == pytest.approx(reference, abs=1e-10)
    assert float(linear_cka(x, -3 * x, device="cpu", dtype="float64")) == pytest.approx(1.0)


def test_linear_cka_not_invariant_to_anisotropic_scaling(pair):
    x, y = pair
    stretched = x * np.linspace(0.1, 10, x.shape[1])
    assert abs(float(linear_cka(x, y, device="cpu")) - float(linear_cka(stretched, y))) > 1e-2


def test_debiased_cka_near_zero_for_independent_data(rng):
    # Many more features than stimuli: the biased estimator is far from 0, the debiased is not.
    x, y = rng.standard_normal((200, 500)), rng.standard_normal((200, 500))
    assert float(linear_cka(x, y, device="cpu")) > 0.5
    assert abs(float(linear_cka(x, y, debiased=True, device="cpu"))) < 0.05


@pytest.mark.parametrize("function", [linear_cka, rbf_cka])
@pytest.mark.parametrize("debiased", [False, True])
def test_batched_equals_per_pair(rng, function, debiased):
    layers = [rng.standard_normal((30, p)) for p in (3, 9, 40)]
    rois = [rng.standard_normal((30, p)) + layers[0][:, :1] for p in (5, 6)]
    batched = function(layers, rois, debiased=debiased, device="cpu", dtype="float64")
    assert batched.shape == (3, 2)
    for i, layer in enumerate(layers):
        for j, roi in enumerate(rois):
            single = function(layer, roi, debiased=debiased, device="cpu", dtype="float64")
            assert float(batched[i, j]) == pytest.approx(float(single), abs=1e-12)
    stacked = function(np.stack(rois[:1] * 2), layers[1], debiased=debiased, device="cpu")
    assert stacked.shape == (2,)


def test_cka_accepts_tensors_and_returns_float64(pair):
    x, y = pair
    result = linear_cka(torch.as_tensor(x), torch.as_tensor(y), device="cpu")
    assert result.dtype == torch.float64 and result.shape == ()


def test_different_numbers_of_stimuli_is_an_error(rng):
    with pytest.raises(ValueError, match=r"a\[0\] has 10 rows but b\[1\] has 9"):
        linear_cka(
            rng.standard_normal((10, 2)),
            [rng.standard_normal((10, 2)), rng.standard_normal((9, 2))],
        )


@pytest.mark.parametrize(
    ("a", "error", "match"),
    [
        (np.ones((10, 3)), ValueError, "constant across stimuli"),
        (np.full((10, 3), np.nan), ValueError, "NaN or infinite"),
        (np.zeros((2, 10, 3, 1)), DimensionError, "must have shape"),
        ([], ValueError, "empty sequence"),
    ],
)
def test_bad_inputs_are_named(rng, a, error, match):
    with pytest.raises(error, match=match):
        linear_cka(a, rng.standard_normal((10, 3)), device="cpu")


def test_too_few_stimuli_and_bad_bandwidth(rng):
    x = rng.standard_normal((3, 2))
    with pytest.raises(ValueError, match="at least 4 stimuli; got 3"):
        linear_cka(x, x, debiased=True)
    with pytest.raises(ValueError, match="'bandwidth' must be positive"):
        rbf_cka(rng.standard_normal((5, 2)), rng.standard_normal((5, 2)), bandwidth=0)
