"""Banded ridge regression: one regularisation per feature space, by random search.

The model for target ``j`` with feature spaces ``X_1 .. X_k`` is ridge regression on
the scaled concatenation ``Z = [sqrt(g_1) X_1, .., sqrt(g_k) X_k]``, i.e. the
penalty on the weights of space ``i`` is ``alpha / g_i``. The band weights ``g`` lie
on the simplex; candidates are the uniform weights, the corners (one space only) and
Dirichlet draws (himalaya's ``solve_multiple_kernel_ridge_random_search`` and
``solve_group_ridge_random_search``). For each candidate, every fold gets one
eigendecomposition and all alphas are scored by the batched sweep of
:mod:`neuroalign.encoding._ridge`; each target keeps its best (candidate, alpha).

What depends on the data only is computed once and reused by every candidate:

- dual (kernel) form (more features than samples): each space's Gram matrix
  ``X_i X_iᵀ`` over all samples; a candidate's kernel is ``sum_i g_i X_i X_iᵀ``, and
  a fold's train/test blocks are slices of it, centred on the fold's training rows;
- primal form: each fold's covariance ``Xc_trᵀ Xc_tr`` of the concatenated spaces; a
  candidate's covariance is ``D C D`` with ``D = diag(sqrt(g))``.

Gram matrices and decompositions are float64; the sweeps run in the compute dtype.
"""

import dataclasses
import logging
import math

import numpy as np
import torch
from tqdm.auto import tqdm

from neuroalign._backend import plan_batches, resolve_device, resolve_dtype, to_tensor
from neuroalign._validation import (
    check_alphas,
    check_option,
    check_positive_int,
    warn_constant_targets,
)
from neuroalign.encoding._cv import make_folds
from neuroalign.encoding._fold import Fold
from neuroalign.encoding._ridge import (
    SCORINGS,
    _as_matrix,
    _choose_method,
    _eigh,
    _sweep_scores,
)
from neuroalign.exceptions import DimensionError

__all__ = ["BandedRidgeCVResult", "sample_band_weights", "solve_banded_ridge_cv"]

logger = logging.getLogger("neuroalign")


@dataclasses.dataclass(frozen=True)
class BandedRidgeCVResult:
    """Output of :func:`solve_banded_ridge_cv` (tensors on the CPU).

    Attributes
    ----------
    coefs : tuple of Tensor, one of shape (n_features_i, n_targets) per space
        Weights refit on all samples with each target's best band weights and alpha,
        for the raw (uncentred) features of each space.
    intercept : Tensor of shape (n_targets,)
    gammas : Tensor of shape (n_spaces, n_targets), float64
        Best band weights of each target (columns sum to 1). The effective penalty
        on space ``i`` is ``best_alphas / gammas[i]``.
    best_alphas : Tensor of shape (n_targets,), float64
    cv_scores : Tensor of shape (n_candidates, n_targets)
        Validation score of every candidate at its best alpha, averaged over folds.
    candidates : Tensor of shape (n_candidates, n_spaces), float64
        The band weights searched, in order.
    alphas : Tensor of shape (n_alphas,), float64
    method : {"primal", "dual"}
    scoring : {"pearson", "r2", "neg_mse"}
    """

    coefs: tuple
    intercept: torch.Tensor
    gammas: torch.Tensor
    best_alphas: torch.Tensor
    cv_scores: torch.Tensor
    candidates: torch.Tensor
    alphas: torch.Tensor
    method: str
    scoring: str

    @property
    def best_scores(self):
        """Tensor of shape (n_targets,): the cross-validated score of the best candidate."""
        return self.cv_scores.max(0).values

    @property
    def coef(self):
        """Tensor of shape (sum of n_features_i, n_targets): the weights of all spaces."""
        return torch.cat(self.coefs)

    def predict_split(self, Xs):
        """Each space's contribution to the predictions (without the intercept).

        Parameters
        ----------
        Xs : sequence of array-like, one of shape (n_samples, n_features_i) per space

        Returns
        -------
        Y_split : Tensor of shape (n_spaces, n_samples, n_targets)
            ``Y_split.sum(0) + intercept`` equals :meth:`predict`.
        """
        Xs = _check_spaces(Xs, [coef.shape[0] for coef in self.coefs])
        dtype = self.intercept.dtype
        return torch.stack(
            [to_tensor(X, device="cpu", dtype=dtype) @ coef for X, coef in zip(Xs, self.coefs)]
        )

    def predict(self, Xs):
        """Predictions for new samples.

        Parameters
        ----------
        Xs : sequence of array-like, one of shape (n_samples, n_features_i) per space

        Returns
        -------
        Y_pred : Tensor of shape (n_samples, n_targets)
        """
        return self.predict_split(Xs).sum(0) + self.intercept


def _check_spaces(Xs, n_features=None):
    """Validated numpy float arrays, one per space, sharing their number of samples."""
    if isinstance(Xs, (np.ndarray, torch.Tensor)) or not isinstance(Xs, (list, tuple)):
        raise TypeError(
            "'Xs' must be a list or tuple of 2-D arrays, one per feature space; got "
            f"{type(Xs).__name__}. Wrap a single space as [X]."
        )
    if not Xs:
        raise ValueError("'Xs' must contain at least one feature space; got an empty list.")
    if n_features is not None and len(Xs) != len(n_features):
        raise ValueError(
            f"'Xs' must have {len(n_features)} feature spaces, as in the fit; got {len(Xs)}."
        )
    arrays = []
    for index, X in enumerate(Xs):
        name = f"Xs[{index}]"
        array = X.detach().cpu().numpy() if isinstance(X, torch.Tensor) else np.asarray(X)
        if array.ndim != 2:
            raise DimensionError(
                f"{name!r} must be 2-D (n_samples, n_features); got shape {array.shape}."
            )
        if array.dtype.kind not in "biuf":
            raise TypeError(f"{name!r} must be numeric; got dtype {array.dtype}.")
        if not np.isfinite(array).all():
            raise ValueError(
                f"{name!r} contains {int((~np.isfinite(array)).sum())} NaN or infinite values. "
                "Remove or impute them before fitting."
            )
        if n_features is not None and array.shape[1] != n_features[index]:
            raise DimensionError(
                f"{name!r} must have {n_features[index]} features, as in the fit; got "
                f"{array.shape[1]}."
            )
        if arrays and array.shape[0] != arrays[0].shape[0]:
            raise DimensionError(
                f"{name!r} has {array.shape[0]} samples but 'Xs[0]' has {arrays[0].shape[0]}; "
                "every space needs one row per sample."
            )
        arrays.append(array)
    return arrays


def sample_band_weights(n_iter, n_spaces, *, concentration=(0.1, 1.0), seed=None):
    """Candidate band weights on the simplex, as searched by :func:`solve_banded_ridge_cv`.

    The first candidate is the uniform weighting, the next ``n_spaces`` are the corners
    (all weight on one space), and the rest are Dirichlet draws cycling through
    ``concentration`` (himalaya's ``generate_dirichlet_samples``).

    Parameters
    ----------
    n_iter : int
        Number of candidates (at least 1); with one space there is only ``[[1.0]]``.
    n_spaces : int
    concentration : float or sequence of float, default=(0.1, 1.0)
        Dirichlet concentrations: small values favour few spaces, 1 samples the
        simplex uniformly, ``inf`` gives the uniform weights.
    seed : int, optional
        Seed of the Dirichlet draws.

    Returns
    -------
    gammas : ndarray of shape (n_candidates, n_spaces)
        Rows sum to 1; ``n_candidates = n_iter`` (1 when ``n_spaces == 1``).

    Raises
    ------
    ValueError
        If a count is smaller than 1 or a concentration is not positive.

    See Also
    --------
    solve_banded_ridge_cv : the search that uses these candidates.

    Examples
    --------
    >>> from neuroalign.encoding import sample_band_weights
    >>> sample_band_weights(4, 2, seed=0)[:3].tolist()
    [[0.5, 0.5], [1.0, 0.0], [0.0, 1.0]]
    """
    n_iter = check_positive_int("n_iter", n_iter)
    n_spaces = check_positive_int("n_spaces", n_spaces)
    if n_spaces == 1:
        return np.ones((1, 1))
    concentration = np.atleast_1d(np.asarray(concentration, dtype=np.float64))
    if concentration.ndim != 1 or concentration.size == 0 or not (concentration > 0).all():
        raise ValueError(
            "'concentration' must be a positive float or a non-empty sequence of them; got "
            f"{concentration.tolist()}."
        )
    fixed = np.vstack([np.full((1, n_spaces), 1.0 / n_spaces), np.eye(n_spaces)])
    n_random = max(0, n_iter - len(fixed))
    rng = np.random.default_rng(seed)
    per_concentration = math.ceil(n_random / concentration.size)
    draws = np.stack(
        [
            np.full((per_concentration, n_spaces), 1.0 / n_spaces)
            if np.isinf(value)
            else rng.dirichlet(np.full(n_spaces, value), per_concentration)
            for value in concentration
        ],
        axis=1,
    ).reshape(-1, n_spaces)
    return np.vstack([fixed, draws])[:n_iter]


def _check_candidates(candidates, n_spaces):
    values = np.asarray(candidates, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] != n_spaces or values.shape[0] == 0:
        raise ValueError(
            f"'n_iter' given as band weights must have shape (n_candidates, {n_spaces}); got "
            f"{values.shape}."
        )
    sums = values.sum(1)
    bad = np.flatnonzero(~((values >= 0).all(1) & (np.abs(sums - 1) < 1e-6)))
    if bad.size:
        raise ValueError(
            "'n_iter' rows must be band weights on the simplex (non-negative, summing to 1); "
            f"row {bad[0]} is {values[bad[0]].tolist()}."
        )
    return values


class _Spaces:
    """Centred feature spaces and what every candidate reuses (Grams or covariances).

    ``folds`` lists (train, test) index tensors; the refit uses all rows. Features are
    centred once on all samples: centring again on a fold's training rows gives the
    same result as centring the raw features on them, with better conditioning.
    """

    def __init__(self, Xs64, folds, *, method, fit_intercept):
        X = torch.cat(Xs64, 1)
        self.raw_mean = X.mean(0) if fit_intercept else torch.zeros_like(X[0])
        self.X = X - self.raw_mean
        sizes = torch.as_tensor([x.shape[1] for x in Xs64], device=X.device)
        self.space_of_feature = torch.repeat_interleave(
            torch.arange(len(Xs64), device=X.device), sizes
        )
        self.sizes = sizes.tolist()
        self.folds = folds
        self.method = method
        self.fit_intercept = fit_intercept
        if method == "dual":
            self.kernels = torch.stack(
                [block @ block.T for block in torch.split(self.X, self.sizes, dim=1)]
            )
        else:
            blocks = (self._centred(train)[0] for train, _ in folds)
            self.covariances = [block.T @ block for block in blocks]
            self.covariance_all = self.X.T @ self.X

    def _centred(self, rows):
        block = self.X[rows]
        mean = block.mean(0) if self.fit_intercept else torch.zeros_like(block[0])
        return block - mean, mean

    def fold_bases(self, gamma, dtype):
        """The :class:`_Fold` of every fold for band weights ``gamma`` (n_spaces,)."""
        if self.method == "dual":
            kernel = torch.einsum("k,kij->ij", gamma, self.kernels)
            return [self._dual_fold(kernel, train, test, dtype) for train, test in self.folds]
        scale = gamma.sqrt()[self.space_of_feature]
        return [
            self._primal_fold(covariance, scale, train, test, dtype)
            for covariance, (train, test) in zip(self.covariances, self.folds)
        ]

    def _primal_fold(self, covariance, scale, train, test, dtype):
        eigenvalues, V = _eigh(covariance * scale[:, None] * scale[None, :])
        DV = scale[:, None] * V
        train_block, mean = self._centred(train)
        return Fold(
            train,
            test,
            (self.X[test] - mean) @ DV,
            eigenvalues,
            dtype=dtype,
            fit_intercept=self.fit_intercept,
            dual=False,
            projector=(train_block @ DV).T.to(dtype),
        )

    def _dual_fold(self, kernel, train, test, dtype):
        K_train, K_test = kernel[train][:, train], kernel[test][:, train]
        if self.fit_intercept:
            column_mean = K_train.mean(0)
            grand_mean = column_mean.mean()
            K_train = K_train - column_mean - column_mean[:, None] + grand_mean
            K_test = K_test - K_test.mean(1, keepdim=True) - column_mean + grand_mean
        eigenvalues, U = _eigh(K_train)
        return Fold(
            train,
            test,
            K_test @ U,
            eigenvalues,
            dtype=dtype,
            fit_intercept=self.fit_intercept,
            dual=True,
            projector=U.T.to(dtype),
        )

    def refit(self, gamma, dtype):
        """Eigenvalues, projector and back-projection of all samples for ``gamma``.

        Weights of targets ``Yc`` (centred) with alphas ``a`` are
        ``back @ (projector @ Yc / (eigenvalues + a))`` on the raw features.
        """
        weight = gamma[self.space_of_feature]
        if self.method == "dual":
            eigenvalues, U = _eigh(torch.einsum("k,kij->ij", gamma, self.kernels))
            projector, back = U.T, (self.X * weight).T @ U
        else:
            scale = weight.sqrt()
            eigenvalues, V = _eigh(self.covariance_all * scale[:, None] * scale[None, :])
            back = scale[:, None] * V
            projector = (self.X @ back).T
        return eigenvalues, projector.to(dtype), back.to(dtype)


def _bytes_per_target(n_samples, rank, n_alphas, n_test, n_features, itemsize):
    """Working memory of one target in a chunk (targets, projections, sweep, best, weights)."""
    return itemsize * (2 * n_samples + 2 * rank + 2 * n_alphas * n_test + 3 * n_alphas + 4) + 8 * (
        n_features + rank + 3
    )


def _search(spaces, candidates, Y, alphas, *, scoring, dtype, max_memory, progress, desc):
    """Random search over ``candidates`` and refit; returns the result's fields."""
    device = spaces.X.device
    n_samples, n_targets = Y.shape
    n_features = spaces.X.shape[1]
    n_folds = len(spaces.folds)
    rank = n_samples if spaces.method == "dual" else n_features
    n_test = max(len(test) for _, test in spaces.folds)
    itemsize = torch.finfo(dtype).bits // 8
    basis_bytes = n_folds * rank * n_samples * itemsize + 8 * rank * rank
    stored = spaces.kernels if spaces.method == "dual" else spaces.X
    batches = plan_batches(
        n_targets,
        _bytes_per_target(n_samples, rank, len(alphas), n_test, n_features, itemsize),
        max_memory,
        device=device,
        fixed_bytes=basis_bytes + 8 * (stored.numel() + spaces.X.numel()),
    )
    logger.info(
        "%s: %s form, %d samples x %d features in %d spaces, %d targets in %d chunk(s), "
        "%d candidates x %d alphas, %d folds, on %s.",
        desc,
        spaces.method,
        n_samples,
        n_features,
        len(spaces.sizes),
        n_targets,
        len(batches),
        len(candidates),
        len(alphas),
        n_folds,
        device,
    )
    Y_host = to_tensor(Y, device="cpu", dtype=dtype)
    alphas64 = torch.as_tensor(alphas, device=device)
    candidates64 = torch.as_tensor(candidates, device=device)
    best_score = torch.full((n_targets,), -torch.inf, dtype=dtype, device=device)
    best_candidate = torch.zeros(n_targets, dtype=torch.long, device=device)
    best_alpha = torch.ones(n_targets, dtype=torch.float64, device=device)
    cv_scores = torch.empty((len(candidates), n_targets), dtype=dtype)
    with tqdm(total=len(candidates) * len(batches), disable=not progress, desc=desc) as bar:
        for index, gamma in enumerate(candidates64):
            folds = spaces.fold_bases(gamma, dtype)
            for batch in batches:
                Y_chunk = Y_host[:, batch].to(device)
                scores = sum(_sweep_scores(fold, alphas64, Y_chunk, scoring) for fold in folds)
                scores /= n_folds
                alpha_index = scores.argmax(0)
                value = scores.gather(0, alpha_index[None])[0]
                better = value > best_score[batch]
                best_score[batch] = torch.where(better, value, best_score[batch])
                best_candidate[batch] = torch.where(better, index, best_candidate[batch])
                best_alpha[batch] = torch.where(better, alphas64[alpha_index], best_alpha[batch])
                cv_scores[index, batch] = value.cpu()
                bar.update()
    coef = torch.zeros((n_features, n_targets), dtype=dtype)
    batch_size = batches[0].stop - batches[0].start if batches else 1
    for index in torch.unique(best_candidate).tolist():
        eigenvalues, projector, back = spaces.refit(candidates64[index], dtype)
        columns = torch.nonzero(best_candidate == index).ravel()
        for chunk in torch.split(columns, batch_size):
            Y_chunk = Y_host[:, chunk.cpu()].to(device)
            if spaces.fit_intercept:
                Y_chunk = Y_chunk - Y_chunk.mean(0)
            shrink = (1.0 / (eigenvalues[:, None] + best_alpha[chunk][None])).to(dtype)
            coef[:, chunk.cpu()] = (back @ ((projector @ Y_chunk) * shrink)).cpu()
    target_mean = Y.mean(0, dtype=np.float64) if spaces.fit_intercept else np.zeros(n_targets)
    intercept = torch.as_tensor(target_mean) - spaces.raw_mean.cpu() @ coef.double()
    return dict(
        coefs=tuple(torch.split(coef, spaces.sizes)),
        intercept=intercept.to(dtype),
        gammas=torch.as_tensor(candidates)[best_candidate.cpu()].T.contiguous(),
        best_alphas=best_alpha.cpu(),
        cv_scores=cv_scores,
        candidates=torch.as_tensor(candidates),
        alphas=torch.as_tensor(alphas),
        method=spaces.method,
        scoring=scoring,
    )


def _prepare(Xs, Y, cv, groups, method, fit_intercept, device):
    """Validated spaces (float64 tensors on ``device``), targets and the _Spaces object."""
    Xs = _check_spaces(Xs)
    Y = _as_matrix("Y", Y)
    if Xs[0].shape[0] != Y.shape[0]:
        raise DimensionError(
            f"'Xs' have {Xs[0].shape[0]} samples but 'Y' has {Y.shape[0]}; give one row per sample."
        )
    n_samples, n_features = Y.shape[0], sum(X.shape[1] for X in Xs)
    method = _choose_method(method, n_samples, n_features)
    folds = [
        (torch.as_tensor(train, device=device), torch.as_tensor(test, device=device))
        for train, test in make_folds(n_samples, cv, groups)
    ]
    Xs64 = [to_tensor(X, device=device, dtype=torch.float64) for X in Xs]
    warn_constant_targets(
        Y, "constant; they get zero weights and uninformative scores", stacklevel=3
    )
    return Y, _Spaces(Xs64, folds, method=method, fit_intercept=fit_intercept)


def solve_banded_ridge_cv(
    Xs,
    Y,
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
    """Banded ridge regression: per-space regularisation chosen by cross-validated search.

    For each target ``j`` minimises
    ``||Y[:, j] - sum_i X_i w_ij - b_j||² + sum_i (alpha_j / gamma_ij) ||w_ij||²``
    where the band weights ``gamma_j`` (on the simplex) and ``alpha_j`` are the
    candidate and alpha with the best validation score averaged over the folds (the
    first candidate, then the first alpha, on ties), then refits on all samples.

    Parameters
    ----------
    Xs : sequence of array-like, one of shape (n_samples, n_features_i) per space
    Y : array-like of shape (n_samples, n_targets) or (n_samples,)
    alphas : array-like of shape (n_alphas,)
        Positive regularisation strengths searched for every candidate.
    n_iter : int or array-like of shape (n_candidates, n_spaces), default=20
        Number of band-weight candidates (see :func:`sample_band_weights`), or the
        candidates themselves (rows on the simplex).
    concentration : float or sequence of float, default=(0.1, 1.0)
        Dirichlet concentrations of the random candidates.
    cv : int or scikit-learn splitter or iterable of (train, test), default=5
        See :func:`make_folds`.
    groups : array-like of shape (n_samples,), optional
        Samples of one group (repetitions of a stimulus, a run) stay in one fold.
    scoring : {"r2", "pearson", "neg_mse"}, default="r2"
        Validation score used to choose band weights and alphas.
    method : {"auto", "primal", "dual"}, default="auto"
        ``"auto"``: primal when the total number of features is at most
        ``n_samples``, else the dual (kernel) form. Both give the same solution.
    fit_intercept : bool, default=True
        Centre features and targets on each training set.
    seed : int, optional
        Seed of the random candidates.
    device, dtype : optional
        Where and in which float type the sweeps run; see :func:`neuroalign.config`.
        Gram matrices and decompositions always use float64.
    max_memory : int or str, optional
        Budget for one chunk of targets; see :func:`neuroalign._backend.plan_batches`.
    progress : bool, default=False
        Show a progress bar over candidates and chunks of targets.

    Returns
    -------
    result : BandedRidgeCVResult
        Per-space weights, intercepts, best band weights and alphas, and the score of
        every candidate (CPU tensors).

    Raises
    ------
    DimensionError
        If a space or ``Y`` has the wrong number of dimensions or of samples.
    ValueError
        If inputs contain NaN or infinite values, an alpha is not positive,
        candidates are not on the simplex, or there are fewer samples than folds.

    Warns
    -----
    NeuroalignWarning
        If some targets are constant (as :func:`solve_ridge_cv`).

    Notes
    -----
    Cost: one eigendecomposition per candidate and fold (of ``n_train x n_train``
    in the dual form, ``n_features x n_features`` in the primal form) plus one per
    candidate chosen by some target for the refit. Per-space Grams (dual) or
    per-fold covariances (primal) are computed once.

    See Also
    --------
    solve_ridge_cv : one regularisation for all features.
    sample_band_weights : the candidates.
    partition_r2 : split the R² of the fitted model between spaces.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.encoding import solve_banded_ridge_cv
    >>> rng = np.random.default_rng(0)
    >>> X1, X2 = rng.standard_normal((80, 4)), rng.standard_normal((80, 30))
    >>> Y = X1 @ rng.standard_normal((4, 2)) + 0.3 * rng.standard_normal((80, 2))
    >>> result = solve_banded_ridge_cv([X1, X2], Y, [0.1, 1.0, 10.0], seed=0, device="cpu")
    >>> result.gammas[0].tolist()  # all weight on the informative space
    [1.0, 1.0]
    >>> [coef.shape for coef in result.coefs]
    [torch.Size([4, 2]), torch.Size([30, 2])]
    """
    check_option("scoring", scoring, SCORINGS)
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    alphas = check_alphas(alphas)
    Y, spaces = _prepare(Xs, Y, cv, groups, method, fit_intercept, device)
    n_spaces = len(spaces.sizes)
    if isinstance(n_iter, (int, np.integer)) and not isinstance(n_iter, bool):
        candidates = sample_band_weights(n_iter, n_spaces, concentration=concentration, seed=seed)
    else:
        candidates = _check_candidates(n_iter, n_spaces)
    fields = _search(
        spaces,
        candidates,
        Y,
        alphas,
        scoring=scoring,
        dtype=dtype,
        max_memory=max_memory,
        progress=progress,
        desc="banded ridge CV",
    )
    return BandedRidgeCVResult(**fields)
