"""The labelled RDM object and the conversions every RSA function shares.

A set of RDMs is an ``xarray.DataArray`` with dims ``("source", "pair")``: one row
per source (layer, ROI, subject, time point) and one column per stimulus pair in
condensed form (the upper triangle in row-major order, the order of
:func:`scipy.spatial.distance.squareform`). Coordinates:

- ``source`` (str): unique label of each RDM;
- ``source_name`` (str, along ``source``): the input the RDM came from (a layer,
  a subject); equal to ``source`` unless the input was time-resolved;
- ``time`` (float, along ``source``): seconds for time-resolved inputs, NaN otherwise;
- ``stimulus_a``, ``stimulus_b`` (along ``pair``): the two stimuli of each pair.

``attrs`` hold ``method`` (how the RDMs were computed), ``dissimilarity`` (its
rsatoolbox name) and ``n_stimuli``. The object is a plain DataArray, so
:func:`neuroalign.data.save` / :func:`neuroalign.data.load` store it losslessly.
"""

from typing import NamedTuple

import numpy as np
import xarray as xr

from neuroalign.exceptions import DimensionError

__all__ = ["as_rdms", "build_rdms", "rdm_matrices", "rdm_stimuli"]

SOURCE, PAIR = "source", "pair"
KIND = "neuroalign.rdms"


def n_stimuli_from_pairs(n_pairs, *, name="rdms"):
    """Number of stimuli of a condensed RDM with ``n_pairs`` entries."""
    n = int(round((1 + np.sqrt(1 + 8 * n_pairs)) / 2))
    if n * (n - 1) // 2 != n_pairs:
        raise DimensionError(
            f"{name!r} has {n_pairs} dissimilarities per RDM, which is not n*(n-1)/2 for "
            "any number of stimuli n; pass condensed upper triangles (squareform order) "
            "or square matrices of shape (n_rdms, n, n)."
        )
    return n


def pair_indices(n):
    """Row and column of each condensed pair: two int64 arrays of length n*(n-1)/2."""
    rows, cols = np.triu_indices(n, k=1)
    return rows.astype(np.int64), cols.astype(np.int64)


def build_rdms(
    values,
    stimuli,
    *,
    sources,
    method=None,
    dissimilarity=None,
    source_names=None,
    times=None,
    extra_attrs=None,
):
    """Wrap condensed RDM vectors in the labelled form.

    Parameters
    ----------
    values : array of shape (n_sources, n_pairs)
    stimuli : sequence of str or int of length n_stimuli
    sources : sequence of str of length n_sources
        Unique labels.
    method : str, optional
        How the RDMs were computed (e.g. ``"correlation"``).
    dissimilarity : str, optional
        rsatoolbox's name of the measure; defaults to ``method``.
    source_names : sequence of str, optional
        Input each RDM came from; defaults to ``sources``.
    times : sequence of float, optional
        Time of each RDM in seconds (NaN for none).
    extra_attrs : dict, optional
        More JSON-serialisable provenance.

    Returns
    -------
    rdms : xarray.DataArray of dims (source, pair)
    """
    values = np.asarray(values)
    stimuli = np.asarray(stimuli)
    rows, cols = pair_indices(len(stimuli))
    sources = [str(s) for s in sources]
    if len(set(sources)) != len(sources):
        duplicated = next(s for s in sources if sources.count(s) > 1)
        raise ValueError(f"Source labels must be unique; {duplicated!r} appears more than once.")
    source_names = sources if source_names is None else [str(s) for s in source_names]
    times = np.full(len(sources), np.nan) if times is None else np.asarray(times, dtype=float)
    attrs = {"kind": KIND, "method": method or "unknown", "n_stimuli": len(stimuli)}
    attrs["dissimilarity"] = dissimilarity or attrs["method"]
    attrs.update(extra_attrs or {})
    return xr.DataArray(
        values,
        dims=(SOURCE, PAIR),
        coords={
            SOURCE: np.asarray(sources, dtype=str),
            "source_name": (SOURCE, np.asarray(source_names, dtype=str)),
            "time": (SOURCE, times),
            "stimulus_a": (PAIR, stimuli[rows]),
            "stimulus_b": (PAIR, stimuli[cols]),
        },
        name="rdms",
        attrs=attrs,
    )


def rdm_stimuli(rdms):
    """The stimulus ids of labelled RDMs, in RDM order.

    Parameters
    ----------
    rdms : xarray.DataArray of dims (source, pair)

    Returns
    -------
    stimuli : numpy.ndarray of shape (n_stimuli,)

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.rsa import compute_rdms, rdm_stimuli
    >>> rdms = compute_rdms(np.random.default_rng(0).normal(size=(1, 4, 5)))
    >>> rdm_stimuli(rdms).tolist()
    [0, 1, 2, 3]
    """
    _check_labelled(rdms, "rdms")
    n = n_stimuli_from_pairs(rdms.sizes[PAIR])
    first = rdms.stimulus_a.values[:1]
    return np.concatenate([first, rdms.stimulus_b.values[: n - 1]])


def rdm_matrices(rdms):
    """Square form of labelled RDMs.

    Parameters
    ----------
    rdms : xarray.DataArray of dims (source, pair)

    Returns
    -------
    matrices : xarray.DataArray of dims (source, stimulus, stimulus_other)
        Symmetric with a zero diagonal; source coordinates and attrs are kept.

    See Also
    --------
    rdm_stimuli, as_rdms

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.rsa import compute_rdms, rdm_matrices
    >>> rdms = compute_rdms(np.random.default_rng(0).normal(size=(2, 4, 5)))
    >>> rdm_matrices(rdms).shape
    (2, 4, 4)
    """
    stimuli = rdm_stimuli(rdms)
    n = len(stimuli)
    rows, cols = pair_indices(n)
    values = np.asarray(rdms.values)
    square = np.zeros((values.shape[0], n, n), dtype=values.dtype)
    square[:, rows, cols] = values
    square[:, cols, rows] = values
    source_coords = {k: c for k, c in rdms.coords.items() if c.dims == (SOURCE,)}
    return xr.DataArray(
        square,
        dims=(SOURCE, "stimulus", "stimulus_other"),
        coords={**source_coords, "stimulus": stimuli, "stimulus_other": stimuli},
        name=rdms.name,
        attrs=dict(rdms.attrs),
    )


def _check_labelled(rdms, name):
    if not (isinstance(rdms, xr.DataArray) and rdms.dims == (SOURCE, PAIR)):
        got = rdms.dims if isinstance(rdms, xr.DataArray) else type(rdms).__name__
        raise TypeError(
            f"{name!r} must be labelled RDMs (a DataArray with dims ('source', 'pair') as made "
            f"by compute_rdms or as_rdms); got {got}."
        )
    for coord in ("stimulus_a", "stimulus_b"):
        if coord not in rdms.coords:
            raise DimensionError(f"{name!r} lacks the {coord!r} coordinate along 'pair'.")


def _from_square(values, name):
    n = values.shape[-1]
    if values.shape[-2] != n:
        raise DimensionError(
            f"{name!r} as square matrices must have shape (n_rdms, n, n); got {values.shape}."
        )
    if not np.allclose(values, np.swapaxes(values, -1, -2), equal_nan=True):
        raise ValueError(f"{name!r}: square RDMs must be symmetric.")
    diagonal = np.diagonal(values, axis1=-2, axis2=-1)
    if np.any(np.abs(diagonal) > 1e-10 * max(1.0, np.nanmax(np.abs(values)))):
        raise ValueError(f"{name!r}: square RDMs must have a zero diagonal.")
    rows, cols = pair_indices(n)
    return values[:, rows, cols]


def _from_rsatoolbox(data):
    from neuroalign.rsa._interop import from_rsatoolbox

    return from_rsatoolbox(data)


def as_rdms(data, *, stimuli=None, sources=None, method=None):
    """Labelled RDMs from arrays, square matrices, labelled objects or rsatoolbox RDMs.

    Parameters
    ----------
    data : array-like or xarray.DataArray or rsatoolbox.rdm.RDMs
        - array of shape (n_pairs,): one condensed RDM;
        - array of shape (n_rdms, n_pairs): condensed RDMs (squareform order);
        - array of shape (n_rdms, n, n): square RDMs (symmetric, zero diagonal);
        - DataArray of dims (source, pair) (returned as is) or
          (source, stimulus, stimulus_other);
        - rsatoolbox ``RDMs``.

        A single square matrix must be passed with a leading axis of length 1.
    stimuli : sequence of length n_stimuli, optional
        Stimulus ids for array input; default ``0 .. n - 1``.
    sources : sequence of str, optional
        Labels of the RDMs for array input; default ``"0", "1", ...``.
    method : str, optional
        How the dissimilarities were computed, for provenance.

    Returns
    -------
    rdms : xarray.DataArray of dims (source, pair)

    Raises
    ------
    DimensionError
        If the shape is not one of the above.
    ValueError
        If square matrices are not symmetric with a zero diagonal.

    See Also
    --------
    compute_rdms : RDMs from response matrices.
    rdm_matrices : back to square form.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.rsa import as_rdms
    >>> rdms = as_rdms(np.array([[1.0, 2.0, 3.0]]), stimuli=["a", "b", "c"])
    >>> rdms.stimulus_b.values.tolist()
    ['b', 'c', 'c']
    """
    if isinstance(data, xr.DataArray):
        if data.dims == (SOURCE, PAIR):
            _check_labelled(data, "data")
            return data
        if data.dims == (SOURCE, "stimulus", "stimulus_other"):
            vectors = _from_square(np.asarray(data.values), "data")
            source_coords = {k: c.values for k, c in data.coords.items() if c.dims == (SOURCE,)}
            return build_rdms(
                vectors,
                data.stimulus.values,
                sources=data[SOURCE].values,
                method=data.attrs.get("method"),
                dissimilarity=data.attrs.get("dissimilarity"),
                source_names=source_coords.get("source_name"),
                times=source_coords.get("time"),
                extra_attrs={
                    k: v
                    for k, v in data.attrs.items()
                    if k not in ("kind", "method", "dissimilarity", "n_stimuli")
                },
            )
        raise DimensionError(
            f"A DataArray of RDMs must have dims ('source', 'pair') or ('source', 'stimulus', "
            f"'stimulus_other'); got {data.dims}."
        )
    if hasattr(data, "get_vectors") and hasattr(data, "pattern_descriptors"):
        return _from_rsatoolbox(data)
    values = data.detach().cpu().numpy() if hasattr(data, "detach") else np.asarray(data)
    if values.dtype.kind not in "biuf":
        raise TypeError(f"RDM values must be numbers; got dtype {values.dtype}.")
    if values.ndim == 1:
        values = values[None]
    if values.ndim == 3:
        values = _from_square(values, "data")
    elif values.ndim != 2:
        raise DimensionError(
            "Plain RDMs must have shape (n_pairs,), (n_rdms, n_pairs) or (n_rdms, n, n); "
            f"got {values.shape}."
        )
    n = n_stimuli_from_pairs(values.shape[1], name="data")
    stimuli = np.arange(n) if stimuli is None else np.asarray(stimuli)
    if len(stimuli) != n:
        raise DimensionError(f"'stimuli' has {len(stimuli)} ids but the RDMs have {n} stimuli.")
    sources = [str(i) for i in range(values.shape[0])] if sources is None else sources
    if len(sources) != values.shape[0]:
        raise DimensionError(f"'sources' has {len(sources)} labels for {values.shape[0]} RDMs.")
    return build_rdms(values.astype(float, copy=False), stimuli, sources=sources, method=method)


class Vectors(NamedTuple):
    """RDMs as a plain matrix plus what is known about their labels (internal)."""

    values: np.ndarray
    stimuli: np.ndarray
    sources: tuple
    labelled: bool


def as_vectors(data, name):
    """Condensed float64 vectors of any accepted RDM input, checked for NaN and size."""
    labelled = isinstance(data, xr.DataArray) or hasattr(data, "pattern_descriptors")
    rdms = as_rdms(data)
    values = np.ascontiguousarray(rdms.values, dtype=np.float64)
    stimuli = rdm_stimuli(rdms)
    if len(stimuli) < 3:
        raise ValueError(
            f"{name!r} has RDMs over {len(stimuli)} stimuli; RSA needs at least 3 stimuli."
        )
    if values.shape[0] == 0:
        raise ValueError(f"{name!r} holds no RDM.")
    bad = ~np.isfinite(values)
    if bad.any():
        rdm, pair = np.argwhere(bad)[0]
        raise ValueError(
            f"{name!r} contains {int(bad.sum())} NaN or infinite dissimilarities (first: RDM "
            f"{plain(rdms[SOURCE].values[rdm])!r}, stimuli {plain(rdms.stimulus_a.values[pair])!r} "
            f"and {plain(rdms.stimulus_b.values[pair])!r}). Remove the stimuli without data first."
        )
    return Vectors(values, stimuli, tuple(str(s) for s in rdms[SOURCE].values), labelled)


def plain(value):
    """A numpy scalar as the Python value, for readable messages."""
    return value.item() if isinstance(value, np.generic) else value


def _preview(ids, n=3):
    ids = [plain(i) for i in ids]
    return ", ".join(repr(i) for i in ids[:n]) + ("…" if len(ids) > n else "")


def match_stimuli(reference, other, names):
    """Reorder ``other``'s vectors to ``reference``'s stimulus order, or explain the mismatch."""
    name_ref, name_other = names
    if reference.values.shape[1] != other.values.shape[1] and not (
        reference.labelled and other.labelled
    ):
        raise ValueError(
            f"{name_ref!r} and {name_other!r} are RDMs over different numbers of stimuli "
            f"({len(reference.stimuli)} and {len(other.stimuli)})."
        )
    if not (reference.labelled and other.labelled):
        return other
    ref_ids, other_ids = reference.stimuli, other.stimuli
    if np.array_equal(ref_ids, other_ids):
        return other
    missing = [s for s in ref_ids if s not in set(other_ids.tolist())]
    extra = [s for s in other_ids if s not in set(ref_ids.tolist())]
    if missing or extra:
        raise ValueError(
            f"{name_ref!r} and {name_other!r} are RDMs of different stimulus sets "
            f"(only in {name_ref!r}: {_preview(missing) or 'none'}; only in {name_other!r}: "
            f"{_preview(extra) or 'none'}). Compute both over the same stimuli, e.g. after "
            "neuroalign.data.align()."
        )
    position = {s: i for i, s in enumerate(other_ids.tolist())}
    permutation = np.array([position[s] for s in ref_ids.tolist()])
    rows, cols = pair_indices(len(ref_ids))
    a, b = permutation[rows], permutation[cols]
    low, high = np.minimum(a, b), np.maximum(a, b)
    n = len(ref_ids)
    condensed = low * n - low * (low + 1) // 2 + (high - low - 1)
    return Vectors(other.values[:, condensed], ref_ids, other.sources, True)
