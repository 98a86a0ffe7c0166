"""Primal-form folds that share one Gram matrix and one ``Xᵀ Y`` per test block.

When the folds partition the samples (each sample tested in exactly one fold, each
fold trained on all the other samples: k-fold, grouped k-fold, leave-one-group-out),
every fold's training statistics are differences of whole-data ones:

- ``Xᵀ X`` of the training rows is the Gram matrix of all rows minus the test rows';
- ``Xᵀ Y`` of the training rows is the sum of every test block's ``Xᵀ Y`` minus its own.

One product per test block (n_samples × n_features × n_targets in all) then replaces
each fold's (n_train × rank × n_targets) projection of its training targets, and the
projection becomes a rotation of a (n_features × n_targets) difference.

The block products are taken in the eigenbasis of all samples (features centred on all
samples, in float64, then rotated), not on the raw features: each component then
carries a relative rounding error, and a fold's rotation from that basis to its own
mixes mostly components of similar eigenvalue. Raw ``Xᵀ Y`` in float32 would spread
the rounding of the large components into the small ones, which the ridge weights
``1 / (s + alpha)`` amplify for ill-conditioned features (e.g. network activations
with power-law spectra). The refit on all samples needs no rotation at all.
"""

import torch

from neuroalign.encoding._fold import Fold

__all__ = ["BlockProducts", "Decomposition", "FeatureStats", "is_partition", "primal_fold"]


def is_partition(folds, n_samples):
    """Whether every sample is tested once and each fold trains on all other samples.

    Parameters
    ----------
    folds : list of (Tensor, Tensor)
        Training and test rows of each fold.
    n_samples : int

    Returns
    -------
    bool
    """
    tested = torch.zeros(n_samples, dtype=torch.long)
    for train, test in folds:
        tested[test.cpu()] += 1
        member = torch.zeros(n_samples, dtype=torch.bool)
        member[train.cpu()] = True
        member[test.cpu()] = True
        if len(train) + len(test) != n_samples or not bool(member.all()):
            return False
    return bool((tested == 1).all())


class FeatureStats:
    """Features centred on all samples, their Gram matrix and its eigenbasis.

    Parameters
    ----------
    X64 : Tensor of shape (n_samples, n_features), float64
    fit_intercept : bool
        Centre on the mean of all samples (otherwise the features are used as given).
    standardize : bool
        Scale features to unit variance (on all samples for the shared eigenbasis).
    dtype : torch.dtype
        Compute dtype of the products with the targets.

    Attributes
    ----------
    X : Tensor of shape (n_samples, n_features), float64
        Features centred on all samples.
    whole : Decomposition
        Eigendecomposition of all samples.
    X_basis : Tensor of shape (n_samples, n_features)
        ``X`` in the eigenbasis of all samples, in ``dtype``.
    """

    def __init__(self, X64, fit_intercept, standardize, dtype):
        self.center = X64.mean(0) if fit_intercept else torch.zeros_like(X64[0])
        self.X = X64 - self.center
        self.gram = self.X.T @ self.X
        self.sums = self.X.sum(0)
        rows = torch.arange(X64.shape[0], device=X64.device)
        self.whole = Decomposition(
            self,
            rows,
            rows[:0],
            fit_intercept=fit_intercept,
            standardize=standardize,
            partition=True,
        )
        self.X_basis = (self.X @ self.whole.rotation.T).to(dtype)

    def training(self, train, test, partition):
        """Gram matrix (n_features²), column sums and count of the training rows."""
        if partition:
            X_test = self.X[test]
            n_train = self.X.shape[0] - len(test)
            return self.gram - X_test.T @ X_test, self.sums - X_test.sum(0), n_train
        X_train = self.X[train]
        return X_train.T @ X_train, X_train.sum(0), len(train)


class Decomposition:
    """Eigendecomposition of one training set's (centred, scaled) Gram matrix.

    Attributes
    ----------
    eigenvalues : Tensor of shape (n_features,), float64, ascending
    vectors : Tensor of shape (n_features, n_features), float64
        ``V``.
    scale : Tensor of shape (n_features,), float64
        ``D``: the training rows' feature spread (ones without ``standardize``).
    offset : Tensor of shape (n_features,), float64
        The training rows' mean of ``stats.X`` (zeros without an intercept).
    rotation : Tensor of shape (n_features, n_features), float64
        ``Vᵀ D⁻¹``: maps centred features to the eigenbasis.
    """

    def __init__(self, stats, train, test, *, fit_intercept, standardize, partition):
        gram, sums, n_train = stats.training(train, test, partition)
        mean = sums / n_train
        centred = gram - n_train * torch.outer(mean, mean)
        scale = torch.ones_like(mean)
        if standardize:
            variance = centred.diagonal() / n_train
            # A constant column's variance is rounding of the raw second moment.
            real = variance > 1e-12 * gram.diagonal() / n_train
            scale = torch.where(real, variance.clamp_min(0).sqrt(), scale)
        self.offset = mean if fit_intercept else torch.zeros_like(mean)
        used = centred if fit_intercept else gram
        eigenvalues, self.vectors = torch.linalg.eigh(used / torch.outer(scale, scale))
        self.eigenvalues = eigenvalues.clamp_min(0.0)
        self.scale = scale
        self.rotation = self.vectors.T / scale

    def inverse_rotation(self):
        """``D V`` (n_features²): maps the eigenbasis back to centred features."""
        return self.scale[:, None] * self.vectors


def primal_fold(stats, train, test, *, fit_intercept, standardize, dtype, partition):
    """The :class:`Fold` of one training/test split in the primal form.

    With ``partition`` the fold projects targets through a rotation of the training
    rows' ``Xᵀ Y`` in the eigenbasis of all samples (:class:`BlockProducts`);
    otherwise through a projector of its training rows.
    """
    own = Decomposition(
        stats,
        train,
        test,
        fit_intercept=fit_intercept,
        standardize=standardize,
        partition=partition,
    )
    test_basis = (stats.X[test] - own.offset) @ own.rotation.T
    common = dict(dtype=dtype, fit_intercept=fit_intercept, dual=False)
    if partition:
        return Fold(
            train,
            test,
            test_basis,
            own.eigenvalues,
            rotation=(own.rotation @ stats.whole.inverse_rotation()).to(dtype),
            rotated_offset=(own.rotation @ own.offset).to(dtype),
            **common,
        )
    projector = own.rotation @ (stats.X[train] - own.offset).T
    return Fold(train, test, test_basis, own.eigenvalues, projector=projector.to(dtype), **common)


class BlockProducts:
    """``Xᵀ Y`` (in the eigenbasis of all samples) and ``ΣY`` of every fold's test rows.

    Parameters
    ----------
    stats : FeatureStats
    folds : list of Fold
        Folds that partition the samples.
    Y : Tensor of shape (n_samples, n_targets)
    """

    def __init__(self, stats, folds, Y):
        blocks = [fold.test_rows(Y) for fold in folds]
        self.products = [stats.X_basis[fold.test].T @ block for fold, block in zip(folds, blocks)]
        self.sums = [block.sum(0) for block in blocks]
        self.total = self.products[0].clone()
        for product in self.products[1:]:
            self.total += product
        self.total_sum = Y.sum(0)

    def training(self, index, work=None):
        """``Xᵀ Y`` (n_features × n_targets) and ``ΣY`` of fold ``index``'s training rows.

        ``work`` (a :class:`~neuroalign._backend.Workspace`) keeps the difference.
        """
        total, own = self.total, self.products[index]
        out = None if work is None else work.get("training", total.shape, total.dtype, total.device)
        return torch.sub(total, own, out=out), self.total_sum - self.sums[index]

    def all_rows(self):
        """``Xᵀ Y`` and ``ΣY`` of all samples."""
        return self.total, self.total_sum
