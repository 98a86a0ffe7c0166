"""Per-target Pearson r and R² against scipy and scikit-learn.

Tolerances: float64 inputs agree with the float64 references to 1e-12 (absolute);
float32 inputs agree with the reference computed on the same float32 values in
float64 to 1e-6 (sums are accumulated in float64, only float32 centring remains).
"""

import warnings

import numpy as np
import pytest
import scipy.stats
import sklearn.metrics
import torch

from neuroalign.exceptions import NeuroalignWarning
from neuroalign.stats import pearson_r, r2_score

F64_ATOL = 1e-12
F32_ATOL = 1e-6


def _pair(rng, n_samples=50, n_targets=7, offset=0.0):
    y_true = rng.standard_normal((n_samples, n_targets)) + offset
    y_pred = 0.6 * y_true + rng.standard_normal((n_samples, n_targets))
    return y_true, y_pred


def _scipy_r(y_true, y_pred):
    return np.array(
        [scipy.stats.pearsonr(y_true[:, j], y_pred[:, j])[0] for j in range(y_true.shape[1])]
    )


# --- Pearson -----------------------------------------------------------------------------------


def test_pearson_matches_scipy_float64(rng):
    y_true, y_pred = _pair(rng)
    r = pearson_r(y_true, y_pred)
    assert isinstance(r, np.ndarray) and r.dtype == np.float64 and r.shape == (7,)
    np.testing.assert_allclose(r, _scipy_r(y_true, y_pred), rtol=0, atol=F64_ATOL)


def test_pearson_float32_with_large_offset(rng):
    # An offset of 100 standard deviations: float64 accumulation keeps float32 accurate.
    y_true, y_pred = _pair(rng, n_samples=2000, offset=100.0)
    y_true32, y_pred32 = y_true.astype(np.float32), y_pred.astype(np.float32)
    r = pearson_r(y_true32, y_pred32)
    assert r.dtype == np.float32
    reference = _scipy_r(y_true32.astype(np.float64), y_pred32.astype(np.float64))
    np.testing.assert_allclose(r, reference, rtol=0, atol=F32_ATOL)


def test_pearson_1d_gives_a_scalar(rng):
    y_true, y_pred = _pair(rng, n_targets=1)
    r = pearson_r(y_true[:, 0], y_pred[:, 0])
    assert np.ndim(r) == 0
    assert r == pytest.approx(scipy.stats.pearsonr(y_true[:, 0], y_pred[:, 0])[0], abs=F64_ATOL)


def test_pearson_broadcasts_leading_dims_and_1d_inputs(rng):
    y_true, _ = _pair(rng, n_samples=30, n_targets=5)
    y_pred = rng.standard_normal((3, 4, 30, 5))
    r = pearson_r(y_true, y_pred)
    assert r.shape == (3, 4, 5)
    for i in range(3):
        for j in range(4):
            np.testing.assert_allclose(
                r[i, j], _scipy_r(y_true, y_pred[i, j]), rtol=0, atol=F64_ATOL
            )
    # One 1-D variable against several targets.
    r = pearson_r(y_true[:, 0], y_pred[0, 0])
    expected = _scipy_r(np.repeat(y_true[:, :1], 5, axis=1), y_pred[0, 0])
    np.testing.assert_allclose(r, expected, rtol=0, atol=F64_ATOL)


def test_pearson_torch_numpy_symmetry(rng):
    y_true, y_pred = _pair(rng)
    from_numpy = pearson_r(y_true, y_pred)
    from_torch = pearson_r(torch.as_tensor(y_true), torch.as_tensor(y_pred))
    assert isinstance(from_torch, torch.Tensor) and from_torch.dtype == torch.float64
    np.testing.assert_array_equal(from_torch.numpy(), from_numpy)
    mixed = pearson_r(y_true.astype(np.float32), torch.as_tensor(y_pred, dtype=torch.float32))
    assert isinstance(mixed, torch.Tensor) and mixed.dtype == torch.float32
    np.testing.assert_allclose(mixed.numpy(), from_numpy, rtol=0, atol=F32_ATOL)


def test_read_only_and_reversed_arrays_are_accepted_silently(rng):
    y_true, y_pred = _pair(rng)
    expected = pearson_r(y_true, y_pred)
    read_only = np.broadcast_to(y_true, y_true.shape)  # not writeable
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(pearson_r(read_only, y_pred), expected)
        reversed_rows = pearson_r(y_true[::-1], y_pred[::-1])
    np.testing.assert_allclose(reversed_rows, expected, rtol=0, atol=F64_ATOL)


def test_pearson_integer_and_half_inputs(rng):
    counts = rng.poisson(3.0, (40, 4))
    rates = counts + rng.standard_normal((40, 4))
    r = pearson_r(counts, rates)
    assert r.dtype == np.float64
    np.testing.assert_allclose(r, _scipy_r(counts.astype(float), rates), atol=F64_ATOL)
    half = pearson_r(torch.as_tensor(rates, dtype=torch.float16), torch.as_tensor(counts))
    assert half.dtype == torch.float32


def test_pearson_constant_targets_warn_and_give_zero():
    y_true = np.array([[0.1, 1.0, 2.0], [0.1, 2.0, 2.0], [0.1, 3.0, 2.0]])  # 0.1: mean rounds
    y_pred = np.array([[1.0, 1.0, 1.0], [2.0, 3.0, 3.0], [4.0, 2.0, 2.0]])
    with pytest.warns(NeuroalignWarning, match="2 of 3 targets have a constant"):
        r = pearson_r(y_true, y_pred)
    assert not np.isnan(r).any()
    assert r[0] == 0.0 and r[2] == 0.0 and r[1] == pytest.approx(0.5)


def test_pearson_errors_name_the_arguments(rng):
    with pytest.raises(ValueError, match=r"'y_true' and 'y_pred'.*got 10 .*\(10, 3\).* 9 "):
        pearson_r(rng.standard_normal((10, 3)), rng.standard_normal((9, 3)))
    with pytest.raises(ValueError, match="do not broadcast"):
        pearson_r(rng.standard_normal((10, 3)), rng.standard_normal((10, 4)))
    with pytest.raises(ValueError, match="at least 2 samples"):
        pearson_r(np.ones((1, 3)), np.ones((1, 3)))
    with pytest.raises(ValueError, match="got a scalar"):
        pearson_r(np.float64(1.0), np.ones(3))
    with pytest.raises(TypeError, match="'y_pred' must hold numbers"):
        pearson_r(np.ones(3), np.array(["a", "b", "c"]))


# --- R² -------------------------------------------------------------------------------------


def test_r2_matches_sklearn_float64_and_float32(rng):
    y_true, y_pred = _pair(rng)
    r2 = r2_score(y_true, y_pred)
    reference = sklearn.metrics.r2_score(y_true, y_pred, multioutput="raw_values")
    np.testing.assert_allclose(r2, reference, rtol=0, atol=F64_ATOL)
    assert (r2 < 0).any()  # worse-than-mean predictions are kept negative
    y_true32, y_pred32 = y_true.astype(np.float32), y_pred.astype(np.float32)
    r2_32 = r2_score(y_true32, y_pred32)
    assert r2_32.dtype == np.float32
    reference32 = sklearn.metrics.r2_score(
        y_true32.astype(np.float64), y_pred32.astype(np.float64), multioutput="raw_values"
    )
    np.testing.assert_allclose(r2_32, reference32, rtol=0, atol=F32_ATOL)


def test_r2_batched_and_torch(rng):
    y_true, _ = _pair(rng, n_samples=20, n_targets=3)
    y_pred = rng.standard_normal((4, 20, 3))
    r2 = r2_score(torch.as_tensor(y_true), torch.as_tensor(y_pred))
    assert isinstance(r2, torch.Tensor) and r2.shape == (4, 3)
    for i in range(4):
        reference = sklearn.metrics.r2_score(y_true, y_pred[i], multioutput="raw_values")
        np.testing.assert_allclose(r2[i].numpy(), reference, rtol=0, atol=F64_ATOL)
    scalar = r2_score(y_true[:, 0], y_pred[0, :, 0])
    assert np.ndim(scalar) == 0
    assert scalar == pytest.approx(sklearn.metrics.r2_score(y_true[:, 0], y_pred[0, :, 0]))


def test_r2_constant_target_follows_sklearn():
    y_true = np.array([[2.0, 2.0, 1.0], [2.0, 2.0, 2.0], [2.0, 2.0, 4.0]])
    y_pred = np.array([[2.0, 1.0, 1.0], [2.0, 2.0, 2.0], [2.0, 3.0, 3.0]])
    with pytest.warns(NeuroalignWarning, match="2 of 3 targets have a constant y_true"):
        r2 = r2_score(y_true, y_pred)
    reference = sklearn.metrics.r2_score(y_true, y_pred, multioutput="raw_values")
    np.testing.assert_allclose(r2, reference, rtol=0, atol=F64_ATOL)
    assert r2[0] == 1.0 and r2[1] == 0.0


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_scores_stay_on_cuda(rng):
    y_true, y_pred = _pair(rng)
    on_cuda = [torch.as_tensor(a, device="cuda") for a in (y_true, y_pred)]
    r = pearson_r(*on_cuda)
    r2 = r2_score(*on_cuda)
    assert r.device.type == "cuda" and r2.device.type == "cuda"
    np.testing.assert_allclose(r.cpu().numpy(), pearson_r(y_true, y_pred), atol=F64_ATOL)
    np.testing.assert_allclose(r2.cpu().numpy(), r2_score(y_true, y_pred), atol=F64_ATOL)
