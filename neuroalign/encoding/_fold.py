"""One cross-validation fold of the ridge solvers: its decomposition and projections.

For fold *f* with test rows ``X_te`` the validation predictions of alpha ``a`` are
``(A / (s + alpha_a)) @ B`` with ``A`` (n_test × rank) and ``s`` from the fold's
decomposition and ``B`` (rank × n_targets) a projection of the training targets. A
fold gets ``B`` either from a projector of its training rows (``B = P @ Y_train``) or,
when the folds partition the samples, from a rotation of the training rows' ``Xᵀ Y``
(see :mod:`neuroalign.encoding._primal`).
"""

import torch

from neuroalign._backend import Workspace
from neuroalign.encoding._sweep import PartialFractions

__all__ = ["Fold", "contiguous_runs"]


def contiguous_runs(rows, max_runs=4):
    """``[(start, stop), ...]`` when ``rows`` is increasing in at most ``max_runs`` runs.

    Parameters
    ----------
    rows : Tensor of shape (n_rows,), integer
    max_runs : int, default=4

    Returns
    -------
    runs : list of (int, int) or None
        None when the rows are empty, unordered or more fragmented.
    """
    rows = rows.cpu()
    if rows.numel() == 0 or bool((torch.diff(rows) <= 0).any()):
        return None
    breaks = (torch.nonzero(torch.diff(rows) != 1).ravel() + 1).tolist()
    if len(breaks) >= max_runs:
        return None
    edges = [0, *breaks, rows.numel()]
    return [(int(rows[a]), int(rows[b - 1]) + 1) for a, b in zip(edges[:-1], edges[1:])]


class Fold:
    """One fold's decomposition: test basis ``A``, eigenvalues ``s``, target projection.

    A fold serves one grid of alphas: its sweep weights and partial fractions are
    computed for the first grid it is given and reused for every chunk of targets.

    Parameters
    ----------
    train, test : Tensor of shape (n_train,) and (n_test,), integer
    test_basis : Tensor of shape (n_test, rank), float64
        ``A``; kept in ``dtype`` for the sweeps, and in float64 once, to build the
        fold's :class:`PartialFractions`.
    eigenvalues : Tensor of shape (rank,), float64
    dtype : torch.dtype
        Compute dtype of the sweeps.
    fit_intercept, dual : bool
    projector : Tensor of shape (rank, n_train), optional
        ``B = projector @ Y_train`` (training rows centred in the primal form).
    rotation : Tensor of shape (rank, n_features), optional
        ``B = rotation @ (Xᵀ Y_train) - rotated_offset ⊗ ΣY_train`` from the training
        rows' products (features centred on all samples).
    rotated_offset : Tensor of shape (rank,), optional
        ``rotation @ m`` with ``m`` the training rows' feature mean.
    """

    def __init__(
        self,
        train,
        test,
        test_basis,
        eigenvalues,
        *,
        dtype,
        fit_intercept,
        dual,
        projector=None,
        rotation=None,
        rotated_offset=None,
    ):
        self.train = train
        self.test = test
        self.test_basis = test_basis.to(dtype)
        self.eigenvalues = eigenvalues
        self.dtype = dtype
        self.fit_intercept = fit_intercept
        self.dual = dual
        self.projector = projector
        self.rotation = rotation
        self.rotated_offset = rotated_offset
        self._test_basis64 = test_basis
        self._cache = {}
        self._train_runs = contiguous_runs(train)
        test_runs = contiguous_runs(test, max_runs=1)
        self._test_run = None if test_runs is None else test_runs[0]

    def project(self, Y, train_products=None, work=None):
        """``B`` (rank × n_targets) and the training-target means.

        Parameters
        ----------
        Y : Tensor of shape (n_samples, n_targets)
        train_products : (Tensor, Tensor), optional
            ``Xᵀ Y_train`` (n_features × n_targets) and ``ΣY_train`` (n_targets,), for a
            fold built with a ``rotation``.
        work : Workspace, optional
            Where the (rank × n_targets) result is kept between folds.

        Returns
        -------
        B : Tensor of shape (rank, n_targets)
        mean : Tensor of shape (n_targets,)
            Training-target means, or zeros without an intercept.
        """
        work = work or Workspace()
        if train_products is not None:
            products, totals = train_products
            shape = (self.rotation.shape[0], products.shape[1])
            B = torch.mm(self.rotation, products, out=work.get("B", shape, Y.dtype, Y.device))
            B.addr_(self.rotated_offset, totals, alpha=-1)
        else:
            B, totals = self._project_rows(Y)
        mean = totals / len(self.train)
        if not self.fit_intercept:
            return B, torch.zeros_like(mean)
        if self.dual:
            B.addr_(self.projector.sum(1), mean, alpha=-1)
        return B, mean

    def _project_rows(self, Y):
        """``projector @ Y_train`` and ``ΣY_train``, reading contiguous runs as views."""
        runs = self._train_runs
        if runs is None:
            Y_train = Y[self.train]
            return self.projector @ Y_train, Y_train.sum(0)
        offset, B, totals = 0, None, None
        for start, stop in runs:
            block, columns = Y[start:stop], slice(offset, offset + stop - start)
            if B is None:
                B, totals = self.projector[:, columns] @ block, block.sum(0)
            else:
                B.addmm_(self.projector[:, columns], block)
                totals += block.sum(0)
            offset += stop - start
        return B, totals

    def test_rows(self, Y):
        """``Y``'s test rows: a view when they are contiguous."""
        if self._test_run is None:
            return Y[self.test]
        return Y[self._test_run[0] : self._test_run[1]]

    def inverse(self, alphas):
        """``1 / (s + alpha)`` (n_alphas, rank) in the compute dtype, for float64 ``alphas``."""
        if "inverse" not in self._cache:
            weights = 1.0 / (self.eigenvalues[None] + alphas[:, None])
            self._cache["inverse"] = weights.to(self.dtype)
        return self._cache["inverse"]

    def fractions(self, alphas, *, centered):
        """The fold's :class:`PartialFractions` for a sweep, or None for the direct one."""
        key = ("fractions", centered)
        if key not in self._cache:
            self._cache[key] = PartialFractions.build(
                self._test_basis64, self.eigenvalues, alphas, centered=centered, dtype=self.dtype
            )
        return self._cache[key]
