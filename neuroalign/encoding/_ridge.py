"""Ridge regression with per-target regularisation chosen by cross-validation.

One eigendecomposition per fold serves every alpha and every target. For fold *f*
with test rows ``X_te`` the validation predictions of all alphas are

    pred[a] = (A * 1 / (s + alpha_a)) @ B

with ``A`` (n_test × rank) and ``s`` from the decomposition and ``B`` (rank × n_targets)
a projection of the training targets. Stacking the alphas makes the sweep one large
matrix product per chunk of targets, which dominates the arithmetic.

- primal form (n_features <= n_samples): ``s, V = eigh(Xc_trᵀ Xc_tr)``,
  ``A = Xc_te V``, ``B = (Xc_tr V)ᵀ Y_tr``;
- dual (kernel) form (n_features > n_samples): ``s, U = eigh(Xc_tr Xc_trᵀ)``,
  ``A = Xc_te Xc_trᵀ U``, ``B = Uᵀ (Y_tr - mean)``.

Decompositions and Gram matrices are computed in float64; the sweeps run in the
compute dtype (float32 by default).
"""

import dataclasses
import functools
import logging
import warnings

import numpy as np
import torch
from tqdm.auto import tqdm

from neuroalign._backend import plan_batches, resolve_device, resolve_dtype, to_tensor
from neuroalign._validation import check_option
from neuroalign.encoding._cv import make_folds
from neuroalign.encoding._sweep import PartialFractions
from neuroalign.exceptions import DimensionError, NeuroalignWarning

__all__ = ["RidgeCVResult", "SCORINGS", "solve_ridge_cv"]

logger = logging.getLogger("neuroalign")

SCORINGS = ("pearson", "r2", "neg_mse")
METHODS = ("auto", "primal", "dual")


@dataclasses.dataclass(frozen=True, eq=False)
class RidgeCVResult:
    """Output of :func:`solve_ridge_cv` (tensors on the CPU).

    Attributes
    ----------
    coef : Tensor of shape (n_features, n_targets)
        Weights refit on all samples with each target's best alpha, for the raw
        (uncentred, unscaled) features. In the dual form they are computed from
        ``dual_coef`` on first access (n_features × n_samples × n_targets operations),
        so a fit that only predicts never pays for them.
    intercept : Tensor of shape (n_targets,)
    best_alphas : Tensor of shape (n_targets,), float64
    cv_scores : Tensor of shape (n_alphas, n_targets)
        Validation score of every alpha, averaged over folds.
    alphas : Tensor of shape (n_alphas,), float64
    method : {"primal", "dual"}
    scoring : {"pearson", "r2", "neg_mse"}
    dual_coef : Tensor of shape (n_samples, n_targets) or None
        Dual form only: ``coef = dual_basis.T @ dual_coef``.
    dual_basis : Tensor of shape (n_samples, n_features) or None
        Dual form only: the training features, centred, and divided by the feature
        scale twice when ``standardize`` (once for the fit, once to map the weights
        back to raw features).
    """

    primal_coef: torch.Tensor | None = dataclasses.field(repr=False)
    intercept: torch.Tensor
    best_alphas: torch.Tensor
    cv_scores: torch.Tensor
    alphas: torch.Tensor
    method: str
    scoring: str
    dual_coef: torch.Tensor | None = dataclasses.field(default=None, repr=False)
    dual_basis: torch.Tensor | None = dataclasses.field(default=None, repr=False)

    @functools.cached_property
    def coef(self):
        """Tensor of shape (n_features, n_targets): the weights for raw features."""
        if self.primal_coef is not None:
            return self.primal_coef
        return self.dual_basis.T @ self.dual_coef

    @property
    def best_scores(self):
        """Tensor of shape (n_targets,): the cross-validated score of each best alpha."""
        return self.cv_scores.max(0).values

    def predict(self, X):
        """Predictions for new samples.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        Y_pred : Tensor of shape (n_samples, n_targets)
        """
        X = to_tensor(X, device="cpu", dtype=self.intercept.dtype)
        if self.primal_coef is None and "coef" not in self.__dict__:
            return (X @ self.dual_basis.T) @ self.dual_coef + self.intercept
        return X @ self.coef + self.intercept


def _as_matrix(name, values):
    array = (
        values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values)
    )
    if array.ndim == 1 and name == "Y":
        array = array[:, None]
    if array.ndim != 2:
        raise DimensionError(
            f"{name!r} must be 2-D (n_samples, n_{'features' if name == 'X' else 'targets'}); "
            f"got shape {array.shape}."
        )
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name!r} must be numeric; got dtype {array.dtype}.")
    finite = np.isfinite(array)
    if not finite.all():
        row, column = np.argwhere(~finite)[0]
        raise ValueError(
            f"{name!r} contains {int((~finite).sum())} NaN or infinite values (first at row "
            f"{row}, column {column}). Remove or impute them before fitting."
        )
    return array


def _check_alphas(alphas):
    values = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"'alphas' must be a non-empty 1-D sequence; got shape {values.shape}.")
    bad = np.flatnonzero(~(np.isfinite(values) & (values > 0)))
    if bad.size:
        raise ValueError(
            f"'alphas' must be positive and finite; got {values[bad[0]]} at index {bad[0]}."
        )
    return values


class _Fold:
    """One fold's decomposition: test basis ``A``, eigenvalues ``s``, target projection.

    ``test_basis`` arrives in float64 and is kept in ``dtype`` for the sweeps; the
    float64 copy serves once, to build the fold's :class:`PartialFractions`.
    """

    def __init__(self, train, test, test_basis, eigenvalues, projector, *, fit_intercept, dual):
        self.train = train
        self.test = test
        self.test_basis = test_basis.to(projector.dtype)
        self.eigenvalues = eigenvalues
        self.projector = projector
        self.fit_intercept = fit_intercept
        self.dual = dual
        self._test_basis64 = test_basis
        self._fractions = {}

    def project(self, Y):
        """``B`` (rank × n_targets) for targets ``Y`` (all samples)."""
        Y_train = Y[self.train]
        if self.dual and self.fit_intercept:
            Y_train = Y_train - Y_train.mean(0)
        return self.projector @ Y_train

    def offset(self, Y):
        """What the intercept adds to every validation prediction (training-target means)."""
        return Y[self.train].mean(0) if self.fit_intercept else torch.zeros_like(Y[0])

    def fractions(self, inverse, *, centered):
        """The fold's :class:`PartialFractions` for a sweep, or None for the direct one."""
        if centered not in self._fractions:
            self._fractions[centered] = PartialFractions.build(
                self._test_basis64,
                self.eigenvalues,
                float(inverse.min()),
                centered=centered,
                n_alphas=inverse.shape[0],
            )
        return self._fractions[centered]


def _center_scale(X, rows, fit_intercept, standardize):
    """Centred (and scaled) rows of X, and the statistics to apply to other rows."""
    block = X[rows]
    mean = block.mean(0) if fit_intercept else torch.zeros_like(block[0])
    scale = torch.ones_like(mean)
    if standardize:
        scale = block.std(0, unbiased=False)
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    return (block - mean) / scale, mean, scale


def _eigh(matrix):
    eigenvalues, vectors = torch.linalg.eigh(matrix)
    return eigenvalues.clamp_min(0.0), vectors


def _primal_fold(X64, train, test, fit_intercept, standardize, dtype):
    train_block, mean, scale = _center_scale(X64, train, fit_intercept, standardize)
    eigenvalues, V = _eigh(train_block.T @ train_block)
    test_basis = ((X64[test] - mean) / scale) @ V
    projector = (train_block @ V).T
    # Centred features make the projection blind to the target means.
    return _Fold(
        train,
        test,
        test_basis,
        eigenvalues,
        projector.to(dtype),
        fit_intercept=fit_intercept,
        dual=False,
    )


def _dual_fold(gram, train, test, fit_intercept, dtype):
    """Dual-form fold from the Gram matrix of all samples, centred on the training rows.

    With ``m_i`` the mean of ``gram[i, train]`` and ``c`` the mean of
    ``gram[train, train]``, the centred kernel is ``gram[a, b] - m_a - m_b + c``.
    """
    train_kernel, test_kernel = gram[train][:, train], gram[test][:, train]
    if fit_intercept:
        train_means, test_means = train_kernel.mean(1), test_kernel.mean(1)
        overall = train_means.mean()
        train_kernel = train_kernel - train_means[:, None] - train_means[None, :] + overall
        test_kernel = test_kernel - test_means[:, None] - train_means[None, :] + overall
    eigenvalues, U = _eigh(train_kernel)
    return _Fold(
        train,
        test,
        test_kernel @ U,
        eigenvalues,
        U.T.to(dtype),
        fit_intercept=fit_intercept,
        dual=True,
    )


def _scaled_gram(X64, train, fit_intercept, standardize):
    """Gram matrix of all samples with features scaled by the training rows' spread."""
    _, _, scale = _center_scale(X64, train, fit_intercept, standardize)
    scaled = X64 / scale
    return scaled @ scaled.T


def _sweep_scores(fold, inverse, Y, scoring):
    """Validation scores (n_alphas, n_targets) of every alpha on one fold.

    ``inverse`` is (n_alphas, rank): ``1 / (s + alpha)`` for each alpha. The cross term
    with the targets comes from ``Aᵀ Y_test``; the squared norms of the predictions
    from the fold's partial fractions (see :mod:`neuroalign.encoding._sweep`) or, where
    those do not pay, from the stacked predictions of all alphas.
    """
    B = fold.project(Y)
    Y_test = Y[fold.test] - fold.offset(Y)
    centered = scoring == "pearson"
    if centered:
        Y_test = Y_test - Y_test.mean(0)
    cross = inverse @ (B * (fold.test_basis.T @ Y_test))
    fractions = fold.fractions(inverse, centered=centered)
    if fractions is None:
        norms = _stacked_norms(fold, inverse, B, centered)
    else:
        norms = fractions.norms(inverse, B).to(Y.dtype)
    targets = torch.linalg.vector_norm(Y_test, dim=0)
    if centered:
        spread = norms.clamp_min(0).sqrt() * targets
        return torch.where(spread > 0, cross / spread.clamp_min(1e-30), 0.0)
    residual = (targets.double() ** 2 - 2 * cross.double() + norms.double()).clamp_min(0)
    residual = residual.to(Y.dtype)
    if scoring == "neg_mse":
        return -residual / len(fold.test)
    total = torch.linalg.vector_norm(Y_test - Y_test.mean(0), dim=0) ** 2
    perfect = (residual == 0).to(residual.dtype)
    return torch.where(total > 0, 1 - residual / total.clamp_min(1e-30), perfect)


def _stacked_norms(fold, inverse, B, centered):
    """``||A diag(w_a) B||²`` from the stacked predictions of all alphas (n_alphas, n_targets)."""
    n_alphas, rank = inverse.shape
    stacked = (fold.test_basis[None] * inverse[:, None, :]).reshape(-1, rank)
    pred = (stacked @ B).reshape(n_alphas, len(fold.test), -1)
    if centered:
        pred -= pred.mean(1, keepdim=True)
    return torch.linalg.vector_norm(pred, dim=1) ** 2


class _Refit:
    """Decomposition of all samples, shared by every chunk of targets.

    Weights for target ``j`` are ``back @ (projector @ Yc_j / (s + alpha_j))`` in the
    centred/scaled feature space, then mapped back to the raw features. In the dual
    form ``back = basisᵀ U`` and only the dual coefficients ``U @ (...)`` are formed
    here. The decomposition is float64; the products with the targets run in ``dtype``.
    """

    def __init__(self, X64, method, fit_intercept, standardize, dtype):
        rows = torch.arange(X64.shape[0], device=X64.device)
        block, self.mean, self.scale = _center_scale(X64, rows, fit_intercept, standardize)
        self.fit_intercept = fit_intercept
        self.dual = method == "dual"
        if self.dual:
            self.eigenvalues, U = _eigh(block @ block.T)
            basis = block / self.scale
            self.projector, self.back = U.T.to(dtype), U.to(dtype)
            self.basis = basis.to(dtype)
            self.mean_response = (basis @ self.mean).to(dtype)
        else:
            self.eigenvalues, V = _eigh(block.T @ block)
            self.projector = (block @ V).T.to(dtype)
            self.back = (V / self.scale[:, None]).to(dtype)

    def weights(self, Y, best_alphas):
        """Coefficients and intercepts (n_targets,) for raw X.

        Returns
        -------
        coef : Tensor of shape (n_features, n_targets), or (n_samples, n_targets) dual
            coefficients in the dual form.
        intercept : Tensor of shape (n_targets,)
        """
        target_mean = Y.mean(0) if self.fit_intercept else torch.zeros_like(Y[0])
        projected = self.projector @ (Y - target_mean)
        coef = torch.empty((self.back.shape[0], Y.shape[1]), dtype=Y.dtype, device=Y.device)
        for alpha in torch.unique(best_alphas):
            columns = torch.nonzero(best_alphas == alpha).ravel()
            shrink = (1.0 / (self.eigenvalues + alpha)).to(Y.dtype)
            coef[:, columns] = self.back @ (projected[:, columns] * shrink[:, None])
        offset = self.mean_response @ coef if self.dual else self.mean.to(Y.dtype) @ coef
        intercept = target_mean.double() - offset.double()
        return coef, intercept.to(Y.dtype)


def _choose_method(method, n_samples, n_features):
    check_option("method", method, METHODS)
    if method == "auto":
        return "primal" if n_features <= n_samples else "dual"
    return method


def _bytes_per_target(n_samples, rank, n_alphas, n_test, n_features, itemsize):
    """Working memory of one target in a chunk (targets, projections, sweep, weights)."""
    return itemsize * (2 * n_samples + 2 * rank + 2 * n_alphas * n_test + 3 * n_alphas) + 16 * (
        n_features + rank
    )


def solve_ridge_cv(
    X,
    Y,
    alphas,
    *,
    cv=5,
    groups=None,
    scoring="pearson",
    method="auto",
    fit_intercept=True,
    standardize=False,
    device=None,
    dtype=None,
    max_memory=None,
    progress=False,
):
    """Ridge regression with a cross-validated alpha for every target.

    Minimises ``||Y[:, j] - X w_j - b_j||² + alpha_j ||w_j||²`` for each target ``j``,
    with ``alpha_j`` the alpha of ``alphas`` whose validation score averaged over the
    folds is best (the first one on ties), then refits ``w_j`` on all samples.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    Y : array-like of shape (n_samples, n_targets) or (n_samples,)
    alphas : array-like of shape (n_alphas,)
        Positive regularisation strengths to search.
    cv : int or scikit-learn splitter or iterable of (train, test), default=5
        See :func:`make_folds`.
    groups : array-like of shape (n_samples,), optional
        Samples of one group (e.g. repetitions of a stimulus) stay in one fold.
    scoring : {"pearson", "r2", "neg_mse"}, default="pearson"
        Validation score used to choose alphas.
    method : {"auto", "primal", "dual"}, default="auto"
        ``"auto"``: primal when ``n_features <= n_samples``, else the dual (kernel) form.
        Both give the same solution; they differ in cost.
    fit_intercept : bool, default=True
        Centre features and targets on each training set.
    standardize : bool, default=False
        Also scale each feature to unit variance on each training set.
    device, dtype : optional
        Where and in which float type the sweeps run; see :func:`neuroalign.config`.
        Decompositions always use float64.
    max_memory : int or str, optional
        Budget for one chunk of targets; see :func:`neuroalign._backend.plan_batches`.
    progress : bool, default=False
        Show a progress bar over chunks of targets and folds.

    Returns
    -------
    result : RidgeCVResult
        Weights, intercepts, best alphas and the score of every alpha (CPU tensors).

    Raises
    ------
    DimensionError
        If ``X`` or ``Y`` is not 2-D or they differ in length.
    ValueError
        If they contain NaN or infinite values, an alpha is not positive, or there are
        fewer samples (or groups) than folds.

    Warns
    -----
    NeuroalignWarning
        If some targets are constant: their weights are 0, their intercept is their
        value and their scores are 0 (Pearson) or follow ``sklearn.metrics.r2_score``.

    Notes
    -----
    Rank-deficient ``X`` needs no special handling: every alpha is positive, so each
    system is well posed; eigenvalues that rounding makes slightly negative are set
    to 0.

    See Also
    --------
    RidgeEncoder : the scikit-learn estimator around this solver.
    make_folds : the folds used.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.encoding import solve_ridge_cv
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((100, 5))
    >>> Y = X @ rng.standard_normal((5, 3)) + 0.1 * rng.standard_normal((100, 3))
    >>> result = solve_ridge_cv(X, Y, alphas=[0.1, 10.0, 1000.0], device="cpu")
    >>> result.best_alphas.tolist(), result.coef.shape
    ([0.1, 0.1, 0.1], torch.Size([5, 3]))
    """
    check_option("scoring", scoring, SCORINGS)
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    X, Y = _as_matrix("X", X), _as_matrix("Y", Y)
    if X.shape[0] != Y.shape[0]:
        raise DimensionError(
            f"'X' has {X.shape[0]} samples but 'Y' has {Y.shape[0]}; give one row per sample."
        )
    alphas = _check_alphas(alphas)
    (n_samples, n_features), n_targets = X.shape, Y.shape[1]
    folds_index = make_folds(n_samples, cv, groups)
    method = _choose_method(method, n_samples, n_features)
    constant = int((Y.max(0) == Y.min(0)).sum())
    if constant:
        warnings.warn(
            f"{constant} of {n_targets} targets are constant; they get zero weights and "
            "uninformative scores. Drop them before fitting.",
            NeuroalignWarning,
            stacklevel=2,
        )
    X64 = to_tensor(X, device=device, dtype=torch.float64)
    folds_index = [
        (torch.as_tensor(tr, device=device), torch.as_tensor(te, device=device))
        for tr, te in folds_index
    ]
    if method == "primal":
        folds = [
            _primal_fold(X64, tr, te, fit_intercept, standardize, dtype) for tr, te in folds_index
        ]
    else:
        # One Gram matrix serves every fold unless each fold rescales the features.
        gram = None if standardize else X64 @ X64.T
        folds = [
            _dual_fold(
                _scaled_gram(X64, tr, fit_intercept, standardize) if standardize else gram,
                tr,
                te,
                fit_intercept,
                dtype,
            )
            for tr, te in folds_index
        ]
    refit = _Refit(X64, method, fit_intercept, standardize, dtype)
    alphas64 = torch.as_tensor(alphas, device=device)
    inverses = [(1.0 / (f.eigenvalues[None] + alphas64[:, None])).to(dtype) for f in folds]
    rank = max(f.eigenvalues.numel() for f in folds)
    n_test = max(len(f.test) for f in folds)
    itemsize = torch.finfo(dtype).bits // 8
    fixed = sum(f.test_basis.numel() + f.projector.numel() for f in folds) * itemsize
    batches = plan_batches(
        n_targets,
        _bytes_per_target(n_samples, rank, len(alphas), n_test, n_features, itemsize),
        max_memory,
        device=device,
        fixed_bytes=fixed + 8 * X64.numel(),
    )
    logger.info(
        "solve_ridge_cv: %s form, %d samples x %d features, %d targets in %d chunk(s), "
        "%d alphas, %d folds, on %s.",
        method,
        n_samples,
        n_features,
        n_targets,
        len(batches),
        len(alphas),
        len(folds),
        device,
    )
    coef = torch.empty((n_samples if method == "dual" else n_features, n_targets), dtype=dtype)
    intercept = torch.empty(n_targets, dtype=dtype)
    cv_scores = torch.empty((len(alphas), n_targets), dtype=dtype)
    best_alphas = torch.empty(n_targets, dtype=torch.float64)
    with tqdm(total=len(batches) * len(folds), disable=not progress, desc="ridge CV") as bar:
        for batch in batches:
            Y_chunk = to_tensor(Y[:, batch], device=device, dtype=dtype)
            scores = torch.zeros((len(alphas), Y_chunk.shape[1]), dtype=dtype, device=device)
            for fold, inverse in zip(folds, inverses):
                scores += _sweep_scores(fold, inverse, Y_chunk, scoring)
                bar.update()
            scores /= len(folds)
            chunk_alphas = alphas64[scores.argmax(0)]
            chunk_coef, chunk_intercept = refit.weights(Y_chunk, chunk_alphas)
            coef[:, batch] = chunk_coef.cpu()
            intercept[batch] = chunk_intercept.cpu()
            cv_scores[:, batch] = scores.cpu()
            best_alphas[batch] = chunk_alphas.cpu()
    dual = method == "dual"
    return RidgeCVResult(
        primal_coef=None if dual else coef,
        intercept=intercept,
        best_alphas=best_alphas,
        cv_scores=cv_scores,
        alphas=torch.as_tensor(alphas),
        method=method,
        scoring=scoring,
        dual_coef=coef if dual else None,
        dual_basis=refit.basis.cpu() if dual else None,
    )
