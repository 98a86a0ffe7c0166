"""Orthogonal Procrustes distance and the generalised shape metrics of Williams et al. (2021).

Each source is centred, partially whitened with ``alpha`` and the two sides are
optimally rotated onto each other. All computations use the centred kernel
``X X^T`` of each source (n_stimuli x n_stimuli), so sources with different numbers
of features are compared without padding their features, and all pairs are scored
in one batched singular-value computation.

References
----------
Williams, Kunz, Kornblith & Linderman (2021). Generalized shape metrics on neural
representations. NeurIPS. (Reference code: ``netrep.metrics.LinearMetric``.)
"""

import torch

from neuroalign._backend import resolve_device
from neuroalign._validation import check_option
from neuroalign.similarity._cka import (
    as_sources,
    center_kernel,
    check_n_stimuli,
    gram_stack,
    pair_shape,
)

__all__ = ["procrustes_distance"]

# Eigenvalue floor of the whitening, as in netrep's ``whiten``.
_EIGVAL_TOL = 1e-7
METRICS = ("angular", "euclidean")


def check_alpha(alpha):
    """Check the partial-whitening parameter (a number in [0, 1])."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha <= 1:
        raise ValueError(
            f"'alpha' must be a number in [0, 1] (1: no whitening, Procrustes; 0: full "
            f"whitening, CCA-like); got {alpha!r}."
        )
    return float(alpha)


def _whitened_variance(eigenvalue, alpha):
    """Variance along an eigen-direction after scaling by ``alpha + (1 - alpha) / sqrt(lam)``."""
    return alpha**2 * eigenvalue + 2 * alpha * (1 - alpha) * eigenvalue**0.5 + (1 - alpha) ** 2


def _whitening_scales(eigenvalues, width, alpha):
    """Rescaling that keeps the total variance of sources zero-padded to ``width`` features.

    netrep pads both sides of a pair to the larger number of features before
    whitening; the padded null directions enter the variance it preserves.

    Parameters
    ----------
    eigenvalues : torch.Tensor of shape (..., n_sources, n)
        Eigenvalues of the centred kernels, decreasing.
    width : torch.Tensor of int of shape (n_sources, n_partners)
    alpha : float

    Returns
    -------
    scales : torch.Tensor of shape (..., n_sources, n_partners)
    """
    n = eigenvalues.shape[-1]
    spectrum = eigenvalues.clamp(min=_EIGVAL_TOL)
    start = torch.zeros_like(spectrum[..., :1])
    total = torch.cat([start, spectrum.cumsum(-1)], dim=-1)
    whitened = torch.cat([start, _whitened_variance(spectrum, alpha).cumsum(-1)], dim=-1)
    index = width.clamp(max=n).expand(eigenvalues.shape[:-1] + width.shape[-1:])
    extra = (width - n).clamp(min=0)
    total = total.gather(-1, index) + extra * _EIGVAL_TOL
    whitened = whitened.gather(-1, index) + extra * _whitened_variance(_EIGVAL_TOL, alpha)
    return (total / whitened).sqrt()


def whitened_factors(gram, n_features, alpha):
    """Centre and partially whiten sources given their kernels, before variance rescaling.

    Parameters
    ----------
    gram : torch.Tensor of shape (..., n_sources, n, n)
        Uncentred linear kernels, float64.
    n_features : torch.Tensor of shape (n_sources,)
    alpha : float
        1: no whitening; 0: full whitening.

    Returns
    -------
    factors : torch.Tensor of shape (..., n_sources, n, k)
        ``F`` with ``F F^T = Xw Xw^T`` for ``Xw = Xc (alpha I + (1 - alpha) C^{-1/2})``,
        ``Xc`` the centred data and ``C = Xc^T Xc``; the right rotation of
        ``Xw = U S V^T`` is dropped, which leaves Procrustes distances unchanged.
        Columns by decreasing variance, ``k = min(n, max(n_features))``.
    eigenvalues : torch.Tensor of shape (..., n_sources, n)
        Eigenvalues of the centred kernels, decreasing.
    """
    eigenvalues, vectors = torch.linalg.eigh(center_kernel(gram))
    eigenvalues, vectors = eigenvalues.flip(-1), vectors.flip(-1)
    n = gram.shape[-1]
    # C has min(n, p) of the kernel's eigenvalues, plus p - n zeros.
    kept = torch.arange(n, device=gram.device) < n_features.unsqueeze(-1)
    scale = alpha + (1 - alpha) * eigenvalues.clamp(min=_EIGVAL_TOL).rsqrt()
    singular = eigenvalues.clamp(min=0).sqrt() * kept
    factors = vectors * (singular * scale).unsqueeze(-2)
    return factors[..., : int(n_features.max().clamp(max=n))], eigenvalues


def nuclear_norms(factors_a, factors_b):
    """Sum of singular values of ``F_a^T F_b`` for every pair of factors.

    Parameters
    ----------
    factors_a : torch.Tensor of shape (..., n_a, n, k_a)
    factors_b : torch.Tensor of shape (..., n_b, n, k_b)

    Returns
    -------
    norms : torch.Tensor of shape (..., n_a, n_b)
    """
    cross = factors_a.unsqueeze(-3).transpose(-1, -2) @ factors_b.unsqueeze(-4)
    return torch.linalg.svdvals(cross).sum(-1)


def procrustes_from_grams(gram_a, gram_b, n_features_a, n_features_b, *, alpha, metric):
    """Shape distance between every pair of sources given their linear kernels.

    Parameters
    ----------
    gram_a : torch.Tensor of shape (..., n_a, n, n)
    gram_b : torch.Tensor of shape (..., n_b, n, n)
        Uncentred linear kernels, float64; leading dims must match.
    n_features_a, n_features_b : torch.Tensor of int of shape (n_a,) and (n_b,)
    alpha : float
    metric : {"angular", "euclidean"}

    Returns
    -------
    distances : torch.Tensor of shape (..., n_a, n_b)
    """
    factors_a, eigenvalues_a = whitened_factors(gram_a, n_features_a, alpha)
    factors_b, eigenvalues_b = whitened_factors(gram_b, n_features_b, alpha)
    width = torch.maximum(n_features_a.unsqueeze(-1), n_features_b.unsqueeze(-2))
    scale_a = _whitening_scales(eigenvalues_a, width, alpha)
    scale_b = _whitening_scales(eigenvalues_b, width.T, alpha).transpose(-1, -2)
    nuclear = nuclear_norms(factors_a, factors_b) * scale_a * scale_b
    squared_a = factors_a.square().sum((-1, -2)).unsqueeze(-1) * scale_a.square()
    squared_b = factors_b.square().sum((-1, -2)).unsqueeze(-2) * scale_b.square()
    if metric == "angular":
        cosine = nuclear / (squared_a * squared_b).sqrt()
        return torch.arccos(cosine.clamp(-1.0, 1.0))
    squared = squared_a + squared_b - 2 * nuclear
    return (squared.clamp(min=0) / gram_a.shape[-1]).sqrt()


def procrustes_distance(a, b, *, alpha=1.0, metric="angular", device=None):
    """Generalised shape metric (orthogonal Procrustes) between response matrices.

    Each matrix is centred (columns), partially whitened,
    ``Xw = X (alpha I + (1 - alpha) C^{-1/2})`` rescaled to keep the total
    variance, and the two sides are rotated onto each other optimally. With
    ``alpha=1`` this is the orthogonal Procrustes distance; with ``alpha=0`` it is
    related to CCA. Matrices with different numbers of features are zero-padded to
    the larger number before whitening (implicitly: nothing is padded). Matches
    ``netrep.metrics.LinearMetric(alpha, center_columns=True, zero_pad=True,
    score_method=metric)``.

    Parameters
    ----------
    a : array-like of shape (n_stimuli, n_features_a), (n_a, n_stimuli, n_features_a)
        or a sequence of n_a such matrices
    b : same forms as ``a``, same stimuli in the same row order
    alpha : float in [0, 1], default=1.0
        Partial-whitening parameter (1: no whitening).
    metric : {"angular", "euclidean"}, default="angular"
        ``"angular"``: ``arccos(<Xw, Yw R> / (|Xw| |Yw|))`` in radians, in [0, pi/2];
        ``"euclidean"``: ``|Xw - Yw R|_F / sqrt(n_stimuli)``.
    device : {"auto", "cpu", "cuda", ...} or torch.device, default=None

    Returns
    -------
    distance : torch.Tensor of float64, shape ``batch_a + batch_b``
        0 for matrices equal up to rotation (and, for ``"angular"``, scale).

    Raises
    ------
    ValueError
        If sources have different numbers of stimuli or fewer than 3, hold non-finite
        values, or ``alpha`` / ``metric`` is invalid.

    See Also
    --------
    linear_cka : a related rotation-invariant similarity.
    cca_similarity : what ``alpha=0`` approaches.
    similarity_scores : labelled front door with bootstrap CIs.

    Notes
    -----
    Computed in float64 because whitening depends on the small eigenvalues. Cost:
    one n x n eigendecomposition per source and one singular-value decomposition
    of a min(n, p_a) x min(n, p_b) matrix per pair.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.similarity import procrustes_distance
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((30, 5))
    >>> rotation = np.linalg.qr(rng.standard_normal((5, 5)))[0]
    >>> round(float(procrustes_distance(x, x @ rotation, device="cpu")), 5)
    0.0
    >>> round(float(procrustes_distance(x, rng.standard_normal((30, 5)), device="cpu")), 2)
    1.22
    """
    alpha = check_alpha(alpha)
    check_option("metric", metric, METRICS)
    device = resolve_device(device)
    sources_a = as_sources(a, "a", device=device, dtype=torch.float64)
    sources_b = as_sources(b, "b", device=device, dtype=torch.float64)
    check_n_stimuli(sources_a, sources_b, minimum=3)
    distances = procrustes_from_grams(
        gram_stack(sources_a.tensors),
        gram_stack(sources_b.tensors),
        torch.tensor(sources_a.n_features, device=device),
        torch.tensor(sources_b.n_features, device=device),
        alpha=alpha,
        metric=metric,
    )
    return pair_shape(distances, sources_a, sources_b)
