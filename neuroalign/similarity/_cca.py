"""Canonical correlation analysis (CCA) and SVCCA between response matrices.

The canonical correlations of two centred matrices are the singular values of
``Q_a^T Q_b``, where ``Q`` is an orthonormal basis of each matrix's column space.
The basis comes from the eigendecomposition of the centred kernel ``X X^T``
(n_stimuli x n_stimuli), so all pairs of sources are scored in one batched
singular-value computation whatever their numbers of features.

References
----------
Hotelling (1936). Relations between two sets of variates. Biometrika.
Raghu, Gilmer, Yosinski & Sohl-Dickstein (2017). SVCCA: singular vector canonical
correlation analysis for deep learning dynamics and interpretability. NeurIPS.
"""

import torch

from neuroalign._backend import resolve_device
from neuroalign.exceptions import DimensionError
from neuroalign.similarity._cka import (
    as_sources,
    center_kernel,
    check_n_stimuli,
    gram_stack,
    pair_shape,
)

__all__ = ["canonical_correlations", "cca_similarity", "svcca"]

# Directions whose variance is below this share of the largest are treated as rank deficiency.
_RANK_RTOL = 1e-10


def check_variance(variance):
    """Check the share of variance SVCCA keeps (a number in (0, 1])."""
    if isinstance(variance, bool) or not isinstance(variance, (int, float)):
        raise TypeError(f"'variance' must be a number in (0, 1]; got {variance!r}.")
    if not 0 < variance <= 1:
        raise ValueError(
            f"'variance' must be in (0, 1] (share of variance kept, e.g. 0.99); got {variance!r}."
        )
    return float(variance)


def orthonormal_bases(gram, variance=None):
    """Orthonormal bases of the centred column spaces, and their dimensions.

    Parameters
    ----------
    gram : torch.Tensor of shape (..., n_sources, n, n)
        Uncentred linear kernels, float64.
    variance : float or None, default=None
        ``None``: the whole column space (directions down to rank deficiency);
        a share in (0, 1]: the fewest leading directions that explain it (SVCCA).

    Returns
    -------
    bases : torch.Tensor of shape (..., n_sources, n, n)
        Basis vectors by decreasing variance; columns beyond each rank are zero.
    ranks : torch.Tensor of int64 of shape (..., n_sources)
    """
    eigenvalues, vectors = torch.linalg.eigh(center_kernel(gram))
    eigenvalues, vectors = eigenvalues.flip(-1).clamp(min=0), vectors.flip(-1)
    largest = eigenvalues[..., :1]
    keep = eigenvalues > _RANK_RTOL * largest
    if variance is not None:
        explained = eigenvalues.cumsum(-1) / eigenvalues.sum(-1, keepdim=True)
        # Keep every direction up to and including the first that reaches the share.
        needed = (explained < variance - 1e-12).sum(-1, keepdim=True) + 1
        keep = keep & (torch.arange(gram.shape[-1], device=gram.device) < needed)
    return vectors * keep.unsqueeze(-2), keep.sum(-1)


def cca_from_grams(gram_a, gram_b, *, variance=None):
    """Mean canonical correlation of every pair of sources given their linear kernels.

    Parameters
    ----------
    gram_a : torch.Tensor of shape (..., n_a, n, n)
    gram_b : torch.Tensor of shape (..., n_b, n, n)
        Uncentred linear kernels, float64; leading dims must match.
    variance : float or None, default=None
        Share of variance each side keeps before CCA (SVCCA); ``None`` for plain CCA.

    Returns
    -------
    mean_correlation : torch.Tensor of shape (..., n_a, n_b)
        Mean of the ``min(rank_a, rank_b)`` canonical correlations.
    """
    bases_a, ranks_a = orthonormal_bases(gram_a, variance)
    bases_b, ranks_b = orthonormal_bases(gram_b, variance)
    bases_a = bases_a[..., : int(ranks_a.max())]
    bases_b = bases_b[..., : int(ranks_b.max())]
    cross = bases_a.unsqueeze(-3).transpose(-1, -2) @ bases_b.unsqueeze(-4)
    correlations = torch.linalg.svdvals(cross).clamp(max=1.0)
    n_pairs = torch.minimum(ranks_a.unsqueeze(-1), ranks_b.unsqueeze(-2))
    first = torch.arange(correlations.shape[-1], device=cross.device) < n_pairs.unsqueeze(-1)
    return (correlations * first).sum(-1) / n_pairs


def _pairwise(a, b, device, variance):
    device = resolve_device(device)
    sources_a = as_sources(a, "a", device=device, dtype=torch.float64)
    sources_b = as_sources(b, "b", device=device, dtype=torch.float64)
    check_n_stimuli(sources_a, sources_b, minimum=3)
    scores = cca_from_grams(
        gram_stack(sources_a.tensors), gram_stack(sources_b.tensors), variance=variance
    )
    return pair_shape(scores, sources_a, sources_b)


def canonical_correlations(a, b, *, device=None):
    """All canonical correlations between two response matrices.

    Parameters
    ----------
    a : array-like of shape (n_stimuli, n_features_a)
    b : array-like of shape (n_stimuli, n_features_b)
        Same stimuli in the same row order.
    device : {"auto", "cpu", "cuda", ...} or torch.device, default=None

    Returns
    -------
    correlations : torch.Tensor of float64 of shape (min(rank_a, rank_b),)
        In decreasing order; ``rank`` is the rank of the column-centred matrix.

    Raises
    ------
    DimensionError
        If ``a`` or ``b`` is not a single 2-D matrix.
    ValueError
        If the numbers of stimuli differ or are below 3, or values are not finite.

    See Also
    --------
    cca_similarity : their mean, batched over many pairs.
    sklearn.cross_decomposition.CCA : iterative estimate of the leading ones.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.similarity import canonical_correlations
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((100, 3))
    >>> y = np.c_[x[:, 0] + 0.5 * rng.standard_normal(100), rng.standard_normal(100)]
    >>> canonical_correlations(x, y, device="cpu").numpy().round(2)
    array([0.93, 0.03])
    """
    device = resolve_device(device)
    sources_a = as_sources(a, "a", device=device, dtype=torch.float64)
    sources_b = as_sources(b, "b", device=device, dtype=torch.float64)
    for name, sources in (("a", sources_a), ("b", sources_b)):
        if sources.batch_shape:
            raise DimensionError(
                f"{name!r} must be one matrix of shape (n_stimuli, n_features); got "
                f"{sources.batch_shape[0]} sources. Use cca_similarity() for many pairs."
            )
    check_n_stimuli(sources_a, sources_b, minimum=3)
    bases_a, rank_a = orthonormal_bases(gram_stack(sources_a.tensors)[0])
    bases_b, rank_b = orthonormal_bases(gram_stack(sources_b.tensors)[0])
    cross = bases_a[:, : int(rank_a)].T @ bases_b[:, : int(rank_b)]
    return torch.linalg.svdvals(cross).clamp(max=1.0)


def cca_similarity(a, b, *, device=None):
    """Mean canonical correlation between response matrices, batched over pairs.

    Parameters
    ----------
    a : array-like of shape (n_stimuli, n_features_a), (n_a, n_stimuli, n_features_a)
        or a sequence of n_a such matrices
    b : same forms as ``a``, same stimuli in the same row order
    device : {"auto", "cpu", "cuda", ...} or torch.device, default=None

    Returns
    -------
    similarity : torch.Tensor of float64, shape ``batch_a + batch_b``
        Mean of the ``min(rank_a, rank_b)`` canonical correlations, in [0, 1].

    Raises
    ------
    ValueError
        If sources have different numbers of stimuli or fewer than 3, or hold
        non-finite values.

    See Also
    --------
    svcca : CCA after keeping the leading singular directions (recommended when
        features approach or exceed stimuli, where plain CCA saturates at 1).
    canonical_correlations : all correlations of one pair.

    Notes
    -----
    Computed in float64; directions with less than 1e-10 of the largest variance are
    treated as rank deficiency.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.similarity import cca_similarity
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((200, 4))
    >>> round(float(cca_similarity(x, x @ rng.standard_normal((4, 4)), device="cpu")), 6)
    1.0
    """
    return _pairwise(a, b, device, None)


def svcca(a, b, *, variance=0.99, device=None):
    """SVCCA: mean canonical correlation after an SVD that keeps ``variance`` of each side.

    Each centred matrix is reduced to its fewest leading singular directions that
    explain ``variance`` of its total variance, then the reduced matrices are
    compared with CCA (Raghu et al. 2017).

    Parameters
    ----------
    a, b : see :func:`cca_similarity`
    variance : float in (0, 1], default=0.99
        Share of variance kept on each side.
    device : {"auto", "cpu", "cuda", ...} or torch.device, default=None

    Returns
    -------
    similarity : torch.Tensor of float64, shape ``batch_a + batch_b``

    Raises
    ------
    ValueError
        As :func:`cca_similarity`, or if ``variance`` is not in (0, 1].

    See Also
    --------
    cca_similarity, linear_cka

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.similarity import svcca
    >>> rng = np.random.default_rng(0)
    >>> signal = rng.standard_normal((100, 3))
    >>> x = signal @ rng.standard_normal((3, 50)) + 0.01 * rng.standard_normal((100, 50))
    >>> y = signal @ rng.standard_normal((3, 80))
    >>> round(float(svcca(x, y, variance=0.99, device="cpu")), 3)
    1.0
    """
    return _pairwise(a, b, device, check_variance(variance))
