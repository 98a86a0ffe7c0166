"""Multinomial L2 logistic regression for many folds and time points at once.

The Hessian of the weighted multinomial log-loss is bounded (Böhning 1992) by
``(I_K - 11ᵀ/K) / 2 ⊗ Xaᵀ W Xa`` (``K`` classes, ``Xa`` the data with a column of
ones); on weights that sum to zero over classes, where the optimum lies, that is
``Xaᵀ W Xa / 2`` for every class. That ``(q, q)`` bound plus the penalty is
inverted once per fold and time point and serves as the initial inverse Hessian
of limited-memory BFGS, so each iteration costs two passes over the data (the
logits of a direction and the gradient) and small products; Newton's method
would factor a ``(q K, q K)`` Hessian per time point and iteration. All folds
share each pass: a fold is a column of sample weights, zero outside its training
rows.
"""

import warnings

import torch

from neuroalign._backend import plan_batches
from neuroalign.exceptions import NeuroalignWarning

__all__ = ["feature_scale", "fit_logistic_folds", "fold_moments"]

_FLOAT64 = torch.float64
_MEMORY = 8  # (step, gradient change) pairs kept by L-BFGS
_HALVINGS = 30
_ARMIJO = 1e-4


def feature_scale(variance, mean, dtype):
    """Standard deviation, 1 where a feature is constant (as ``StandardScaler``)."""
    eps = torch.finfo(dtype).eps
    constant = variance <= (10 * eps * mean.abs()).square() + torch.finfo(_FLOAT64).tiny
    return torch.where(constant, torch.ones_like(variance), variance.sqrt())


def fold_moments(X, indicator):
    """Mean and variance of every feature over the training rows of every fold (float64).

    Parameters
    ----------
    X : Tensor of shape (n_batch, n_samples, n_features)
        Centre the data first (the variance is a difference of second moments).
    indicator : Tensor of float64 of shape (n_samples, n_folds)
        1 for the training rows of every fold, 0 elsewhere.

    Returns
    -------
    mean, variance : Tensor of float64 of shape (n_batch, n_folds, n_features)
    """
    counts = indicator.sum(0)[None, :, None]
    X = X.to(_FLOAT64)
    mean = (indicator.T @ X) / counts
    second = (indicator.T @ X.square()) / counts
    return mean, (second - mean.square()).clamp_min(0)


def _with_ones(X):
    Xa = torch.empty(*X.shape[:2], X.shape[2] + 1, dtype=X.dtype, device=X.device)
    Xa[..., :-1] = X
    Xa[..., -1] = 1.0
    return Xa


def _bound_inverses(Xa, weights, penalty, curvature, C):
    """Inverse of ``curvature * C * Xaᵀ W_f Xa + diag(penalty_f)`` for every batch and fold.

    Products and the factorisation run in the dtype of ``Xa`` (the inverse only
    preconditions; the gradient decides convergence). When every
    fold weighs its rows alike (the same weight per row, or zero) the fold matrix
    is that of all rows minus that of the rows the fold leaves out.

    Returns
    -------
    inverses : Tensor of shape (n_batch, n_folds, q, q)
    """
    n_folds = weights.shape[1]
    row_weights = weights.amax(1)
    inside = weights > 0
    common = bool(torch.equal(weights, inside * row_weights[:, None]))
    grams = []
    if common:
        total = Xa.mT @ (Xa * row_weights.to(Xa.dtype)[None, :, None])
    for fold in range(n_folds):
        if common:
            out = (~inside[:, fold]).nonzero()[:, 0]
            block = Xa[:, out]
            grams.append(total - block.mT @ (block * row_weights[out].to(Xa.dtype)[None, :, None]))
        else:
            rows = inside[:, fold].nonzero()[:, 0]
            block = Xa[:, rows]
            scaled = block * weights[rows, fold].to(Xa.dtype)[None, :, None]
            grams.append(block.mT @ scaled)
    bound = (curvature * C) * torch.stack(grams, 1)
    bound.diagonal(dim1=-2, dim2=-1).add_(penalty.to(bound.dtype))
    factor, info = torch.linalg.cholesky_ex(bound)
    if bool((info > 0).any()):
        # Rounding of a nearly singular bound: any larger matrix is a bound too.
        jitter = (1e-6 * C * weights.sum(0)[:, None]).to(bound.dtype)
        bound.diagonal(dim1=-2, dim2=-1).add_(jitter)
        factor = torch.linalg.cholesky(bound)
    return torch.cholesky_inverse(factor)


def _lbfgs(Xa, problem, beta, inverses, tol, max_iter, *, single):
    """Limited-memory BFGS with the bound as initial inverse Hessian, batched over problems.

    Parameters
    ----------
    Xa : Tensor of shape (n_batch, n_samples, q)
    problem : dict
        ``targets`` (n_samples, n_outputs), ``weights`` (n_samples, n_folds),
        ``penalty`` (n_batch, n_folds, 1, q), ``means`` (n_batch, n_folds, 1, q - 1),
        ``C``, ``limits`` (n_folds,): gradient tolerance per fold.
    beta : Tensor of shape (n_batch, n_folds, n_outputs, q)
    inverses : Tensor of shape (n_batch, n_folds, q, q)
        Inverse bounds, in the dtype of ``Xa``.
    single : bool
        A float32 run (a start for a float64 one): problems whose gradient stops
        shrinking are left as they are.

    Returns
    -------
    beta : Tensor of shape (n_batch, n_folds, n_outputs, q)
    n_iter : int
    converged : Tensor of bool of shape (n_batch, n_folds)
    """
    dtype = Xa.dtype
    n_batch, n_samples, q = Xa.shape
    n_folds, n_outputs = beta.shape[1], beta.shape[2]
    C = problem["C"]
    # Logits, probabilities and residuals are laid out (batch, fold, output, sample).
    targets = problem["targets"].to(dtype).T[None, None]
    weights = problem["weights"].to(dtype).T[None, :, None, :]
    penalty = problem["penalty"].to(dtype)
    means = problem["means"].to(dtype)
    limits = (tol * problem["limits"]).to(dtype)[None, :]
    resolution = 1e-6 if single else 1e-12
    tiny = torch.finfo(dtype).tiny

    def logits_of(coefficients):
        # Matrix products with n_folds * n_classes columns: no transposed copy of the data.
        flat = coefficients.reshape(n_batch, n_folds * n_outputs, q)
        return (flat @ Xa.mT).view(n_batch, n_folds, n_outputs, n_samples)

    def dot(a, b):
        return (a * b).sum((2, 3))

    def evaluate(logits, coefficients):
        """Objective and class probabilities at ``logits``, from one exponential."""
        shifted = logits - logits.amax(2, keepdim=True)
        exponential = shifted.exp()
        total = exponential.sum(2, keepdim=True)
        losses = total.log() - (targets * shifted).sum(2, keepdim=True)
        probabilities = exponential / total
        value = C * (weights * losses).sum((2, 3)) + 0.5 * dot(penalty * coefficients, coefficients)
        return value, probabilities

    def gradient_of(probabilities, coefficients):
        residual = (weights * (probabilities - targets)).view(n_batch, -1, n_samples)
        gradient = C * (residual @ Xa).view(n_batch, n_folds, n_outputs, q)
        return gradient + penalty * coefficients

    def precondition(vector):
        # The bound is (1/2) Xaᵀ W Xa on weights that sum to zero over classes; their
        # mean over classes has the penalty alone as curvature.
        mean = vector.mean(2, keepdim=True)
        result = (vector - mean) @ inverses
        result[..., :-1] += mean[..., :-1] / penalty[..., :-1].clamp_min(tiny)
        return result

    beta = beta.to(dtype)
    logits = logits_of(beta)
    objective, probabilities = evaluate(logits, beta)
    gradient = gradient_of(probabilities, beta)
    history = []
    done = torch.zeros(n_batch, n_folds, dtype=torch.bool, device=Xa.device)
    best = torch.full_like(objective, torch.inf)
    since_best = torch.zeros(n_batch, n_folds, dtype=torch.int64, device=Xa.device)
    iteration = 0
    while True:
        # The stopping rule is that of the intercept and the weights of the fold-centred
        # data, whose gradient is ``g_w - mean * g_b``.
        centred = gradient[..., :-1] - means * gradient[..., -1:]
        largest = torch.maximum(centred.abs().amax((2, 3)), gradient[..., -1].abs().amax(2))
        converged = largest <= limits
        done |= converged
        if single:
            improved = largest < 0.5 * best
            best = torch.where(improved, largest, best)
            since_best = torch.where(improved, 0, since_best + 1)
            done |= since_best >= 10
        if bool(done.all()) or iteration == max_iter:
            return beta, iteration, converged
        iteration += 1
        work = gradient.clone()
        alphas = []
        for step, change, rho in reversed(history):
            alpha = rho * dot(step, work)
            work -= alpha[..., None, None] * change
            alphas.append(alpha)
        if history:
            step, change, rho = history[-1]
            scaled = dot(change, precondition(change))
            gamma = torch.where(rho > 0, dot(step, change) / scaled.clamp_min(tiny), 1.0)
        else:
            gamma = torch.ones_like(objective)
        work = gamma[..., None, None] * precondition(work)
        for (step, change, rho), alpha in zip(history, reversed(alphas)):
            beta_coefficient = rho * dot(change, work)
            work += (alpha - beta_coefficient)[..., None, None] * step
        direction = -work.masked_fill(done[..., None, None], 0.0)
        slope = dot(gradient, direction)
        uphill = (slope >= 0) & ~done
        if bool(uphill.any()):
            fallback = -precondition(gradient).masked_fill(done[..., None, None], 0.0)
            direction = torch.where(uphill[..., None, None], fallback, direction)
            slope = dot(gradient, direction)
        change_logits = logits_of(direction)
        length = torch.ones_like(objective)
        negligible = -slope <= resolution * objective.abs()
        for _ in range(_HALVINGS):
            candidate_logits = logits + length[..., None, None] * change_logits
            candidate = beta + length[..., None, None] * direction
            value, probabilities = evaluate(candidate_logits, candidate)
            accepted = negligible | (value <= objective + _ARMIJO * length * slope)
            if bool(accepted.all()):
                break
            length = torch.where(accepted, length, 0.5 * length)
        new_gradient = gradient_of(probabilities, candidate)
        step = candidate - beta
        change = new_gradient - gradient
        curvature = dot(step, change)
        rho = torch.where(curvature > 0, 1.0 / curvature.clamp_min(tiny), 0.0)
        history.append((step, change, rho))
        if len(history) > _MEMORY:
            history.pop(0)
        beta, logits, objective, gradient = candidate, candidate_logits, value, new_gradient


def fit_logistic_folds(
    X,
    codes,
    n_classes,
    weights,
    *,
    C,
    max_iter,
    tol,
    standardize=True,
    origin=None,
    start=None,
    max_memory=None,
):
    """Multinomial ``LogisticRegression(C)`` after a ``StandardScaler``, every fold and batch.

    The penalty ``||w_z||^2`` of standardised weights is ``sum(scale^2 * w^2)`` on raw
    ones, so the iterations run on the raw data with a per-feature penalty; the
    unpenalised intercept absorbs the fold centring. Float32 data run in float32
    until the gradient is below a quarter of the tolerance or stops shrinking, and
    finish in float64, where every problem meets the stopping rule: every gradient
    entry (for the fold-centred data) below ``tol * C * sum(fold weights)``.

    Parameters
    ----------
    X : Tensor of shape (n_batch, n_samples, n_features)
        Centred data (e.g. by the mean of all rows).
    codes : Tensor of int64 of shape (n_samples,)
    n_classes : int
        More than two (two classes take one output in scikit-learn: see ``fit_linear``).
    weights : Tensor of float64 of shape (n_samples, n_folds)
        Sample weight of every row in every fold, 0 outside its training rows.
    C : float
    max_iter : int
        Iterations of each precision.
    tol : float
    standardize : bool, default=True
    origin : Tensor of shape (n_batch, 1, n_features), optional
        What was subtracted from the data, to recognise constant features as
        ``StandardScaler`` does.
    start : Tensor of float64 of shape (n_batch, n_folds, n_outputs, n_features + 1), optional
        Weights and intercept (for ``X``) to start from, e.g. a previous fit.

    Returns
    -------
    coef : Tensor of float64 of shape (n_batch, n_folds, n_features, n_outputs)
    bias : Tensor of float64 of shape (n_batch, n_folds, n_outputs)
        For ``X``; ``n_outputs`` is ``n_classes``.
    n_iter : int
    """
    n_batch, n_samples, n_features = X.shape
    n_outputs = n_classes
    weights = weights.to(device=X.device, dtype=_FLOAT64)
    indicator = (weights > 0).to(_FLOAT64)
    targets = torch.nn.functional.one_hot(codes.to(X.device), n_classes).to(_FLOAT64)
    limits = C * weights.sum(0)
    q = n_features + 1
    n_folds = weights.shape[1]
    # Per time point: the data (with ones, float64 copies), the bounds,
    # arrays of logits and the L-BFGS history.
    per_item = 8 * (
        4 * n_samples * q
        + 3 * n_folds * q * q
        + 12 * n_samples * n_folds * n_outputs
        + 2 * (_MEMORY + 2) * n_folds * n_outputs * q
    )
    coefs, n_iter, failed = [], 0, False
    for batch in plan_batches(n_batch, per_item, max_memory, device=X.device):
        block = X[batch]
        mean, variance = fold_moments(block, indicator)
        raw_mean = mean if origin is None else mean + origin[batch].to(_FLOAT64)
        scale = feature_scale(variance, raw_mean, X.dtype)
        if not standardize:
            scale = torch.ones_like(scale)
        penalty = torch.cat([scale.square(), torch.zeros_like(scale[..., :1])], -1)
        problem = {
            "targets": targets,
            "weights": weights,
            "penalty": penalty[:, :, None, :],
            "means": mean[:, :, None, :],
            "C": C,
            "limits": limits,
        }
        Xa = _with_ones(block)
        inverses = _bound_inverses(Xa, weights, penalty, 0.5, C)
        if start is None:
            beta = torch.zeros(len(block), n_folds, n_outputs, q, dtype=_FLOAT64, device=X.device)
        else:
            beta = start[batch].to(_FLOAT64)
        used = 0
        if Xa.dtype != _FLOAT64:
            beta, used, _ = _lbfgs(Xa, problem, beta, inverses, tol / 4, max_iter, single=True)
            Xa, inverses = Xa.to(_FLOAT64), inverses.to(_FLOAT64)
        beta, more, converged = _lbfgs(
            Xa, problem, beta.to(_FLOAT64), inverses, tol, max_iter, single=False
        )
        failed |= not bool(converged.all())
        coefs.append(beta)
        n_iter = max(n_iter, used + more)
    if failed:
        warnings.warn(
            f"Logistic regression did not converge in max_iter={max_iter} iterations "
            f"(tol={tol}). Increase max_iter or regularise more (smaller C).",
            NeuroalignWarning,
            stacklevel=3,
        )
    beta = torch.cat(coefs)
    return beta[..., :-1].mT, beta[..., -1], n_iter
