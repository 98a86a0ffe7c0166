"""Validation scores of every alpha without forming the predictions of every alpha.

For one fold the validation predictions of alpha ``a`` are ``P_a = A diag(w_a) B`` with
``w_a = 1 / (s + alpha_a)``, ``A`` (n_test × rank), ``B`` (rank × n_targets) and ``s``
the eigenvalues of the training data. Every score needs two things per target:

- the cross term ``<Y_test, P_a> = w_a · (B ⊙ Aᵀ Y_test)``, cheap once ``Aᵀ Y_test`` is
  known;
- the squared norm ``||P_a||² = Σ_ij B_i B_j G_ij w_ai w_aj`` with ``G = Aᵀ A``.

The partial fractions ``w_ai w_aj = (w_ai - w_aj) / (s_j - s_i)`` (``i ≠ j``) make the
norm linear in ``w_a``::

    ||P_a||² = w_a² · (diag(G) ⊙ B²) + 2 w_a · (B ⊙ H B),   H_ij = G_ij / (s_j - s_i)

so one product ``H B`` (rank² per target) replaces the n_alphas products
``A diag(w_a) B`` (n_alphas × n_test × rank per target), and the predictions are never
formed.

Rounding. The pair ``(i, j)`` enters ``H B`` amplified by ``(s + alpha) / |s_j - s_i|``
relative to its share of the norm. Pairs of eigenvalues closer than
``(s_max + alpha_max) / MAX_FAR_AMPLIFICATION`` ("near" pairs, a band around the
diagonal because ``s`` is sorted) are therefore multiplied in float64, in blocks of
rows; all other ("far") pairs in the compute dtype, where their amplification is at
most ``MAX_FAR_AMPLIFICATION``. Alphas much larger than ``s_max`` amplify every pair,
so they keep the direct sweep, as does a fold whose closest eigenvalues would amplify
rounding beyond what float64 absorbs, or where the direct products are cheaper.
Components in the numerical null space of the training data (eigenvalue below
``rank × eps × s_max``) add nothing to the predictions in exact arithmetic and are left
out.
"""

import torch

from neuroalign._backend import Workspace

__all__ = ["MAX_AMPLIFICATION", "PartialFractions", "kept_components"]

# Rounding amplification float64 absorbs with ~1e-6 relative accuracy to spare.
MAX_AMPLIFICATION = 1e10
# Largest amplification of a pair multiplied in the compute dtype (float32 keeps ~1e-6).
MAX_FAR_AMPLIFICATION = 1e3
# Alphas up to this multiple of the largest eigenvalue use the partial fractions.
_MAX_ALPHA_RATIO = 2.0
# Rows per float64 block of near pairs.
_BLOCK_ROWS = 64
# Relative cost of a float64 over a float32 matrix product on common CPUs and GPUs.
_FLOAT64_COST = 2.0


def kept_components(eigenvalues):
    """Mask of the components outside the numerical null space of the training data.

    Parameters
    ----------
    eigenvalues : Tensor of shape (..., rank)
        Non-negative eigenvalues of each decomposition, along the last axis.

    Returns
    -------
    kept : Tensor of bool of shape (..., rank)
        Eigenvalues above ``rank × eps × s_max`` of their decomposition.
    """
    rank = eigenvalues.shape[-1]
    largest = eigenvalues.amax(-1, keepdim=True).clamp_min(1e-300)
    return eigenvalues > rank * torch.finfo(eigenvalues.dtype).eps * largest


def _near_blocks(values, threshold):
    """Row blocks and the column range holding each block's near pairs.

    Parameters
    ----------
    values : Tensor of shape (n,), ascending
    threshold : float
        Pairs with ``|s_j - s_i| < threshold`` are near.

    Returns
    -------
    blocks : list of (int, int, int, int)
        ``(row_start, row_stop, column_start, column_stop)``.
    """
    first = torch.searchsorted(values, values - threshold).tolist()
    last = torch.searchsorted(values, values + threshold).tolist()
    n = values.numel()
    return [
        (start, min(n, start + _BLOCK_ROWS), first[start], last[min(n, start + _BLOCK_ROWS) - 1])
        for start in range(0, n, _BLOCK_ROWS)
    ]


class PartialFractions:
    """The pieces of ``||A diag(w) B||²`` that do not depend on ``w``.

    Parameters
    ----------
    start : int
        First component outside the numerical null space (eigenvalues ascend, so
        components ``start:`` are kept).
    alphas : Tensor of shape (n_alphas,), bool
        The alphas these fractions serve; the others need the direct sweep.
    diagonal : Tensor of shape (n_kept,)
        ``diag(G)`` of the kept components, in the compute dtype.
    far : Tensor of shape (n_kept, n_kept) or None
        ``H`` with the near blocks zeroed, in the compute dtype; None when the compute
        dtype is float64 (then one near block holds all of ``H``).
    near : list of (int, int, int, int, Tensor)
        Row and column ranges of each near block and its float64 entries of ``H``.
    """

    def __init__(self, start, alphas, diagonal, far, near):
        self.start = start
        self.alphas = alphas
        self.diagonal = diagonal
        self.far = far
        self.near = near

    @classmethod
    def build(cls, test_basis, eigenvalues, alphas, *, centered, dtype):
        """The partial fractions of one fold, or None when the direct sweep is better.

        Parameters
        ----------
        test_basis : Tensor of shape (n_test, rank), float64
            ``A``.
        eigenvalues : Tensor of shape (rank,), float64
            ``s``, ascending.
        alphas : Tensor of shape (n_alphas,), float64
        centered : bool
            Score centred predictions (Pearson correlation).
        dtype : torch.dtype
            Compute dtype of the sweep.

        Returns
        -------
        fractions : PartialFractions or None
        """
        rank = eigenvalues.numel()
        largest = float(eigenvalues.max().clamp_min(1e-300))
        start = int((~kept_components(eigenvalues)).sum())
        served = alphas <= _MAX_ALPHA_RATIO * largest
        if not bool(served.any()):
            return None
        values = eigenvalues[start:]
        kept = values.numel()
        reach = largest + float(alphas[served].max())
        if kept > 1:
            min_gap = float(torch.diff(values).min())
            if min_gap <= 0 or reach / min_gap > MAX_AMPLIFICATION:
                return None
        if dtype == torch.float64:
            blocks = [(0, kept, 0, kept)]
        else:
            blocks = _near_blocks(values, reach / MAX_FAR_AMPLIFICATION)
        near_entries = sum((r1 - r0) * (c1 - c0) for r0, r1, c0, c1 in blocks)
        far_cost = 0 if dtype == torch.float64 else kept * kept
        n_test = test_basis.shape[0]
        cost = far_cost + _FLOAT64_COST * near_entries + int((~served).sum()) * n_test * rank
        if cost >= alphas.numel() * n_test * rank:
            return None
        basis = test_basis[:, start:]
        if centered:
            basis = basis - basis.mean(0)
        gram = basis.T @ basis
        gap = values[None, :] - values[:, None]
        gap.fill_diagonal_(1.0)
        pairs = gram / gap
        pairs.fill_diagonal_(0.0)
        near = [(r0, r1, c0, c1, pairs[r0:r1, c0:c1].clone()) for r0, r1, c0, c1 in blocks]
        far = None
        if dtype != torch.float64:
            for r0, r1, c0, c1 in blocks:
                pairs[r0:r1, c0:c1] = 0.0
            far = pairs.to(dtype)
        return cls(start, served, gram.diagonal().to(dtype), far, near)

    def norms(self, inverse, B, work=None):
        """``||A diag(w_a) B||²`` for the served alphas and every target.

        Parameters
        ----------
        inverse : Tensor of shape (n_served, rank)
            ``w_a`` of each served alpha, in the compute dtype.
        B : Tensor of shape (rank, n_targets)
        work : Workspace, optional
            Where the (rank × n_targets) temporaries are kept between folds.

        Returns
        -------
        norms : Tensor of shape (n_served, n_targets), float64
        """
        work = work or Workspace()
        B = B[self.start :]
        weights = inverse[:, self.start :]
        shape, device = B.shape, B.device
        squares = torch.mul(B, B, out=work.get("squares", shape, B.dtype, device))
        norms = ((weights * weights * self.diagonal) @ squares).double()
        if self.far is not None:
            coupled = torch.mm(self.far, B, out=squares).mul_(B)
            norms += 2.0 * (weights @ coupled).double()
        B64 = work.get("B64", shape, torch.float64, device).copy_(B)
        weights64 = weights.double()
        for r0, r1, c0, c1, block in self.near:
            coupled = (block @ B64[c0:c1]).mul_(B64[r0:r1])
            norms += 2.0 * (weights64[:, r0:r1] @ coupled)
        return norms
