"""Cluster-based permutation tests over time courses and time x time maps.

Maris & Oostenveld (2007): points whose statistic passes a cluster-forming
threshold are grouped into clusters of neighbours (lattice adjacency: the previous
and next sample along each axis), a cluster's mass is the sum of its statistics,
and each observed cluster is compared with the permutation distribution of the
largest cluster mass, which controls the family-wise error over the whole map.

Clusters of every permutation of a batch are labelled at once: each supra-threshold
point starts with its own flat index as label, and labels are repeatedly replaced
by the smallest label among the point and its neighbours (with pointer jumping)
until nothing changes, so no Python loop runs per permutation.
"""

import dataclasses

import numpy as np
import scipy.stats
import torch

from neuroalign._backend import plan_batches, resolve_device
from neuroalign._validation import check_option, check_positive_int
from neuroalign.stats._permutation import (
    _one_sample_statistic,
    _samples_first,
    _sign_batches,
    exceedances,
    p_values_from_counts,
)
from neuroalign.stats._scores import _as_tensors

__all__ = ["ClusterResult", "cluster_permutation_test", "cluster_test"]

_FLOAT64 = torch.float64
_TAILS = (0, 1, -1)


@dataclasses.dataclass(frozen=True, eq=False)
class ClusterResult:
    """Observed clusters of a statistic map and their permutation p-values.

    Attributes
    ----------
    statistic : numpy.ndarray of shape map_shape
        Observed statistic (e.g. t values over time, or over train x test time).
    labels : numpy.ndarray of int of shape map_shape
        0 outside clusters, ``k`` for points of the k-th cluster (1-based, ordered
        by their first point in C order).
    masses : numpy.ndarray of shape (n_clusters,)
        Sum of the statistic over each cluster (negative for negative clusters).
    p_values : numpy.ndarray of shape (n_clusters,)
        Family-wise corrected p-value of each cluster.
    null_distribution : numpy.ndarray of shape (n_null,)
        Largest cluster mass of each permutation (absolute for two-sided tests;
        0 when a permutation has no cluster).
    threshold : float or numpy.ndarray
        Cluster-forming threshold (magnitude), per point when an array.
    tail : {0, 1, -1}
        Two-sided, positive or negative clusters.
    n_permutations : int
    exact : bool
        Whether every permutation was enumerated.
    """

    statistic: np.ndarray
    labels: np.ndarray
    masses: np.ndarray
    p_values: np.ndarray
    null_distribution: np.ndarray
    threshold: object
    tail: int
    n_permutations: int
    exact: bool

    def significant(self, alpha=0.05):
        """Points that belong to a cluster with ``p < alpha``.

        Parameters
        ----------
        alpha : float, default=0.05

        Returns
        -------
        mask : numpy.ndarray of bool of shape map_shape
        """
        significant_ids = np.flatnonzero(self.p_values < alpha) + 1
        return np.isin(self.labels, significant_ids)


def _component_labels(mask):
    """Connected components of every map of a batch (lattice adjacency).

    Parameters
    ----------
    mask : torch.Tensor of bool of shape (batch, *map_shape)

    Returns
    -------
    labels : torch.Tensor of int64 of shape (batch, n_points)
        The smallest flat index of each point's component; ``n_points`` outside.
    """
    n_points = int(np.prod(mask.shape[1:]))
    index = torch.arange(n_points, device=mask.device).reshape(mask.shape[1:])
    labels = torch.where(mask, index, n_points)
    while True:
        smallest = labels
        for dim in range(1, labels.ndim):
            edge = torch.full_like(labels.narrow(dim, 0, 1), n_points)
            before = torch.cat([edge, labels.narrow(dim, 0, labels.shape[dim] - 1)], dim=dim)
            after = torch.cat([labels.narrow(dim, 1, labels.shape[dim] - 1), edge], dim=dim)
            smallest = torch.minimum(smallest, torch.minimum(before, after))
        flat = torch.where(mask, smallest, n_points).reshape(mask.shape[0], n_points)
        # Pointer jumping: a point's label is a point of the same component; take its label.
        padded = torch.cat([flat, flat.new_full((mask.shape[0], 1), n_points)], dim=1)
        updated = padded.gather(1, flat).reshape(mask.shape)
        if torch.equal(updated, labels):
            return labels.reshape(mask.shape[0], n_points)
        labels = updated


def _masses(statistic, mask):
    """Cluster masses of every map: (batch, n_points + 1), indexed by component label."""
    batch, n_points = statistic.shape[0], int(np.prod(statistic.shape[1:]))
    labels = _component_labels(mask)
    values = (statistic * mask).reshape(batch, n_points)
    masses = torch.zeros((batch, n_points + 1), dtype=_FLOAT64, device=statistic.device)
    return masses.scatter_add_(1, labels, values), labels


def _signed_maps(statistic, threshold, tail):
    """(sign, map oriented so that clusters are positive, supra-threshold mask) per tail."""
    signs = {0: (1.0, -1.0), 1: (1.0,), -1: (-1.0,)}[tail]
    return [(sign, sign * statistic, sign * statistic > threshold) for sign in signs]


def _max_masses(statistic, threshold, tail):
    """Largest cluster magnitude of every map of a batch (0 without clusters)."""
    largest = torch.zeros(statistic.shape[0], dtype=_FLOAT64, device=statistic.device)
    for _, oriented, mask in _signed_maps(statistic, threshold, tail):
        masses, _ = _masses(oriented, mask)
        largest = torch.maximum(largest, masses[:, :-1].amax(1))
    return largest


def _observed_clusters(statistic, threshold, tail):
    """Labels (map_shape, 0 = none, k >= 1) and signed masses of the observed clusters."""
    shape = statistic.shape
    n_points = int(np.prod(shape))
    labels = np.zeros(n_points, dtype=np.int64)
    found = []
    for sign, oriented, mask in _signed_maps(statistic[None], threshold, tail):
        masses, component = _masses(oriented, mask)
        component = component[0].cpu().numpy()
        for first in np.unique(component[component < n_points]):
            found.append((int(first), sign * float(masses[0, first]), component == first))
    found.sort(key=lambda cluster: cluster[0])
    for k, (_, _, members) in enumerate(found, start=1):
        labels[members] = k
    masses = np.array([mass for _, mass, _ in found], dtype=float)
    return labels.reshape(shape), masses


def _check_tail(tail):
    return check_option("tail", tail, _TAILS)


def _check_threshold(threshold, shape, tail):
    values = np.asarray(threshold, dtype=float)
    try:
        np.broadcast_to(values, shape)
    except ValueError as err:
        raise ValueError(
            f"'threshold' must be a number or broadcast to the map shape {shape}; got shape "
            f"{values.shape}."
        ) from err
    if not np.isfinite(values).all() or (tail == 0 and (values < 0).any()):
        raise ValueError(
            f"'threshold' must be finite{' and non-negative for tail=0' if tail == 0 else ''} "
            f"(a magnitude; the tail sets the sign); got {threshold!r}."
        )
    return values


def _result(statistic, threshold, tail, null, exact):
    """Observed clusters and their p-values against the null of maximal cluster masses."""
    limit = torch.as_tensor(threshold, dtype=_FLOAT64, device=statistic.device)
    labels, masses = _observed_clusters(statistic, limit, tail)
    magnitudes = torch.as_tensor(np.abs(masses), dtype=_FLOAT64, device=null.device)
    counts = exceedances(null[:, None], magnitudes, "greater")
    p_values = p_values_from_counts(counts, null.shape[0], exact).cpu().numpy()
    return ClusterResult(
        statistic=statistic.cpu().numpy(),
        labels=labels,
        masses=masses,
        p_values=p_values,
        null_distribution=null.cpu().numpy(),
        threshold=float(threshold) if np.ndim(threshold) == 0 else np.asarray(threshold),
        tail=tail,
        n_permutations=int(null.shape[0]),
        exact=exact,
    )


def cluster_test(observed, null, *, threshold, tail=0, device=None, max_memory=None):
    """Cluster-level inference from an observed statistic map and permuted maps.

    Use this when the permutation scheme is specific to an analysis (e.g. permuting
    stimulus labels of an RDM in MEG/EEG-fMRI fusion): compute the statistic map of
    the data and of each permutation, and this function forms clusters and their
    family-wise corrected p-values.

    Parameters
    ----------
    observed : array or Tensor of shape map_shape
        Statistic on the data: a time course (n_times,) or a map (n_times, n_times).
    null : array or Tensor of shape ``(n_permutations, *map_shape)``
        The same statistic under random permutations (not including the observed
        ordering); p-values are ``(1 + #{null max mass >= |mass|}) / (1 + n_permutations)``.
    threshold : float or array broadcastable to map_shape
        Cluster-forming threshold as a magnitude: points with ``statistic > threshold``
        form positive clusters and (``tail=0``) points with ``statistic < -threshold``
        negative ones. An array gives one threshold per point (e.g. a quantile of the
        null distribution at each time).
    tail : {0, 1, -1}, default=0
        Two-sided (0), positive (1) or negative (-1) clusters.
    device : {"auto", "cpu", "cuda", ...} or torch.device or None, default=None
    max_memory : int or str or None, default=None
        Budget for one batch of permuted maps.

    Returns
    -------
    result : ClusterResult

    Raises
    ------
    ValueError
        If shapes do not match, values are not finite, or ``threshold``/``tail`` is invalid.

    See Also
    --------
    cluster_permutation_test : one-sample (sign-flip) cluster test over subjects.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.stats import cluster_test
    >>> rng = np.random.default_rng(0)
    >>> observed = np.r_[np.zeros(10), np.full(5, 3.0), np.zeros(10)]
    >>> result = cluster_test(observed, rng.standard_normal((200, 25)), threshold=2.0)
    >>> result.masses.tolist(), bool(result.p_values[0] < 0.05)
    ([15.0], True)
    """
    tail = _check_tail(tail)
    device = resolve_device(device)
    (observed, null), _, _, _ = _as_tensors((observed, null), ("observed", "null"), device=device)
    observed, null = observed.to(_FLOAT64), null.to(_FLOAT64)
    if null.ndim != observed.ndim + 1 or null.shape[1:] != observed.shape or observed.ndim == 0:
        raise ValueError(
            f"'null' must have shape (n_permutations, *observed.shape); got {tuple(null.shape)} "
            f"for 'observed' of shape {tuple(observed.shape)}."
        )
    if not (torch.isfinite(observed).all() and torch.isfinite(null).all()):
        raise ValueError("'observed' and 'null' must be finite; remove NaN/inf first.")
    threshold = _check_threshold(threshold, tuple(observed.shape), tail)
    limit = torch.as_tensor(threshold, dtype=_FLOAT64, device=device)
    n_points = observed.numel()
    batches = plan_batches(null.shape[0], 8 * 8 * n_points, max_memory, device=device)
    largest = torch.cat([_max_masses(null[batch], limit, tail) for batch in batches])
    return _result(observed, threshold, tail, largest, exact=False)


def cluster_permutation_test(
    x,
    *,
    threshold=None,
    tail=0,
    n_permutations=1024,
    seed=None,
    device=None,
    max_memory=None,
):
    """One-sample cluster-based permutation test over time or time x time (sign flips).

    The statistic is the one-sample t of ``x`` against 0 at every point; its null
    distribution comes from flipping the sign of each sample (e.g. subject), which
    is valid when each sample's map is symmetric about 0 under the null hypothesis.
    Equivalent to ``mne.stats.permutation_cluster_1samp_test`` with lattice
    adjacency, ``stat_fun=ttest_1samp_no_p`` and no ``hat`` correction.

    Parameters
    ----------
    x : array or Tensor of shape (n_samples, n_times) or (n_samples, n_times, n_times)
        One map per sample (subject), e.g. decoding accuracy minus chance, or the
        difference of two conditions; any ``(n_samples, *map_shape)`` works.
    threshold : float or array broadcastable to map_shape, optional
        Cluster-forming t threshold (magnitude). Default: the t value of p = 0.05
        (two-sided for ``tail=0``) with ``n_samples - 1`` degrees of freedom, as MNE.
    tail : {0, 1, -1}, default=0
        Two-sided, positive or negative clusters.
    n_permutations : int, default=1024
        Random sign patterns; when ``2**n_samples <= n_permutations`` every pattern
        is enumerated (exact test, the observed one included).
    seed : int or numpy.random.Generator or None, default=None
    device : {"auto", "cpu", "cuda", ...} or torch.device or None, default=None
    max_memory : int or str or None, default=None
        Budget for one batch of permutations.

    Returns
    -------
    result : ClusterResult

    Raises
    ------
    ValueError
        If ``x`` has fewer than 2 samples or no map axis, holds non-finite values, or
        an option is invalid.

    See Also
    --------
    cluster_test : clusters from any observed map and permuted maps.
    sign_flip_test : point-wise tests with max-statistic correction.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.stats import cluster_permutation_test
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((12, 40))
    >>> x[:, 15:25] += 1.5
    >>> result = cluster_permutation_test(x, n_permutations=500, seed=0)
    >>> np.flatnonzero(result.significant(0.05))[[0, -1]].tolist()
    [15, 24]
    """
    tail = _check_tail(tail)
    n_permutations = check_positive_int("n_permutations", n_permutations)
    has_tensor = isinstance(x, torch.Tensor)
    compute_device = None if device is None and has_tensor else resolve_device(device)
    (values,), _, _, _ = _as_tensors((x,), ("x",), device=compute_device)
    data, map_shape = _samples_first(values, "x", 2)
    if not map_shape:
        raise ValueError(
            f"'x' must have shape (n_samples, n_times) or (n_samples, n_times, n_times); got "
            f"shape {tuple(values.shape)}. Use sign_flip_test for a single test."
        )
    n = data.shape[0]
    if threshold is None:
        threshold = float(scipy.stats.t.ppf(1 - 0.05 / (2 if tail == 0 else 1), n - 1))
    threshold = _check_threshold(threshold, map_shape, tail)
    limit = torch.as_tensor(threshold, dtype=_FLOAT64, device=data.device)
    exact = n < 63 and 2**n <= n_permutations
    n_null = 2**n if exact else n_permutations
    sum_squares = data.square().sum(0)

    def t_maps(signs):
        return _one_sample_statistic(signs, data, "t", sum_squares).reshape((-1,) + map_shape)

    batches = plan_batches(n_null, 8 * (n + 10 * data.shape[1]), max_memory, device=data.device)
    largest = torch.cat(
        [
            _max_masses(t_maps(signs), limit, tail)
            for signs in _sign_batches(n, n_permutations, exact, seed, batches, data.device)
        ]
    )
    observed = t_maps(torch.ones((1, n), dtype=_FLOAT64, device=data.device))[0]
    return _result(observed, threshold, tail, largest, exact)
