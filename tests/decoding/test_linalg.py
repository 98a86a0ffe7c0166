"""Batched inverse of small symmetric positive definite matrices by block elimination."""

import numpy as np
import pytest
import torch

from neuroalign.decoding._linalg import spd_inverse


def _spd(rng, batch, order, *, spread=1.0):
    """Random SPD matrices whose eigenvalues span ``spread`` orders of magnitude."""
    basis = np.linalg.qr(rng.standard_normal((*batch, order, order)))[0]
    eigenvalues = np.logspace(0, -spread, order) * rng.uniform(0.5, 2.0, (*batch, 1))
    return (basis * eigenvalues[..., None, :]) @ np.swapaxes(basis, -1, -2)


@pytest.mark.parametrize("order", [1, 7, 16, 17, 33, 65, 100])
def test_inverse_matches_lapack_in_float64(rng, order):
    matrices = torch.as_tensor(_spd(rng, (2, 3), order, spread=3.0))
    inverse, failed = spd_inverse(matrices)
    assert inverse.shape == matrices.shape and failed.shape == (2, 3)
    assert not failed.any()
    # Condition number 1e3: float64 inverses agree to about 1e-13.
    torch.testing.assert_close(inverse, torch.linalg.inv(matrices), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("spread", [1.0, 5.0])
def test_float32_rounding_matches_one_cholesky_factorisation(rng, spread):
    matrices = _spd(rng, (40,), 65, spread=spread)
    exact = np.linalg.inv(matrices)
    single = torch.as_tensor(matrices, dtype=torch.float32)
    ours = spd_inverse(single)[0].double().numpy()
    lapack = torch.cholesky_inverse(torch.linalg.cholesky(single)).double().numpy()

    def error(inverse):
        return np.linalg.norm(inverse - exact, axis=(1, 2)) / np.linalg.norm(exact, axis=(1, 2))

    # Both errors grow with the condition number (1e1 and 1e5); ours stays within
    # a small factor of LAPACK's on every matrix.
    assert np.all(error(ours) <= 3 * error(lapack) + 1e-6)


def test_matrices_that_are_not_positive_definite_are_flagged(rng):
    matrices = _spd(rng, (4,), 40)
    # A positive leading block with an indefinite Schur complement, and a negative
    # leading diagonal entry: both break down, in different blocks.
    matrices[1, 30:, 30:] -= 3.0 * np.eye(10)
    matrices[2, 0, 0] = -1.0
    _, failed = spd_inverse(torch.as_tensor(matrices))
    assert failed.tolist() == [False, True, True, False]


def test_non_contiguous_batches(rng):
    matrices = torch.as_tensor(_spd(rng, (3, 2), 20))
    transposed = matrices.transpose(0, 1)  # (2, 3, 20, 20), not contiguous
    inverse, _ = spd_inverse(transposed)
    torch.testing.assert_close(inverse, torch.linalg.inv(transposed))
