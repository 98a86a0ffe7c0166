"""Batched linear classifiers: ridge, shrinkage LDA and L2 logistic regression.

Every solver fits a batch of independent problems that share their labels (one per
time point, or per train time of a generalisation matrix): ``X`` has shape
``(n_batch, n_samples, n_features)`` and the result is a :class:`LinearDecision`
with weights ``(n_batch, n_features, n_outputs)``. Binary problems have one output
(the score of the second class); ``n_classes > 2`` problems one output per class.
Ridge statistics, covariances and solves run in float64. LDA forms the scatter of
every class in the dtype of the data, from rows centred by their class mean (so
float32 loses nothing to cancellation); its pooled covariance and solve run in
float64.

Each solver matches a scikit-learn estimator fitted on the same (standardised) data:
``RidgeClassifier(alpha)``, ``LinearDiscriminantAnalysis(solver="lsqr",
shrinkage="auto")`` (or an ``OAS`` covariance estimator) and ``LogisticRegression(C)``
(multinomial for more than two classes).
"""

import dataclasses

import torch

from neuroalign.decoding._logistic import feature_scale, fit_logistic_folds

__all__ = [
    "ClassStatistics",
    "LinearDecision",
    "class_statistics",
    "fit_linear",
    "class_weights",
    "ridge_solution",
    "ridge_system",
    "training_standardisation",
]

_FLOAT64 = torch.float64


@dataclasses.dataclass(frozen=True)
class LinearDecision:
    """Linear decision functions of a batch of fitted classifiers.

    Attributes
    ----------
    weights : Tensor of shape (n_batch, n_features, n_outputs)
        For the raw (unstandardised) features.
    bias : Tensor of shape (n_batch, n_outputs)
    n_iter : int
        L-BFGS iterations (logistic regression), 0 for closed-form solvers.
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
    sums = (one_hot.T @ X).to(_FLOAT64)
    if per_class:
        n_batch, _, n_features = X.shape
        grams = torch.empty(
            n_batch, n_classes, n_features, n_features, dtype=_FLOAT64, device=X.device
        )
        for k, rows in enumerate(_class_rows(codes, n_classes)):
            block = X.index_select(1, rows)
            grams[:, k] = block.transpose(1, 2) @ block
    else:
        grams = (X.transpose(1, 2) @ X).to(_FLOAT64)[:, None]
    counts = torch.bincount(codes, minlength=n_classes).to(_FLOAT64)
    return ClassStatistics(counts, sums, grams)


def _class_rows(codes, n_classes, rows=None):
    """Indices (into ``X``) of the rows ``rows`` (default all) of every class, ascending."""
    if rows is None:
        rows = torch.arange(codes.shape[0], device=codes.device)
    own = codes[rows]
    return [rows[own == k] for k in range(n_classes)]


def training_standardisation(stats, dtype):
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
    system = ridge_system(stats, per_class, scale, alpha=alpha)
    return ridge_solution(system, stats.sums, stats.counts, per_class)


def ridge_system(stats, per_class, scale, *, alpha):
    """The part of a ridge classifier that does not depend on the labels' order.

    Parameters
    ----------
    stats : ClassStatistics
        Of the training rows.
    per_class : Tensor of float64 of shape (n_classes,)
        Sample weight of every class (ones for none).
    scale : Tensor of shape (n_batch, 1, n_features)
        Standardisation scale (the penalty of raw weights is ``alpha * scale^2``).
    alpha : float

    Returns
    -------
    x_mean : Tensor of float64 of shape (n_batch, 1, n_features)
        Weighted training mean.
    total : Tensor of float64 of shape ()
        Total sample weight.
    factor : Tensor of float64 of shape (n_batch, n_features, n_features)
        Cholesky factor of the penalised centred scatter.
    """
    total = (per_class * stats.counts).sum()
    x_mean = (per_class[None, :, None] * stats.sums).sum(1, keepdim=True) / total
    if stats.grams.shape[1] == 1:
        scatter = stats.grams[:, 0].clone()  # cross products summed over (unweighted) classes
    else:
        scatter = (per_class[None, :, None, None] * stats.grams).sum(1)
    scatter = scatter - total * x_mean.transpose(1, 2) @ x_mean
    scatter.diagonal(dim1=1, dim2=2).add_(alpha * scale.square()[:, 0])
    return x_mean, total, torch.linalg.cholesky(scatter)


def ridge_solution(system, sums, counts, per_class):
    """Ridge classifier weights for the targets ``2 * one_hot - 1`` of one or more labellings.

    The targets enter only through the class sums and counts, so labellings of the
    same rows (e.g. label permutations) share the :func:`ridge_system` and are
    solved as extra right-hand sides.

    Parameters
    ----------
    system : tuple
        :func:`ridge_system` of the training rows.
    sums : Tensor of float64 of shape (n_batch, ..., n_classes, n_features)
        Class sums of the training rows under every labelling.
    counts : Tensor of float64 of shape (..., n_classes)
    per_class : Tensor of float64 of shape (n_classes,)

    Returns
    -------
    coef : Tensor of float64 of shape (n_batch, n_features, n_labellings * n_outputs)
        Labellings (the flattened middle dims of ``sums``) by outputs (one, the score
        of class 1, for two classes; ``n_classes`` otherwise).
    bias : Tensor of float64 of shape (n_batch, n_labellings * n_outputs)
    """
    x_mean, total, factor = system
    # X_c' W (Y - y_mean) = 2 X_c' W one_hot for targets in {-1, 1}.
    centre = x_mean.view(x_mean.shape[0], *[1] * (sums.ndim - 2), x_mean.shape[-1])
    rhs = 2.0 * per_class[:, None] * (sums - centre * counts[..., None])
    y_mean = 2.0 * per_class * counts / total - 1.0
    if counts.shape[-1] == 2:
        rhs, y_mean = rhs[..., 1:, :], y_mean[..., 1:]
    rhs = rhs.reshape(rhs.shape[0], -1, rhs.shape[-1]).transpose(1, 2)
    coef = torch.cholesky_solve(rhs, factor)
    bias = y_mean.reshape(-1) - (x_mean @ coef)[:, 0]
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


def _ledoit_wolf_shrinkage(variances, frobenius, fourth, counts):
    """Ledoit-Wolf shrinkage (scikit-learn's) of every class, from statistics of its rows.

    Parameters
    ----------
    variances : (B, K, p) diagonal of the empirical covariance of the standardised rows
    frobenius : (B, K) squared Frobenius norm of their scatter matrix
    fourth : (B, K) sum over the rows of the fourth power of their norm
    counts : (K,) rows per class

    Returns
    -------
    shrinkage, mu : (B, K)
    """
    p = variances.shape[-1]
    mu = variances.sum(-1) / p
    delta_sum = frobenius / counts**2
    beta = (fourth / counts - delta_sum) / (p * counts)
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


def _weighted_frobenius(scatter, weights):
    """``sum_ij S_ij^2 w_i w_j`` (float64, (B,)) of scatters (B, p, p) and weights (B, p)."""
    root = weights.sqrt().to(scatter.dtype)
    scaled = scatter * (root[:, :, None] * root[:, None, :])
    return torch.linalg.vector_norm(scaled, dim=(-2, -1)).to(_FLOAT64).square()


@dataclasses.dataclass(frozen=True)
class _ClassScatters:
    """Scatter matrices of the training rows of every class (see :func:`_class_scatters`).

    Attributes
    ----------
    counts : Tensor of float64 of shape (K,)
    means : Tensor of float64 of shape (B, K, p)
    diagonals : Tensor of float64 of shape (B, K, p)
        Diagonals of the scatters.
    scatters : list of K Tensors of shape (B, p, p), in the dtype of the data
    frobenius, fourth : Tensor of float64 of shape (B, K) or None
        Ledoit-Wolf statistics of the rows standardised by their class scale: squared
        Frobenius norm of their scatter, and sum of the fourth powers of their norms.
    """

    counts: torch.Tensor
    means: torch.Tensor
    diagonals: torch.Tensor
    scatters: list
    frobenius: torch.Tensor | None
    fourth: torch.Tensor | None


def _class_scatters(X, codes, rows, n_classes, *, ledoit_wolf):
    """:class:`_ClassScatters` of the rows ``rows`` of ``X`` (B, n, p), one class at a time.

    Each class is gathered once and centred by its own mean, so float32 products lose
    nothing to cancellation and nothing is read twice; the Ledoit-Wolf statistics are
    taken while the class rows are at hand.
    """
    counts, means, diagonals, scatters, frobenius, fourth = [], [], [], [], [], []
    every_class = _class_rows(codes, n_classes, rows)
    # One buffer holds the rows of each class in turn (fresh large tensors cost page faults).
    n_batch, _, n_features = X.shape
    largest = max(len(class_rows) for class_rows in every_class)
    buffer = torch.empty(n_batch * largest * n_features, dtype=X.dtype, device=X.device)
    for class_rows in every_class:
        size = n_batch * len(class_rows) * n_features
        centred = buffer[:size].view(n_batch, len(class_rows), n_features)
        torch.index_select(X, 1, class_rows, out=centred)
        ones = torch.ones(X.shape[0], 1, len(class_rows), dtype=X.dtype, device=X.device)
        mean = (ones @ centred).to(_FLOAT64) / len(class_rows)
        scatter = centred.sub_(mean.to(X.dtype)).transpose(1, 2) @ centred
        diagonal = scatter.diagonal(dim1=-2, dim2=-1).to(_FLOAT64)
        counts.append(len(class_rows))
        means.append(mean)
        diagonals.append(diagonal)
        scatters.append(scatter)
        if ledoit_wolf:
            # Class-standardised rows; a constant feature is 0 in every centred row.
            inverse = torch.where(
                diagonal > 0, len(class_rows) / diagonal, torch.zeros_like(diagonal)
            )
            frobenius.append(_weighted_frobenius(scatter, inverse))
            # Squared norms as a row vector: (B, 1, p) @ (B, p, n) beats (B, n, p) @ (B, p, 1).
            norms = inverse.to(X.dtype)[:, None, :] @ centred.square_().transpose(1, 2)
            fourth.append(norms.to(_FLOAT64).square().sum((1, 2)))
    return _ClassScatters(
        counts=torch.tensor(counts, dtype=_FLOAT64, device=X.device),
        means=torch.cat(means, 1),
        diagonals=torch.stack(diagonals, 1),
        scatters=scatters,
        frobenius=torch.stack(frobenius, 1) if ledoit_wolf else None,
        fourth=torch.stack(fourth, 1) if ledoit_wolf else None,
    )


def _lda(X, codes, rows, n_classes, class_weighted, *, shrinkage, standardize):
    """``LinearDiscriminantAnalysis(solver="lsqr")`` after a ``StandardScaler``.

    Every class covariance is ``(1 - s_k) S_k / n_k + s_k mu_k diag(u_k^2)`` for the
    scatter ``S_k`` of the standardised rows, with ``u_k = 1`` except for Ledoit-Wolf
    (which shrinks the rows standardised by their class scale ``u_k``). So the pooled
    covariance is one weighted sum of the raw class scatters, moved to the
    standardised space by the overall training scale, plus a diagonal; the
    shrinkages need only the diagonals and (weighted) Frobenius norms of the
    scatters, and for Ledoit-Wolf the norms of the class-standardised rows. The
    standardised data are never formed. Only the pooled (B, p, p) covariance and the
    solve run in float64. Returns weights for raw features.
    """
    stats = _class_scatters(X, codes, rows, n_classes, ledoit_wolf=shrinkage == "ledoit_wolf")
    counts = stats.counts
    p = stats.means.shape[-1]
    n = counts.sum()
    priors = counts / n if not class_weighted else torch.full_like(counts, 1.0 / n_classes)
    overall = (counts[None, :, None] * stats.means).sum(1, keepdim=True) / n
    between = counts[None, :, None] * (stats.means - overall).square()
    variance = (stats.diagonals + between).sum(1, keepdim=True) / n
    scale = feature_scale(variance, overall, X.dtype)
    if not standardize:
        overall, scale = torch.zeros_like(overall), torch.ones_like(scale)
    inverse_square = 1.0 / scale.square()  # (B, 1, p)
    diagonals = stats.diagonals * inverse_square
    unit_square = torch.ones_like(diagonals)
    if shrinkage == "ledoit_wolf":
        class_scale = (diagonals / counts[None, :, None]).sqrt()
        unit_square = torch.where(class_scale > 0, class_scale, torch.ones_like(class_scale))
        unit_square = unit_square.square()
    variances = diagonals / unit_square / counts[None, :, None]
    if shrinkage == "ledoit_wolf":
        intensity, mu = _ledoit_wolf_shrinkage(variances, stats.frobenius, stats.fourth, counts)
    elif shrinkage == "oas":
        frobenius = torch.stack(
            [_weighted_frobenius(scatter, inverse_square[:, 0]) for scatter in stats.scatters], 1
        )
        intensity, mu = _oas_shrinkage(variances, frobenius, counts)
    else:
        mu = variances.sum(-1) / p
        intensity = torch.full_like(mu, float(shrinkage))
    mixing = (priors * (1.0 - intensity) / counts).to(X.dtype)  # (B, K)
    pooled = torch.zeros_like(stats.scatters[0])
    for k, scatter in enumerate(stats.scatters):
        pooled.addcmul_(scatter, mixing[:, k, None, None])
    covariance = pooled.to(_FLOAT64) * (inverse_square.mT.sqrt() * inverse_square.sqrt())
    diagonal = ((priors * intensity * mu)[..., None] * unit_square).sum(1)
    covariance.diagonal(dim1=1, dim2=2).add_(diagonal)
    standard_means = ((stats.means - overall) / scale).transpose(1, 2)
    coef = torch.linalg.solve(covariance, standard_means)
    bias = -0.5 * (standard_means * coef).sum(1) + priors.log()
    if n_classes == 2:
        coef, bias = coef[..., 1:] - coef[..., :1], bias[:, 1:] - bias[:, :1]
    coef = coef / scale.transpose(1, 2)
    return coef, bias - (overall @ coef)[:, 0]


def _centre(block):
    """Mean (float64, (B, 1, p)) of the rows of ``block`` and the block centred by it.

    Sums over the sample axis run as products with ones (reductions along that axis
    are slow on the CPU).
    """
    ones = torch.ones(block.shape[0], 1, block.shape[1], dtype=block.dtype, device=block.device)
    mean = (ones @ block).to(_FLOAT64) / block.shape[1]
    return mean, block - mean.to(block.dtype)


def _logistic(block, codes, n_classes, weights, **options):
    """``LogisticRegression`` on the training rows ``block`` (one fold of ``fit_logistic_folds``).

    Runs on the data centred by their mean (float32 products then lose nothing to
    cancellation).
    """
    mean, centred = _centre(block)
    sample_weights = torch.ones(block.shape[1], 1, dtype=_FLOAT64, device=block.device)
    if weights is not None:
        sample_weights = weights[:, None].to(_FLOAT64)
    coef, bias, n_iter = fit_logistic_folds(
        centred, codes, n_classes, sample_weights, origin=mean, **options
    )
    coef, bias = coef[:, 0], bias[:, 0]
    return LinearDecision(weights=coef, bias=bias - (mean @ coef)[:, 0], n_iter=n_iter)


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
    max_memory=None,
):
    """Fit a batch of linear classifiers that share their labels.

    Parameters
    ----------
    X : Tensor of shape (n_batch, n_samples, n_features)
        Float data; matrix products run in its dtype (centre float32 data first for
        ridge and logistic regression; LDA centres every class), covariances and
        solves in float64.
    codes : Tensor of int64 of shape (n_samples,)
        Class index of every sample, ``0 .. n_classes - 1``.
    n_classes : int
    train : Tensor of int64 of shape (n_train,), optional
        Rows to fit on (default all); every class must be present.
    statistics : ClassStatistics, optional
        :func:`class_statistics` of all rows of ``X``; ridge then takes the training
        statistics as these minus the statistics of the other rows (weighted ridge
        needs them ``per_class``). LDA does not use them: it centres the training rows
        of every class by their own mean.
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
        Logistic regression: L-BFGS iterations of each precision (see
        ``fit_logistic_folds``).
    tol : float, optional
        Logistic regression stops when every gradient entry is below
        ``tol * C * sum(weights)``; default 1e-4 (scikit-learn's) for float32 data and
        1e-10 for float64.
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
    per_class = class_weights(train_codes, n_classes, class_weight, device=X.device)
    weights = None if per_class is None else per_class[train_codes]
    if classifier == "logistic":
        return _logistic(
            X[:, rows],
            train_codes,
            n_classes,
            weights,
            C=C,
            max_iter=max_iter,
            tol=tol,
            standardize=standardize,
            max_memory=max_memory,
        )
    if classifier == "ridge" and n_features > len(rows):
        block = X[:, rows]
        mean, centred = _centre(block)
        ones = torch.ones(X.shape[0], 1, len(rows), dtype=X.dtype, device=X.device)
        variance = (ones @ centred.square()).to(_FLOAT64) / len(rows)
        scale = feature_scale(variance, mean, X.dtype)
        if not standardize:
            scale = torch.ones_like(scale)
        coef, bias = _ridge_dual(block, train_codes, n_classes, weights, mean, scale, alpha=alpha)
        return LinearDecision(weights=coef, bias=bias)
    if classifier == "lda":
        coef, bias = _lda(
            X,
            codes,
            rows,
            n_classes,
            weights is not None,
            shrinkage=shrinkage,
            standardize=standardize,
        )
        return LinearDecision(weights=coef, bias=bias)
    offset = None
    if statistics is None:
        offset = X[:, rows].mean(1, keepdim=True)
        X = X - offset
        stats = class_statistics(X[:, rows], train_codes, n_classes, per_class=weights is not None)
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
    _, scale = training_standardisation(stats, X.dtype)
    if not standardize:
        scale = torch.ones_like(scale)
    coef, bias = _ridge(stats, per_class, scale, alpha=alpha)
    if offset is not None:
        bias = bias - (offset.to(_FLOAT64) @ coef)[:, 0]
    return LinearDecision(weights=coef, bias=bias)
