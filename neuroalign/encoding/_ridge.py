"""Ridge regression with per-target regularisation chosen by cross-validation.

One eigendecomposition per fold serves every alpha and every target. For fold *f*
with test rows ``X_te`` the validation predictions of alpha ``a`` are

    pred[a] = (A * 1 / (s + alpha_a)) @ B

with ``A`` (n_test × rank) and ``s`` from the decomposition and ``B`` (rank × n_targets)
a projection of the training targets (:mod:`neuroalign.encoding._fold`):

- primal form (n_features <= n_samples): ``s, V = eigh(Xc_trᵀ Xc_tr)``,
  ``A = Xc_te V``, ``B = Vᵀ Xc_trᵀ Y_tr``. When the folds partition the samples, the
  training Gram matrices and ``Xᵀ Y`` are differences of whole-data ones
  (:mod:`neuroalign.encoding._primal`);
- dual (kernel) form (n_features > n_samples): ``s, U = eigh(Xc_tr Xc_trᵀ)``,
  ``A = Xc_te Xc_trᵀ U``, ``B = Uᵀ (Y_tr - mean)``.

Validation scores need ``Aᵀ Y_te`` and the squared norms of the predictions; those come
from partial fractions in ``1 / (s + alpha)`` without forming any prediction
(:mod:`neuroalign.encoding._sweep`). Decompositions and Gram matrices are computed in
float64; the products with the targets run in the compute dtype (float32 by default),
in buffers reused from fold to fold.
"""

import dataclasses
import functools
import logging

import numpy as np
import torch
from tqdm.auto import tqdm

from neuroalign._backend import (
    Workspace,
    plan_batches,
    resolve_device,
    resolve_dtype,
    to_tensor,
)
from neuroalign._validation import check_alphas, check_finite, check_option, warn_constant_targets
from neuroalign.encoding._cv import make_folds
from neuroalign.encoding._fold import Fold
from neuroalign.encoding._primal import (
    BlockProducts,
    FeatureStats,
    is_partition,
    primal_fold,
)
from neuroalign.exceptions import DimensionError

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
    check_finite(name, array)
    return array


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
    return Fold(
        train,
        test,
        test_kernel @ U,
        eigenvalues,
        dtype=dtype,
        fit_intercept=fit_intercept,
        dual=True,
        projector=U.T.to(dtype),
    )


def _scaled_gram(X64, train, fit_intercept, standardize):
    """Gram matrix of all samples with features scaled by the training rows' spread."""
    _, _, scale = _center_scale(X64, train, fit_intercept, standardize)
    scaled = X64 / scale
    return scaled @ scaled.T


def _sweep_scores(fold, alphas, Y, scoring, train_products=None, work=None):
    """Validation scores (n_alphas, n_targets) of every alpha on one fold.

    ``alphas`` (n_alphas,) is float64; ``train_products`` as in :meth:`Fold.project`;
    ``work`` keeps the large temporaries between folds. The cross term with the
    targets comes from ``Aᵀ Y_test``; the squared norms of the predictions from the
    fold's partial fractions (see :mod:`neuroalign.encoding._sweep`) for the alphas
    they serve, and from the stacked predictions for the others.
    """
    work = work or Workspace()
    inverse = fold.inverse(alphas)
    B, train_mean = fold.project(Y, train_products, work)
    Y_test = fold.test_rows(Y)
    Y_test = torch.sub(Y_test, train_mean, out=work.get("Y_test", Y_test.shape, Y.dtype, Y.device))
    centered = scoring == "pearson"
    if centered:
        Y_test -= Y_test.mean(0)
    products = work.get("cross", B.shape, Y.dtype, Y.device)
    cross = inverse @ torch.mm(fold.test_basis.T, Y_test, out=products).mul_(B)
    fractions = fold.fractions(alphas, centered=centered)
    if fractions is None:
        norms = _stacked_norms(fold, inverse, B, centered)
    else:
        served = fractions.alphas
        norms = torch.empty_like(cross)
        norms[served] = fractions.norms(inverse[served], B, work).to(Y.dtype)
        if not bool(served.all()):
            norms[~served] = _stacked_norms(fold, inverse[~served], B, centered)
    targets = torch.linalg.vector_norm(Y_test, dim=0)
    if centered:
        spread = norms.clamp_min(0).sqrt() * targets
        return torch.where(spread > 0, cross / spread.clamp_min(1e-30), 0.0)
    residual = (targets.double() ** 2 - 2 * cross.double() + norms.double()).clamp_min(0)
    residual = residual.to(Y.dtype)
    if scoring == "neg_mse":
        return -residual / len(fold.test)
    # Y_test is centred on the training rows, so its own mean is small against its
    # spread; a spread within rounding of the sum of squares is a constant target.
    squares = targets.double() ** 2
    total = squares - len(fold.test) * Y_test.mean(0).double() ** 2
    rounding = len(fold.test) * torch.finfo(Y.dtype).eps * squares
    total = torch.where(total > rounding, total, 0.0).to(Y.dtype)
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

    Weights for target ``j`` are ``back @ (B_j / (s + alpha_j))`` with ``B`` the
    projection of the targets on the eigenbasis of all (centred, scaled) samples, then
    mapped back to the raw features. In the primal form ``B`` is ``Xᵀ Y`` in the
    eigenbasis of all samples, taken from the folds' :class:`BlockProducts` when there
    are some; in the dual form ``back = basisᵀ U`` and
    only the dual coefficients ``U @ (...)`` are formed here. The decomposition is
    float64; the products with the targets run in ``dtype``.
    """

    def __init__(self, X64, stats, method, fit_intercept, standardize, dtype):
        self.fit_intercept = fit_intercept
        self.dual = method == "dual"
        if self.dual:
            rows = torch.arange(X64.shape[0], device=X64.device)
            block, mean, scale = _center_scale(X64, rows, fit_intercept, standardize)
            self.eigenvalues, U = _eigh(block @ block.T)
            basis = block / scale
            self.projector, self.back = U.T.to(dtype), U.to(dtype)
            self.basis = basis.to(dtype)
            self.mean = (basis @ mean).to(dtype)
            return
        whole = stats.whole
        self.eigenvalues = whole.eigenvalues
        self.back = whole.rotation.T.to(dtype)
        self.rotated_offset = (whole.rotation @ whole.offset).to(dtype)
        self.mean = (stats.center + whole.offset).to(dtype)
        self.features = stats.X_basis

    def weights(self, Y, best_alphas, products=None):
        """Coefficients and intercepts (n_targets,) for raw X.

        Parameters
        ----------
        Y : Tensor of shape (n_samples, n_targets)
        best_alphas : Tensor of shape (n_targets,)
        products : (Tensor, Tensor), optional
            Primal form: ``Xᵀ Y`` and ``ΣY`` of all samples, if already computed.

        Returns
        -------
        coef : Tensor of shape (n_features, n_targets), or (n_samples, n_targets) dual
            coefficients in the dual form.
        intercept : Tensor of shape (n_targets,)
        """
        target_mean = Y.mean(0) if self.fit_intercept else torch.zeros_like(Y[0])
        if self.dual:
            projected = self.projector @ Y
            projected.addr_(self.projector.sum(1), target_mean, alpha=-1)
        else:
            cross, totals = products if products is not None else (self.features.T @ Y, Y.sum(0))
            projected = torch.addr(cross, self.rotated_offset, totals, alpha=-1)
        eigenvalues = self.eigenvalues.to(Y.dtype)
        projected /= eigenvalues[:, None] + best_alphas.to(Y.dtype)[None, :]
        coef = self.back @ projected
        intercept = target_mean.double() - (self.mean @ coef).double()
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

    Cost: one float64 eigendecomposition per fold and one for the refit; the products
    with the targets run in ``dtype``. With folds that partition the samples (the
    default k-fold, grouped k-fold), every fold reuses whole-data products, and no
    alpha's validation predictions are ever formed (see the module notes). In float32
    the validation scores stay within about 1e-6 of float64, also for features with
    power-law spectra.

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
    alphas = check_alphas(alphas)
    (n_samples, n_features), n_targets = X.shape, Y.shape[1]
    folds_index = make_folds(n_samples, cv, groups)
    method = _choose_method(method, n_samples, n_features)
    warn_constant_targets(
        Y, "constant; they get zero weights and uninformative scores", stacklevel=2
    )
    X64 = to_tensor(X, device=device, dtype=torch.float64)
    folds_index = [
        (torch.as_tensor(tr, device=device), torch.as_tensor(te, device=device))
        for tr, te in folds_index
    ]
    stats, partition = None, False
    if method == "primal":
        stats = FeatureStats(X64, fit_intercept, standardize, dtype)
        partition = is_partition(folds_index, n_samples)
        folds = [
            primal_fold(
                stats,
                tr,
                te,
                fit_intercept=fit_intercept,
                standardize=standardize,
                dtype=dtype,
                partition=partition,
            )
            for tr, te in folds_index
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
    refit = _Refit(X64, stats, method, fit_intercept, standardize, dtype)
    alphas64 = torch.as_tensor(alphas, device=device)
    rank = max(f.eigenvalues.numel() for f in folds)
    n_test = max(len(f.test) for f in folds)
    itemsize = torch.finfo(dtype).bits // 8
    fixed = sum(
        f.test_basis.numel() + (f.rotation if partition else f.projector).numel() for f in folds
    )
    per_target = _bytes_per_target(n_samples, rank, len(alphas), n_test, n_features, itemsize)
    if partition:
        per_target += itemsize * (len(folds) + 2) * n_features
    batches = plan_batches(
        n_targets,
        per_target,
        max_memory,
        device=device,
        fixed_bytes=fixed * itemsize + (16 + itemsize if stats else 8) * X64.numel(),
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
            # Centring once keeps large target means out of the float32 products;
            # every fold re-centres on its own training rows.
            center = Y_chunk.mean(0) if fit_intercept else torch.zeros_like(Y_chunk[0])
            Y_chunk = Y_chunk - center
            products = BlockProducts(stats, folds, Y_chunk) if partition else None
            work = Workspace()
            scores = torch.zeros((len(alphas), Y_chunk.shape[1]), dtype=dtype, device=device)
            for index, fold in enumerate(folds):
                train_products = products.training(index, work) if partition else None
                scores += _sweep_scores(fold, alphas64, Y_chunk, scoring, train_products, work)
                bar.update()
            scores /= len(folds)
            chunk_alphas = alphas64[scores.argmax(0)]
            chunk_coef, chunk_intercept = refit.weights(
                Y_chunk, chunk_alphas, products.all_rows() if partition else None
            )
            del products, work
            coef[:, batch] = chunk_coef.cpu()
            intercept[batch] = (chunk_intercept + center).cpu()
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
