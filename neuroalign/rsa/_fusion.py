"""Time-resolved RSA and MEG/EEG-fMRI fusion, with cluster-based permutation tests over time.

Fusion (Cichy, Pantazis & Oliva 2014) correlates the RDM of every M/EEG time point
with the RDM of every fMRI region: a region's time course peaks when the
representational geometry it holds is expressed in the fast signal. All time-point
RDMs come from one batched :func:`compute_rdms` call and all (region, time)
comparisons from one :func:`compare` call. Significance comes from permuting the
stimulus labels of the fMRI RDMs (all permutations of a batch are one index
gather) and a cluster-based test over time on the permutation null.
"""

import dataclasses
from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from neuroalign import stats
from neuroalign._backend import plan_batches
from neuroalign._validation import check_positive_int
from neuroalign.data import select_region, validate
from neuroalign.exceptions import DimensionError, EmptyOverlapError
from neuroalign.rsa._compare import compare
from neuroalign.rsa._labelled import as_rdms, pair_indices, rdm_stimuli
from neuroalign.rsa._rdm import compute_rdms

__all__ = ["FusionResult", "fusion", "time_resolved_rsa"]


@dataclasses.dataclass(frozen=True, eq=False)
class FusionResult:
    """MEG/EEG-fMRI fusion time courses and their cluster-based significance.

    Attributes
    ----------
    fusion : xarray.DataArray of dims (region, time)
        Similarity (``compare_method``) of each region's RDM with the M/EEG RDM at
        each time point.
    cluster_p : xarray.DataArray of dims (region, time) or None
        Family-wise corrected p-value of the cluster each point belongs to (1 outside
        clusters); ``None`` when run with ``cluster_test=False``.
    clusters : dict of str to neuroalign.stats.ClusterResult, or None
        Per region: clusters, masses, p-values, null distribution and thresholds.
    """

    fusion: xr.DataArray
    cluster_p: xr.DataArray | None
    clusters: dict | None

    def significant(self, alpha=0.05):
        """Points inside clusters with ``p < alpha``.

        Parameters
        ----------
        alpha : float, default=0.05

        Returns
        -------
        mask : xarray.DataArray of bool of dims (region, time)

        Raises
        ------
        ValueError
            If the fusion was computed with ``cluster_test=False``.
        """
        if self.cluster_p is None:
            raise ValueError(
                "This fusion was computed with cluster_test=False; rerun with "
                "cluster_test=True to get cluster significance."
            )
        return self.cluster_p < alpha


def _check_time_resolved(da, name):
    if not isinstance(da, xr.DataArray):
        raise TypeError(
            f"{name!r} must be an xarray.DataArray with dims (presentation, neuroid, time); "
            f"got {type(da).__name__}."
        )
    validate(da)
    if "time" not in da.dims:
        raise DimensionError(
            f"{name!r} must have a 'time' dimension (M/EEG epochs); got dims {da.dims}."
        )


def _regions(fmri):
    """``{region: DataArray}`` from a mapping, or a DataArray split by its ``region`` coord."""
    if isinstance(fmri, xr.DataArray):
        validate(fmri)
        if "region" in fmri.coords:
            names = pd.unique(fmri.region.values)
            return {str(name): select_region(fmri, str(name)) for name in names}
        return {str(fmri.attrs.get("subject") or fmri.attrs["modality"]): fmri}
    if not isinstance(fmri, Mapping) or not fmri:
        raise TypeError(
            "'fmri' must be a DataArray (split by its 'region' coordinate) or a non-empty "
            f"mapping of region names to DataArrays; got {type(fmri).__name__}."
        )
    for name, da in fmri.items():
        if not isinstance(da, xr.DataArray):
            raise TypeError(f"fmri[{name!r}] must be an xarray.DataArray; got {type(da).__name__}.")
        validate(da)
        if "time" in da.dims:
            raise DimensionError(
                f"fmri[{name!r}] has a 'time' dimension; pass one response per presentation "
                "(e.g. GLM betas)."
            )
    return {str(name): da for name, da in fmri.items()}


def _common_stimuli(meeg, regions):
    """Stimulus ids present in every source, in order of first appearance in ``meeg``."""
    stimuli = pd.unique(meeg.stimulus_id.values)
    for name, da in regions.items():
        stimuli = stimuli[pd.Index(stimuli).isin(da.stimulus_id.values)]
        if len(stimuli) == 0:
            raise EmptyOverlapError(
                f"'meeg' and fmri[{name!r}] (with the other regions) share no stimulus_id; "
                f"first ids: meeg {meeg.stimulus_id.values[:3].tolist()}, "
                f"fmri[{name!r}] {da.stimulus_id.values[:3].tolist()}."
            )
    if len(stimuli) < 3:
        raise ValueError(f"Fusion needs at least 3 shared stimuli; got {len(stimuli)}.")
    return stimuli


def _restrict(da, stimuli):
    """Presentations of ``stimuli`` only, grouped by stimulus in the order of ``stimuli``."""
    rank = pd.Index(stimuli).get_indexer(da.stimulus_id.values)
    keep = np.flatnonzero(rank >= 0)
    return da.isel(presentation=keep[np.argsort(rank[keep], kind="stable")])


def _condensed_index(order):
    """Condensed-pair index of the RDM whose stimulus ``i`` is stimulus ``order[i]``.

    Parameters
    ----------
    order : numpy.ndarray of int of shape (..., n)

    Returns
    -------
    index : numpy.ndarray of int of shape (..., n * (n - 1) / 2)
    """
    n = order.shape[-1]
    rows, cols = pair_indices(n)
    a, b = order[..., rows], order[..., cols]
    low, high = np.minimum(a, b), np.maximum(a, b)
    return low * n - low * (low + 1) // 2 + (high - low - 1)


def time_resolved_rsa(
    responses,
    model_rdms,
    *,
    rdm_method="correlation",
    compare_method="spearman",
    noise=None,
    device=None,
    max_memory=None,
):
    """Compare the RDM of every time point with model (or region) RDMs.

    Parameters
    ----------
    responses : xarray.DataArray of dims (presentation, neuroid, time)
        M/EEG (or any time-resolved) responses in the neuroalign schema; repetitions
        are handled by :func:`compute_rdms` (averaged, or folds for crossnobis).
    model_rdms : labelled RDMs or array-like
        Anything :func:`as_rdms` accepts, over stimuli that ``responses`` shows
        (labelled RDMs; plain arrays are taken to follow the order of first
        appearance of ``responses``' stimuli). ``responses`` is restricted to them.
    rdm_method : str, default="correlation"
        Dissimilarity of the time-point RDMs (see :func:`compute_rdms`).
    compare_method : str, default="spearman"
        Comparator (see :func:`compare`).
    noise : optional
        Noise precision for ``"mahalanobis"``/``"crossnobis"`` (see :func:`compute_rdms`).
    device : {"auto", "cpu", "cuda", ...} or torch.device, default=None
    max_memory : int or str, default=None
        Budget of one batch of time-point RDMs.

    Returns
    -------
    similarity : xarray.DataArray of dims (model, time)
        ``attrs`` record ``rdm_method``, ``compare_method`` and ``n_stimuli``.

    Raises
    ------
    DimensionError
        If ``responses`` has no time dimension.
    ValueError
        If the model RDMs cover stimuli that ``responses`` does not show.

    See Also
    --------
    fusion : the same with fMRI region RDMs and cluster-based significance.
    compute_rdms, compare

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.data import responses
    >>> from neuroalign.rsa import as_rdms, time_resolved_rsa
    >>> rng = np.random.default_rng(0)
    >>> category, ids = np.repeat([0, 1], 10), [f"s{i}" for i in range(20)]
    >>> data = rng.standard_normal((20, 8, 4))
    >>> data[:, :, 2:] += 2 * rng.standard_normal((2, 8))[category][:, :, None]  # from 0.2 s
    >>> meg = responses(data, ids, modality="meg", times=[0.0, 0.1, 0.2, 0.3])
    >>> model = as_rdms((category[:, None] != category).astype(float)[None], stimuli=ids,
    ...                 sources=["category"])
    >>> time_resolved_rsa(meg, model, device="cpu").values.round(2)
    array([[-0.03, -0.02,  0.66,  0.71]])
    """
    _check_time_resolved(responses, "responses")
    stimuli = pd.unique(responses.stimulus_id.values)
    labelled = isinstance(model_rdms, xr.DataArray) or hasattr(model_rdms, "pattern_descriptors")
    models = as_rdms(model_rdms) if labelled else as_rdms(model_rdms, stimuli=stimuli)
    model_stimuli = rdm_stimuli(models)
    missing = ~pd.Index(model_stimuli).isin(stimuli)
    if missing.any():
        raise ValueError(
            f"'model_rdms' cover {int(missing.sum())} stimuli that 'responses' does not show "
            f"(first: {model_stimuli[missing][0]!r}); compute the model RDMs over the "
            "recorded stimuli."
        )
    rdms = compute_rdms(
        _restrict(responses, model_stimuli),
        method=rdm_method,
        noise=noise,
        device=device,
        max_memory=max_memory,
    )
    similarity = compare(models, rdms, method=compare_method, device=device)
    return xr.DataArray(
        similarity,
        dims=("model", "time"),
        coords={"model": models["source"].values, "time": responses.time.values},
        name="time_resolved_rsa",
        attrs={
            "rdm_method": rdm_method,
            "compare_method": compare_method,
            "n_stimuli": len(model_stimuli),
        },
    )


def _permutation_null(
    fmri_vectors, meeg_vectors, order, n_permutations, seed, method, device, max_memory
):
    """Fusion of stimulus-permuted fMRI RDMs: (n_permutations, n_regions, n_times)."""
    n_regions, n_pairs = fmri_vectors.shape
    n_times = meeg_vectors.shape[0]
    per_permutation = 8 * n_regions * (4 * n_pairs + n_times) + 8 * n_pairs
    batches = plan_batches(n_permutations, per_permutation, max_memory, device=device)
    rng = np.random.default_rng(seed)
    null = []
    for batch in batches:
        shuffles = rng.random((batch.stop - batch.start, len(order))).argsort(axis=1)
        permuted = fmri_vectors[:, _condensed_index(order[shuffles])]
        flat = permuted.transpose(1, 0, 2).reshape(-1, n_pairs)
        null.append(compare(flat, meeg_vectors, method=method, device=device))
    return np.concatenate(null).reshape(n_permutations, n_regions, n_times)


def fusion(
    meeg,
    fmri,
    *,
    rdm_method="correlation",
    compare_method="spearman",
    cluster_test=True,
    n_permutations=1000,
    threshold_p=0.05,
    seed=None,
    device=None,
    max_memory=None,
):
    """MEG/EEG-fMRI fusion: similarity of each time point's RDM with each region's RDM.

    Both modalities are restricted to their shared stimuli; RDMs of all M/EEG time
    points and all regions are computed in batched calls and compared in one call.
    With ``cluster_test=True`` the stimulus labels of the fMRI RDMs are permuted
    ``n_permutations`` times; a time point enters a cluster when its fusion exceeds
    the ``1 - threshold_p`` quantile of its permutation distribution, and each
    cluster's mass (summed fusion) is compared with the permutation distribution of
    the largest cluster mass of the region (one-sided: positive fusion).

    Parameters
    ----------
    meeg : xarray.DataArray of dims (presentation, neuroid, time)
        EEG or MEG epochs in the neuroalign schema.
    fmri : xarray.DataArray or Mapping of str to xarray.DataArray
        fMRI responses of dims (presentation, neuroid): a mapping region -> ROI, or
        one DataArray split by its ``region`` coordinate (one region if it has none).
    rdm_method : str, default="correlation"
        Dissimilarity for both modalities (see :func:`compute_rdms`); ``"euclidean"``
        keeps differences in overall response strength, often what the M/EEG
        signal carries.
    compare_method : str, default="spearman"
        Comparator (see :func:`compare`); Kendall's tau-a is slow with permutations.
    cluster_test : bool, default=True
        Run the cluster-based permutation test.
    n_permutations : int, default=1000
        Random stimulus permutations of the fMRI RDMs.
    threshold_p : float, default=0.05
        Point-wise cluster-forming level.
    seed : int or None, default=None
        Seed of the permutations.
    device : {"auto", "cpu", "cuda", ...} or torch.device, default=None
    max_memory : int or str, default=None
        Budget for one batch of RDMs or permutations.

    Returns
    -------
    result : FusionResult
        ``fusion`` and ``cluster_p`` of dims (region, time), ``clusters`` per region.

    Raises
    ------
    DimensionError
        If ``meeg`` has no time dimension or an fMRI source has one.
    EmptyOverlapError
        If the modalities share no stimulus.
    ValueError
        If fewer than 3 stimuli are shared or an option is invalid.

    See Also
    --------
    time_resolved_rsa : the same comparison with model RDMs, without permutations.
    neuroalign.stats.cluster_test : the cluster inference used here.

    Examples
    --------
    >>> from data_adapters.synthetic import make_world
    >>> from neuroalign.rsa import fusion
    >>> world = make_world(seed=0, quick=True)
    >>> result = fusion(world.meg, world.fmri["sub-01"], rdm_method="euclidean",
    ...                 n_permutations=100, seed=0, device="cpu")
    >>> result.fusion.dims, result.fusion.region.values.tolist()
    (('region', 'time'), ['early', 'mid', 'late'])
    >>> round(float(result.fusion.sel(region="late").idxmax("time")), 1)
    0.2
    """
    _check_time_resolved(meeg, "meeg")
    regions = _regions(fmri)
    if cluster_test:
        n_permutations = check_positive_int("n_permutations", n_permutations)
        valid = isinstance(threshold_p, (int, float)) and not isinstance(threshold_p, bool)
        if not (valid and 0 < threshold_p < 1):
            raise ValueError(f"'threshold_p' must be in (0, 1), e.g. 0.05; got {threshold_p!r}.")
    stimuli = _common_stimuli(meeg, regions)
    options = {"method": rdm_method, "device": device, "max_memory": max_memory}
    meeg_rdms = compute_rdms(_restrict(meeg, stimuli), **options)
    fmri_rdms = compute_rdms(
        {name: _restrict(da, stimuli) for name, da in regions.items()}, **options
    )
    # Both RDM sets in the M/EEG stimulus order, as plain vectors.
    position = pd.Index(rdm_stimuli(fmri_rdms)).get_indexer(rdm_stimuli(meeg_rdms))
    fmri_vectors = np.asarray(fmri_rdms.values, dtype=float)
    meeg_vectors = np.asarray(meeg_rdms.values, dtype=float)
    observed = compare(
        fmri_vectors[:, _condensed_index(position)],
        meeg_vectors,
        method=compare_method,
        device=device,
    )
    coords = {"region": list(regions), "time": meeg.time.values}
    attrs = {"rdm_method": rdm_method, "compare_method": compare_method, "n_stimuli": len(stimuli)}
    fused = xr.DataArray(
        observed, dims=("region", "time"), coords=coords, name="fusion", attrs=attrs
    )
    if not cluster_test:
        return FusionResult(fusion=fused, cluster_p=None, clusters=None)
    null = _permutation_null(
        fmri_vectors,
        meeg_vectors,
        position,
        n_permutations,
        seed,
        compare_method,
        device,
        max_memory,
    )
    thresholds = np.quantile(null, 1 - threshold_p, axis=0)
    clusters, cluster_p = {}, np.ones(observed.shape)
    for r, name in enumerate(regions):
        result = stats.cluster_test(
            observed[r], null[:, r], threshold=thresholds[r], tail=1, device=device
        )
        clusters[name] = result
        inside = result.labels > 0
        cluster_p[r, inside] = result.p_values[result.labels[inside] - 1]
    p_attrs = dict(attrs, n_permutations=n_permutations, threshold_p=threshold_p)
    if seed is not None:
        p_attrs["seed"] = seed
    return FusionResult(
        fusion=fused,
        cluster_p=xr.DataArray(
            cluster_p, dims=("region", "time"), coords=coords, name="cluster_p", attrs=p_attrs
        ),
        clusters=clusters,
    )
