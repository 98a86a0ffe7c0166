"""Inverses of many small symmetric positive definite matrices at once.

Batched LAPACK factors each matrix in its own call, and for orders above a few
dozen that call runs at a small fraction of the arithmetic rate of a matrix
product: a batch of 250 float32 matrices of order 65 took 11 ms to factor and
22 ms to invert on 2 CPU cores, while matrices of order 16 take about 5 us
each for both. Block elimination hands the large orders to batched products and
leaves LAPACK the small diagonal blocks, for about half the time of the LAPACK
route at the same accuracy.
"""

import torch

__all__ = ["spd_inverse"]

_LEAF = 16  # matrices of this order or smaller go to LAPACK whole


def spd_inverse(matrices):
    """Inverse of every symmetric positive definite matrix of a batch.

    The inverse ``L⁻¹`` of the Cholesky factor is built by blocks: for
    ``M = [[A, B], [Bᵀ, D]]``, with ``L_A⁻¹`` of the leading half, ``W = L_A⁻¹ B``
    and ``L_S⁻¹`` of the Schur complement ``S = D - Wᵀ W`` (each found the same
    way down to order 16, where LAPACK factors and inverts),
    ``L⁻¹ = [[L_A⁻¹, 0], [-L_S⁻¹ Wᵀ L_A⁻¹, L_S⁻¹]]``; then ``M⁻¹ = L⁻ᵀ L⁻¹``,
    as LAPACK's own inverse from a Cholesky factor (float32 errors within 1.5x
    of LAPACK's, measured up to condition number 1e5).

    Parameters
    ----------
    matrices : Tensor of shape (..., n, n)
        Symmetric.

    Returns
    -------
    inverse : Tensor of shape (..., n, n)
    failed : Tensor of bool of shape (...)
        Matrices that are not numerically positive definite (the Cholesky
        factorisation of a diagonal block or of a Schur complement broke down);
        their inverse is meaningless.
    """
    order = matrices.shape[-1]
    factor_inverse, failed = _inverse_factor(matrices.reshape(-1, order, order))
    inverse = factor_inverse.mT @ factor_inverse
    return inverse.view(matrices.shape), failed.view(matrices.shape[:-2])


def _inverse_factor(matrices):
    """Inverse of the lower Cholesky factor of every matrix of a (batch, n, n) stack."""
    order = matrices.shape[-1]
    if order <= _LEAF:
        factor, info = torch.linalg.cholesky_ex(matrices)
        identity = torch.eye(order, dtype=matrices.dtype, device=matrices.device)
        identity = identity.expand_as(factor)
        return torch.linalg.solve_triangular(factor, identity, upper=False), info > 0
    half = order // 2
    leading, leading_failed = _inverse_factor(matrices[:, :half, :half])
    solved = leading @ matrices[:, :half, half:]  # W = L_A⁻¹ B
    schur = torch.baddbmm(matrices[:, half:, half:], solved.mT, solved, alpha=-1.0)
    trailing, schur_failed = _inverse_factor(schur)
    inverse = torch.zeros_like(matrices)
    inverse[:, :half, :half] = leading
    inverse[:, half:, half:] = trailing
    inverse[:, half:, :half] = -(trailing @ (solved.mT @ leading))
    return inverse, leading_failed | schur_failed
