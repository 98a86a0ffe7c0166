"""RDM comparators, vectorised over all pairs of RDMs and over bootstrap samples.

Every comparator is written for *weighted* condensed vectors: a pattern-bootstrap
sample that draws stimulus ``i`` ``c_i`` times is, in rsatoolbox, an RDM over the
drawn stimuli in which pairs of copies of one stimulus are dropped and pair
``(i, j)`` appears ``c_i * c_j`` times. Giving pair ``(i, j)`` the weight
``c_i * c_j`` reproduces every rsatoolbox comparator on that sample exactly
(ranks of duplicated entries are tied ranks; whitening solves the double-centring
with missing entries in stimulus space), so all bootstrap samples are evaluated
in batched tensor operations instead of one Python call per sample. Without
weights the functions are the plain comparators of ``rsatoolbox.rdm.compare``.
"""

from typing import NamedTuple

import numpy as np
import torch

from neuroalign._backend import resolve_device, to_numpy
from neuroalign._validation import close_matches_hint
from neuroalign.rsa._labelled import as_vectors, match_stimuli, n_stimuli_from_pairs, pair_indices

__all__ = ["COMPARE_METHODS", "compare"]

COMPARE_METHODS = (
    "spearman",
    "kendall_tau_a",
    "rho_a",
    "pearson",
    "cosine",
    "corr_cov",
    "cosine_cov",
)
_ALIASES = {
    "tau-a": "kendall_tau_a",
    "tau_a": "kendall_tau_a",
    "rho-a": "rho_a",
    "corr": "pearson",
    "correlation": "pearson",
}
#: rsatoolbox's name of each comparator (``rsatoolbox.rdm.compare(method=...)``).
RSATOOLBOX_NAMES = {
    "spearman": "spearman",
    "kendall_tau_a": "tau-a",
    "rho_a": "rho-a",
    "pearson": "corr",
    "cosine": "cosine",
    "corr_cov": "corr_cov",
    "cosine_cov": "cosine_cov",
}
_RANKED = ("spearman", "rho_a", "kendall_tau_a")
_WHITENED = ("corr_cov", "cosine_cov")
_TAU_CHUNK_BYTES = 2**27


def resolve_method(method):
    """Canonical comparator name (rsatoolbox spellings are accepted too)."""
    canonical = _ALIASES.get(method, method)
    if canonical not in COMPARE_METHODS:
        raise ValueError(
            f"'method' must be one of {list(COMPARE_METHODS)}; got {method!r}."
            + close_matches_hint(method, COMPARE_METHODS + tuple(_ALIASES))
        )
    return canonical


class Resampling(NamedTuple):
    """Multiplicities of one batch of pattern-bootstrap samples (internal).

    Attributes
    ----------
    weights : torch.Tensor of shape (n_samples, n_pairs)
        ``c_i * c_j`` for pair (i, j).
    counts : torch.Tensor of shape (n_samples, n_stimuli)
        How often each stimulus was drawn.
    total : torch.Tensor of shape (n_samples,)
        Number of pairs of the resampled RDM (the sum of ``weights``).
    """

    weights: torch.Tensor
    counts: torch.Tensor
    total: torch.Tensor


def resampling_from_counts(counts):
    """The :class:`Resampling` of stimulus counts of shape (n_samples, n_stimuli)."""
    rows, cols = pair_indices(counts.shape[-1])
    weights = counts[:, rows] * counts[:, cols]
    return Resampling(weights, counts, weights.sum(-1))


class Features(NamedTuple):
    """Transformed RDMs whose weighted inner products give the comparator (internal)."""

    values: torch.Tensor
    weights: object  # torch.Tensor of shape (n_samples, n_dims) or None
    total: object  # number of pairs: int, or tensor of shape (n_samples,)


def _sample_dims(tensor, total):
    """Reshape a per-sample tensor (n_samples,) to broadcast against (..., K, D)."""
    return total[:, None, None] if isinstance(total, torch.Tensor) else total


def ranks(x, weights=None):
    """Average ranks along the last axis, of the vector where entry p appears weights[p] times.

    Parameters
    ----------
    x : torch.Tensor of shape (..., K, P)
    weights : torch.Tensor of shape (B, P), optional

    Returns
    -------
    ranks : torch.Tensor of shape (..., K, P), or (B, K, P) with weights
        ``scipy.stats.rankdata`` ranks (ties averaged) of the expanded vector,
        reported once per entry; entries of weight 0 get meaningless values.
    """
    values, order = torch.sort(x, dim=-1, stable=True)
    n = x.shape[-1]
    position = torch.arange(n, device=x.device)
    starts = torch.ones_like(values, dtype=torch.bool)
    starts[..., 1:] = values[..., 1:] != values[..., :-1]
    ends = torch.ones_like(starts)
    ends[..., :-1] = starts[..., 1:]
    first = torch.cummax(torch.where(starts, position, 0), -1).values
    last = torch.where(ends, position, n - 1).flip(-1).cummin(-1).values.flip(-1)
    if weights is None:
        sorted_ranks = (first + last + 2).to(x.dtype) / 2
        return torch.empty_like(sorted_ranks).scatter_(-1, order, sorted_ranks)
    shape = torch.broadcast_shapes((weights.shape[0], 1, n), order.shape)
    order = order.expand(shape)
    in_order = torch.gather(weights[:, None, :].to(x.dtype).expand(shape), -1, order)
    cumulative = torch.cumsum(in_order, -1)
    before = cumulative - in_order
    group_before = torch.gather(before, -1, first.expand(shape))
    group_end = torch.gather(cumulative, -1, last.expand(shape))
    sorted_ranks = group_before + (group_end - group_before + 1) / 2
    return torch.empty_like(sorted_ranks).scatter_(-1, order, sorted_ranks)


def _center(x, weights, total):
    if weights is None:
        return x - x.mean(-1, keepdim=True)
    mean = (x * weights[:, None, :]).sum(-1, keepdim=True) / total[:, None, None]
    return x - mean


def _square(x, n):
    rows, cols = pair_indices(n)
    square = x.new_zeros(x.shape[:-1] + (n, n))
    square[..., rows, cols] = x
    square[..., cols, rows] = x
    return square


def _pair_covariance_factor(sigma_k, n):
    """Cholesky factor of rsatoolbox's ``_get_v``: the covariance of distance estimates."""
    rows, cols = pair_indices(n)
    xi = (
        sigma_k[rows][:, rows]
        - sigma_k[rows][:, cols]
        - sigma_k[cols][:, rows]
        + sigma_k[cols][:, cols]
    )
    return torch.linalg.cholesky(xi * xi)


def _whiten(x, resampling, sigma_k):
    """Whitened second-moment form of RDM vectors (rsatoolbox ``_cov_weighting``).

    Without resampling this is the double-centred matrix ``-0.5 H D H`` (scaled by
    a vector ``sigma_k``), whose Frobenius inner products equal ``a' V^-1 b`` for
    the covariance ``V`` of distance estimates. A full (n, n) ``sigma_k`` uses the
    Cholesky factor of ``V`` itself (a dense solve over pairs, as rsatoolbox does
    with conjugate gradients). With resampling the centring solves, in stimulus
    space, the least-squares problem rsatoolbox solves with missing pairs.
    """
    n = n_stimuli_from_pairs(x.shape[-1])
    if sigma_k is not None and sigma_k.ndim == 2:
        factor = _pair_covariance_factor(sigma_k, n)
        flat = x.reshape(-1, x.shape[-1]).T
        solved = torch.linalg.solve_triangular(factor, flat, upper=False)
        return solved.T.reshape(x.shape), None
    g = -0.5 * _square(x, n)
    if resampling is None:
        centred = (
            g - g.mean(-1, keepdim=True) - g.mean(-2, keepdim=True) + g.mean((-1, -2), keepdim=True)
        )
        if sigma_k is not None:
            scale = sigma_k.sqrt()
            centred = centred / scale[:, None] / scale[None, :]
        return centred.flatten(-2), None
    counts = resampling.counts.to(x.dtype)
    present = counts > 0
    total = counts.sum(-1, keepdim=True)
    system = 0.5 * counts[:, None, :].expand(-1, n, n).clone()
    diagonal = torch.where(present, 0.5 * (total - counts) + 1, torch.ones_like(counts))
    system = torch.where(present[:, :, None], system, torch.zeros_like(system))
    system.diagonal(dim1=-2, dim2=-1).copy_(diagonal)
    rhs = (g @ counts[:, None, :, None]).squeeze(-1) * present[:, None, :]
    z = torch.linalg.solve(system[:, None], rhs[..., None]).squeeze(-1)
    centred = g - 0.5 * (z[..., :, None] + z[..., None, :])
    centred.diagonal(dim1=-2, dim2=-1).copy_(-z)
    weights = counts[:, :, None] * counts[:, None, :]
    weights.diagonal(dim1=-2, dim2=-1).copy_(counts)
    return centred.flatten(-2), weights.flatten(-2)


def features(x, method, resampling=None, sigma_k=None):
    """Transform RDM vectors (..., K, P) so that the comparator is a weighted inner product."""
    weights = None if resampling is None else resampling.weights.to(x.dtype)
    total = x.shape[-1] if resampling is None else resampling.total.to(x.dtype)
    if method == "kendall_tau_a":
        return Features(x, weights, total)
    if method in ("spearman", "rho_a"):
        x = ranks(x, weights)
    if method == "rho_a":
        return Features(x - (_sample_dims(total, total) + 1) / 2, weights, total)
    if method in ("spearman", "pearson", "corr_cov"):
        x = _center(x, weights, total)
    if method in _WHITENED:
        values, whitened_weights = _whiten(x, resampling, sigma_k)
        return Features(values, whitened_weights, total)
    return Features(x, weights, total)


def _weighted(values, weights):
    return values if weights is None else values * weights[:, None, :]


def _inner(a, b, weights, paired):
    left = _weighted(a, weights)
    if paired:
        return (left * b).sum(-1)
    return left @ b.transpose(-1, -2)


def _signs(x, start, stop):
    return torch.sign(x[..., start:stop, None] - x[..., None, :])


def _tau_a(a, b, paired):
    """Kendall's tau-a of all (or paired) rows via chunks of the pair-sign matrices."""
    x, y, weights = a.values, b.values, a.weights
    n = x.shape[-1]
    rows = max(x.shape[-2], y.shape[-2]) * (1 if weights is None else weights.shape[0])
    chunk = max(1, _TAU_CHUNK_BYTES // (8 * n * max(rows, 1) * 2))
    total = 0
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        sx, sy = _signs(x, start, stop), _signs(y, start, stop)
        if weights is not None:
            pair_weights = weights[:, start:stop, None] * weights[:, None, :]
            sx = sx * pair_weights[:, None]
        if paired:
            total = total + (sx * sy).sum((-1, -2))
        else:
            total = total + sx.flatten(-2) @ sy.flatten(-2).transpose(-1, -2)
    count = a.total
    if isinstance(count, torch.Tensor):
        count = count[:, None] if paired else count[:, None, None]
    return (total / (count * (count - 1))).clamp(-1, 1)


def similarity(a, b, method, *, paired=False):
    """Comparator values of transformed RDMs.

    Parameters
    ----------
    a, b : Features
        ``values`` of shape (..., Ka, D) and (..., Kb, D).
    method : str
    paired : bool, default=False
        Compare row k of ``a`` with row k of ``b`` (shape (..., K)) instead of all
        pairs (shape (..., Ka, Kb)).

    Returns
    -------
    values : torch.Tensor
    """
    if method == "kendall_tau_a":
        return _tau_a(a, b, paired)
    weights = a.weights
    numerator = _inner(a.values, b.values, weights, paired)
    if method == "rho_a":
        total = a.total
        if isinstance(total, torch.Tensor):
            total = total[:, None] if paired else total[:, None, None]
        return 12 * numerator / (total**3 - total)
    norm_a = (_weighted(a.values, weights) * a.values).sum(-1)
    norm_b = (_weighted(b.values, weights) * b.values).sum(-1)
    if paired:
        denominator = (norm_a * norm_b).sqrt()
    else:
        denominator = (norm_a[..., :, None] * norm_b[..., None, :]).sqrt()
    safe = torch.where(denominator > 0, denominator, torch.ones_like(denominator))
    return torch.where(denominator > 0, numerator / safe, torch.zeros_like(numerator))


def pool_transform(x, method, resampling=None):
    """Per-RDM normalisation before averaging RDMs into a noise-ceiling prediction.

    As rsatoolbox's ``pool_rdm``: RMS normalisation for cosine comparators,
    z-scoring for correlations, ranks for rank comparators.
    """
    weights = None if resampling is None else resampling.weights.to(x.dtype)
    total = x.shape[-1] if resampling is None else resampling.total.to(x.dtype)
    if method in ("spearman", "rho_a", "kendall_tau_a"):
        return ranks(x, weights)
    denominator = _sample_dims(total, total)
    if method in ("pearson", "corr_cov"):
        x = _center(x, weights, total)
    mean_square = (_weighted(x, weights) * x).sum(-1, keepdim=True) / denominator
    return x / mean_square.sqrt()


def _check_sigma_k(sigma_k, n, device):
    if sigma_k is None:
        return None
    sigma = torch.as_tensor(np.asarray(sigma_k, dtype=np.float64), device=device)
    if sigma.shape not in ((n,), (n, n)):
        raise ValueError(
            f"'sigma_k' must have shape ({n},) or ({n}, {n}) for RDMs over {n} stimuli; got "
            f"{tuple(sigma.shape)}."
        )
    if sigma.ndim == 1 and not bool((sigma > 0).all()):
        raise ValueError("'sigma_k' as a vector of variances must be positive.")
    return sigma


def compare(rdms_a, rdms_b, *, method="rho_a", sigma_k=None, device=None):
    """Compare every RDM of one set with every RDM of another.

    Parameters
    ----------
    rdms_a, rdms_b : array-like or labelled RDMs
        Condensed vectors (n_rdms, n_pairs), square matrices (n_rdms, n, n),
        labelled RDMs (see :func:`as_rdms`) or rsatoolbox ``RDMs``. Labelled inputs
        must cover the same stimuli (``rdms_b`` is reordered to ``rdms_a``).
    method : {"rho_a", "spearman", "kendall_tau_a", "pearson", "cosine", "corr_cov", \
"cosine_cov"}, default="rho_a"
        As ``rsatoolbox.rdm.compare``: Spearman's rho without tie correction
        (``"rho_a"``), Spearman's rho, Kendall's tau-a, Pearson r, cosine
        similarity, and Pearson / cosine after whitening by the covariance of
        distance estimates (``"corr_cov"``, ``"cosine_cov"``, Diedrichsen et al.
        2021). rsatoolbox spellings (``"rho-a"``, ``"tau-a"``, ``"corr"``) work too.
    sigma_k : array of shape (n_stimuli,) or (n_stimuli, n_stimuli), optional
        Covariance of the pattern estimates for the whitened comparators; default
        identity.
    device : see :func:`neuroalign._backend.resolve_device`, default=None

    Returns
    -------
    similarities : numpy.ndarray of shape (n_rdms_a, n_rdms_b)
        Computed in float64.

    Raises
    ------
    ValueError
        Unknown method, different stimulus sets, NaN dissimilarities, fewer than 3
        stimuli.

    Notes
    -----
    Kendall's tau-a is computed exactly from chunks of the pair-sign matrices,
    O(n_pairs²) per pair of RDMs: fine up to a few hundred stimuli.

    See Also
    --------
    evaluate : comparisons with bootstrap inference and noise ceilings.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.rsa import compare
    >>> a = np.array([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]])
    >>> compare(a, a[:, ::-1], method="spearman").round(3)
    array([[-1.]])
    """
    method = resolve_method(method)
    a = as_vectors(rdms_a, "rdms_a")
    b = match_stimuli(a, as_vectors(rdms_b, "rdms_b"), ("rdms_a", "rdms_b"))
    device = resolve_device(device)
    sigma = _check_sigma_k(sigma_k, len(a.stimuli), device) if method in _WHITENED else None
    if sigma_k is not None and method not in _WHITENED:
        raise ValueError(
            f"'sigma_k' is used by the whitened comparators {list(_WHITENED)} only; got "
            f"method={method!r}."
        )
    x = torch.as_tensor(a.values, device=device)
    y = torch.as_tensor(b.values, device=device)
    fa = features(x, method, sigma_k=sigma)
    fb = features(y, method, sigma_k=sigma)
    return to_numpy(similarity(fa, fb, method))
