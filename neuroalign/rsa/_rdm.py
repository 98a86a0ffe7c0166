"""Representational dissimilarity matrices for many sources in one batched call.

Definitions follow rsatoolbox 0.3 ``rsatoolbox.rdm.calc`` exactly: every distance
is divided by the number of features (so "euclidean" is the mean squared
difference per feature), repetitions of a stimulus are averaged before
non-cross-validated distances, and crossnobis averages leave-one-fold-out
cross-validated distances.
"""

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
import xarray as xr

from neuroalign._backend import plan_batches, resolve_device, resolve_dtype, to_numpy, to_tensor
from neuroalign._validation import check_option
from neuroalign.data import validate
from neuroalign.exceptions import DimensionError
from neuroalign.rsa._labelled import build_rdms, pair_indices, plain
from neuroalign.rsa._noise import NOISE_ESTIMATORS, noise_covariance

__all__ = ["RDM_METHODS", "compute_rdms"]

RDM_METHODS = ("correlation", "euclidean", "cosine", "mahalanobis", "crossnobis", "poisson")
_DISSIMILARITY = {
    "correlation": "correlation",
    "euclidean": "squared euclidean",
    "cosine": "cosine",
    "mahalanobis": "squared mahalanobis",
    "crossnobis": "crossnobis",
    "poisson": "poisson",
}


class _Source(NamedTuple):
    label: str
    name: str
    time: float
    values: object  # array-like or tensor of shape (n_presentations, n_features)
    ids: np.ndarray
    groups: object  # np.ndarray of fold labels or None


def _ids_array(ids):
    values = np.asarray(ids)
    return values.astype(str) if values.dtype.kind in "OUS" else values


def _groups_of(da, cv_groups, label):
    if cv_groups is None:
        for coord in ("run", "repetition"):
            if coord in da.coords and da.coords[coord].dims == ("presentation",):
                return np.asarray(da.coords[coord].values)
        return None
    if isinstance(cv_groups, str):
        if cv_groups not in da.coords:
            raise ValueError(
                f"'cv_groups' names the coordinate {cv_groups!r}, which source {label!r} lacks; "
                f"its coordinates are {sorted(da.coords)}."
            )
        return np.asarray(da.coords[cv_groups].values)
    return np.asarray(cv_groups)


def _from_dataarray(label, da, cv_groups):
    validate(da)
    ids = _ids_array(da.stimulus_id.values)
    groups = _groups_of(da, cv_groups, label)
    if "time" not in da.dims:
        return [_Source(label, label, np.nan, da.values, ids, groups)]
    return [
        _Source(f"{label}@t={t:g}", label, float(t), da.values[:, :, i], ids, groups)
        for i, t in enumerate(da.time.values)
    ]


def _from_array(label, values, stimulus_ids, cv_groups):
    if values.ndim != 2:
        raise DimensionError(
            f"Source {label!r} must be a (n_presentations, n_features) matrix; got shape "
            f"{tuple(values.shape)}."
        )
    n = values.shape[0]
    ids = np.arange(n) if stimulus_ids is None else _ids_array(stimulus_ids)
    if len(ids) != n:
        raise DimensionError(
            f"'stimulus_ids' has {len(ids)} entries but source {label!r} has {n} rows."
        )
    groups = None if cv_groups is None or isinstance(cv_groups, str) else np.asarray(cv_groups)
    if isinstance(cv_groups, str):
        raise ValueError(
            f"'cv_groups' as a coordinate name ({cv_groups!r}) needs DataArray sources; give "
            "plain arrays one label per row instead."
        )
    return _Source(label, label, np.nan, values, ids, groups)


def _collect(data, stimulus_ids, cv_groups):
    """Split the input into sources (one per layer / ROI / time point)."""
    if isinstance(data, xr.DataArray):
        items = [(str(data.name) if data.name is not None else "0", data)]
    elif isinstance(data, Mapping):
        items = [(str(k), v) for k, v in data.items()]
    elif isinstance(data, (np.ndarray, torch.Tensor)) and data.ndim == 3:
        items = [(str(i), data[i]) for i in range(data.shape[0])]
    elif isinstance(data, (np.ndarray, torch.Tensor)):
        items = [("0", data)]
    elif isinstance(data, (list, tuple)):
        names = [getattr(d, "name", None) for d in data]
        unique = all(n is not None for n in names) and len(set(map(str, names))) == len(names)
        items = [(str(n) if unique else str(i), d) for i, (n, d) in enumerate(zip(names, data))]
    else:
        raise TypeError(
            "'data' must be a (n_sources, n_stimuli, n_features) array or tensor, a list or "
            f"mapping of (n_stimuli, n_features) matrices or DataArrays; got {type(data).__name__}."
        )
    if not items:
        raise ValueError("'data' holds no source.")
    sources = []
    for label, value in items:
        if isinstance(value, xr.DataArray):
            sources.extend(_from_dataarray(label, value, cv_groups))
        else:
            if not isinstance(value, torch.Tensor):
                value = np.asarray(value)
            sources.append(_from_array(label, value, stimulus_ids, cv_groups))
    return sources


def _stimulus_order(sources):
    order = pd.unique(sources[0].ids)
    reference = set(order.tolist())
    for source in sources[1:]:
        ids = set(pd.unique(source.ids).tolist())
        if ids != reference:
            only_first = sorted(map(str, reference - ids))[:3]
            only_this = sorted(map(str, ids - reference))[:3]
            raise ValueError(
                f"Sources {sources[0].label!r} and {source.label!r} cover different stimulus "
                f"sets (only in the first: {only_first or 'none'}; only in {source.label!r}: "
                f"{only_this or 'none'}). Restrict them to shared stimuli, e.g. with "
                "neuroalign.data.align()."
            )
    if len(order) < 3:
        raise ValueError(f"RDMs need at least 3 distinct stimuli; got {len(order)}.")
    return order


class _Folds(NamedTuple):
    """Cross-validation folds of one presentation layout (internal)."""

    index: np.ndarray  # fold of each presentation, 0 .. n_folds - 1
    counts: np.ndarray  # (n_folds, n_stimuli) presentations per fold and stimulus


def _folds(source, codes, order):
    if source.groups is None:
        groups = pd.Series(codes).groupby(codes).cumcount().to_numpy()
    else:
        groups = source.groups
        if len(groups) != len(codes):
            raise DimensionError(
                f"'cv_groups' has {len(groups)} labels but source {source.label!r} has "
                f"{len(codes)} presentations."
            )
    labels, index = np.unique(groups, return_inverse=True)
    if len(labels) < 2:
        raise ValueError(
            f"crossnobis needs at least two cross-validation folds (runs or repetitions of "
            f"each stimulus); source {source.label!r} has {len(labels)}. Pass 'cv_groups' or data "
            "with a 'run' or 'repetition' coordinate and repeated stimuli."
        )
    counts = np.zeros((len(labels), len(order)), dtype=np.int64)
    np.add.at(counts, (index, codes), 1)
    if (counts == 0).any():
        fold, stimulus = np.argwhere(counts == 0)[0]
        raise ValueError(
            f"Source {source.label!r}: stimulus {plain(order[stimulus])!r} has no presentation "
            f"in fold {plain(labels[fold])!r}; crossnobis needs every stimulus in every "
            "cross-validation fold."
        )
    return _Folds(index.astype(np.int64), counts)


def _stimulus_means(x, codes, n_stimuli):
    """Mean of the presentations of each stimulus: (batch, n_stimuli, n_features)."""
    counts = torch.bincount(codes, minlength=n_stimuli).to(x.dtype)
    sums = x.new_zeros((x.shape[0], n_stimuli, x.shape[-1])).index_add_(1, codes, x)
    return sums / counts[:, None]


def _fold_means(x, codes, folds):
    """Training (other folds) and test (this fold) stimulus means: two (batch, f, n, F)."""
    n_folds, n_stimuli = folds.counts.shape
    index = torch.as_tensor(folds.index, device=x.device) * n_stimuli + codes
    sums = x.new_zeros((x.shape[0], n_folds * n_stimuli, x.shape[-1])).index_add_(1, index, x)
    sums = sums.view(x.shape[0], n_folds, n_stimuli, -1)
    counts = torch.as_tensor(folds.counts, device=x.device, dtype=x.dtype)[..., None]
    train = (sums.sum(1, keepdim=True) - sums) / (counts.sum(0, keepdim=True) - counts)
    return train, sums / counts


def _batch_tensor(data, sources, members, device, dtype):
    """The members' values as one (batch, n_presentations, n_features) tensor.

    Consecutive slices of a 3-D array input are converted without a copy when the
    dtype and device already match.
    """
    is_block = isinstance(data, (np.ndarray, torch.Tensor)) and data.ndim == 3
    if is_block and members == list(range(members[0], members[-1] + 1)):
        return to_tensor(data[members[0] : members[-1] + 1], device=device, dtype=dtype)
    return torch.stack([to_tensor(sources[i].values, device=device, dtype=dtype) for i in members])


class _Group(NamedTuple):
    members: list
    codes: np.ndarray
    folds: object


def _group_sources(sources, order, method):
    position = {s: i for i, s in enumerate(order.tolist())}
    groups = {}
    for index, source in enumerate(sources):
        codes = np.array([position[s] for s in source.ids.tolist()], dtype=np.int64)
        group_key = (
            tuple(np.shape(source.values)),
            codes.tobytes(),
            None if source.groups is None else np.asarray(source.groups).astype(str).tobytes(),
        )
        if group_key not in groups:
            folds = _folds(source, codes, order) if method == "crossnobis" else None
            groups[group_key] = _Group([], codes, folds)
        groups[group_key].members.append(index)
    return list(groups.values())


def _noise_for(noise, sources, members, n_features, device):
    """Precision tensors (n, F, F) for the members, or None (identity)."""
    if noise is None or isinstance(noise, str):
        return None
    if isinstance(noise, Mapping):
        missing = [sources[i].name for i in members if sources[i].name not in noise]
        if missing:
            raise ValueError(f"'noise' has no precision matrix for source {missing[0]!r}.")
        chosen = [noise[sources[i].name] for i in members]
    elif isinstance(noise, (list, tuple)):
        names = list(dict.fromkeys(s.name for s in sources))
        if len(noise) != len(names):
            raise ValueError(f"'noise' lists {len(noise)} matrices for {len(names)} sources.")
        chosen = [noise[names.index(sources[i].name)] for i in members]
    else:
        chosen = [noise] * len(members)
    matrices = [to_tensor(m, device=device, dtype=torch.float64) for m in chosen]
    for index, matrix in zip(members, matrices):
        if tuple(matrix.shape) != (n_features, n_features):
            raise DimensionError(
                f"The noise precision for source {sources[index].label!r} must have shape "
                f"({n_features}, {n_features}); got {tuple(matrix.shape)}."
            )
    return torch.stack(matrices)


def _estimated_precision(x, codes, n_stimuli, estimator, label):
    """Precision from residuals around the stimulus means (rsatoolbox prec_from_unbalanced)."""
    dof = x.shape[-2] - n_stimuli
    if dof < 1:
        raise ValueError(
            f"noise={estimator!r} estimates the noise from repetitions, but source {label!r} "
            "shows each stimulus once. Pass a precision matrix or data with repetitions."
        )
    x64 = x.double()
    residuals = x64 - _stimulus_means(x64[None], codes, n_stimuli)[0][codes]
    return torch.linalg.inv(noise_covariance(residuals, method=estimator, dof=dof))


def _distances_from_kernel(kernel, n_features):
    diag = torch.diagonal(kernel, dim1=-2, dim2=-1)
    return (diag[..., :, None] + diag[..., None, :] - kernel - kernel.transpose(-1, -2)) / (
        n_features
    )


def _weighted(a, b, precision):
    if precision is None:
        return a @ b.transpose(-1, -2)
    return (a @ precision.to(a.dtype)) @ b.transpose(-1, -2)


# Above this ratio of squared offset to spread, float32 Gram shortcuts lose digits
# and the data are centred explicitly instead.
_OFFSET_RATIO = 1e3


def _correlation_like(method, means):
    """1 - correlation (or cosine) from the Gram matrix, centring explicitly if needed."""
    n_features = means.shape[-1]
    gram = means @ means.transpose(-1, -2)
    if method == "correlation":
        sums = means.sum(-1)
        gram = gram - sums[..., :, None] * sums[..., None, :] / n_features
        spread = torch.diagonal(gram, dim1=-2, dim2=-1) / n_features
        offset = (sums / n_features) ** 2
        if bool((offset > _OFFSET_RATIO * spread).any()):
            centred = means - means.mean(-1, keepdim=True)
            gram = centred @ centred.transpose(-1, -2)
    norms = torch.diagonal(gram, dim1=-2, dim2=-1).sqrt()
    return 1 - gram / norms[..., :, None] / norms[..., None, :]


def _squared_distances(means, precision):
    """Squared (Mahalanobis) distances per feature, centring explicitly if needed."""
    n_features = means.shape[-1]
    distances = _distances_from_kernel(_weighted(means, means, precision), n_features)
    norms = torch.diagonal(
        _weighted(means[..., :1, :], means[..., :1, :], precision), dim1=-2, dim2=-1
    )
    if bool((norms.squeeze(-1) / n_features > _OFFSET_RATIO * distances.amax((-1, -2))).any()):
        centred = means - means.mean(-2, keepdim=True)
        distances = _distances_from_kernel(_weighted(centred, centred, precision), n_features)
    return distances


def _rdm_batch(method, x, means, fold_means, precision, prior):
    """Square RDMs (batch, n, n) of one batch of sources."""
    n_features = x.shape[-1]
    if method in ("correlation", "cosine"):
        return _correlation_like(method, means)
    if method in ("euclidean", "mahalanobis"):
        return _squared_distances(means, precision)
    if method == "poisson":
        if (means < 0).any():
            raise ValueError(
                "method='poisson' needs non-negative data (spike counts or rates); got negative "
                "stimulus means."
            )
        lam, weight = prior
        m = (means + lam * weight) / (1 + weight)
        return _distances_from_kernel(m @ torch.log(m).transpose(-1, -2), n_features)
    train_means, test_means = fold_means
    train_means = train_means - train_means.mean(-2, keepdim=True)
    test_means = test_means - test_means.mean(-2, keepdim=True)
    noise = None if precision is None else precision[:, None]
    kernel = _weighted(train_means, test_means, noise)
    return _distances_from_kernel(kernel, n_features).mean(1)


def _check_finite(vectors, labels, order, rows, cols, method):
    bad = ~np.isfinite(vectors)
    if bad.any():
        source, pair = np.argwhere(bad)[0]
        hint = (
            " A constant response pattern has no correlation or cosine distance."
            if method in ("correlation", "cosine")
            else ""
        )
        raise ValueError(
            f"The {method} RDM of source {labels[source]!r} has {int(bad.sum())} NaN or infinite "
            f"dissimilarities (first between stimuli {plain(order[rows[pair]])!r} and "
            f"{plain(order[cols[pair]])!r}).{hint}"
        )


def _bytes_per_source(method, n_presentations, n, n_features, n_folds, itemsize, noise):
    per = (n_presentations + 3 * n) * n_features + 4 * n * n
    if method == "crossnobis":
        per += 4 * n_folds * n * n_features + 3 * n_folds * n * n
    total = per * itemsize
    if noise is not None:
        total += 4 * n_features * n_features * 8 + n_presentations * n_features * 8
    return total


def compute_rdms(
    data,
    *,
    method="correlation",
    noise=None,
    cv_groups=None,
    stimulus_ids=None,
    prior_lambda=1.0,
    prior_weight=0.1,
    device=None,
    dtype=None,
    max_memory=None,
):
    """Compute RDMs for many sources (layers, ROIs, subjects, time points) in one call.

    Sources with the same shape and presentation layout are stacked and processed
    as one batched tensor computation, chunked to fit ``max_memory``.

    Parameters
    ----------
    data : array or tensor of shape (n_sources, n_stimuli, n_features), or list or Mapping
        Each source is a (n_presentations, n_features) matrix or a schema DataArray
        (``presentation × neuroid [× time]``); a DataArray with a ``time`` dim gives
        one RDM per time point. A single matrix or DataArray is one source. Mapping
        keys (or DataArray names) label the sources.
    method : {"correlation", "euclidean", "cosine", "mahalanobis", "crossnobis", "poisson"}, \
default="correlation"
        As rsatoolbox's ``calc_rdm``: ``"correlation"`` is 1 − Pearson r between
        stimulus patterns; ``"euclidean"`` the squared distance divided by
        n_features; ``"cosine"`` 1 − cosine similarity; ``"mahalanobis"`` the squared
        Mahalanobis distance under ``noise`` divided by n_features; ``"crossnobis"``
        its leave-one-fold-out cross-validated (unbiased) form; ``"poisson"`` the
        symmetrised Poisson KL divergence per feature for counts.
    noise : None or str or array or list or Mapping, default=None
        Noise precision for ``"mahalanobis"`` / ``"crossnobis"``: ``None`` (identity,
        i.e. Euclidean), a (n_features, n_features) matrix for every source, one
        matrix per source (list in source order or Mapping by source name), or an
        estimator name (``"shrinkage_diag"``, ``"shrinkage_eye"``, ``"diag"``,
        ``"full"``) to estimate it from each source's residuals around its stimulus
        means (rsatoolbox's ``prec_from_unbalanced``).
    cv_groups : None or str or sequence, default=None
        Cross-validation folds for ``"crossnobis"``: a presentation coordinate name,
        or one label per row for plain arrays. ``None`` uses the ``run`` coordinate,
        else ``repetition``, else the k-th presentation of each stimulus as fold k.
    stimulus_ids : sequence, optional
        Stimulus of each row of plain-array sources (repeated ids are repetitions);
        default one stimulus per row, ``0 .. n - 1``.
    prior_lambda, prior_weight : float, default=1.0, 0.1
        Prior of the ``"poisson"`` estimator, as rsatoolbox.
    device, dtype : see :mod:`neuroalign._backend`, default=None
        Computation runs in ``dtype`` (float32 unless configured); noise
        estimates are computed in float64.
    max_memory : int or str, optional
        Memory budget for one batch of sources.

    Returns
    -------
    rdms : xarray.DataArray of dims (source, pair)
        Condensed RDMs (squareform order) with stimulus ids in order of first
        appearance in the first source, and provenance in ``attrs``. See
        :func:`rdm_matrices` for square form.

    Raises
    ------
    ValueError
        Sources over different stimulus sets, fewer than 3 stimuli, NaN
        dissimilarities, crossnobis without two folds, negative data for Poisson.

    See Also
    --------
    compare, evaluate, rdm_matrices, noise_precision

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.rsa import compute_rdms
    >>> layers = np.random.default_rng(0).normal(size=(3, 10, 50))
    >>> rdms = compute_rdms(layers, method="euclidean")
    >>> rdms.shape, rdms.attrs["dissimilarity"]
    ((3, 45), 'squared euclidean')
    """
    check_option("method", method, RDM_METHODS)
    if isinstance(noise, str):
        check_option("noise", noise, NOISE_ESTIMATORS)
    device = resolve_device(device)
    dtype = resolve_dtype(dtype)
    sources = _collect(data, stimulus_ids, cv_groups)
    data = data if isinstance(data, (np.ndarray, torch.Tensor)) else None
    order = _stimulus_order(sources)
    n = len(order)
    rows, cols = pair_indices(n)
    rows_t, cols_t = torch.as_tensor(rows, device=device), torch.as_tensor(cols, device=device)
    vectors = [None] * len(sources)
    for group in _group_sources(sources, order, method):
        n_presentations, n_features = np.shape(sources[group.members[0]].values)
        codes = torch.as_tensor(group.codes, device=device)
        identity = np.array_equal(group.codes, np.arange(n))
        uses_noise = method in ("mahalanobis", "crossnobis") and noise is not None
        n_folds = 0 if group.folds is None else group.folds.counts.shape[0]
        per_source = _bytes_per_source(
            method,
            n_presentations,
            n,
            n_features,
            n_folds,
            dtype.itemsize,
            noise if uses_noise else None,
        )
        for batch in plan_batches(len(group.members), per_source, max_memory, device=device):
            members = group.members[batch]
            x = _batch_tensor(data, sources, members, device, dtype)
            precision = (
                _noise_for(noise, sources, members, n_features, device) if uses_noise else None
            )
            if uses_noise and isinstance(noise, str):
                precision = torch.stack(
                    [
                        _estimated_precision(x[k], codes, n, noise, sources[i].label)
                        for k, i in enumerate(members)
                    ]
                )
            if method == "crossnobis":
                means, fold_means = None, _fold_means(x, codes, group.folds)
            else:
                means = x if identity else _stimulus_means(x, codes, n)
                fold_means = None
            square = _rdm_batch(
                method, x, means, fold_means, precision, (prior_lambda, prior_weight)
            )
            batch_vectors = to_numpy(square[:, rows_t, cols_t])
            for k, i in enumerate(members):
                vectors[i] = batch_vectors[k]
    values = np.stack(vectors)
    labels = [s.label for s in sources]
    _check_finite(values, labels, order, rows, cols, method)
    attrs = {
        "noise": "identity" if noise is None else (noise if isinstance(noise, str) else "given")
    }
    if method == "poisson":
        attrs.update(prior_lambda=float(prior_lambda), prior_weight=float(prior_weight))
    return build_rdms(
        values,
        order,
        sources=labels,
        method=method,
        dissimilarity=_DISSIMILARITY[method]
        if not (method == "mahalanobis" and noise is None)
        else "squared euclidean",
        source_names=[s.name for s in sources],
        times=[s.time for s in sources],
        extra_attrs=attrs,
    )
