"""Variance partitioning: how much of a banded model's R² each feature space explains.

Two views: :func:`partition_r2` splits one fitted model's R² between its spaces
(product measure, no refit); :func:`partition_r2_subsets` refits the banded model on
every subset of spaces and derives unique and shared variance (Venn regions).
"""

import dataclasses
import itertools

import numpy as np
import torch

from neuroalign._backend import resolve_device, resolve_dtype, to_tensor
from neuroalign._validation import check_alphas, check_option, check_positive_int
from neuroalign.encoding._banded import (
    BandedRidgeCVResult,
    _check_spaces,
    _prepare,
    _search,
    sample_band_weights,
)
from neuroalign.encoding._ridge import SCORINGS, _as_matrix
from neuroalign.exceptions import DimensionError

__all__ = ["R2Partition", "SubsetPartition", "partition_r2", "partition_r2_subsets"]

_MAX_SUBSET_SPACES = 8  # 2**8 - 1 = 255 subset models


@dataclasses.dataclass(frozen=True)
class R2Partition:
    """Output of :func:`partition_r2` (tensors on the CPU, float64).

    Attributes
    ----------
    split : Tensor of shape (n_spaces, n_targets)
        Contribution of each space to the R² of the joint model (product measure).
    total : Tensor of shape (n_targets,)
        R² of the joint prediction. With ``include_correlation=True``,
        ``split.sum(0)`` equals it.
    """

    split: torch.Tensor
    total: torch.Tensor


@dataclasses.dataclass(frozen=True)
class SubsetPartition:
    """Output of :func:`partition_r2_subsets` (tensors on the CPU, float64).

    Attributes
    ----------
    subsets : tuple of tuple of int
        Every non-empty subset of the spaces, by size then lexicographically:
        ``(0,), (1,), .., (0, 1), ..``.
    r2 : Tensor of shape (n_subsets, n_targets)
        Test R² of the banded model fitted on each subset of spaces.
    regions : Tensor of shape (n_subsets, n_targets)
        Venn-diagram regions: the variance explained by exactly the spaces of each
        subset together and by no other (``regions.sum(0)`` equals the R² of the
        model with all spaces).
    """

    subsets: tuple
    r2: torch.Tensor
    regions: torch.Tensor

    @property
    def unique(self):
        """Tensor of shape (n_spaces, n_targets): variance explained by one space only."""
        n_spaces = sum(len(subset) == 1 for subset in self.subsets)
        return self.regions[:n_spaces]

    @property
    def shared(self):
        """Tensor of shape (n_subsets - n_spaces, n_targets): the regions of 2+ spaces."""
        n_spaces = sum(len(subset) == 1 for subset in self.subsets)
        return self.regions[n_spaces:]


def _joint_r2(Y, split):
    residual = ((Y - split.sum(0)) ** 2).sum(0)
    total = ((Y - Y.mean(0)) ** 2).sum(0)
    perfect = (residual == 0).to(residual.dtype)
    return torch.where(total > 0, 1 - residual / total.clamp_min(1e-300), perfect)


def partition_r2(Xs, Y, coefs, *, intercept=None, include_correlation=True, device=None):
    """Split the R² of a linear model over several feature spaces between the spaces.

    With per-space predictions ``P_i = X_i w_i`` and the joint prediction
    ``Ŷ = sum_i P_i + b``, the product measure (himalaya's ``r2_score_split``) gives
    space ``i`` the share ``sum_t (2 y_t P_it - P_it sum_l P_lt) / sum_t y_t²`` of the
    R², with ``y`` centred on the evaluation data and the constant offset
    ``b - mean(y)`` shared equally between the spaces, so that the shares sum exactly
    to the R² of ``Ŷ``. A share can be negative (a space whose predictions conflict
    with the others').

    Parameters
    ----------
    Xs : sequence of array-like, one of shape (n_samples, n_features_i) per space
        Evaluation (typically held-out) features.
    Y : array-like of shape (n_samples, n_targets) or (n_samples,)
        Evaluation targets.
    coefs : sequence of array-like, one of shape (n_features_i, n_targets) per space
        Fitted weights, e.g. ``BandedRidgeCVResult.coefs``.
    intercept : array-like of shape (n_targets,), optional
        Fitted intercept; 0 when omitted.
    include_correlation : bool, default=True
        Count the cross-products between spaces' predictions (the shares then sum to
        the joint R²); ``False`` gives ``sum_t (2 y P_i - P_i²) / sum_t y²``.
    device : optional
        Where to compute; see :func:`neuroalign.config`. Computation is float64.

    Returns
    -------
    partition : R2Partition
        ``split`` of shape (n_spaces, n_targets) and the joint ``total`` (n_targets,).

    Raises
    ------
    DimensionError
        If shapes of ``Xs``, ``Y``, ``coefs`` or ``intercept`` disagree.

    See Also
    --------
    solve_banded_ridge_cv : fits the per-space weights.
    partition_r2_subsets : unique and shared variance from refits on subsets.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.encoding import partition_r2
    >>> rng = np.random.default_rng(0)
    >>> X1, X2 = rng.standard_normal((100, 3)), rng.standard_normal((100, 2))
    >>> w1, w2 = np.ones((3, 1)), np.zeros((2, 1))
    >>> part = partition_r2([X1, X2], X1 @ w1, [w1, w2])
    >>> (part.split.ravel().round(decimals=6) + 0.0).tolist(), part.total.tolist()
    ([1.0, 0.0], [1.0])
    """
    device = resolve_device(device)
    Y = _as_matrix("Y", Y)
    Xs = _check_spaces(Xs)
    if not isinstance(coefs, (list, tuple)) or len(coefs) != len(Xs):
        raise ValueError(
            f"'coefs' must be a list with one weight matrix per space ({len(Xs)}); got "
            f"{type(coefs).__name__} of length {len(coefs) if hasattr(coefs, '__len__') else '?'}."
        )
    weights = [to_tensor(w, device=device, dtype=torch.float64) for w in coefs]
    for index, (X, w) in enumerate(zip(Xs, weights)):
        w = w[:, None] if w.ndim == 1 else w
        if w.shape != (X.shape[1], Y.shape[1]):
            raise DimensionError(
                f"'coefs[{index}]' must have shape ({X.shape[1]}, {Y.shape[1]}) (features of "
                f"'Xs[{index}]', targets of 'Y'); got {tuple(w.shape)}."
            )
        weights[index] = w
    if Xs[0].shape[0] != Y.shape[0]:
        raise DimensionError(
            f"'Xs' have {Xs[0].shape[0]} samples but 'Y' has {Y.shape[0]}; give one row per sample."
        )
    b = torch.zeros(Y.shape[1], dtype=torch.float64, device=device)
    if intercept is not None:
        b = to_tensor(intercept, device=device, dtype=torch.float64).reshape(-1)
        if b.shape != (Y.shape[1],):
            raise DimensionError(
                f"'intercept' must have shape ({Y.shape[1]},); got {tuple(b.shape)}."
            )
    Y64 = to_tensor(Y, device=device, dtype=torch.float64)
    target_mean = Y64.mean(0)
    Yc = Y64 - target_mean
    split = torch.stack(
        [to_tensor(X, device=device, dtype=torch.float64) @ w for X, w in zip(Xs, weights)]
    )
    split += (b - target_mean) / len(Xs)
    total_ss = (Yc**2).sum(0)
    other = split.sum(0, keepdim=True) if include_correlation else split
    shares = (2 * Yc * split - split * other).sum(1)
    shares = torch.where(total_ss > 0, shares / total_ss.clamp_min(1e-300), 0.0)
    return R2Partition(split=shares.cpu(), total=_joint_r2(Yc, split).cpu())


def _subsets(n_spaces):
    return tuple(
        subset
        for size in range(1, n_spaces + 1)
        for subset in itertools.combinations(range(n_spaces), size)
    )


def partition_r2_subsets(
    Xs_train,
    Y_train,
    Xs_test,
    Y_test,
    alphas,
    *,
    n_iter=20,
    concentration=(0.1, 1.0),
    cv=5,
    groups=None,
    scoring="r2",
    method="auto",
    fit_intercept=True,
    seed=None,
    device=None,
    dtype=None,
    max_memory=None,
    progress=False,
):
    """Unique and shared variance of feature spaces from banded models on every subset.

    Fits :func:`solve_banded_ridge_cv` on each non-empty subset of the spaces (the
    same folds, Grams and covariances serve every subset: a subset is the face of the
    simplex where the other spaces' band weights are 0), scores each on the test
    data, and turns the test R² of the subsets into Venn-diagram regions by
    inclusion-exclusion (de Heer et al., 2017): with ``f(S)`` the R² of subset ``S``
    and ``N`` all spaces, ``h(W) = f(N) - f(N minus W)`` is the variance only ``W``
    can explain, and the region of exactly ``S`` is
    ``sum over T within S of (-1)^(|S|-|T|) h(T)``. For two spaces:
    ``unique_A = f(AB) - f(B)``, ``shared = f(A) + f(B) - f(AB)``.

    Parameters
    ----------
    Xs_train, Xs_test : sequence of array-like, one of shape (n_samples, n_features_i) per space
    Y_train, Y_test : array-like of shape (n_samples, n_targets) or (n_samples,)
    alphas : array-like of shape (n_alphas,)
    n_iter : int, default=20
        Candidates per subset (see :func:`sample_band_weights`).
    concentration, cv, groups, scoring, method, fit_intercept, seed, device, dtype, \
max_memory, progress
        As in :func:`solve_banded_ridge_cv`.

    Returns
    -------
    partition : SubsetPartition
        Test R² of every subset model and the Venn regions (``unique``, ``shared``).

    Raises
    ------
    ValueError
        If there are more than 8 spaces (255 subset models), or as
        :func:`solve_banded_ridge_cv`.

    See Also
    --------
    partition_r2 : split one joint model's R² without refitting.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.encoding import partition_r2_subsets
    >>> rng = np.random.default_rng(0)
    >>> shared = rng.standard_normal((200, 1))
    >>> X1 = np.hstack([shared, rng.standard_normal((200, 1))])
    >>> X2 = np.hstack([shared, rng.standard_normal((200, 1))])
    >>> Y = X1.sum(1, keepdims=True) + 0.1 * rng.standard_normal((200, 1))
    >>> part = partition_r2_subsets(
    ...     [X1[:150], X2[:150]], Y[:150], [X1[150:], X2[150:]], Y[150:], [0.1, 10.0],
    ...     n_iter=5, seed=0, device="cpu")
    >>> part.subsets
    ((0,), (1,), (0, 1))
    >>> part.unique[0].item() > 0.4, part.unique[1].abs().item() < 0.05
    (True, True)
    """
    check_option("scoring", scoring, SCORINGS)
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    alphas = check_alphas(alphas)
    n_iter = check_positive_int("n_iter", n_iter)
    Y_train, spaces = _prepare(Xs_train, Y_train, cv, groups, method, fit_intercept, device)
    n_spaces = len(spaces.sizes)
    if n_spaces > _MAX_SUBSET_SPACES:
        raise ValueError(
            f"'Xs_train' has {n_spaces} spaces, i.e. {2**n_spaces - 1} subset models; at most "
            f"{_MAX_SUBSET_SPACES} spaces are supported. Group spaces before partitioning."
        )
    Xs_test = _check_spaces(Xs_test, spaces.sizes)
    subsets = _subsets(n_spaces)
    r2 = []
    for subset in subsets:
        faces = sample_band_weights(n_iter, len(subset), concentration=concentration, seed=seed)
        candidates = np.zeros((len(faces), n_spaces))
        candidates[:, list(subset)] = faces
        fields = _search(
            spaces,
            candidates,
            Y_train,
            alphas,
            scoring=scoring,
            dtype=dtype,
            max_memory=max_memory,
            progress=progress,
            desc=f"banded ridge CV on spaces {subset}",
        )
        model = BandedRidgeCVResult(**fields)
        r2.append(
            partition_r2(
                Xs_test, Y_test, list(model.coefs), intercept=model.intercept, device=device
            ).total
        )
    r2 = torch.stack(r2)
    row = {subset: index for index, subset in enumerate(subsets)}
    everything = r2[-1]
    complement = {
        subset: tuple(i for i in range(n_spaces) if i not in subset) for subset in subsets
    }
    only = {
        subset: everything - (r2[row[complement[subset]]] if complement[subset] else 0.0)
        for subset in subsets
    }
    regions = torch.stack(
        [
            sum(
                (-1) ** (len(subset) - len(part)) * only[part]
                for size in range(1, len(subset) + 1)
                for part in itertools.combinations(subset, size)
            )
            for subset in subsets
        ]
    )
    return SubsetPartition(subsets=subsets, r2=r2, regions=regions)
