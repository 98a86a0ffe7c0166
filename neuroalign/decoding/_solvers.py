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
from neuroalign.exceptions import NeuroalignWarning

__all__ = ["LinearDecision", "fit_linear", "sample_weights"]

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
        Newton iterations (logistic regression), 0 for closed-form solvers.
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


def sample_weights(codes, n_classes, class_weight, *, device):
    """Per-sample weights for class balancing.

    Parameters
    ----------
    codes : Tensor of int64 of shape (n_samples,)
    n_classes : int
    class_weight : None or "balanced"
        ``"balanced"``: ``n_samples / (n_classes * n_samples_of_the_class)``, as scikit-learn.
    device : torch.device

    Returns
    -------
    weights : Tensor of float64 of shape (n_samples,) or None
    """
    if class_weight is None:
        return None
    counts = torch.bincount(codes, minlength=n_classes).to(_FLOAT64)
    return (codes.shape[0] / (n_classes * counts))[codes].to(device)


def _standardize(X):
    """Mean and scale (population std, 1 where constant) of every batch and feature."""
    mean = X.mean(1, keepdim=True)
    scale = X.std(1, keepdim=True, unbiased=False)
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    return mean, scale


def _one_hot(codes, n_classes, dtype):
    return torch.nn.functional.one_hot(codes, n_classes).to(dtype)


def _ridge(Z, codes, n_classes, weights, *, alpha):
    """``RidgeClassifier``: least squares on ±1 targets with an L2 penalty."""
    n_samples, n_features = Z.shape[1], Z.shape[2]
    targets = 2.0 * _one_hot(codes, n_classes, Z.dtype) - 1.0
    if n_classes == 2:
        targets = targets[:, 1:]
    w = torch.ones(n_samples, dtype=Z.dtype, device=Z.device) if weights is None else weights
    x_mean = (w[None, :, None] * Z).sum(1, keepdim=True) / w.sum()
    y_mean = (w[:, None] * targets).sum(0, keepdim=True) / w.sum()
    root = w.sqrt()[None, :, None]
    Zc = (Z - x_mean) * root
    Yc = ((targets - y_mean) * root[0]).expand(Z.shape[0], -1, -1)
    if n_features <= n_samples:
        gram = Zc.transpose(1, 2) @ Zc
        gram.diagonal(dim1=1, dim2=2).add_(alpha)
        coef = torch.cholesky_solve(Zc.transpose(1, 2) @ Yc, torch.linalg.cholesky(gram))
    else:
        kernel = Zc @ Zc.transpose(1, 2)
        kernel.diagonal(dim1=1, dim2=2).add_(alpha)
        coef = Zc.transpose(1, 2) @ torch.cholesky_solve(Yc, torch.linalg.cholesky(kernel))
    bias = y_mean - (x_mean @ coef)[:, 0]
    return coef, bias


def _ledoit_wolf(U):
    """Ledoit-Wolf covariance of centred rows, each feature standardised first (scikit-learn)."""
    n, p = U.shape[1], U.shape[2]
    scale = U.square().mean(1).sqrt()
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    V = U / scale[:, None, :]
    squares = V.square()
    variances = squares.sum(1) / n
    mu = variances.sum(-1) / p
    cross = V.transpose(1, 2) @ V
    delta_sum = cross.square().sum((-2, -1)) / n**2
    beta_sum = squares.sum(-1).square().sum(-1)
    beta = (beta_sum / n - delta_sum) / (p * n)
    delta = (delta_sum - 2.0 * mu * variances.sum(-1) + p * mu.square()) / p
    beta = torch.minimum(beta, delta)
    shrinkage = torch.where(beta == 0, torch.zeros_like(beta), beta / delta)
    covariance = _shrink(cross / n, shrinkage, mu)
    return scale[:, :, None] * covariance * scale[:, None, :]


def _oas(U):
    """Oracle approximating shrinkage covariance of centred rows (scikit-learn's ``oas``)."""
    n, p = U.shape[1], U.shape[2]
    empirical = U.transpose(1, 2) @ U / n
    alpha = empirical.square().mean((-2, -1))
    mu = empirical.diagonal(dim1=1, dim2=2).sum(-1) / p
    numerator = alpha + mu.square()
    denominator = (n + 1) * (alpha - mu.square() / p)
    safe = torch.where(denominator == 0, torch.ones_like(denominator), denominator)
    shrinkage = torch.where(
        denominator == 0, torch.ones_like(alpha), (numerator / safe).clamp(max=1.0)
    )
    return _shrink(empirical, shrinkage, mu)


def _shrink(empirical, shrinkage, mu):
    shrunk = (1.0 - shrinkage)[:, None, None] * empirical
    shrunk.diagonal(dim1=1, dim2=2).add_((shrinkage * mu)[:, None])
    return shrunk


def _lda(Z, codes, n_classes, weights, *, shrinkage):
    """``LinearDiscriminantAnalysis(solver="lsqr")`` with shrunk class covariances."""
    counts = torch.bincount(codes, minlength=n_classes).to(Z.dtype)
    if weights is None:
        priors = counts / counts.sum()
    else:
        priors = torch.full((n_classes,), 1.0 / n_classes, dtype=Z.dtype, device=Z.device)
    n_features = Z.shape[2]
    covariance = torch.zeros(Z.shape[0], n_features, n_features, dtype=Z.dtype, device=Z.device)
    means = []
    for k in range(n_classes):
        block = Z[:, codes == k]
        mean = block.mean(1, keepdim=True)
        centred = block - mean
        means.append(mean[:, 0])
        if shrinkage == "ledoit_wolf":
            class_covariance = _ledoit_wolf(centred)
        elif shrinkage == "oas":
            class_covariance = _oas(centred)
        else:
            empirical = centred.transpose(1, 2) @ centred / centred.shape[1]
            mu = empirical.diagonal(dim1=1, dim2=2).mean(-1)
            class_covariance = _shrink(empirical, torch.full_like(mu, float(shrinkage)), mu)
        covariance += priors[k] * class_covariance
    means = torch.stack(means, -1)
    coef = torch.linalg.solve(covariance, means)
    bias = -0.5 * (means * coef).sum(1) + priors.log()
    if n_classes == 2:
        coef, bias = coef[..., 1:] - coef[..., :1], bias[:, 1:] - bias[:, :1]
    return coef, bias


def _logistic_objective(beta, Za, targets, weights, C, binary):
    """Objective of every batch: ``C * sum(w * log-loss) + ||coef||^2 / 2``."""
    logits = Za @ beta
    if binary:
        losses = torch.nn.functional.softplus(logits) - targets * logits
    else:
        losses = torch.logsumexp(logits, -1, keepdim=True) - (targets * logits).sum(
            -1, keepdim=True
        )
    return C * (weights[None, :, None] * losses).sum((1, 2)) + 0.5 * beta[:, :-1].square().sum(
        (1, 2)
    )


def _logistic_newton_step(beta, Za, targets, weights, C, binary):
    """Gradient and Newton direction of the logistic objective for every batch."""
    n_batch, n_samples, q = Za.shape
    logits = Za @ beta
    probabilities = torch.sigmoid(logits) if binary else torch.softmax(logits, -1)
    residual = weights[None, :, None] * (probabilities - targets)
    penalty = beta.clone()
    penalty[:, -1] = 0.0
    gradient = C * Za.transpose(1, 2) @ residual + penalty
    n_outputs = beta.shape[-1]
    if binary:
        curvature = weights[None, :] * (probabilities * (1 - probabilities))[..., 0]
        hessian = C * (Za * curvature[..., None]).transpose(1, 2) @ Za
    else:
        weighted = weights[None, :, None] * probabilities
        blocks = torch.einsum("bni,bnj,bnk->bijk", Za, Za, weighted)
        diagonal = torch.diag_embed(blocks).permute(0, 1, 3, 2, 4)
        mixed = (Za[..., :, None] * probabilities[..., None, :]).reshape(n_batch, n_samples, -1)
        cross = (mixed * weights[None, :, None]).transpose(1, 2) @ mixed
        hessian = C * (diagonal.reshape(n_batch, q * n_outputs, q * n_outputs) - cross)
    ridge = torch.ones(q, n_outputs, dtype=Za.dtype, device=Za.device)
    # The intercepts are not penalised; a tiny damping keeps the multinomial Hessian
    # (singular along a common intercept shift) invertible without moving the optimum.
    ridge[-1] = 1e-10 * C * weights.sum()
    hessian.diagonal(dim1=1, dim2=2).add_(ridge.reshape(-1))
    flat_gradient = gradient.reshape(n_batch, -1, 1)
    direction = torch.cholesky_solve(flat_gradient, torch.linalg.cholesky(hessian))
    return gradient, -direction.reshape(beta.shape)


def _logistic_chunk(Za, targets, weights, C, binary, max_iter, tol):
    n_outputs = targets.shape[-1]
    beta = torch.zeros(Za.shape[0], Za.shape[2], n_outputs, dtype=Za.dtype, device=Za.device)
    objective = _logistic_objective(beta, Za, targets, weights, C, binary)
    scale = C * weights.sum()
    for iteration in range(1, max_iter + 1):
        gradient, direction = _logistic_newton_step(beta, Za, targets, weights, C, binary)
        if gradient.abs().amax() <= tol * scale:
            return beta, iteration - 1
        slope = (gradient * direction).sum((1, 2))
        step = torch.ones_like(objective)
        for _ in range(_MAX_HALVINGS):
            candidate = beta + step[:, None, None] * direction
            value = _logistic_objective(candidate, Za, targets, weights, C, binary)
            accepted = value <= objective + _ARMIJO * step * slope
            if accepted.all():
                break
            step = torch.where(accepted, step, 0.5 * step)
        beta, objective = candidate, value
    gradient, _ = _logistic_newton_step(beta, Za, targets, weights, C, binary)
    if gradient.abs().amax() > tol * scale:
        warnings.warn(
            f"Logistic regression did not converge in max_iter={max_iter} Newton iterations "
            f"(largest gradient {float(gradient.abs().amax() / scale):.2e} > tol={tol}). "
            "Increase max_iter or C's regularisation (smaller C).",
            NeuroalignWarning,
            stacklevel=4,
        )
    return beta, max_iter


def _logistic(Z, codes, n_classes, weights, *, C, max_iter, tol, max_memory):
    """``LogisticRegression(C)``: L2-penalised (multinomial) logistic regression, Newton."""
    n_batch, n_samples, n_features = Z.shape
    binary = n_classes == 2
    targets = _one_hot(codes, n_classes, Z.dtype)
    targets = targets[:, 1:] if binary else targets
    if weights is None:
        weights = torch.ones(n_samples, dtype=Z.dtype, device=Z.device)
    q = (n_features + 1) * targets.shape[1]
    per_item = 8 * (3 * q * q + 4 * n_samples * q)
    betas, n_iter = [], 0
    for batch in plan_batches(n_batch, per_item, max_memory, device=Z.device):
        block = Z[batch]
        ones = torch.ones(*block.shape[:2], 1, dtype=Z.dtype, device=Z.device)
        beta, used = _logistic_chunk(
            torch.cat([block, ones], -1), targets, weights, C, binary, max_iter, tol
        )
        betas.append(beta)
        n_iter = max(n_iter, used)
    beta = torch.cat(betas)
    return beta[:, :-1], beta[:, -1], n_iter


def fit_linear(
    X,
    codes,
    n_classes,
    *,
    classifier="ridge",
    alpha=1.0,
    shrinkage="ledoit_wolf",
    C=1.0,
    class_weight=None,
    standardize=True,
    max_iter=100,
    tol=1e-8,
    max_memory=None,
):
    """Fit a batch of linear classifiers that share their labels.

    Parameters
    ----------
    X : Tensor of shape (n_batch, n_samples, n_features)
        Any float dtype; the fit runs in float64.
    codes : Tensor of int64 of shape (n_samples,)
        Class index of every sample, ``0 .. n_classes - 1``; every class present.
    n_classes : int
    classifier : {"ridge", "lda", "logistic"}, default="ridge"
    alpha : float, default=1.0
        Ridge penalty.
    shrinkage : {"ledoit_wolf", "oas"} or float, default="ledoit_wolf"
        LDA covariance shrinkage (a float in [0, 1] is a fixed shrinkage).
    C : float, default=1.0
        Inverse L2 penalty of logistic regression.
    class_weight : None or "balanced", default=None
    standardize : bool, default=True
        Standardise every feature with the training mean and std (as a
        ``StandardScaler`` step); the returned weights apply to raw features.
    max_iter : int, default=100
    tol : float, default=1e-8
        Newton stops when every gradient entry is below ``tol * C * sum(weights)``.
    max_memory : int or str or None, default=None
        Budget for logistic regression Hessians.

    Returns
    -------
    decision : LinearDecision
    """
    Z = X.to(_FLOAT64)
    codes = codes.to(X.device)
    mean = torch.zeros_like(Z[:, :1])
    scale = torch.ones_like(mean)
    if standardize:
        mean, scale = _standardize(Z)
        Z = (Z - mean) / scale
    weights = sample_weights(codes, n_classes, class_weight, device=X.device)
    n_iter = 0
    if classifier == "ridge":
        coef, bias = _ridge(Z, codes, n_classes, weights, alpha=alpha)
    elif classifier == "lda":
        coef, bias = _lda(Z, codes, n_classes, weights, shrinkage=shrinkage)
    else:
        coef, bias, n_iter = _logistic(
            Z, codes, n_classes, weights, C=C, max_iter=max_iter, tol=tol, max_memory=max_memory
        )
    coef = coef / scale.transpose(1, 2)
    bias = bias - (mean @ coef)[:, 0]
    return LinearDecision(weights=coef, bias=bias, n_iter=n_iter)
