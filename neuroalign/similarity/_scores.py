"""Labelled front door: similarity of layers / ROIs / subjects as a tidy table with CIs."""

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd
import torch
import xarray as xr

from neuroalign._backend import plan_batches, resolve_device, resolve_dtype, to_numpy, to_tensor
from neuroalign._validation import check_option, check_positive_int
from neuroalign.data import align, average_repetitions, validate
from neuroalign.exceptions import DimensionError, SchemaError
from neuroalign.similarity._cca import cca_from_grams, check_variance
from neuroalign.similarity._cka import (
    check_bandwidth,
    cka_from_kernels,
    gram_stack,
    rbf_kernel,
    squared_distances,
)
from neuroalign.similarity._procrustes import check_alpha, procrustes_from_grams
from neuroalign.stats import percentile_ci

__all__ = ["SIMILARITY_METHODS", "similarity_scores"]

logger = logging.getLogger("neuroalign")

SIMILARITY_METHODS = (
    "cka",
    "cka_debiased",
    "rbf_cka",
    "procrustes",
    "procrustes_euclidean",
    "cca",
    "svcca",
)
COLUMNS = ["source_a", "source_b", "method", "score", "ci_low", "ci_high", "n_stimuli"]


def _named_sources(data, name):
    """``{source name: DataArray}`` from one DataArray or a mapping of them."""
    if isinstance(data, xr.DataArray):
        modality = data.attrs.get("modality")
        label = data.attrs.get("layer") if modality == "model" else data.attrs.get("subject")
        sources = {str(label or modality or name): data}
    elif isinstance(data, Mapping):
        if not data:
            raise ValueError(f"{name!r} is an empty mapping; give at least one source.")
        sources = {str(key): value for key, value in data.items()}
    else:
        raise TypeError(
            f"{name!r} must be an xarray.DataArray in the neuroalign schema or a mapping of "
            f"names to them; got {type(data).__name__}. For plain arrays use linear_cka(), "
            "procrustes_distance() or cca_similarity()."
        )
    for key, da in sources.items():
        if not isinstance(da, xr.DataArray):
            raise TypeError(
                f"{name}[{key!r}] must be an xarray.DataArray; got {type(da).__name__}."
            )
        validate(da, allow_nan=True)
        if "time" in da.dims:
            raise DimensionError(
                f"{name}[{key!r}] has a 'time' dimension; similarity metrics compare "
                "(stimulus x feature) matrices. Select or average a window first, e.g. "
                "da.sel(time=slice(0.1, 0.2)).mean('time')."
            )
    return sources


def _aligned_matrices(sources_a, sources_b):
    """Average repetitions, keep the stimuli shared by every source, return the matrices."""
    averaged = [
        {
            key: da if da.attrs.get("modality") == "model" else average_repetitions(da)
            for key, da in sources.items()
        }
        for sources in (sources_a, sources_b)
    ]
    everything = list(averaged[0].values()) + list(averaged[1].values())
    reference = everything[0]
    for da in everything[1:]:
        reference = align(reference, da).a
    matrices = []
    for side, sources in zip(("a", "b"), averaged):
        side_matrices = {}
        for key, da in sources.items():
            values = np.asarray(align(reference, da).b.values)
            if not np.isfinite(values).all():
                raise SchemaError(
                    f"{side}[{key!r}] contains NaN or infinite values after averaging "
                    "repetitions; drop the affected neuroids first, e.g. da.dropna('neuroid')."
                )
            side_matrices[key] = values
        matrices.append(side_matrices)
    n_dropped = max(da.sizes["presentation"] for da in everything) - reference.sizes["presentation"]
    if n_dropped:
        logger.info(
            "similarity_scores: %d stimuli are shared by every source; the others are left out.",
            reference.sizes["presentation"],
        )
    return matrices, reference.sizes["presentation"]


def _check_method_options(method, alpha, bandwidth, variance):
    check_option("method", method, SIMILARITY_METHODS)
    return {
        "alpha": check_alpha(alpha),
        "bandwidth": check_bandwidth(bandwidth),
        "variance": check_variance(variance),
    }


def _bases(matrices, method, device, dtype):
    """The per-source (n, n) matrices every method starts from, float64."""
    compute_dtype = dtype if "cka" in method else torch.float64
    grams = gram_stack([to_tensor(m, device=device, dtype=compute_dtype) for m in matrices])
    return squared_distances(grams) if method == "rbf_cka" else grams


def _scorer(method, options, n_features_a, n_features_b):
    """Function ``(base_a, base_b, same) -> scores`` over stacks with matching leading dims."""
    if method in ("cka", "cka_debiased"):
        debiased = method == "cka_debiased"
        return lambda a, b, same: cka_from_kernels(a, b, debiased=debiased, same=same)
    if method == "rbf_cka":
        width = options["bandwidth"]
        return lambda a, b, same: cka_from_kernels(rbf_kernel(a, width), rbf_kernel(b, width))
    if method.startswith("procrustes"):
        metric = "euclidean" if method == "procrustes_euclidean" else "angular"
        return lambda a, b, same: procrustes_from_grams(
            a, b, n_features_a, n_features_b, alpha=options["alpha"], metric=metric
        )
    variance = options["variance"] if method == "svcca" else None
    return lambda a, b, same: cca_from_grams(a, b, variance=variance)


def _bootstrap(base_a, base_b, score, n_bootstrap, seed, max_memory, device):
    """Scores on ``n_bootstrap`` resamplings of the stimuli, in memory-planned batches.

    Each batch gathers the resampled rows and columns of every kernel with one index
    tensor and scores all samples and pairs at once.

    Returns
    -------
    samples : torch.Tensor of shape (n_bootstrap, n_a, n_b)
    """
    n = base_a.shape[-1]
    # The draw of neuroalign.stats.bootstrap_scores: the same seed resamples the same stimuli.
    uniform = np.random.default_rng(seed).random((n_bootstrap, n))
    indices = torch.as_tensor(np.minimum((uniform * n).astype(np.int64), n - 1), device=device)
    n_a, n_b = base_a.shape[0], base_b.shape[0]
    # Gathered kernels, their centred copies and decompositions, and the per-pair products.
    per_sample = 8 * n * n * (4 * (n_a + n_b) + 2 * n_a * n_b)
    batches = plan_batches(
        n_bootstrap,
        per_sample,
        max_memory,
        device=device,
        fixed_bytes=8 * n * n * (n_a + n_b),
    )
    samples = []
    for batch in batches:
        rows = indices[batch]
        rows_i, rows_j = rows.unsqueeze(-1), rows.unsqueeze(-2)
        same = rows_i == rows_j
        resampled_a = base_a[:, rows_i, rows_j].transpose(0, 1)
        resampled_b = base_b[:, rows_i, rows_j].transpose(0, 1)
        samples.append(score(resampled_a, resampled_b, same))
    return torch.cat(samples)


def similarity_scores(
    a,
    b,
    *,
    method="cka",
    bootstrap=None,
    seed=None,
    ci=0.95,
    alpha=1.0,
    bandwidth=1.0,
    variance=0.99,
    device=None,
    dtype=None,
    max_memory=None,
):
    """Representational similarity of every pair of sources, as a tidy table.

    Works the same for brain <-> model, brain <-> brain and model <-> model: each side
    is one labelled response matrix or a mapping of them (layers of a network, ROIs,
    subjects). Recordings are averaged over repetitions, every source is restricted
    to the stimuli shared by all sources (same row order), and all pairs are scored
    in one batched computation.

    Parameters
    ----------
    a, b : xarray.DataArray or Mapping of str to xarray.DataArray
        Objects in the neuroalign schema with dims (presentation, neuroid); a mapping
        keeps its key as the source name, a single object is named by its ``layer``
        (models) or ``subject`` attribute.
    method : str, default="cka"
        ``"cka"`` (linear CKA), ``"cka_debiased"`` (linear CKA with unbiased HSIC),
        ``"rbf_cka"``, ``"procrustes"`` (angular shape distance, radians; lower is
        more similar), ``"procrustes_euclidean"`` (Euclidean shape distance),
        ``"cca"`` (mean canonical correlation) or ``"svcca"``.
    bootstrap : int or None, default=None
        Number of bootstrap resamplings of the stimuli for confidence intervals;
        ``None`` leaves ``ci_low``/``ci_high`` as NaN.
    seed : int or None, default=None
        Seed of the bootstrap resampling.
    ci : float, default=0.95
        Coverage of the percentile bootstrap interval.
    alpha : float in [0, 1], default=1.0
        Partial whitening of the Procrustes methods (1: none).
    bandwidth : float, default=1.0
        RBF kernel width as a fraction of the median distance (``"rbf_cka"``).
    variance : float in (0, 1], default=0.99
        Share of variance SVCCA keeps on each side.
    device : {"auto", "cpu", "cuda", ...} or torch.device, default=None
    dtype : str or torch.dtype, default=None
        Type used to form CKA kernels (default float32); Procrustes and CCA always
        use float64. Everything after the kernels is float64.
    max_memory : int or str, default=None
        Memory budget of one bootstrap batch, e.g. ``"2GB"``; default half of the
        device's free memory.

    Returns
    -------
    scores : pandas.DataFrame
        One row per pair, columns ``source_a, source_b, method, score, ci_low,
        ci_high, n_stimuli``; ``attrs`` records ``bootstrap``, ``seed`` and ``ci``.

    Raises
    ------
    TypeError
        If a side is not a DataArray or a mapping of them.
    DimensionError
        If a source has a time dimension.
    EmptyOverlapError
        If the sources share no stimulus.
    SchemaError
        If a source holds NaN values.
    ValueError
        If an option is invalid, or fewer than 3 stimuli are shared (4 for
        ``"cka_debiased"``).

    See Also
    --------
    linear_cka, rbf_cka, procrustes_distance, cca_similarity, svcca :
        the metrics on plain arrays.
    neuroalign.data.align : the stimulus alignment used here.

    Notes
    -----
    Bootstrap samples resample stimuli with replacement (the same draws as
    :func:`neuroalign.stats.bootstrap_scores` for a given seed) and re-apply the
    whole metric (centring, RBF median, whitening, SVD truncation) to each sample;
    for ``"cka_debiased"``, pairs of copies of one stimulus are left out like the
    diagonal. The interval is :func:`neuroalign.stats.percentile_ci` of the
    samples. All samples of a batch share one gathered kernel tensor, so no Python
    loop runs per sample.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.data import activations, responses
    >>> from neuroalign.similarity import similarity_scores
    >>> rng = np.random.default_rng(0)
    >>> ids = [f"img{i}" for i in range(30)]
    >>> layers = {name: activations(rng.standard_normal((30, 8)), ids, model="net", layer=name)
    ...           for name in ("conv1", "conv2")}
    >>> signal = np.tile(layers["conv1"].values @ rng.standard_normal((8, 5)), (2, 1))
    >>> brain = responses(signal + rng.standard_normal((60, 5)), ids * 2, modality="fmri",
    ...                   subject="s1")
    >>> table = similarity_scores(layers, brain, method="cka", bootstrap=200, seed=0,
    ...                           device="cpu")
    >>> table[["source_a", "source_b", "n_stimuli"]].values.tolist()
    [['conv1', 's1', 30], ['conv2', 's1', 30]]
    >>> table.score.round(2).tolist()
    [0.73, 0.06]
    """
    options = _check_method_options(method, alpha, bandwidth, variance)
    if bootstrap is not None:
        bootstrap = check_positive_int("bootstrap", bootstrap, minimum=2)
    if isinstance(ci, bool) or not isinstance(ci, (int, float)) or not 0 < ci < 1:
        raise ValueError(f"'ci' must be a confidence level in (0, 1), e.g. 0.95; got {ci!r}.")
    device = resolve_device(device)
    dtype = resolve_dtype(dtype)
    sources_a, sources_b = _named_sources(a, "a"), _named_sources(b, "b")
    (matrices_a, matrices_b), n_stimuli = _aligned_matrices(sources_a, sources_b)
    minimum = 4 if method == "cka_debiased" else 3
    if n_stimuli < minimum:
        raise ValueError(
            f"method={method!r} needs at least {minimum} stimuli shared by every source; "
            f"got {n_stimuli}."
        )
    features_a = torch.tensor([m.shape[1] for m in matrices_a.values()], device=device)
    features_b = torch.tensor([m.shape[1] for m in matrices_b.values()], device=device)
    base_a = _bases(list(matrices_a.values()), method, device, dtype)
    base_b = _bases(list(matrices_b.values()), method, device, dtype)
    score = _scorer(method, options, features_a, features_b)
    point = to_numpy(score(base_a, base_b, None))
    low = high = np.full(point.shape, np.nan)
    if bootstrap is not None:
        samples = _bootstrap(base_a, base_b, score, bootstrap, seed, max_memory, device)
        low, high = map(to_numpy, percentile_ci(samples, ci))
    rows = [
        (name_a, name_b, method, point[i, j], low[i, j], high[i, j], n_stimuli)
        for i, name_a in enumerate(matrices_a)
        for j, name_b in enumerate(matrices_b)
    ]
    table = pd.DataFrame(rows, columns=COLUMNS)
    table.attrs.update({"bootstrap": bootstrap, "seed": seed, "ci": ci})
    return table
