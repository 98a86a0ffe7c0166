"""Centred kernel alignment (linear, RBF, debiased), batched over many pairs of sources.

Every source (a layer, an ROI) is a response matrix of shape (n_stimuli, n_features);
sources may differ in their number of features but must share the stimuli, in the
same row order. The kernels of all sources are stacked into one
(n_sources, n_stimuli, n_stimuli) tensor, so that the similarity of every pair
(all layers x all ROIs) is one matrix product.

References
----------
Kornblith, Norouzi, Lee & Hinton (2019). Similarity of neural network
representations revisited. ICML.
Song, Smola, Gretton, Bedo & Borgwardt (2012). Feature selection via dependence
maximization. JMLR 13 (unbiased HSIC).
Nguyen, Raghu & Kornblith (2021). Do wide and deep networks learn the same things?
ICLR (debiased CKA).
"""

from typing import NamedTuple

import torch

from neuroalign._backend import resolve_device, resolve_dtype, to_tensor
from neuroalign.exceptions import DimensionError

__all__ = ["linear_cka", "rbf_cka"]


class Sources(NamedTuple):
    """Response matrices of one side of a comparison.

    Attributes
    ----------
    tensors : list of torch.Tensor of shape (n_stimuli, n_features_i)
    batch_shape : tuple
        ``()`` when one matrix was given, ``(n_sources,)`` for a sequence or 3-D array.
    n_features : list of int
    """

    tensors: list
    batch_shape: tuple
    n_features: list


def as_sources(data, name, *, device=None, dtype=None):
    """Convert one side of a comparison to a list of 2-D tensors.

    Parameters
    ----------
    data : array-like of shape (n_stimuli, n_features) or (n_sources, n_stimuli, n_features),
        or a sequence of 2-D array-likes (their numbers of features may differ)
    name : str
        Argument name, for messages.
    device, dtype : see :func:`neuroalign._backend.to_tensor`

    Returns
    -------
    sources : Sources

    Raises
    ------
    DimensionError
        If a matrix is not 2-D or has no feature.
    ValueError
        If a matrix holds NaN/inf values or is constant across stimuli.
    """
    if isinstance(data, (list, tuple)):
        if not data:
            raise ValueError(f"{name!r} is an empty sequence; pass at least one response matrix.")
        tensors = [to_tensor(x, device=device, dtype=dtype) for x in data]
        batch_shape = (len(tensors),)
    else:
        stacked = to_tensor(data, device=device, dtype=dtype)
        if stacked.ndim not in (2, 3):
            raise DimensionError(
                f"{name!r} must have shape (n_stimuli, n_features) or (n_sources, n_stimuli, "
                f"n_features), or be a sequence of 2-D matrices; got shape {tuple(stacked.shape)}."
            )
        tensors = [stacked] if stacked.ndim == 2 else list(stacked)
        batch_shape = () if stacked.ndim == 2 else (stacked.shape[0],)
    for i, x in enumerate(tensors):
        label = name if not batch_shape else f"{name}[{i}]"
        if x.ndim != 2 or x.shape[1] == 0:
            raise DimensionError(
                f"{label!r} must be a matrix of shape (n_stimuli, n_features) with at least one "
                f"feature; got shape {tuple(x.shape)}."
            )
        if not torch.isfinite(x).all():
            raise ValueError(
                f"{label!r} contains NaN or infinite values; drop the affected features first."
            )
        if x.shape[0] > 0 and not (x != x[:1]).any():
            raise ValueError(
                f"{label!r} is constant across stimuli (zero variance), so its similarity to "
                "anything is undefined; drop it."
            )
    return Sources(tensors, batch_shape, [int(x.shape[1]) for x in tensors])


def check_n_stimuli(sources_a, sources_b, *, minimum):
    """Check that all sources have the same number of stimuli, at least ``minimum``.

    Returns
    -------
    n_stimuli : int

    Raises
    ------
    ValueError
        If the numbers of rows differ or are below ``minimum``.
    """
    rows = [("a", i, x.shape[0]) for i, x in enumerate(sources_a.tensors)]
    rows += [("b", i, x.shape[0]) for i, x in enumerate(sources_b.tensors)]
    n_stimuli = rows[0][2]
    for side, i, n in rows:
        if n != n_stimuli:
            raise ValueError(
                f"All response matrices must have the same stimuli in the same row order; "
                f"a[0] has {n_stimuli} rows but {side}[{i}] has {n}. Align labelled data with "
                "neuroalign.data.align() or use neuroalign.similarity.similarity_scores()."
            )
    if n_stimuli < minimum:
        raise ValueError(f"This similarity needs at least {minimum} stimuli; got {n_stimuli}.")
    return n_stimuli


def gram_stack(tensors, *, dtype=torch.float64):
    """Linear kernels ``X @ X.T`` of every source, stacked.

    Parameters
    ----------
    tensors : list of torch.Tensor of shape (n_stimuli, n_features_i)
    dtype : torch.dtype, default=torch.float64
        Type of the returned stack (the products are computed in the type of the input).

    Returns
    -------
    grams : torch.Tensor of shape (n_sources, n_stimuli, n_stimuli)
    """
    return torch.stack([(x @ x.T).to(dtype) for x in tensors])


def pair_shape(scores, sources_a, sources_b):
    """Reshape a (n_a, n_b) score matrix to ``batch_shape_a + batch_shape_b``."""
    return scores.reshape(sources_a.batch_shape + sources_b.batch_shape)


def center_kernel(kernel):
    """Double-centre kernels, ``H K H`` with ``H = I - 1/n``.

    Parameters
    ----------
    kernel : torch.Tensor of shape (..., n, n)

    Returns
    -------
    centred : torch.Tensor of shape (..., n, n)
    """
    row = kernel.mean(dim=-1, keepdim=True)
    col = kernel.mean(dim=-2, keepdim=True)
    return kernel - row - col + row.mean(dim=-2, keepdim=True)


def _u_center(kernel, same=None):
    """U-centre kernels (Song et al. 2012), so that inner products are unbiased HSIC.

    ``<u_center(K), u_center(L)> / (n (n - 3))`` is the unbiased HSIC estimator.
    Entries flagged in ``same`` (copies of one stimulus, e.g. in a bootstrap
    sample) are removed like the diagonal.
    """
    n = kernel.shape[-1]
    off = ~torch.eye(n, dtype=torch.bool, device=kernel.device)
    if same is not None:
        off = off & ~same.unsqueeze(-3)
    kernel = kernel * off
    means = kernel.sum(dim=-1) / (n - 2)
    means = means - means.sum(dim=-1, keepdim=True) / (2 * (n - 1))
    return (kernel - means.unsqueeze(-1) - means.unsqueeze(-2)) * off


def cka_from_kernels(kernel_a, kernel_b, *, debiased=False, same=None):
    """CKA between every pair of kernels of two stacks.

    Parameters
    ----------
    kernel_a : torch.Tensor of shape (..., n_a, n_stimuli, n_stimuli)
    kernel_b : torch.Tensor of shape (..., n_b, n_stimuli, n_stimuli)
        Uncentred kernel (Gram) matrices; leading dims (e.g. bootstrap samples) must match.
    debiased : bool, default=False
        Use the unbiased HSIC estimator instead of the biased one.
    same : torch.Tensor of bool of shape (..., n_stimuli, n_stimuli), optional
        Pairs of rows that are copies of one stimulus; with ``debiased=True`` they
        are left out like the diagonal.

    Returns
    -------
    cka : torch.Tensor of shape (..., n_a, n_b)
    """
    if debiased:
        flat_a = _u_center(kernel_a, same).flatten(-2)
        flat_b = _u_center(kernel_b, same).flatten(-2)
    else:
        # <HKH, HLH> = <HKH, L>, but both self-similarities need centred kernels anyway.
        flat_a = center_kernel(kernel_a).flatten(-2)
        flat_b = center_kernel(kernel_b).flatten(-2)
    cross = flat_a @ flat_b.transpose(-1, -2)
    norm_a = flat_a.square().sum(dim=-1).sqrt()
    norm_b = flat_b.square().sum(dim=-1).sqrt()
    return cross / (norm_a.unsqueeze(-1) * norm_b.unsqueeze(-2))


def squared_distances(gram):
    """Squared Euclidean distances between the rows behind linear kernels.

    Parameters
    ----------
    gram : torch.Tensor of shape (..., n, n)

    Returns
    -------
    distances : torch.Tensor of shape (..., n, n)
    """
    diagonal = gram.diagonal(dim1=-2, dim2=-1)
    return (diagonal.unsqueeze(-1) + diagonal.unsqueeze(-2) - 2 * gram).clamp(min=0)


def _median(values):
    """Median along the last dim, averaging the two middle values like numpy."""
    count = values.shape[-1]
    upper = values.kthvalue(count // 2 + 1, dim=-1).values
    if count % 2:
        return upper
    return (upper + values.kthvalue(count // 2, dim=-1).values) / 2


def rbf_kernel(distances, bandwidth):
    """Gaussian kernels ``exp(-d^2 / (2 sigma^2))``, ``sigma^2 = bandwidth^2 median(d^2)``.

    Parameters
    ----------
    distances : torch.Tensor of shape (..., n, n)
        Squared Euclidean distances.
    bandwidth : float
        Kernel width as a fraction of the median distance.

    Returns
    -------
    kernel : torch.Tensor of shape (..., n, n)
    """
    median = _median(distances.flatten(-2))[..., None, None]
    return torch.exp(-distances / (2 * bandwidth**2 * median))


def check_bandwidth(bandwidth):
    """Check that the RBF bandwidth is a positive finite number."""
    if isinstance(bandwidth, bool) or not isinstance(bandwidth, (int, float)):
        raise TypeError(f"'bandwidth' must be a positive number; got {bandwidth!r}.")
    if not 0 < bandwidth < float("inf"):
        raise ValueError(
            f"'bandwidth' must be positive and finite (a fraction of the median distance, "
            f"e.g. 0.5 or 1.0); got {bandwidth!r}."
        )
    return float(bandwidth)


def linear_cka(a, b, *, debiased=False, device=None, dtype=None):
    """Linear centred kernel alignment between response matrices.

    ``CKA(X, Y) = HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L))`` with linear kernels
    ``K = X X^T`` and ``L = Y Y^T``. It is invariant to orthogonal transforms and
    isotropic scaling of either matrix, and compares sources with different numbers
    of features. Every pair of sources of ``a`` and ``b`` is scored in one batched
    computation.

    Parameters
    ----------
    a : array-like of shape (n_stimuli, n_features_a), (n_a, n_stimuli, n_features_a)
        or a sequence of n_a such matrices (numbers of features may differ)
        Responses of one or several sources; rows are stimuli.
    b : same forms as ``a``
        Responses to the same stimuli, in the same row order.
    debiased : bool, default=False
        Use the unbiased HSIC estimator (Song et al. 2012), whose CKA is close to 0
        for independent representations even when features outnumber stimuli.
    device : {"auto", "cpu", "cuda", ...} or torch.device, default=None
        Where to compute; ``None`` uses :func:`neuroalign.config`'s default.
    dtype : str or torch.dtype, default=None
        Type used to form the kernels (default float32); centring and the inner
        products are accumulated in float64.

    Returns
    -------
    cka : torch.Tensor of float64, shape ``batch_a + batch_b``
        A scalar for two matrices, shape (n_a, n_b) for two stacks, (n_b,) for one
        matrix against a stack. In [0, 1] for the biased estimator; the debiased one
        can be slightly negative.

    Raises
    ------
    ValueError
        If sources have different numbers of stimuli, fewer than 3 (4 when
        debiased), non-finite values, or are constant.

    See Also
    --------
    rbf_cka : CKA with Gaussian kernels.
    similarity_scores : labelled front door with alignment and bootstrap CIs.

    Notes
    -----
    Memory grows as n_sources x n_stimuli^2 (one kernel per source).

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.similarity import linear_cka
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((50, 10))
    >>> rotation = np.linalg.qr(rng.standard_normal((10, 10)))[0]
    >>> round(float(linear_cka(x, 3 * x @ rotation, device="cpu")), 6)
    1.0
    >>> layers = [rng.standard_normal((50, n)) for n in (8, 16, 32)]
    >>> tuple(linear_cka(layers, [x, x[:, :5]], device="cpu").shape)
    (3, 2)
    """
    device = resolve_device(device)
    dtype = resolve_dtype(dtype)
    sources_a = as_sources(a, "a", device=device, dtype=dtype)
    sources_b = as_sources(b, "b", device=device, dtype=dtype)
    check_n_stimuli(sources_a, sources_b, minimum=4 if debiased else 3)
    scores = cka_from_kernels(
        gram_stack(sources_a.tensors), gram_stack(sources_b.tensors), debiased=debiased
    )
    return pair_shape(scores, sources_a, sources_b)


def rbf_cka(a, b, *, bandwidth=1.0, debiased=False, device=None, dtype=None):
    """Centred kernel alignment with Gaussian (RBF) kernels.

    The kernel of each source is ``exp(-d_ij^2 / (2 sigma^2))`` with
    ``sigma = bandwidth * sqrt(median_ij d_ij^2)``, the median taken over all
    stimulus pairs including the diagonal, as in Kornblith et al. (2019).

    Parameters
    ----------
    a, b : see :func:`linear_cka`
    bandwidth : float, default=1.0
        Kernel width as a fraction of the median distance between stimuli.
    debiased : bool, default=False
        Use the unbiased HSIC estimator.
    device, dtype : see :func:`linear_cka`

    Returns
    -------
    cka : torch.Tensor of float64, shape ``batch_a + batch_b``

    Raises
    ------
    ValueError
        As :func:`linear_cka`, or if ``bandwidth`` is not positive.

    See Also
    --------
    linear_cka, similarity_scores

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.similarity import rbf_cka
    >>> x = np.random.default_rng(0).standard_normal((40, 6))
    >>> round(float(rbf_cka(x, x + 1.0, bandwidth=0.5, device="cpu")), 6)
    1.0
    """
    bandwidth = check_bandwidth(bandwidth)
    device = resolve_device(device)
    dtype = resolve_dtype(dtype)
    sources_a = as_sources(a, "a", device=device, dtype=dtype)
    sources_b = as_sources(b, "b", device=device, dtype=dtype)
    check_n_stimuli(sources_a, sources_b, minimum=4 if debiased else 3)
    kernels = [
        rbf_kernel(squared_distances(gram_stack(sources.tensors)), bandwidth)
        for sources in (sources_a, sources_b)
    ]
    scores = cka_from_kernels(*kernels, debiased=debiased)
    return pair_shape(scores, sources_a, sources_b)
