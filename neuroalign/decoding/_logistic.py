"""L2 logistic regression (binary and multinomial) for many folds and time points at once.

The Hessian of the weighted log-loss is bounded (Böhning 1992): by ``Xaᵀ W Xa / 4``
for two classes (one output, the logit of the second class) and by
``(I_K - 11ᵀ/K) / 2 ⊗ Xaᵀ W Xa`` for ``K`` classes (``Xa`` the data with a column
of ones), which on weights that sum to zero over classes, where the optimum lies,
is ``Xaᵀ W Xa / 2`` for every class. That ``(q, q)`` bound plus the penalty, for
the mean weights and penalty of the folds, is inverted once per time point and
serves as the initial inverse Hessian of limited-memory BFGS, so each iteration
costs two passes over the data (the logits of a direction and the gradient) and
small products; Newton's method would build and factor a Hessian per fold, time
point and iteration. All folds share each pass: a fold is a column of sample
weights, zero outside its training rows. Time points leave the batch once all
their folds have converged, so the iterations that only the hardest time points
need pass over their data alone.
"""

import math
import warnings

import torch

from neuroalign._backend import plan_batches
from neuroalign.decoding._linalg import spd_inverse
from neuroalign.exceptions import NeuroalignWarning

__all__ = [
    "bound_factors",
    "feature_scale",
    "fit_logistic_folds",
    "fold_moments",
    "transposed_with_ones",
]

_FLOAT64 = torch.float64
_MEMORY = 4  # (step, gradient change) pairs kept by L-BFGS (8 took as many iterations, +-2)
_HALVINGS = 30
_ARMIJO = 1e-4
_LINE_NEWTON_STEPS = 2
_SHORTEST = 1e-3
_LONGEST = 100.0
_COMPACT = 0.25  # fraction of converged time points that leave the batch
_REFRESH = 3  # iteration at which the bound gives way to the Hessian's diagonal blocks
_CHUNK_ELEMENTS = 1_250_000  # logits per chunk of time points (fold x output x sample)
_CHECK_ELEMENTS = 2_000_000  # data values per block of the float64 check
_SCALED_ELEMENTS = 1_048_576  # data values per group of the refreshed blocks' products


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
        Centre the data first (the variance is a difference of second moments). The
        sums run in its dtype.
    indicator : Tensor of float64 of shape (n_samples, n_folds)
        1 for the training rows of every fold, 0 elsewhere.

    Returns
    -------
    mean, variance : Tensor of float64 of shape (n_batch, n_folds, n_features)
    """
    counts = indicator.sum(0)[None, :, None]
    rows = indicator.T.to(X.dtype)
    mean = (rows @ X).to(_FLOAT64) / counts
    second = (rows @ X.square()).to(_FLOAT64) / counts
    return mean, (second - mean.square()).clamp_min(0)


def transposed_with_ones(X):
    """``Xaᵀ``: the data (n_batch, n_samples, n_features) with a column of ones, transposed.

    Returns
    -------
    XaT : Tensor of shape (n_batch, n_features + 1, n_samples)
        Contiguous: batched products read the data fastest in this layout.
    """
    XaT = torch.empty(X.shape[0], X.shape[2] + 1, X.shape[1], dtype=X.dtype, device=X.device)
    XaT[:, :-1] = X.mT
    XaT[:, -1] = 1.0
    return XaT


def bound_factors(XaT, weights, penalty, curvature, C):
    """Cholesky factor of ``curvature * C * Xaᵀ diag(weights) Xa + diag(penalty)`` per batch.

    Products and the factorisation run in the dtype of the data: the inverse only
    preconditions, the gradient decides convergence.

    Parameters
    ----------
    XaT : Tensor of shape (n_batch, q, n_samples)
        The transposed data with ones (:func:`transposed_with_ones`).
    weights : Tensor of shape (n_samples,)
    penalty : Tensor of shape (n_batch, q)
    curvature : float
    C : float

    Returns
    -------
    factors : Tensor of shape (n_batch, q, q)
        Lower triangular.
    """
    weights = weights.to(XaT.dtype)
    if bool((weights == weights[0]).all()):  # one weight for all rows: no weighted copy
        bound = (curvature * C * weights[0]) * (XaT @ XaT.mT)
    else:
        bound = (curvature * C) * ((XaT * weights) @ XaT.mT)
    bound.diagonal(dim1=-2, dim2=-1).add_(penalty.to(bound.dtype))
    factor, info = torch.linalg.cholesky_ex(bound)
    if bool((info > 0).any()):
        # Rounding of a nearly singular bound: any larger matrix is a bound too.
        bound.diagonal(dim1=-2, dim2=-1).add_(float(1e-6 * C * weights.sum()))
        factor = torch.linalg.cholesky(bound)
    return factor


class _Workspace:
    """Buffers for the (B, F, K, n) logits of one batch, reused by every iteration.

    Elementwise passes that write into memory already in the caches run several
    times faster than ones that allocate their result afresh (the allocator
    returns large blocks to the system, and every new one is faulted in again).

    Attributes
    ----------
    current, trial, change : Tensor of shape (B, F, K, n)
        Logits at the iterate, at a trial point and of the search direction.
    values : Tensor of shape (B, F, K, n)
        Probabilities at the last evaluated point (then weighted, for the gradient).
    top, total : Tensor of shape (B, F, 1, n)
        Largest logit and normaliser of every sample (multinomial problems).
    """

    def __init__(self, shape, dtype, device):
        def empty(*dims):
            return torch.empty(dims, dtype=dtype, device=device)

        self.current, self.trial, self.change, self.values = (empty(*shape) for _ in range(4))
        self.top, self.total = empty(*shape[:2], 1, shape[3]), empty(*shape[:2], 1, shape[3])

    def swap(self):
        """The trial point becomes the iterate."""
        self.current, self.trial = self.trial, self.current

    def keep(self, rows):
        """A workspace for the batch rows ``rows``, with their current logits."""
        current = self.current[rows]
        kept = _Workspace(current.shape, current.dtype, current.device)
        kept.current = current
        return kept


def _probabilities_into(logits, out, workspace, *, bounded=False):
    """Probabilities of the outputs of ``logits`` (B, F, K, n), written to ``out``.

    One output is the logit of the second class (sigmoid); more are multinomial
    (softmax over axis 2), whose normaliser is left in ``workspace.total`` (of the
    logits less ``workspace.top``). ``bounded`` logits (all far from overflow) are
    exponentiated without subtracting their largest value, and ``top`` is 0.
    """
    if logits.shape[2] == 1:
        return torch.sigmoid(logits, out=out)
    if bounded:
        workspace.top.zero_()
        torch.exp(logits, out=out)
    else:
        torch.amax(logits, 2, keepdim=True, out=workspace.top)
        torch.sub(logits, workspace.top, out=out).exp_()
    torch.sum(out, 2, keepdim=True, out=workspace.total)
    return out.div_(workspace.total)


def _log_partition_into(logits, workspace, *, bounded=False):
    """Log-partition (B, F, 1, n) of every sample; the probabilities go to ``workspace.values``.

    The log-loss of a sample is its log-partition less its true class's logit:
    ``log(1 + exp(z))`` for one output (the logit of the second class) and
    ``log(sum_k exp(z_k))`` for more.
    """
    probabilities = _probabilities_into(logits, workspace.values, workspace, bounded=bounded)
    if logits.shape[2] == 1:
        return torch.nn.functional.softplus(logits), probabilities
    return workspace.total.log_().add_(workspace.top), probabilities


def _line_derivatives(probabilities, change):
    """Derivatives of every sample's log-partition along logits ``change`` (B, F, K, n).

    Returns the first and second derivatives, (B, F, 1, n) each; the log-loss adds
    minus the true class's change to the first.
    """
    if change.shape[2] == 1:
        return probabilities * change, probabilities * (1 - probabilities) * change.square()
    weighted = probabilities * change
    mean_change = weighted.sum(2, keepdim=True)
    return mean_change, weighted.mul_(change).sum(2, keepdim=True) - mean_change.square()


def _precondition(vector, inverses, penalty):
    """Apply the initial inverse Hessian of L-BFGS to ``vector`` (B, F, K, q).

    ``inverses`` is shared by the folds: (B, 1, q, q) for the curvature bound, or
    (B, K, q, q), one block per output, once refreshed (:func:`_refreshed_inverses`);
    ``penalty`` is (B, F, 1, q). For more classes than two (more than one output)
    the curvature acts on weights that sum to zero over classes (the result is
    projected back onto them), while their mean over classes has the penalty alone
    as curvature (none for the intercepts, whose mean stays where it is).
    """
    blocks = inverses.shape[1] > 1

    def apply(values):
        if blocks:
            return (values.transpose(1, 2) @ inverses).transpose(1, 2)
        return (values.flatten(1, 2) @ inverses[:, 0]).view_as(values)

    if vector.shape[2] == 1:
        return apply(vector)
    mean = vector.mean(2, keepdim=True)
    result = apply(vector - mean)
    if blocks:
        result -= result.mean(2, keepdim=True)
    result[..., :-1] += mean[..., :-1] / penalty[..., :-1].clamp_min(torch.finfo(vector.dtype).tiny)
    return result


class _Batch:
    """The tensors of the L-BFGS loop that have the problems' batch as first axis.

    Attributes are set by name; :meth:`keep` selects rows of all of them (and of
    the history pairs) once whole time points have converged, so that later
    iterations pass only over the data of the rest.
    """

    def __init__(self, **tensors):
        self.__dict__.update(tensors)
        self.history = []

    def keep(self, rows):
        for name, value in list(self.__dict__.items()):
            if name == "history":
                self.history = [tuple(part[rows] for part in pair) for pair in value]
            else:
                setattr(self, name, value[rows])


def _largest_gradient(gradient, means):
    """Largest gradient entry of every fold-centred problem, for the stopping rule.

    The weights of data centred by the fold's training mean have the gradient
    ``g_w - mean * g_b``; the intercept's is unchanged.

    Parameters
    ----------
    gradient : Tensor of shape (n_batch, n_folds, n_outputs, q)
    means : Tensor of shape (n_batch, n_folds, 1, q - 1)

    Returns
    -------
    largest : Tensor of shape (n_batch, n_folds)
    """
    centred = gradient[..., :-1] - means * gradient[..., -1:]
    return torch.maximum(centred.abs().amax((2, 3)), gradient[..., -1].abs().amax(2))


def _refreshed_inverses(workspace, XaT, weights, penalty, C):
    """Inverse of the Hessian's diagonal blocks at ``workspace.current``, averaged over the folds.

    Block ``k`` is ``C * Xaᵀ diag(c_k) Xa + diag(penalty)`` with ``c_k`` the fold
    mean of ``w p_k (1 - p_k)``: the exact Hessian of a binary problem (one output)
    and the block-diagonal part of a multinomial one, where the curvature bound is
    loose by then (confidently classified samples curve far less than it assumes).
    Overwrites ``workspace.trial``.

    Parameters
    ----------
    workspace : _Workspace
        Logits (B, F, K, n) in ``current``.
    XaT : Tensor of shape (B, q, n)
    weights : Tensor of shape (1, F, 1, n)
    penalty : Tensor of shape (B, F, 1, q)
    C : float

    Returns
    -------
    inverses : Tensor of shape (B, K, q, q)
    """
    probabilities = _probabilities_into(workspace.current, workspace.trial, workspace)
    curvature = probabilities.addcmul_(probabilities, probabilities, value=-1.0).mul_(weights)
    curvature = curvature.mean(1)  # (B, K, n)
    n_batch, q, n_samples = XaT.shape
    blocks = torch.empty(curvature.shape[1], n_batch, q, q, dtype=XaT.dtype, device=XaT.device)
    # Time points go in groups whose scaled copy of the data stays in the caches.
    step = max(1, _SCALED_ELEMENTS // (q * n_samples))
    scaled = XaT.new_empty(min(step, n_batch), q, n_samples)
    for start in range(0, n_batch, step):
        data = XaT[start : start + step]
        buffer = scaled[: len(data)]
        for c, block in zip(curvature[start : start + step].unbind(1), blocks, strict=True):
            torch.bmm(
                torch.mul(data, c[:, None, :], out=buffer),
                data.mT,
                out=block[start : start + step],
            )
    blocks = blocks.transpose(0, 1).mul_(C)
    blocks.diagonal(dim1=-2, dim2=-1).add_(penalty.mean(1))
    # The intercept is not penalised; a tiny damping keeps the blocks invertible.
    blocks[..., -1, -1] += 1e-6 * C * weights.sum(-1).mean()
    inverses, failed = spd_inverse(blocks)
    if bool(failed.any()):
        blocks.diagonal(dim1=-2, dim2=-1).add_(
            1e-6 * blocks.diagonal(dim1=-2, dim2=-1).amax(-1, keepdim=True)
        )
        inverses = torch.cholesky_inverse(torch.linalg.cholesky(blocks))
    return inverses


def _dot(a, b):
    """Inner products over the last two axes of (B, F, K, q) tensors: (B, F)."""
    return torch.linalg.vecdot(a.flatten(2), b.flatten(2))


def _two_loop(state, tiny):
    """L-BFGS direction: the two-loop recursion on the history, from ``state.inverses``.

    The initial inverse Hessian ``H0 = gamma * M^-1`` is linear, so it is applied to
    the first loop's result as ``M^-1 g - sum_i alpha_i M^-1 y_i`` from the
    preconditioned gradient (``state.preconditioned``) and gradient changes (the
    fourth member of every history entry), which are kept from iteration to
    iteration: no block products here.
    """
    work = state.gradient.clone()
    result = state.preconditioned.clone()
    alphas = []
    for step, change, rho, preconditioned_change in reversed(state.history):
        alpha = (rho * _dot(step, work))[..., None, None]
        work.addcmul_(change, alpha, value=-1.0)
        result.addcmul_(preconditioned_change, alpha, value=-1.0)
        alphas.append(alpha)
    if state.history:
        _, change, rho, preconditioned_change = state.history[-1]
        scaled = _dot(change, preconditioned_change)
        gamma = torch.where(rho > 0, 1.0 / (rho * scaled).clamp_min(tiny), 1.0)
        result.mul_(gamma[..., None, None])
    for (step, change, rho, _), alpha in zip(state.history, reversed(alphas), strict=True):
        result.addcmul_(step, alpha - (rho * _dot(change, result))[..., None, None])
    return result.neg_()


def _lbfgs(XaT, problem, beta, inverses, tol, max_iter, *, single):
    """Limited-memory BFGS with the bound as initial inverse Hessian, batched over problems.

    One output is binary logistic regression (the score of the second class), more
    are multinomial. The first step, from zero weights, takes the length that
    minimises the objective along it (two one-dimensional Newton steps, elementwise
    on the logits), often several times the quasi-Newton length; later steps start
    from length 1, and Armijo backtracking guards every decrease. At iteration
    ``_REFRESH`` the bound gives way to :func:`_refreshed_inverses`. Time points
    whose folds have all converged leave the batch.

    The true classes enter the log-loss and its gradient linearly, through the
    weighted class sums of the data ``S`` (B, F, K, q): the objective is
    ``C * (sum_n w_n A_n - <beta, S>) + penalty`` with ``A_n`` the log-partition of
    sample ``n``, and the gradient ``C * (P w) Xa - C * S + penalty * beta``, so
    the passes over the logits need no labels.

    Parameters
    ----------
    XaT : Tensor of shape (n_batch, q, n_samples)
        The transposed data with ones (:func:`transposed_with_ones`).
    problem : dict
        ``targets`` (n_folds, n_samples, n_outputs), ``weights`` (n_samples, n_folds),
        ``penalty`` (n_batch, n_folds, 1, q), ``means`` (n_batch, n_folds, 1, q - 1),
        ``C``, ``limits`` (n_folds,): gradient tolerance per fold.
    beta : Tensor of shape (n_batch, n_folds, n_outputs, q)
    inverses : Tensor of shape (n_batch, 1, q, q)
        Inverse bounds (shared by the folds), in the dtype of ``XaT``.
    single : bool
        A float32 run (a start for a float64 one): problems whose gradient stops
        shrinking are left as they are.

    Returns
    -------
    beta : Tensor of shape (n_batch, n_folds, n_outputs, q)
    n_iter : int
    converged : Tensor of bool of shape (n_batch, n_folds)
    """
    dtype = XaT.dtype
    n_batch, q, n_samples = XaT.shape
    device = XaT.device
    n_folds, n_outputs = beta.shape[1:3]
    C = problem["C"]
    # Logits and probabilities are laid out (batch, fold, output, sample).
    weights = problem["weights"].to(dtype).T[None, :, None, :]
    class_rows = (problem["weights"].T[:, None, :] * problem["targets"].mT).to(dtype)
    limits = (tol * problem["limits"]).to(dtype)[None, :]
    resolution = 1e-6 if single else 1e-12
    tiny = torch.finfo(dtype).tiny
    # Logits below this size cannot overflow exp, nor underflow it to 0 in all classes.
    safe = 0.5 * torch.log(torch.tensor(torch.finfo(dtype).max / n_outputs)).item()
    result = beta.to(dtype).clone()
    converged_all = torch.zeros(n_batch, n_folds, dtype=torch.bool, device=device)
    at_zero = not bool(beta.any())
    # Class sums (and, at zero, weight totals) in one (batch * q, n) @ (n, columns) product.
    columns = class_rows.flatten(0, 1)
    if at_zero:
        columns = torch.cat([columns, weights[0, :, 0]])
    products = (XaT @ columns.T).mT
    sums = products[:, : n_folds * n_outputs].reshape(n_batch, n_folds, n_outputs, q)
    if n_outputs > 1:
        largest_entry = torch.maximum(XaT.amax((1, 2)), -XaT.amin((1, 2)))
    else:  # sigmoids and softplus need no bound
        largest_entry = XaT.new_zeros(n_batch)
    state = _Batch(
        index=torch.arange(n_batch, device=device),
        transposed=XaT,
        sums=sums,
        sums64=sums.to(_FLOAT64),
        largest_entry=largest_entry,
        penalty=problem["penalty"].to(dtype),
        means=problem["means"].to(dtype),
        inverses=inverses,
        beta=result.clone(),
        done=torch.zeros(n_batch, n_folds, dtype=torch.bool, device=device),
        best=torch.full((n_batch, n_folds), torch.inf, dtype=dtype, device=device),
        since_best=torch.zeros(n_batch, n_folds, dtype=torch.int64, device=device),
    )

    def logits_into(coefficients, out):
        torch.bmm(coefficients.flatten(1, 2), state.transposed, out=out.flatten(1, 2))
        return out

    def bounded(coefficients):
        """Whether every logit of ``coefficients`` is safely exponentiated as it is."""
        if n_outputs == 1:
            return False
        reach = coefficients.abs().sum(-1).amax((1, 2)) * state.largest_entry
        return bool((reach < safe).all())

    def evaluate(logits, coefficients):
        """Objective (float64) at ``logits``; the probabilities go to ``workspace.values``.

        Its two large terms nearly cancel: they are summed in float64, so that the
        objective resolves the small decreases that the line search compares.
        """
        partition, probabilities = _log_partition_into(
            logits, workspace, bounded=bounded(coefficients)
        )
        wide = coefficients.to(_FLOAT64)
        fitted = partition.mul_(weights).sum((2, 3), dtype=_FLOAT64) - _dot(wide, state.sums64)
        return C * fitted + 0.5 * _dot(state.penalty * wide, wide), probabilities

    def gradient_of(probabilities, coefficients):
        weighted = probabilities.mul_(weights).flatten(1, 2)
        gradient = (weighted @ state.transposed.mT).view_as(coefficients).sub_(state.sums)
        return gradient.mul_(C).addcmul_(state.penalty, coefficients)

    def precondition(vector):
        return _precondition(vector, state.inverses, state.penalty)

    def line_minimum(direction, change_logits):
        quadratic = _dot(state.penalty * direction, direction)
        linear = _dot(state.penalty * state.beta, direction) - C * _dot(direction, state.sums)
        length = torch.ones_like(quadratic)
        for _ in range(_LINE_NEWTON_STEPS):
            logits = torch.addcmul(
                workspace.current, length[..., None, None], change_logits, out=workspace.trial
            )
            probabilities = _probabilities_into(logits, workspace.values, workspace)
            first, second = _line_derivatives(probabilities, change_logits)
            first = C * (weights * first).sum((2, 3)) + linear + length * quadratic
            second = C * (weights * second).sum((2, 3)) + quadratic
            length = (length - first / second.clamp_min(tiny)).clamp(_SHORTEST, _LONGEST)
        return length

    workspace = _Workspace((n_batch, n_folds, n_outputs, n_samples), dtype, device)
    if at_zero:
        # Every logit is 0 and every class equally likely.
        workspace.current.zero_()
        n_classes = max(n_outputs, 2)
        objective = C * math.log(n_classes) * weights[0, :, 0].sum(-1, dtype=_FLOAT64)
        state.objective = objective.expand(n_batch, n_folds).clone()
        totals = products[:, n_folds * n_outputs :, None, :]
        state.gradient = C * (totals / n_classes - state.sums)
    else:
        logits_into(state.beta, workspace.current)
        state.objective, probabilities = evaluate(workspace.current, state.beta)
        state.gradient = gradient_of(probabilities, state.beta)
    state.preconditioned = precondition(state.gradient)
    iteration = 0
    while True:
        largest = _largest_gradient(state.gradient, state.means)
        converged = largest <= limits
        state.done |= converged
        if single:
            improved = largest < 0.5 * state.best
            state.best = torch.where(improved, largest, state.best)
            state.since_best = torch.where(improved, 0, state.since_best + 1)
            state.done |= state.since_best >= 10
        finished = state.done.all(1)
        stop = bool(finished.all()) or iteration == max_iter
        if stop or finished.sum() >= _COMPACT * len(finished):
            result[state.index] = state.beta
            converged_all[state.index] = converged
            if stop:
                return result, iteration, converged_all
            state.keep(~finished)
            workspace = workspace.keep(~finished)
        iteration += 1
        if iteration == _REFRESH:
            state.inverses = _refreshed_inverses(
                workspace, state.transposed, weights, state.penalty, C
            )
            state.preconditioned = precondition(state.gradient)
            state.history = [(*pair[:3], precondition(pair[1])) for pair in state.history]
        direction = _two_loop(state, tiny)
        direction.masked_fill_(state.done[..., None, None], 0.0)
        slope = _dot(state.gradient, direction)
        uphill = (slope >= 0) & ~state.done
        if bool(uphill.any()):
            fallback = -state.preconditioned
            direction = torch.where(uphill[..., None, None], fallback, direction)
            direction.masked_fill_(state.done[..., None, None], 0.0)
            slope = _dot(state.gradient, direction)
        change_logits = logits_into(direction, workspace.change)
        # The first step, where the bound is loosest, goes to the minimum along it.
        length = torch.ones_like(slope)
        if iteration == 1:
            length = line_minimum(direction, change_logits)
        negligible = -slope <= resolution * state.objective.abs()
        for _ in range(_HALVINGS):
            candidate_logits = torch.addcmul(
                workspace.current, length[..., None, None], change_logits, out=workspace.trial
            )
            candidate = state.beta + length[..., None, None] * direction
            value, probabilities = evaluate(candidate_logits, candidate)
            accepted = negligible | (value <= state.objective + _ARMIJO * length * slope)
            if bool(accepted.all()):
                break
            length = torch.where(accepted, length, 0.5 * length)
        new_gradient = gradient_of(probabilities, candidate)
        step = candidate - state.beta
        change = new_gradient - state.gradient
        curvature = _dot(step, change)
        rho = torch.where(curvature > 0, 1.0 / curvature.clamp_min(tiny), 0.0)
        preconditioned = precondition(new_gradient)
        state.history.append((step, change, rho, preconditioned - state.preconditioned))
        if len(state.history) > _MEMORY:
            state.history.pop(0)
        state.beta = candidate
        workspace.swap()
        state.objective, state.gradient = value, new_gradient
        state.preconditioned = preconditioned


def _solve(XaT, problem, tol, max_iter):
    """L-BFGS from the curvature bound (float32 first for float32 data), then float64."""
    n_batch, q, _ = XaT.shape
    n_folds, n_outputs = problem["weights"].shape[1], problem["targets"].shape[-1]
    curvature = 0.25 if n_outputs == 1 else 0.5
    # One bound for all folds: that of their mean weights and penalty.
    weights = problem["weights"].mean(1)
    penalty = problem["penalty"][:, :, 0].mean(1)
    factors = bound_factors(XaT, weights, penalty, curvature, problem["C"])
    inverses = torch.cholesky_inverse(factors)[:, None]
    beta = torch.zeros(n_batch, n_folds, n_outputs, q, dtype=_FLOAT64, device=XaT.device)
    if XaT.dtype == _FLOAT64:
        return _lbfgs(XaT, problem, beta, inverses, tol, max_iter, single=False)
    beta, used, _ = _lbfgs(XaT, problem, beta, inverses, tol / 2, max_iter, single=True)
    # Float64 confirms the stopping rule (iterating where it fails) a block of time
    # points at a time, so that the float64 copies of the data stay small.
    step = max(1, _CHECK_ELEMENTS // (q * XaT.shape[2]))
    fits = []
    for start in range(0, n_batch, step):
        rows = slice(start, start + step)
        part = {**problem, "penalty": problem["penalty"][rows], "means": problem["means"][rows]}
        fits.append(
            _lbfgs(
                XaT[rows].to(_FLOAT64),
                part,
                beta[rows].to(_FLOAT64),
                inverses[rows].to(_FLOAT64),
                tol,
                max_iter,
                single=False,
            )
        )
    beta, more, converged = zip(*fits, strict=True)
    return torch.cat(beta), used + max(more), torch.cat(converged)


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
    max_memory=None,
):
    """``LogisticRegression(C)`` after a ``StandardScaler``, every fold and batch at once.

    The penalty ``||w_z||^2`` of standardised weights is ``sum(scale^2 * w^2)`` on raw
    ones, so the iterations run on the raw data with a per-feature penalty; the
    unpenalised intercept absorbs the fold centring. Two classes take one output,
    more are multinomial; both run L-BFGS from the curvature bound. Float32 data run in
    float32 until the gradient is below half the tolerance or stops
    shrinking, and finish in float64, where every problem meets the stopping rule:
    every gradient entry (for the fold-centred data) below
    ``tol * C * sum(fold weights)``.

    Parameters
    ----------
    X : Tensor of shape (n_batch, n_samples, n_features)
        Centred data (e.g. by the mean of all rows).
    codes : Tensor of int64 of shape (n_samples,) or (n_folds, n_samples)
        Class of every sample, the same for all folds or one row per fold (e.g.
        folds of several relabellings of the samples).
    n_classes : int
    weights : Tensor of float64 of shape (n_samples, n_folds)
        Sample weight of every row in every fold, 0 outside its training rows.
    C : float
    max_iter : int
        Iterations of each precision.
    tol : float or None
        None is scikit-learn's default, 1e-4, for float32 data and 1e-10 for float64
        data (so that float64 fits reach the optimum that exact arithmetic would).
    standardize : bool, default=True
    origin : Tensor of shape (n_batch, 1, n_features), optional
        What was subtracted from the data, to recognise constant features as
        ``StandardScaler`` does.

    Returns
    -------
    coef : Tensor of float64 of shape (n_batch, n_folds, n_features, n_outputs)
    bias : Tensor of float64 of shape (n_batch, n_folds, n_outputs)
        For ``X``; ``n_outputs`` is 1 for two classes (the score of the second) and
        ``n_classes`` otherwise.
    n_iter : int
    """
    n_batch, n_samples, n_features = X.shape
    if tol is None:
        tol = 1e-10 if X.dtype == _FLOAT64 else 1e-4
    binary = n_classes == 2
    n_outputs = 1 if binary else n_classes
    weights = weights.to(device=X.device, dtype=_FLOAT64)
    indicator = (weights > 0).to(_FLOAT64)
    codes = codes.to(X.device).expand(weights.shape[1], n_samples)
    targets = torch.nn.functional.one_hot(codes, n_classes).to(_FLOAT64)
    if binary:
        targets = targets[..., 1:]
    limits = C * weights.sum(0)
    q = n_features + 1
    n_folds = weights.shape[1]
    # Per time point: the data (with ones, float64 copies), the bound and the
    # refreshed blocks, arrays of logits and the L-BFGS history.
    per_item = 8 * (
        4 * n_samples * q
        + 3 * (1 + n_outputs) * q * q
        + 12 * n_samples * n_folds * n_outputs
        + (3 * _MEMORY + 6) * n_folds * n_outputs * q
    )
    coefs, n_iter, failed = [], 0, False
    # Time points run in chunks whose logits stay near the CPU caches; every
    # elementwise pass over them then costs a fraction of one over main memory.
    chunk = max(1, _CHUNK_ELEMENTS // (n_folds * n_outputs * n_samples))
    for batch in plan_batches(n_batch, per_item, max_memory, device=X.device, largest=chunk):
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
        beta, used, converged = _solve(transposed_with_ones(block), problem, tol, max_iter)
        failed |= not bool(converged.all())
        coefs.append(beta)
        n_iter = max(n_iter, used)
    if failed:
        warnings.warn(
            f"Logistic regression did not converge in max_iter={max_iter} iterations "
            f"(tol={tol}). Increase max_iter or regularise more (smaller C).",
            NeuroalignWarning,
            stacklevel=3,
        )
    beta = torch.cat(coefs)
    return beta[..., :-1].mT, beta[..., -1], n_iter
