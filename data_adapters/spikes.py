"""Spike times → binned counts or rates per presentation (presentation × unit × time).

- :func:`bin_spikes`: spike times per unit + presentation onsets → counts or rates.
- :func:`load_nwb`: an NWB file's units table and trials (or another intervals table,
  e.g. the Allen ``*_presentations``) → :func:`bin_spikes`, with unit metadata.
- :func:`load_spike_arrays`: plain NumPy arrays of trial-aligned spike times (the
  SpykeTools layout: all spike times plus a (trial, unit, [start, stop)) index).
"""

import numpy as np

from data_adapters._files import check_stimuli, existing_file, reading
from neuroalign._optional import import_optional
from neuroalign._validation import check_option
from neuroalign.data import responses
from neuroalign.exceptions import DimensionError, SchemaError

__all__ = ["bin_spikes", "load_nwb", "load_spike_arrays"]

OUTPUTS = ("counts", "rates")


def _bins(window, bin_size):
    start, stop = (float(v) for v in window)
    if not (stop > start and bin_size > 0):
        raise ValueError(
            f"'window' must be (start, stop) with stop > start and 'bin_size' > 0; got "
            f"window={tuple(window)}, bin_size={bin_size}."
        )
    n_bins = int(round((stop - start) / bin_size))
    if not np.isclose(n_bins * bin_size, stop - start):
        raise ValueError(
            f"'window' {tuple(window)} is not a whole number of bins of {bin_size} s; "
            "change one of them."
        )
    return start + bin_size * np.arange(n_bins + 1)


def bin_spikes(
    spike_times,
    onsets,
    stimulus_ids,
    *,
    window=(-0.1, 0.4),
    bin_size=0.01,
    output="counts",
    unit_ids=None,
    unit_coords=None,
    presentation_coords=None,
    subject=None,
    source=None,
):
    """Count each unit's spikes in time bins around every presentation onset.

    Parameters
    ----------
    spike_times : sequence of array-like, length n_units
        Spike times of each unit, seconds, on the clock of ``onsets``.
    onsets : array-like of shape (n_presentations,)
        Stimulus onsets, seconds.
    stimulus_ids : sequence of length n_presentations
    window : tuple of 2 float, default=(-0.1, 0.4)
        Peri-stimulus window, seconds; a whole number of bins.
    bin_size : float, default=0.01
        Seconds.
    output : {"counts", "rates"}, default="counts"
        Spike counts (int32) or rates in spikes/s (float32).
    unit_ids : sequence of length n_units, optional
    unit_coords, presentation_coords : dict of str to sequence, optional
    subject, source : str, optional

    Returns
    -------
    responses : xarray.DataArray of shape (n_presentations, n_units, n_bins)
        ``modality="spikes"``, ``time`` at bin centres.

    Examples
    --------
    >>> from data_adapters.spikes import bin_spikes
    >>> da = bin_spikes([[1.02, 1.03, 2.2]], [1.0, 2.0], ["a", "b"], window=(0, 0.4), bin_size=0.1)
    >>> da.values[:, 0].tolist()
    [[2, 0, 0, 0], [0, 0, 1, 0]]
    """
    check_option("output", output, OUTPUTS)
    edges = _bins(window, bin_size)
    onsets = np.asarray(onsets, float)
    counts = np.zeros((len(onsets), len(spike_times), len(edges) - 1), np.int32)
    order = np.argsort(onsets)
    for unit, times in enumerate(spike_times):
        times = np.sort(np.asarray(times, float))
        for row in order:
            lo, hi = np.searchsorted(times, onsets[row] + edges[[0, -1]])
            counts[row, unit] = np.histogram(times[lo:hi] - onsets[row], edges)[0]
    values = counts if output == "counts" else (counts / bin_size).astype(np.float32)
    return responses(
        values,
        [str(s) for s in stimulus_ids],
        modality="spikes",
        subject=subject,
        neuroid_ids=None if unit_ids is None else [str(u) for u in unit_ids],
        times=np.round((edges[:-1] + edges[1:]) / 2, 9),
        presentation_coords=presentation_coords,
        neuroid_coords=unit_coords,
        units="count" if output == "counts" else "spikes/s",
        source=source,
    )


def load_nwb(
    path,
    *,
    intervals="trials",
    stimulus_column=None,
    onset_column="start_time",
    window=(-0.1, 0.4),
    bin_size=0.01,
    output="counts",
    stimuli=None,
    drop=None,
    unit_query=None,
    subject=None,
):
    """Binned spikes per presentation from an NWB file (units table + trials/presentations).

    Parameters
    ----------
    path : str
    intervals : str, default="trials"
        The intervals table holding presentations (``"trials"`` or e.g. an Allen
        ``"drifting_gratings_presentations"``).
    stimulus_column : str, optional
        Column of ``intervals`` naming the stimulus; default the first of
        ``stimulus_id``, ``stimulus_name``, ``trial_type``, ``condition``.
    onset_column : str, default="start_time"
    window, bin_size, output
        As in :func:`bin_spikes`.
    stimuli : list of str, optional
        The known stimulus set; presentations naming others are an error.
    drop : list of str, optional
        Stimulus ids to leave out.
    unit_query : str, optional
        A :meth:`pandas.DataFrame.query` on the units table, e.g.
        ``"quality == 'good' and firing_rate > 0.5"``.
    subject : str, optional
        Default: the NWB file's subject id.

    Returns
    -------
    responses : xarray.DataArray of shape (n_presentations, n_units, n_bins)
        Neuroid coords from the units table's scalar columns (e.g. ``region`` from
        ``location``, ``quality``); presentation coords from the intervals table.

    Raises
    ------
    SchemaError
        A corrupt file, no units table, no such intervals table or stimulus column.
    """
    pynwb = import_optional("pynwb", extra="spikes", feature="Reading NWB files")
    path = existing_file(path, "path")
    with reading(path, "NWB"), pynwb.NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        if nwb.units is None:
            raise SchemaError(
                f"'path': {str(path)!r} has no units table (nwbfile.units), so there are no "
                "sorted spikes to bin. Export the spike sorting into the NWB file (e.g. "
                "with SpikeInterface or neuroconv) or use load_spike_arrays."
            )
        units = nwb.units.to_dataframe()
        table = _intervals(nwb, intervals, path)
        subject = subject or getattr(nwb.subject, "subject_id", None)
    name = _column(table, stimulus_column, path, intervals)
    table = table.rename(columns={name: "stimulus_id"})
    table["stimulus_id"] = table["stimulus_id"].astype(str)
    table = table[~table["stimulus_id"].isin([str(d) for d in drop or ()])]
    check_stimuli(table["stimulus_id"], stimuli, repr(str(path)), intervals)
    if unit_query is not None:
        units = units.query(unit_query)
    if units.empty:
        raise SchemaError(f"'unit_query' {unit_query!r} keeps no unit of {str(path)!r}.")
    unit_ids = units["unit_name"] if "unit_name" in units.columns else units.index
    unit_coords = {}
    for column in units.columns:
        values = units[column]
        if column in ("spike_times", "unit_name") or values.map(np.ndim).max() > 0:
            continue
        unit_coords["region" if column == "location" else column] = values.to_numpy()
    presentation = {
        c: table[c].to_numpy()
        for c in table.columns
        if c != "stimulus_id" and table[c].map(np.ndim).max() == 0
    }
    return bin_spikes(
        list(units["spike_times"]),
        table[onset_column].to_numpy(float),
        table["stimulus_id"],
        window=window,
        bin_size=bin_size,
        output=output,
        unit_ids=unit_ids,
        unit_coords=unit_coords,
        presentation_coords=presentation,
        subject=subject,
        source=str(path),
    )


def load_spike_arrays(
    spike_times, index, stimulus_ids, *, window=(0.0, 0.1), bin_size=0.01, output="counts"
):
    """Binned spikes from trial-aligned spike-time arrays (``.npy`` files or arrays).

    Parameters
    ----------
    spike_times : str or array of shape (n_spikes,)
        Spike times relative to each trial's stimulus onset, seconds.
    index : str or int array of shape (n_trials, n_units, 2)
        ``[start, stop)`` of each trial's and unit's spikes in ``spike_times``.
    stimulus_ids : str or array of shape (n_trials,)
        Label of every trial (e.g. a grating orientation).
    window, bin_size, output
        As in :func:`bin_spikes`.

    Returns
    -------
    responses : xarray.DataArray of shape (n_trials, n_units, n_bins)

    Examples
    --------
    >>> import numpy as np
    >>> from data_adapters.spikes import load_spike_arrays
    >>> da = load_spike_arrays(np.array([0.01, 0.05]), np.array([[[0, 1]], [[1, 2]]]), [0, 90],
    ...                        window=(0, 0.1), bin_size=0.05)
    >>> da.values[:, 0].tolist(), da.stimulus_id.values.tolist()
    ([[1, 0], [0, 1]], ['0', '90'])
    """
    check_option("output", output, OUTPUTS)
    times, source = _array(spike_times, "spike_times")
    index, _ = _array(index, "index")
    labels, _ = _array(stimulus_ids, "stimulus_ids")
    if index.ndim != 3 or index.shape[2] != 2 or len(labels) != index.shape[0]:
        raise DimensionError(
            f"'index' must have shape (n_trials, n_units, 2) with n_trials = "
            f"len(stimulus_ids) = {len(labels)}; got {index.shape}."
        )
    if index.min() < 0 or index.max() > len(times):
        raise DimensionError(
            f"'index' points outside 'spike_times' (values {index.min()}..{index.max()}, "
            f"{len(times)} spikes); the files do not belong together."
        )
    edges = _bins(window, bin_size)
    n_trials, n_units, _ = index.shape
    n_bins = len(edges) - 1
    # Every spike's (trial, unit) segment and bin, then one bincount (np.histogram's bins:
    # half-open, the last one closed).
    lengths = (index[..., 1] - index[..., 0]).ravel()
    segment = np.repeat(np.arange(lengths.size), lengths)
    first = np.repeat(index[..., 0].ravel() - (np.cumsum(lengths) - lengths), lengths)
    spikes = times[first + np.arange(lengths.sum())]
    bins = np.searchsorted(edges, spikes, side="right") - 1
    bins[spikes == edges[-1]] = n_bins - 1
    inside = (bins >= 0) & (bins < n_bins)
    flat = np.bincount(
        segment[inside] * n_bins + bins[inside], minlength=n_trials * n_units * n_bins
    )
    counts = flat.reshape(n_trials, n_units, n_bins).astype(np.int32)
    values = counts if output == "counts" else (counts / bin_size).astype(np.float32)
    return responses(
        values,
        [str(s) for s in labels],
        modality="spikes",
        times=np.round((edges[:-1] + edges[1:]) / 2, 9),
        units="count" if output == "counts" else "spikes/s",
        source=source,
    )


def _array(value, name):
    if isinstance(value, (str, bytes)) or hasattr(value, "__fspath__"):
        path = existing_file(value, name)
        with reading(path, "NumPy .npy"):
            return np.load(path, allow_pickle=False), str(path)
    return np.asarray(value), "arrays"


def _intervals(nwb, name, path):
    tables = {"trials": nwb.trials, **dict(nwb.intervals or {})}
    table = tables.get(name)
    if table is None:
        known = [key for key, value in tables.items() if value is not None]
        raise SchemaError(
            f"'intervals': {str(path)!r} has no {name!r} table; it has {known}. Pass one of "
            "them as 'intervals'."
        )
    return table.to_dataframe().reset_index(drop=True)


def _column(table, column, path, intervals):
    candidates = [column] if column else ["stimulus_id", "stimulus_name", "trial_type", "condition"]
    for name in candidates:
        if name in table.columns:
            return name
    raise SchemaError(
        f"'stimulus_column': the {intervals!r} table of {str(path)!r} has no column "
        f"{candidates if column is None else column!r}; its columns are {list(table.columns)}."
    )
