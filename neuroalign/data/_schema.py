"""The response-matrix schema: constructors and validation.

Every data source (fMRI ROI, EEG montage, sorted units, network layer) becomes an
``xarray.DataArray`` with dims ``("presentation", "neuroid")`` or
``("presentation", "neuroid", "time")``; see DESIGN.md §1.
"""

import numpy as np
import pandas as pd
import xarray as xr

from neuroalign._validation import check_option
from neuroalign.exceptions import ConflictingDuplicatesError, DimensionError, SchemaError

__all__ = ["MODALITIES", "activations", "responses", "validate"]

PRESENTATION, NEUROID, TIME = "presentation", "neuroid", "time"
MODALITIES = ("fmri", "eeg", "meg", "ieeg", "spikes", "model", "behavior")
_VALID_DIMS = ((PRESENTATION, NEUROID), (PRESENTATION, NEUROID, TIME))


def _as_numpy(data, name):
    """Values of an array-like (numpy, torch, xarray, nested lists) as a numpy array."""
    if hasattr(data, "detach"):
        data = data.detach().cpu().numpy()
    values = np.asarray(getattr(data, "values", data))
    if values.dtype.kind not in "biuf":
        raise SchemaError(
            f"{name!r} must hold numbers; got an array of dtype {values.dtype}. "
            "Convert it with np.asarray(..., dtype=float)."
        )
    return values


def _as_ids(ids, name):
    """A 1-D id array of strings or integers, normalised to numpy ``<U`` or int64."""
    values = np.asarray(ids.values if hasattr(ids, "values") else list(ids))
    if values.ndim != 1:
        raise DimensionError(f"{name!r} must be one-dimensional; got shape {values.shape}.")
    if values.dtype.kind in "iu":
        return values.astype(np.int64)
    if values.dtype.kind in "UT":
        return values.astype(str)
    if values.dtype.kind == "O" and all(isinstance(v, str) for v in values):
        return values.astype(str)
    raise SchemaError(
        f"{name!r} must contain only strings or only integers; got dtype {values.dtype} "
        f"(first values: {list(values[:3])}). Convert them with [str(i) for i in ids]."
    )


def _check_length(name, values, expected, dim):
    if len(values) != expected:
        raise DimensionError(
            f"{name!r} has {len(values)} entries but the data has {expected} along "
            f"{dim!r}; give one entry per {dim}."
        )


def _repetition_counter(stimulus_ids):
    """0 for the first presentation of each stimulus, 1 for the second, ..."""
    return pd.Series(stimulus_ids).groupby(stimulus_ids, sort=False).cumcount().to_numpy()


def _build(
    data,
    stimulus_ids,
    *,
    attrs,
    name,
    neuroid_ids,
    times,
    presentation_coords,
    neuroid_coords,
):
    values = _as_numpy(data, "data")
    if values.ndim not in (2, 3):
        raise DimensionError(
            f"'data' must have shape (n_presentations, n_neuroids) or (n_presentations, "
            f"n_neuroids, n_times); got shape {values.shape}."
        )
    dims = _VALID_DIMS[values.ndim - 2]
    ids = _as_ids(stimulus_ids, "stimulus_ids")
    _check_length("stimulus_ids", ids, values.shape[0], PRESENTATION)
    neuroid_ids = (
        np.arange(values.shape[1]) if neuroid_ids is None else _as_ids(neuroid_ids, "neuroid_ids")
    )
    _check_length("neuroid_ids", neuroid_ids, values.shape[1], NEUROID)
    coords = {"stimulus_id": (PRESENTATION, ids), "neuroid_id": (NEUROID, neuroid_ids)}
    if values.ndim == 3:
        if times is None:
            raise DimensionError(
                "'data' has a third (time) dimension, so 'times' (seconds, one per sample) "
                "is required."
            )
        times = np.asarray(times, dtype=float)
        _check_length("times", times, values.shape[2], TIME)
        coords[TIME] = (TIME, times)
    elif times is not None:
        raise DimensionError(
            f"'times' was given but 'data' has no time dimension (shape {values.shape})."
        )
    for dim, extra in ((PRESENTATION, presentation_coords), (NEUROID, neuroid_coords)):
        for key, coord in (extra or {}).items():
            coord = np.asarray(coord)
            _check_length(f"{dim}_coords[{key!r}]", coord, values.shape[dims.index(dim)], dim)
            coords[key] = (dim, coord)
    da = xr.DataArray(values, dims=dims, coords=coords, name=name, attrs=attrs)
    return validate(da)


def responses(
    data,
    stimulus_ids,
    *,
    modality,
    subject=None,
    neuroid_ids=None,
    times=None,
    regions=None,
    repetitions=None,
    presentation_coords=None,
    neuroid_coords=None,
    units=None,
    source=None,
):
    """Wrap recorded responses (brain or behaviour) in the neuroalign schema.

    Parameters
    ----------
    data : array-like of shape (n_presentations, n_neuroids[, n_times])
        One row per trial; numpy arrays, torch tensors and nested lists are accepted.
        The values are not copied.
    stimulus_ids : sequence of str or int of length n_presentations
        Which stimulus each row shows; repeated ids are repetitions.
    modality : {"fmri", "eeg", "meg", "ieeg", "spikes", "behavior"}
    subject : str, optional
    neuroid_ids : sequence of length n_neuroids, optional
        Default ``0 .. n_neuroids - 1``.
    times : sequence of float of length n_times, optional
        Peri-stimulus time in seconds; required when ``data`` is 3-D.
    regions : sequence of str of length n_neuroids, optional
        ROI / area label of each neuroid, stored as the ``region`` coordinate.
    repetitions : sequence of int of length n_presentations, optional
        Repetition index of each row; by default counted in order of appearance.
    presentation_coords, neuroid_coords : dict of str to sequence, optional
        Extra coordinates (e.g. ``run``, ``category``; ``x``, ``hemisphere``).
    units : str, optional
        Units of the values, e.g. ``"percent signal change"``.
    source : str, optional
        File or description the data came from.

    Returns
    -------
    responses : xarray.DataArray
        Dims ``("presentation", "neuroid"[, "time"])``, validated by :func:`validate`.

    Raises
    ------
    SchemaError, DimensionError
        If shapes, ids or values do not fit the schema.

    See Also
    --------
    activations : the same for network layers.
    validate : the checks applied.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.data import responses
    >>> da = responses(np.zeros((4, 3)), ["a", "b", "a", "b"], modality="fmri",
    ...                regions=["V1", "V1", "IT"])
    >>> da.sizes["presentation"], da.repetition.values.tolist()
    (4, [0, 0, 1, 1])
    """
    check_option("modality", modality, [m for m in MODALITIES if m != "model"])
    ids = _as_ids(stimulus_ids, "stimulus_ids")
    extra_presentation = dict(presentation_coords or {})
    extra_presentation["repetition"] = (
        _repetition_counter(ids) if repetitions is None else np.asarray(repetitions)
    )
    extra_neuroid = dict(neuroid_coords or {})
    if regions is not None:
        extra_neuroid["region"] = np.asarray(regions).astype(str)
    attrs = {"modality": modality}
    attrs.update(
        {k: v for k, v in (("subject", subject), ("units", units), ("source", source)) if v}
    )
    return _build(
        data,
        ids,
        attrs=attrs,
        name="responses",
        neuroid_ids=neuroid_ids,
        times=times,
        presentation_coords=extra_presentation,
        neuroid_coords=extra_neuroid,
    )


def activations(
    data,
    stimulus_ids,
    *,
    model,
    layer,
    neuroid_ids=None,
    times=None,
    neuroid_coords=None,
    source=None,
):
    """Wrap one layer's activations in the neuroalign schema.

    Parameters
    ----------
    data : array-like of shape (n_stimuli, n_units) or (n_stimuli, n_units, n_times)
        One row per stimulus; the values are not copied.
    stimulus_ids : sequence of str or int of length n_stimuli
        Must be unique unless duplicated rows are identical.
    model : str
        Name of the network.
    layer : str
        Name of the layer (as in ``model.named_modules()``).
    neuroid_ids : sequence of length n_units, optional
    times : sequence of float, optional
        Required for 3-D data (e.g. recurrent or temporal models).
    neuroid_coords : dict of str to sequence, optional
        Extra unit coordinates such as ``channel``.
    source : str, optional

    Returns
    -------
    activations : xarray.DataArray
        ``attrs["modality"] == "model"``, with ``model`` and ``layer`` attrs.

    See Also
    --------
    responses : the same for recordings.
    data_adapters.activations.extract : run a torch model and collect layers.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.data import activations
    >>> da = activations(np.ones((3, 8)), ["a", "b", "c"], model="net", layer="conv1")
    >>> da.attrs["layer"]
    'conv1'
    """
    attrs = {"modality": "model", "model": str(model), "layer": str(layer)}
    if source:
        attrs["source"] = source
    return _build(
        data,
        stimulus_ids,
        attrs=attrs,
        name=str(layer),
        neuroid_ids=neuroid_ids,
        times=times,
        presentation_coords=None,
        neuroid_coords=neuroid_coords,
    )


def _check_coordinate(da, name, dim):
    if name not in da.coords:
        raise SchemaError(
            f"The DataArray has no {name!r} coordinate along {dim!r}. Build it with "
            "neuroalign.data.responses(...) or activations(...), or add it with "
            f"da.assign_coords({name}=({dim!r}, values))."
        )
    if da.coords[name].dims != (dim,):
        raise SchemaError(
            f"Coordinate {name!r} must lie along {dim!r}; it lies along {da.coords[name].dims}."
        )


def _check_stimulus_ids(da):
    ids = da.stimulus_id.values
    if ids.dtype.kind not in "iuUT" and not (
        ids.dtype.kind == "O" and all(isinstance(v, str) for v in ids)
    ):
        raise SchemaError(
            f"'stimulus_id' must hold strings or integers; got dtype {ids.dtype}. "
            "Convert the coordinate with .astype(str)."
        )
    if ids.dtype.kind in "UTO" and (ids == "").any():
        position = int(np.flatnonzero(ids == "")[0])
        raise SchemaError(f"'stimulus_id' is empty at presentation {position}.")


def _plain(key):
    """A key with numpy scalars turned into Python ones, for readable messages."""
    if isinstance(key, tuple):
        return tuple(_plain(k) for k in key)
    return key.item() if isinstance(key, np.generic) else key


def duplicated_rows(da):
    """Presentation keys that appear more than once with different values.

    Rows are keyed by ``stimulus_id`` plus ``repetition`` when that coordinate exists.
    Without it, repeated ids of a recording are repetitions, while a network layer
    (modality ``"model"``) must give identical rows for the same stimulus.

    Parameters
    ----------
    da : xarray.DataArray

    Returns
    -------
    keys : list
        Keys whose duplicated rows disagree (empty when there are none).
    """
    keys = [da.stimulus_id.values]
    if "repetition" in da.coords:
        keys.append(da.repetition.values)
    elif da.attrs.get("modality") != "model":
        return []
    index = pd.MultiIndex.from_arrays(keys) if len(keys) > 1 else pd.Index(keys[0])
    duplicated = index.duplicated(keep=False)
    if not duplicated.any():
        return []
    values = np.asarray(da.values).reshape(da.sizes[PRESENTATION], -1)
    conflicting = []
    for key, rows in pd.Series(np.arange(len(index)))[duplicated].groupby(
        index[duplicated], sort=False
    ):
        block = values[rows.to_numpy()]
        if not np.array_equal(block, np.broadcast_to(block[:1], block.shape), equal_nan=True):
            conflicting.append(_plain(key))
    return conflicting


def validate(da, *, allow_nan=False):
    """Check that a DataArray follows the response-matrix schema.

    Parameters
    ----------
    da : xarray.DataArray
        Dims ``("presentation", "neuroid")`` or ``("presentation", "neuroid", "time")``
        with coordinates ``stimulus_id`` (presentation), ``neuroid_id`` (neuroid) and
        ``time`` (seconds) and an ``attrs["modality"]``.
    allow_nan : bool, default=False
        Accept NaN values (e.g. voxels outside a subject's brain mask).

    Returns
    -------
    da : xarray.DataArray
        The same object, for chaining.

    Raises
    ------
    TypeError
        If ``da`` is not a DataArray.
    DimensionError
        If the dims are not the schema's (names, order).
    SchemaError
        If a coordinate or attribute is missing or invalid, or values are not finite.
    ConflictingDuplicatesError
        If one stimulus (and repetition) appears several times with different values.

    See Also
    --------
    responses, activations : constructors that produce valid objects.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.data import responses, validate
    >>> da = responses(np.zeros((2, 3)), ["a", "b"], modality="eeg")
    >>> validate(da) is da
    True
    """
    if not isinstance(da, xr.DataArray):
        raise TypeError(
            f"Expected an xarray.DataArray; got {type(da).__name__}. Wrap plain arrays with "
            "neuroalign.data.responses(...) or neuroalign.data.activations(...)."
        )
    if da.dims not in _VALID_DIMS:
        hint = (
            f" Reorder them with da.transpose{tuple(d for d in _VALID_DIMS[len(da.dims) - 2])}."
            if len(da.dims) in (2, 3) and set(da.dims) == set(_VALID_DIMS[len(da.dims) - 2])
            else ""
        )
        raise DimensionError(
            f"Expected dims ('presentation', 'neuroid') or ('presentation', 'neuroid', 'time'); "
            f"got {da.dims}.{hint}"
        )
    _check_coordinate(da, "stimulus_id", PRESENTATION)
    _check_coordinate(da, "neuroid_id", NEUROID)
    _check_stimulus_ids(da)
    if TIME in da.dims:
        _check_coordinate(da, TIME, TIME)
        if da.time.dtype.kind != "f" or not np.all(np.diff(da.time.values) > 0):
            raise SchemaError("The 'time' coordinate must be float seconds, strictly increasing.")
    neuroid_ids = pd.Index(da.neuroid_id.values)
    if neuroid_ids.has_duplicates:
        first = neuroid_ids[neuroid_ids.duplicated()].tolist()[0]
        raise SchemaError(f"'neuroid_id' must be unique; {first!r} appears more than once.")
    modality = da.attrs.get("modality")
    if modality not in MODALITIES:
        raise SchemaError(
            f"attrs['modality'] must be one of {list(MODALITIES)}; got {modality!r}. "
            "Set it with da.attrs['modality'] = ..."
        )
    if da.dtype.kind not in "biuf":
        raise SchemaError(f"Values must be numeric; got dtype {da.dtype}.")
    if not allow_nan and da.dtype.kind == "f":
        finite = np.isfinite(np.asarray(da.values))
        if not finite.all():
            bad = np.argwhere(~finite)[0]
            where = ", ".join(f"{dim}={i}" for dim, i in zip(da.dims, bad))
            raise SchemaError(
                f"Values contain {int((~finite).sum())} NaN or infinite entries "
                f"(first at {where}). "
                "Drop the affected neuroids, e.g. da.dropna('neuroid'), or pass allow_nan=True."
            )
    conflicting = duplicated_rows(da)
    if conflicting:
        raise ConflictingDuplicatesError(
            f"{len(conflicting)} presentation key(s) appear more than once with different "
            f"values (first: {conflicting[0]!r}). Give repeated presentations distinct "
            "'repetition' values, or average them with neuroalign.data.average_repetitions()."
        )
    return da
