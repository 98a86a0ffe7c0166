"""Feature regression at every time point at once: ridge with an inner-CV alpha per target.

For time point ``t`` and one outer fold this computes what
``solve_ridge_cv(X[train, :, t], Y[train], alphas).predict(X[test, :, t])`` does (5
contiguous inner folds, Pearson validation score, intercept, best alpha per target,
refit on all training rows), with time as a batch dimension of every product and
decomposition.

Every fit (an inner fold or the refit) reduces to ``predictions = A diag(w) B`` with
``w = 1 / (s + alpha)``: in the primal form (channels <= outer training rows)
``s, V = eigh(Xcᵀ Xc)``, ``A = X_test_c V``, ``B = Vᵀ Xcᵀ Yc``; in the dual form
``s, U = eigh(Xc Xcᵀ)``, ``A = X_test_c Xcᵀ U``, ``B = Uᵀ Yc`` (``Xc``, ``Yc``:
training rows centred on their means, test rows centred on the training means). The
validation Pearson r of every alpha needs the cross term ``w · (B ⊙ Acᵀ Yc_test)`` and
the squared norms of the centred predictions, which the partial fractions of
:mod:`neuroalign.encoding._sweep` give from one product ``H B`` per fold, here in
float64 for every pair of eigenvalues. A time point whose kept eigenvalues are so close
that float64 could not absorb the amplification (``(s_max + alpha_max) / gap`` above
``1e10``) gets its norms from its stacked predictions instead. Components in the
numerical null space of the training rows (eigenvalue below ``rank × eps × s_max``)
carry only rounding and are left out of the validation scores.
"""

import torch

from neuroalign._backend import plan_batches, to_tensor
from neuroalign._validation import warn_constant_targets
from neuroalign.encoding import make_folds
from neuroalign.encoding._sweep import MAX_AMPLIFICATION, kept_components

__all__ = ["INNER_FOLDS", "ridge_predictions_over_time"]

# Time points per chunk: the elementwise passes over (time, rank, target) blocks then
# stay near the caches (320 x 64 -> 512, 200 time points: 2.0 s in chunks of 8 to 16,
# 4.0 s in one chunk).
_TIMES_PER_CHUNK = 16
INNER_FOLDS = 5


class _Moments:
    """Row count, sums and cross-products of a set of rows at every time point.

    Moments add up over disjoint row sets, so a fit's moments are those of the outer
    training rows minus those of the held-out block.

    Parameters
    ----------
    X : Tensor of shape (n_rows, n_times, n_channels), float64, contiguous
    Y : Tensor of shape (n_rows, n_targets), float64
    """

    def __init__(self, X=None, Y=None, *, parts=None):
        if parts is not None:
            self.n, self.x_sum, self.y_sum, self.xx, self.xy = parts
            return
        self.n, n_times, n_channels = X.shape
        self.x_sum, self.y_sum = X.sum(0), Y.sum(0)
        by_time = X.permute(1, 0, 2)
        self.xx = by_time.mT @ by_time
        self.xy = (X.reshape(self.n, -1).T @ Y).view(n_times, n_channels, -1)

    def __sub__(self, other):
        return _Moments(
            parts=(
                self.n - other.n,
                self.x_sum - other.x_sum,
                self.y_sum - other.y_sum,
                self.xx - other.xx,
                self.xy - other.xy,
            )
        )

    @property
    def x_mean(self):
        """Tensor of shape (n_times, n_channels)."""
        return self.x_sum / self.n

    @property
    def y_mean(self):
        """Tensor of shape (n_targets,)."""
        return self.y_sum / self.n

    def centred(self):
        """Centred ``Xᵀ X`` and ``Xᵀ Y``.

        Returns
        -------
        xx : Tensor of shape (n_times, n_channels, n_channels)
        xy : Tensor of shape (n_times, n_channels, n_targets)
        """
        x_mean = self.x_mean[:, :, None]
        y_mean = self.y_mean.expand(len(x_mean), 1, -1)
        xx = torch.baddbmm(self.xx, x_mean, x_mean.mT, alpha=-self.n)
        return xx, torch.baddbmm(self.xy, x_mean, y_mean, alpha=-self.n)


def _primal_fit(fit, held_out):
    """Eigenvalues, ``B`` and the held-out products of a primal fit, from moments.

    Returns
    -------
    s : Tensor of shape (n_times, n_channels), ascending, >= 0
    B : Tensor of shape (n_times, n_channels, n_targets)
    V : Tensor of shape (n_times, n_channels, n_channels)
    cross : Tensor of shape (n_times, n_channels, n_targets) or None
        ``Acᵀ Yc`` of the held-out rows (both centred on the held-out means).
    gram : Tensor of shape (n_times, n_channels, n_channels) or None
        ``Acᵀ Ac``.
    """
    xx, xy = fit.centred()
    s, V = torch.linalg.eigh(xx)
    if held_out is None:
        return s.clamp_min(0.0), V.mT @ xy, V, None, None
    held_xx, held_xy = held_out.centred()
    return s.clamp_min(0.0), V.mT @ xy, V, V.mT @ held_xy, V.mT @ held_xx @ V


def _dual_fit(X_fit, X_held, Y_fit, Y_held):
    """The same as :func:`_primal_fit` in the dual form, from rows.

    ``X_fit`` and ``X_held`` are (n_rows, n_times, n_channels). ``V`` is returned as
    ``Xcᵀ U`` (n_times, n_channels, n_fit), which maps centred rows to the fit's basis
    as ``V`` does in the primal form.
    """
    Xc = (X_fit - X_fit.mean(0)).permute(1, 0, 2)
    s, U = torch.linalg.eigh(Xc @ Xc.mT)
    B = U.mT @ (Y_fit - Y_fit.mean(0))
    V = Xc.mT @ U
    if X_held is None:
        return s.clamp_min(0.0), B, V, None, None
    Ac = (X_held - X_held.mean(0)).permute(1, 0, 2) @ V
    cross = Ac.mT @ (Y_held - Y_held.mean(0))
    return s.clamp_min(0.0), B, V, cross, Ac.mT @ Ac


def _unsafe_times(s, kept, alpha_max):
    """Time points whose closest kept eigenvalues amplify rounding beyond float64."""
    both = kept[:, 1:] & kept[:, :-1]
    gaps = torch.where(both, torch.diff(s, dim=-1), torch.inf).amin(-1)
    reach = s.amax(-1) + alpha_max
    return (gaps <= 0) | (reach > MAX_AMPLIFICATION * gaps)


def _prediction_norms(gram, s, B, weights, kept, alpha_max):
    """``Σ_ij w_ai B_i G_ij w_aj B_j`` per alpha and target, (n_times, n_alphas, n_targets).

    ``gram`` (n_times, rank, rank) is ``G = Acᵀ Ac``; ``weights`` (n_times, n_alphas,
    rank) holds ``w_a``; ``kept`` (n_times, rank) the components outside the null space.
    """
    pair = kept[:, :, None] & kept[:, None, :]
    pair.diagonal(dim1=-2, dim2=-1).fill_(False)
    gap = s[:, None, :] - s[:, :, None]
    fractions = torch.where(pair & (gap != 0), gram / torch.where(gap != 0, gap, 1.0), 0.0)
    norms = (weights * weights * gram.diagonal(dim1=-2, dim2=-1)[:, None, :]) @ (B * B)
    norms += 2.0 * weights @ (B * (fractions @ B))
    for t in torch.nonzero(_unsafe_times(s, kept, alpha_max)).ravel().tolist():
        scaled = weights[t][:, :, None] * B[t][None]
        norms[t] = (scaled * (gram[t] @ scaled)).sum(1)
    return norms


def _validation_pearson(s, B, cross, gram, y_norms, alphas):
    """Pearson r of every alpha's validation predictions, (n_times, n_alphas, n_targets).

    Parameters
    ----------
    s : Tensor of shape (n_times, rank)
    B : Tensor of shape (n_times, rank, n_targets)
    cross : Tensor of shape (n_times, rank, n_targets)
        ``Acᵀ Yc`` of the validation rows.
    gram : Tensor of shape (n_times, rank, rank)
        ``Acᵀ Ac``.
    y_norms : Tensor of shape (n_targets,)
        Norms of the centred validation targets.
    alphas : Tensor of shape (n_alphas,)
    """
    kept = kept_components(s)
    B = B * kept[..., None]
    weights = 1.0 / (s[:, None, :] + alphas[None, :, None])
    covariance = weights @ (B * cross)
    norms = _prediction_norms(gram, s, B, weights, kept, float(alphas.max()))
    spread = norms.clamp_min(0.0).sqrt() * y_norms
    return torch.where(spread > 0, covariance / spread.clamp_min(1e-30), 0.0)


def _bytes_per_time(n_train, n_channels, n_targets, n_alphas, rank):
    """float64 working memory of one time point (rows, moments, bases, products, scores)."""
    return 8 * (
        2 * n_train * n_channels
        + 3 * n_channels * n_channels
        + 3 * rank * rank
        + 6 * (n_channels + rank) * n_targets
        + 3 * n_alphas * rank
        + 4 * n_alphas * n_targets
    )


def _fold_scores(X_train, Y_train, fit_rows, held_rows, whole, alphas):
    """Validation Pearson r (n_times, n_alphas, n_targets) of one inner fold.

    ``whole`` holds the training rows' :class:`_Moments` in the primal form and is None
    in the dual form.
    """
    Y_held = Y_train[held_rows]
    if whole is None:
        fit = _dual_fit(X_train[fit_rows], X_train[held_rows], Y_train[fit_rows], Y_held)
    else:
        held = _Moments(X_train[held_rows], Y_held)
        fit = _primal_fit(whole - held, held)
    s, B, _, cross, gram = fit
    y_norms = torch.linalg.vector_norm(Y_held - Y_held.mean(0), dim=0)
    return _validation_pearson(s, B, cross, gram, y_norms, alphas)


def ridge_predictions_over_time(X, Y, train, test, alphas, *, max_memory=None):
    """Test predictions of per-target ridge with inner-CV alphas, for every time point.

    Parameters
    ----------
    X : ndarray or Tensor of shape (n_samples, n_channels, n_times)
        Responses; each chunk of time points is copied to ``Y``'s device in float64.
    Y : Tensor of shape (n_samples, n_targets), float64
        Features to decode, on the device where the fits run.
    train, test : array-like of shape (n_train,) and (n_test,), integer
        Outer fold; each alpha comes from 5 contiguous folds of ``train``.
    alphas : Tensor of shape (n_alphas,), float64
        Positive penalties.
    max_memory : int or str, optional
        Budget for one chunk of time points; see :func:`neuroalign._backend.plan_batches`.

    Returns
    -------
    predictions : Tensor of shape (n_times, n_test, n_targets), float64
    best_alphas : Tensor of shape (n_times, n_targets), float64
        Alpha chosen for every time point and target (the first on ties).

    Warns
    -----
    NeuroalignWarning
        If some targets are constant over the training rows.
    """
    _, n_channels, n_times = X.shape
    n_train, n_targets = len(train), Y.shape[1]
    device = Y.device
    train = torch.as_tensor(train, device=device)
    test = torch.as_tensor(test, device=device)
    Y_train = Y[train]
    warn_constant_targets(
        Y_train,
        "constant over the training stimuli; their predictions are their mean",
        stacklevel=3,
    )
    dual = n_channels > n_train
    inner = [
        (torch.as_tensor(fit, device=device), torch.as_tensor(held, device=device))
        for fit, held in make_folds(n_train, INNER_FOLDS)
    ]
    per_time = _bytes_per_time(
        n_train, n_channels, n_targets, len(alphas), n_train if dual else n_channels
    )
    chunks = plan_batches(n_times, per_time, max_memory, device=device, largest=_TIMES_PER_CHUNK)
    predictions = torch.empty((n_times, len(test), n_targets), dtype=Y.dtype, device=device)
    best_alphas = torch.empty((n_times, n_targets), dtype=Y.dtype, device=device)
    for chunk in chunks:
        by_time = to_tensor(X[:, :, chunk], device=device, dtype=torch.float64).permute(0, 2, 1)
        X_train, X_test = by_time[train].contiguous(), by_time[test]
        whole = None if dual else _Moments(X_train, Y_train)
        scores = sum(
            _fold_scores(X_train, Y_train, fit_rows, held_rows, whole, alphas)
            for fit_rows, held_rows in inner
        )
        best = alphas[torch.max(scores, 1).indices]
        if dual:
            s, B, V, _, _ = _dual_fit(X_train, None, Y_train, None)
        else:
            s, B, V, _, _ = _primal_fit(whole, None)
        A = (X_test - X_train.mean(0)).permute(1, 0, 2) @ V
        predictions[chunk] = A @ (B / (s[:, :, None] + best[:, None, :])) + Y_train.mean(0)
        best_alphas[chunk] = best
    return predictions, best_alphas
