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

so one product ``H B`` (rank² per target, in float64) replaces the n_alphas products
``A diag(w_a) B`` (n_alphas × n_test × rank per target). The identity amplifies
rounding by about ``(s_max + alpha_max) / min_gap``; where eigenvalues are too close
for float64 to absorb that, or where the direct products are cheaper, the fold keeps
the direct sweep. Components in the numerical null space of the training data
(eigenvalue below ``rank × eps × s_max``) add nothing to the predictions in exact
arithmetic and are left out.
"""

import torch

__all__ = ["PartialFractions"]

# Rounding amplification float64 absorbs with ~1e-6 relative accuracy to spare.
_MAX_AMPLIFICATION = 1e10
# Relative cost of a float64 over a float32 matrix product on common CPUs and GPUs.
_FLOAT64_COST = 2.0


class PartialFractions:
    """The pieces of ``||A diag(w) B||²`` that do not depend on ``w``.

    Parameters
    ----------
    keep : Tensor of shape (rank,), bool
        Components outside the numerical null space.
    diagonal : Tensor of shape (n_kept,), float64
        ``diag(G)`` of the kept components.
    pairs : Tensor of shape (n_kept, n_kept), float64
        ``H``: ``G_ij / (s_j - s_i)`` off the diagonal, 0 on it.
    """

    def __init__(self, keep, diagonal, pairs):
        self.keep = keep
        self.diagonal = diagonal
        self.pairs = pairs

    @classmethod
    def build(cls, test_basis, eigenvalues, inverse_min, *, centered, n_alphas):
        """The partial fractions of one fold, or None when the direct sweep is better.

        Parameters
        ----------
        test_basis : Tensor of shape (n_test, rank), float64
            ``A``.
        eigenvalues : Tensor of shape (rank,), float64
            ``s``, ascending.
        inverse_min : float
            ``1 / (s_max + alpha_max)``, the smallest weight of the sweep.
        centered : bool
            Score centred predictions (Pearson correlation).
        n_alphas : int

        Returns
        -------
        fractions : PartialFractions or None
        """
        rank = eigenvalues.numel()
        tolerance = rank * torch.finfo(torch.float64).eps * eigenvalues.max().clamp_min(1e-300)
        keep = eigenvalues > tolerance
        kept = int(keep.sum())
        n_test = test_basis.shape[0]
        if _FLOAT64_COST * kept * kept >= n_alphas * n_test * rank:
            return None
        values = eigenvalues[keep]
        if kept > 1:
            min_gap = torch.diff(values).min()
            if min_gap <= 0 or 1.0 / (inverse_min * min_gap) > _MAX_AMPLIFICATION:
                return None
        basis = test_basis[:, keep]
        if centered:
            basis = basis - basis.mean(0)
        gram = basis.T @ basis
        gap = values[None, :] - values[:, None]
        gap.fill_diagonal_(1.0)
        pairs = gram / gap
        pairs.fill_diagonal_(0.0)
        return cls(keep, gram.diagonal().clone(), pairs)

    def norms(self, inverse, B):
        """``||A diag(w_a) B||²`` for every alpha and target.

        Parameters
        ----------
        inverse : Tensor of shape (n_alphas, rank)
            ``w_a`` for each alpha (any float dtype).
        B : Tensor of shape (rank, n_targets)

        Returns
        -------
        norms : Tensor of shape (n_alphas, n_targets), float64
        """
        B = B[self.keep].double()
        weights = inverse[:, self.keep].double()
        coupled = B * (self.pairs @ B)
        return (weights * weights) @ (self.diagonal[:, None] * B * B) + 2.0 * (weights @ coupled)
