"""Batched linear classifiers: ridge, shrinkage LDA and L2 logistic regression.

Every solver fits a batch of independent problems that share their labels (one per
time point, or per train time of a generalisation matrix): ``X`` has shape
``(n_batch, n_samples, n_features)`` and the result is a :class:`LinearDecision`
with weights ``(n_batch, n_features, n_outputs)``. Binary problems have one output
(the score of the second class); ``n_classes > 2`` problems one output per class.
Statistics, covariances and solves run in float64.

Each solver matches a scikit-learn estimator fitted on the same (standardised) data:
``RidgeClassifier(alpha)``, ``LinearDiscriminantAnalysis(solver="lsqr",
shrinkage="auto")`` (or an ``OAS`` covariance estimator) and ``LogisticRegression(C)``
(multinomial for more than two classes).
"""

import dataclasses
import warnings

import torch

from neuroalign._backend import plan_batches
from neuroalign.decoding._logistic import feature_scale, fit_logistic_folds
from neuroalign.exceptions import NeuroalignWarning

__all__ = [
    "ClassStatistics",
    "LinearDecision",
    "class_statistics",
    "fit_linear",
    "class_weights",
]

_FLOAT64 = torch.float64
_MAX_HALVINGS = 30
_ARMIJO = 1e-4


@dataclasses.dataclass(frozen=True)
class LinearDecision:
    """Linear decision functions of a batch of fitted classifiers.

    Attributes
    ----------
    weights : Tensor of shape (n_batch, n_features, n_outputs)
        For the raw (unstandardised) features.
    bias : Tensor of shape (n_batch, n_outputs)
    n_iter : int
        Newton or L-BFGS iterations (logistic regression), 0 for closed-form solvers.
    """

    weights: torch.Tensor
    bias: torch.Tensor
    n_iter: int = 0

    def decisions(self, X):
        """Decision values ``X @ weights + bias``.

        Parameters
        ----------
        X : Tensor of shape (n_batch, n_samples, n_features)

        Returns
        -------
        decisions : Tensor of shape (n_batch, n_samples, n_outputs)
        """
        weights = self.weights.to(X.dtype)
        return torch.baddbmm(self.bias.to(X.dtype)[:, None, :], X, weights)


def class_weights(codes, n_classes, class_weight, *, device):
    """Weight of every class, for class balancing.

    Parameters
    ----------
    codes : Tensor of int64 of shape (n_samples,)
        Class of every training sample.
    n_classes : int
    class_weight : None, "balanced" or sequence of float of length n_classes
        ``"balanced"``: ``n_samples / (n_classes * n_samples_of_the_class)``, as
        scikit-learn; a sequence gives the weight of every class.
    device : torch.device

    Returns
    -------
    weights : Tensor of float64 of shape (n_classes,) or None
        ``None`` when no weighting is asked for.
    """
    if class_weight is None:
        return None
    if isinstance(class_weight, str):
        counts = torch.bincount(codes, minlength=n_classes).to(_FLOAT64)
        return (codes.shape[0] / (n_classes * counts)).to(device)
    return torch.as_tensor(class_weight, dtype=_FLOAT64, device=device)


def _one_hot(codes, n_classes, dtype):
    return torch.nn.functional.one_hot(codes, n_classes).to(dtype)


@dataclasses.dataclass(frozen=True)
class ClassStatistics:
    """Per-class sample counts, sums and cross products of a batch of data (float64).

    Statistics of a training set are those of all samples minus those of the test
    samples, so cross-validation folds never copy or re-read the training data.

    Attributes
    ----------
    counts : Tensor of shape (n_classes,)
    sums : Tensor of shape (n_batch, n_classes, n_features)
    grams : Tensor of shape (n_batch, n_classes, n_features, n_features)
    """

    counts: torch.Tensor
    sums: torch.Tensor
    grams: torch.Tensor

    def __sub__(self, other):
        return ClassStatistics(
            self.counts - other.counts, self.sums - other.sums, self.grams - other.grams
        )


def class_statistics(X, codes, n_classes, *, per_class=True):
    """:class:`ClassStatistics` of ``X`` (n_batch, n_samples, n_features) by class.

    Products run in the dtype of ``X`` (centre the data first so that float32 loses
    nothing to cancellation); the results are float64. With ``per_class=False`` the
    cross products are summed over classes (``grams`` has one class entry), which is
    all an unweighted ridge classifier needs.
    """
    one_hot = _one_hot(codes, n_classes, X.dtype)
    sums = (X.transpose(1, 2) @ one_hot).transpose(1, 2).to(_FLOAT64)
    if per_class:
        grams = torch.stack(
            [(X[:, codes == k].transpose(1, 2) @ X[:, codes == k]) for k in range(n_classes)], 1
        ).to(_FLOAT64)
    else:
        grams = (X.transpose(1, 2) @ X).to(_FLOAT64)[:, None]
    counts = torch.bincount(codes, minlength=n_classes).to(_FLOAT64)
    return ClassStatistics(counts, sums, grams)


def _overall(stats, dtype):
    """Training mean (B, 1, p) and standardisation scale (B, 1, p) from class statistics."""
    n = stats.counts.sum()
    mean = stats.sums.sum(1, keepdim=True) / n
    second = stats.grams.diagonal(dim1=-2, dim2=-1).sum(1, keepdim=True) / n
    variance = (second - mean.square()).clamp_min(0)
    return mean, feature_scale(variance, mean, dtype)


def _ridge(stats, per_class, scale, *, alpha):
    """``RidgeClassifier`` on standardised features, solved for raw features.

    Ridge on ``Z = (X - mean) / scale`` with penalty ``alpha * ||w_z||^2`` is ridge on
    the centred ``X`` with penalty ``alpha * sum(scale^2 * w^2)``; with sample weight
    ``w_k`` for class ``k`` every term comes from the class statistics.
    """
    n_classes = stats.counts.shape[0]
    mass = per_class * stats.counts
    total = mass.sum()
    x_mean = (per_class[None, :, None] * stats.sums).sum(1, keepdim=True) / total
    if stats.grams.shape[1] == 1:
        scatter = stats.grams[:, 0].clone()  # cross products summed over (unweighted) classes
    else:
        scatter = (per_class[None, :, None, None] * stats.grams).sum(1)
    scatter = scatter - total * x_mean.transpose(1, 2) @ x_mean
    # X_c' W (Y - y_mean) = 2 X_c' W one_hot for targets in {-1, 1}.
    rhs = (
        2.0
        * per_class[None, None, :]
        * (stats.sums.transpose(1, 2) - x_mean.transpose(1, 2) * stats.counts[None, None, :])
    )
    y_mean = 2.0 * mass / total - 1.0
    if n_classes == 2:
        rhs, y_mean = rhs[..., 1:], y_mean[1:]
    scatter.diagonal(dim1=1, dim2=2).add_(alpha * scale.square()[:, 0])
    coef = torch.cholesky_solve(rhs, torch.linalg.cholesky(scatter))
    bias = y_mean - (x_mean @ coef)[:, 0]
    return coef, bias


def _ridge_dual(X, codes, n_classes, weights, mean, scale, *, alpha):
    """Ridge classifier in kernel form, for more features than samples."""
    if weights is None:
        weights = torch.ones(X.shape[1], dtype=_FLOAT64, device=X.device)
    targets = 2.0 * _one_hot(codes, n_classes, _FLOAT64) - 1.0
    if n_classes == 2:
        targets = targets[:, 1:]
    total = weights.sum()
    Z = (X.to(_FLOAT64) - mean) / scale
    z_mean = (weights[None, :, None] * Z).sum(1, keepdim=True) / total
    y_mean = (weights[:, None] * targets).sum(0) / total
    root = weights.sqrt()
    Zc = (Z - z_mean) * root[None, :, None]
    kernel = Zc @ Zc.transpose(1, 2)
    kernel.diagonal(dim1=1, dim2=2).add_(alpha)
    centred = ((targets - y_mean) * root[:, None]).expand(X.shape[0], -1, -1)
    coef = Zc.transpose(1, 2) @ torch.cholesky_solve(centred, torch.linalg.cholesky(kernel))
    coef = coef / scale.transpose(1, 2)
    bias = y_mean - ((z_mean * scale + mean) @ coef)[:, 0]
    return coef, bias


def _ledoit_wolf_shrinkage(variances, frobenius, squared_norms, counts):
    """Ledoit-Wolf shrinkage (scikit-learn's) of every class, from statistics of its rows.

    Parameters
    ----------
    variances : (B, K, p) diagonal of the empirical covariance of the standardised rows
    frobenius : (B, K) squared Frobenius norm of their scatter matrix
    squared_norms : (B, K, n_k) or list of (B, n_k): squared norm of every standardised row
    counts : (K,) rows per class

    Returns
    -------
    shrinkage, mu : (B, K)
    """
    p = variances.shape[-1]
    mu = variances.sum(-1) / p
    delta_sum = frobenius / counts**2
    beta_sum = torch.stack([norms.square().sum(-1) for norms in squared_norms], 1)
    beta = (beta_sum / counts - delta_sum) / (p * counts)
    delta = (delta_sum - 2.0 * mu * variances.sum(-1) + p * mu.square()) / p
    beta = torch.minimum(beta, delta)
    return torch.where(beta == 0, torch.zeros_like(beta), beta / delta), mu


def _oas_shrinkage(variances, frobenius, counts):
    """Oracle approximating shrinkage (scikit-learn's ``oas``) of every class, and its mu."""
    p = variances.shape[-1]
    alpha = frobenius / (counts * p) ** 2
    mu = variances.sum(-1) / p
    numerator = alpha + mu.square()
    denominator = (counts + 1) * (alpha - mu.square() / p)
    safe = torch.where(denominator == 0, torch.ones_like(denominator), denominator)
    shrinkage = torch.where(
        denominator == 0, torch.ones_like(alpha), (numerator / safe).clamp(max=1.0)
    )
    return shrinkage, mu


def _lda(stats, class_weighted, *, shrinkage, standardize, row_norms, dtype):
    """``LinearDiscriminantAnalysis(solver="lsqr")`` after a ``StandardScaler``.

    Every class covariance is ``(1 - s_k) S_k / n_k + s_k mu_k diag(u_k^2)`` for the
    scatter ``S_k`` of the standardised rows, with ``u_k = 1`` except for Ledoit-Wolf
    (which shrinks the rows standardised by their class scale ``u_k``). So the pooled
    covariance is one weighted sum of the raw class scatters, moved to the
    standardised space by the overall training scale, plus a diagonal; the
    shrinkages need only the diagonals and (weighted) Frobenius norms of the
    scatters. The standardised data are never formed. ``row_norms(inverse_variances,
    means)`` returns, for every training row of every class,
    ``sum((x - mean_k)^2 * inverse_variances_k)`` (Ledoit-Wolf only). Returns weights
    for raw features.
    """
    counts = stats.counts
    n_batch, n_classes, p = stats.sums.shape
    n = counts.sum()
    priors = counts / n if not class_weighted else torch.full_like(counts, 1.0 / n_classes)
    class_means = stats.sums / counts[None, :, None]
    overall, scale = _overall(stats, dtype)
    if not standardize:
        overall, scale = torch.zeros_like(overall), torch.ones_like(scale)
    # Raw scatter of every class, grams - n_k m_k m_kᵀ, as one batched rank-one update.
    rooted = (class_means * counts.sqrt()[None, :, None]).reshape(-1, p, 1)
    scatters = torch.baddbmm(stats.grams.reshape(-1, p, p), rooted, rooted.mT, alpha=-1.0).view(
        n_batch, n_classes, p, p
    )
    inverse_square = 1.0 / scale.square()  # (B, 1, p)
    diagonals = scatters.diagonal(dim1=-2, dim2=-1) * inverse_square
    unit_square = torch.ones_like(diagonals)
    if shrinkage == "ledoit_wolf":
        class_scale = (diagonals / counts[None, :, None]).sqrt()
        class_scale = torch.where(class_scale > 0, class_scale, torch.ones_like(class_scale))
        unit_square = class_scale.square()
        norms = row_norms(inverse_square / unit_square, class_means)
    # Frobenius norms of the standardised scatters: sum_ij S_ij^2 w_i w_j.
    weights = inverse_square / unit_square
    frobenius = ((scatters.square() @ weights[..., None])[..., 0] * weights).sum(-1)
    variances = diagonals / unit_square / counts[None, :, None]
    if shrinkage == "ledoit_wolf":
        intensity, mu = _ledoit_wolf_shrinkage(variances, frobenius, norms, counts)
    elif shrinkage == "oas":
        intensity, mu = _oas_shrinkage(variances, frobenius, counts)
    else:
        mu = variances.sum(-1) / p
        intensity = torch.full_like(mu, float(shrinkage))
    mixing = priors * (1.0 - intensity) / counts  # (B, K)
    pooled = torch.einsum("bkij,bk->bij", scatters, mixing)
    covariance = pooled * (inverse_square.mT.sqrt() * inverse_square.sqrt())
    diagonal = ((priors * intensity * mu)[..., None] * unit_square).sum(1)
    covariance.diagonal(dim1=1, dim2=2).add_(diagonal)
    standard_means = ((class_means - overall) / scale).transpose(1, 2)
    coef = torch.linalg.solve(covariance, standard_means)
    bias = -0.5 * (standard_means * coef).sum(1) + priors.log()
    if n_classes == 2:
        coef, bias = coef[..., 1:] - coef[..., :1], bias[:, 1:] - bias[:, :1]
    coef = coef / scale.transpose(1, 2)
    return coef, bias - (overall @ coef)[:, 0]


def _logistic_objective(logits, beta, targets, weights, C, penalty):
    """Objective of every batch: ``C * sum(w * log-loss) + sum(penalty * beta^2) / 2``."""
    losses = torch.nn.functional.softplus(logits) - targets * logits
    loss = (weights[None, :, None] * losses).sum((1, 2))
    return C * loss + 0.5 * (penalty * beta.square()).sum((1, 2))


def _logistic_gradient(logits, beta, Xa, targets, weights, C, penalty):
    """Gradient of the logistic objective (float64) and the class probabilities.

    The product runs as ``residual' Xa`` so that ``Xa`` is read in its row-major
    layout (batched products with a transposed view are slow on the CPU).
    """
    probabilities = torch.sigmoid(logits)
    residual = weights[None, :, None] * (probabilities - targets)
    data_term = (residual.transpose(1, 2) @ Xa).transpose(1, 2)
    return C * data_term + penalty * beta, probabilities


def _newton_direction(gradient, probabilities, Xa_fast, weights, C, penalty, *, fast):
    """Newton direction of binary problems, the Hessian built from the compute-dtype data.

    ``fast`` (index, transposed, work): the problems of ``Xa_fast`` to use (None for
    all), the contiguous transpose of ``Xa_fast`` and a buffer of its shape for the
    scaled copy (or None for both). The Hessian is factored in the dtype of
    ``gradient``.
    """
    index, transposed, work = fast
    if transposed is None:
        Xa_fast = Xa_fast if index is None else Xa_fast[index]
    n_batch = gradient.shape[0]
    curvature = weights[None, :] * (probabilities * (1 - probabilities))[..., 0]
    root = curvature.sqrt().to(Xa_fast.dtype)
    # (n_batch, q, n_samples), scaled by the square roots of the curvatures.
    if transposed is None:
        rooted = (Xa_fast * root[..., None]).mT
    elif index is None:
        rooted = torch.mul(transposed, root[:, None, :], out=work)
    else:
        rooted = torch.index_select(transposed, 0, index, out=work[: len(index)])
        rooted.mul_(root[:, None, :])
    hessian = C * (rooted @ rooted.mT).to(gradient.dtype)
    ridge = penalty[..., 0].clone()
    # The intercept is not penalised; a tiny damping keeps the Hessian invertible.
    ridge[:, -1] = 1e-10 * C * weights.sum()
    hessian.diagonal(dim1=1, dim2=2).add_(ridge)
    factor = _cholesky(hessian)
    half = torch.linalg.solve_triangular(factor, gradient.reshape(n_batch, -1, 1), upper=False)
    direction = torch.linalg.solve_triangular(factor.mT, half, upper=True)
    return -direction.reshape(gradient.shape)


def _cholesky(matrix):
    """Cholesky factor, adding a growing jitter to the diagonal where rounding broke it."""
    factor, info = torch.linalg.cholesky_ex(matrix)
    jitter = 1e-12 * matrix.diagonal(dim1=-2, dim2=-1).abs().amax(-1)
    while bool((info > 0).any()):
        jitter = jitter * 100
        failed = info > 0
        repaired = matrix[failed].clone()
        repaired.diagonal(dim1=-2, dim2=-1).add_(jitter[failed, None])
        factor[failed], info[failed] = torch.linalg.cholesky_ex(repaired)
    return factor


def _logistic_chunk(Xa, Xa_fast, targets, weights, C, penalty, max_iter, tol, beta):
    """Damped Newton iterations (Armijo backtracking) from ``beta`` until the gradient is small.

    Runs in the dtype of ``Xa``; when ``Xa`` is ``Xa_fast`` (float32 data) the
    products with the data also run through its contiguous transpose (batched
    matrix-vector products are several times faster in that layout on the CPU).
    The logits of a step ``beta + s * direction`` are
    ``logits + s * (Xa @ direction)``, so the line search and the next gradient
    never re-read the data; Hessians are built only for the problems whose
    gradient is still above the tolerance. In float64 a step whose predicted
    decrease is below the resolution of the objective is taken in full. A float32
    run (a start for the float64 one) also stops the problems whose gradient
    stopped shrinking at float32 resolution.

    Returns
    -------
    beta : Tensor of shape (n_batch, n_features + 1, n_outputs)
    n_iter : int
    converged : bool
    """
    dtype = Xa.dtype
    single = dtype != _FLOAT64
    resolution = 1e-6 if single else 1e-12
    targets, weights, penalty = targets.to(dtype), weights.to(dtype), penalty.to(dtype)
    beta = beta.to(dtype)
    XaT = Xa.mT.contiguous() if Xa is Xa_fast else None
    work = None if XaT is None else torch.empty_like(XaT)
    logits = _times(Xa, XaT, beta)
    objective = _logistic_objective(logits, beta, targets, weights, C, penalty)
    scale = C * weights.sum()
    stalled = torch.zeros_like(objective, dtype=torch.bool)
    previous = torch.full_like(objective, torch.inf)
    for iteration in range(max_iter + 1):
        gradient, probabilities = _logistic_gradient(logits, beta, Xa, targets, weights, C, penalty)
        largest = gradient.abs().amax((1, 2))
        active = largest > tol * scale
        if single:
            active &= ~(stalled & (largest > 0.5 * previous))
        if not active.any():
            return beta, iteration, True
        if iteration == max_iter:
            break
        # Converged problems keep their weights (a zero step, accepted at once).
        index = None if active.all() else active.nonzero()[:, 0]
        rows = slice(None) if index is None else index
        direction = torch.zeros_like(beta)
        direction[rows] = _newton_direction(
            gradient[rows],
            probabilities[rows],
            Xa_fast,
            weights,
            C,
            penalty[rows],
            fast=(index, XaT, work),
        )
        change = _times(Xa, XaT, direction)
        slope = (gradient * direction).sum((1, 2))
        negligible = -slope <= resolution * objective.abs()
        step = torch.ones_like(objective)
        for _ in range(_MAX_HALVINGS):
            candidate = beta + step[:, None, None] * direction
            candidate_logits = logits + step[:, None, None] * change
            value = _logistic_objective(candidate_logits, candidate, targets, weights, C, penalty)
            accepted = negligible | (value <= objective + _ARMIJO * step * slope)
            if accepted.all():
                break
            step = torch.where(accepted, step, 0.5 * step)
        beta, logits, objective = candidate, candidate_logits, value
        stalled, previous = negligible, largest
    if not single:
        warnings.warn(
            f"Logistic regression did not converge in max_iter={max_iter} Newton iterations "
            f"(largest gradient {float(largest.amax() / scale):.2e} > tol={tol}). "
            "Increase max_iter or regularise more (smaller C).",
            NeuroalignWarning,
            stacklevel=4,
        )
    return beta, max_iter, False


def _times(Xa, XaT, vectors):
    """``Xa @ vectors``, through ``XaT`` (the contiguous transpose of ``Xa``) when given."""
    return Xa @ vectors if XaT is None else (vectors.mT @ XaT).mT


def _logistic(X, codes, weights, scale, start, *, C, max_iter, tol, max_memory):
    """Binary ``LogisticRegression(C)`` on standardised features, for centred raw features.

    The penalty ``||w_z||^2`` on standardised weights is ``sum(scale^2 * w^2)`` on raw
    ones, and the unpenalised intercept absorbs the centring, so Newton's method
    runs on the centred data with a per-feature penalty. ``start`` (n_batch,
    n_features + 1, 1), weights and intercept for the centred data, or None for
    zeros, is where Newton's method starts. Float32 data first run Newton's method
    in float32 (a quarter of the tolerance) and finish in float64, so the float64
    gradient meets the same tolerance.
    """
    n_batch, n_samples, n_features = X.shape
    targets = codes.to(_FLOAT64)[:, None]
    if weights is None:
        weights = torch.ones(n_samples, dtype=_FLOAT64, device=X.device)
    q = n_features + 1
    per_item = 8 * (3 * q * q + 8 * n_samples * q)
    betas, n_iter = [], 0
    for batch in plan_batches(n_batch, per_item, max_memory, device=X.device):
        block = X[batch]
        Xa_fast = torch.empty(*block.shape[:2], n_features + 1, dtype=X.dtype, device=X.device)
        Xa_fast[..., :n_features] = block
        Xa_fast[..., n_features] = 1.0
        penalty = torch.cat([scale[batch, 0].square(), torch.zeros_like(scale[batch, 0, :1])], -1)
        penalty = penalty[..., None]
        if start is None:
            shape = (len(block), n_features + 1, 1)
            beta = torch.zeros(shape, dtype=_FLOAT64, device=X.device)
        else:
            beta = start[batch]
        used = 0
        options = (targets, weights, C, penalty, max_iter)
        if Xa_fast.dtype != _FLOAT64:
            beta, used, _ = _logistic_chunk(Xa_fast, Xa_fast, *options, tol / 4, beta)
        beta, more, _ = _logistic_chunk(Xa_fast.to(_FLOAT64), Xa_fast, *options, tol, beta)
        betas.append(beta)
        n_iter = max(n_iter, used + more)
    beta = torch.cat(betas)
    return beta[:, :-1], beta[:, -1], n_iter


def _row_norms(X, codes, rows):
    """``row_norms`` callback of :func:`_lda` over the rows ``rows`` of ``X``."""
    squares = X.square()

    def norms(inverse_variances, means):
        inverse = inverse_variances.to(X.dtype).transpose(1, 2)
        quadratic = (squares @ inverse).to(_FLOAT64)
        linear = (X @ (means * inverse_variances).to(X.dtype).transpose(1, 2)).to(_FLOAT64)
        constant = (means.square() * inverse_variances).sum(-1)
        values = quadratic - 2.0 * linear + constant[:, None, :]
        return [values[:, rows[codes[rows] == k], k] for k in range(means.shape[1])]

    return norms


def fit_linear(
    X,
    codes,
    n_classes,
    *,
    train=None,
    statistics=None,
    classifier="ridge",
    alpha=1.0,
    shrinkage="ledoit_wolf",
    C=1.0,
    class_weight=None,
    standardize=True,
    max_iter=100,
    tol=None,
    start=None,
    max_memory=None,
):
    """Fit a batch of linear classifiers that share their labels.

    Parameters
    ----------
    X : Tensor of shape (n_batch, n_samples, n_features)
        Float data; matrix products run in its dtype (centre float32 data first),
        statistics, covariances and solves in float64.
    codes : Tensor of int64 of shape (n_samples,)
        Class index of every sample, ``0 .. n_classes - 1``.
    n_classes : int
    train : Tensor of int64 of shape (n_train,), optional
        Rows to fit on (default all); every class must be present.
    statistics : ClassStatistics, optional
        :func:`class_statistics` of all rows of ``X``; ridge and LDA then take the
        training statistics as these minus the statistics of the other rows. LDA and
        weighted ridge need them ``per_class``.
    classifier : {"ridge", "lda", "logistic"}, default="ridge"
    alpha : float, default=1.0
        Ridge penalty.
    shrinkage : {"ledoit_wolf", "oas"} or float, default="ledoit_wolf"
        LDA covariance shrinkage (a float in [0, 1] is a fixed shrinkage).
    C : float, default=1.0
        Inverse L2 penalty of logistic regression.
    class_weight : None, "balanced" or sequence of float, default=None
        Sample weights by class (see :func:`class_weights`); for LDA any weighting
        gives equal class priors.
    standardize : bool, default=True
        Standardise every feature with the training mean and std (as a
        ``StandardScaler`` step); the returned weights apply to raw features.
    max_iter : int, default=100
        Logistic regression: Newton iterations (two classes) or L-BFGS iterations of
        each precision (more classes, see ``fit_logistic_folds``).
    tol : float, optional
        Logistic regression stops when every gradient entry is below
        ``tol * C * sum(weights)``; default 1e-6 for float32 data and 1e-10 for float64.
    start : LinearDecision, optional
        Logistic regression starts from these classifiers (e.g. those of a previous
        cross-validation fold, which share most training samples) instead of from
        zero weights; other classifiers ignore it.
    max_memory : int or str or None, default=None
        Budget for logistic regression Hessians and bounds.

    Returns
    -------
    decision : LinearDecision
    """
    codes = codes.to(X.device)
    n_samples, n_features = X.shape[1], X.shape[2]
    rows = torch.arange(n_samples, device=X.device) if train is None else train.to(X.device)
    train_codes = codes[rows]
    if tol is None:
        tol = 1e-10 if X.dtype == _FLOAT64 else 1e-6
    per_class = class_weights(train_codes, n_classes, class_weight, device=X.device)
    weights = None if per_class is None else per_class[train_codes]
    needs_rows = classifier == "logistic" or (classifier == "ridge" and n_features > len(rows))
    if needs_rows:
        block = X[:, rows]
        # Sums over the sample axis as products with ones (reductions along that axis are
        # slow); the variance sums squares of the centred data, so nothing cancels.
        ones = torch.ones(X.shape[0], 1, len(rows), dtype=X.dtype, device=X.device)
        mean = (ones @ block).to(_FLOAT64) / len(rows)
        centred = block - mean.to(X.dtype)
        variance = (ones @ centred.square()).to(_FLOAT64) / len(rows)
        scale = feature_scale(variance, mean, X.dtype)
        if not standardize:
            scale = torch.ones_like(scale)
        if classifier == "ridge":
            coef, bias = _ridge_dual(
                block, train_codes, n_classes, weights, mean, scale, alpha=alpha
            )
            return LinearDecision(weights=coef, bias=bias)
        initial = None
        if start is not None:
            centred_bias = start.bias + (mean @ start.weights)[:, 0]
            initial = torch.cat([start.weights, centred_bias[:, None, :]], 1)
        if n_classes > 2:
            sample_weights = torch.ones(len(rows), 1, dtype=_FLOAT64, device=X.device)
            if weights is not None:
                sample_weights = weights[:, None].to(_FLOAT64)
            coef, bias, n_iter = fit_logistic_folds(
                centred,
                train_codes,
                n_classes,
                sample_weights,
                C=C,
                max_iter=max_iter,
                tol=tol,
                standardize=standardize,
                origin=mean,
                start=None if initial is None else initial.mT[:, None],
                max_memory=max_memory,
            )
            coef, bias = coef[:, 0], bias[:, 0]
            return LinearDecision(weights=coef, bias=bias - (mean @ coef)[:, 0], n_iter=n_iter)
        coef, bias, n_iter = _logistic(
            centred,
            train_codes,
            weights,
            scale,
            initial,
            C=C,
            max_iter=max_iter,
            tol=tol,
            max_memory=max_memory,
        )
        return LinearDecision(weights=coef, bias=bias - (mean @ coef)[:, 0], n_iter=n_iter)
    offset = None
    if statistics is None:
        offset = X[:, rows].mean(1, keepdim=True)
        X = X - offset
        separate = classifier == "lda" or weights is not None
        stats = class_statistics(X[:, rows], train_codes, n_classes, per_class=separate)
    elif len(rows) == n_samples:
        stats = statistics
    else:
        held_out = torch.ones(n_samples, dtype=torch.bool, device=X.device)
        held_out[rows] = False
        separate = statistics.grams.shape[1] > 1
        stats = statistics - class_statistics(
            X[:, held_out], codes[held_out], n_classes, per_class=separate
        )
    if per_class is None:
        per_class = torch.ones(n_classes, dtype=_FLOAT64, device=X.device)
    if classifier == "ridge":
        _, scale = _overall(stats, X.dtype)
        if not standardize:
            scale = torch.ones_like(scale)
        coef, bias = _ridge(stats, per_class, scale, alpha=alpha)
    else:
        coef, bias = _lda(
            stats,
            weights is not None,
            shrinkage=shrinkage,
            standardize=standardize,
            row_norms=_row_norms(X, codes, rows),
            dtype=X.dtype,
        )
    if offset is not None:
        bias = bias - (offset.to(_FLOAT64) @ coef)[:, 0]
    return LinearDecision(weights=coef, bias=bias)
