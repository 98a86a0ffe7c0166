"""EEG/MEG files → epochs per presentation (presentation × channel × time) with MNE.

:func:`load_epochs` reads any file :func:`mne.io.read_raw` reads (FIF, EDF, BDF,
BrainVision, EEGLAB, ...), an :class:`mne.io.Raw` or an :class:`mne.Epochs`, cuts
one epoch per stimulus event (from annotations, a stim channel or a BIDS
``events.tsv``) and returns the neuroalign schema with channel metadata.
:func:`read_muse_csv` reads the CSV files of EEG-Notebooks/muse-lsl as a Raw.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from data_adapters._files import (
    as_paths,
    check_stimuli,
    existing_file,
    read_table,
    reading,
    stimulus_column,
)
from neuroalign._optional import import_optional
from neuroalign._validation import check_option
from neuroalign.data import responses
from neuroalign.exceptions import SchemaError

__all__ = ["load_epochs", "read_muse_csv"]

UNITS = ("auto", "SI")
_DISPLAY = {"eeg": (1e6, "uV"), "mag": (1e15, "fT"), "grad": (1e13, "fT/cm")}
_SI = {"eeg": "V", "seeg": "V", "ecog": "V", "eog": "V", "mag": "T", "grad": "T/m"}


def _mne():
    return import_optional("mne", extra="eeg", feature="Reading EEG/MEG files")


def load_epochs(
    path,
    *,
    events=None,
    event_id=None,
    stim_channel=None,
    stimuli=None,
    drop=None,
    tmin=-0.1,
    tmax=0.5,
    baseline=None,
    resample=None,
    l_freq=None,
    h_freq=None,
    picks=None,
    units="auto",
    modality=None,
    subject=None,
):
    """Epochs around stimulus events as presentation × channel × time responses.

    Parameters
    ----------
    path : str, list of str, mne.io.Raw or mne.Epochs
        A recording (or several runs, concatenated) in any format ``mne.io.read_raw``
        reads, or a muse-lsl ``.csv`` (see :func:`read_muse_csv`), or MNE objects.
        Epochs are used as they are (their event names are the stimulus ids).
    events : str or list of str, optional
        BIDS ``events.tsv`` per file (``onset`` in seconds and a stimulus column:
        ``stimulus_id``, ``trial_type``, ``stim_file`` or ``value``); its other columns
        become presentation coords. Default: the file's annotations, or the stim channel.
    event_id : dict of str to int, optional
        Stimulus id → event code in the stim channel (e.g. ``{"house": 1, "face": 2}``)
        or, with annotations, the annotation descriptions to keep (as stimulus ids).
    stim_channel : str, optional
        Read events from this channel (``mne.find_events``) instead of annotations.
    stimuli : list of str, optional
        The known stimulus set; events naming other stimuli are an error.
    drop : list of str, optional
        Stimulus ids to leave out (e.g. ``["BAD_ACQ_SKIP"]``, ``["T0"]``).
    tmin, tmax : float, default=-0.1, 0.5
        Epoch window around each onset, seconds.
    baseline : tuple of 2 float or None, default=None
        Passed to :class:`mne.Epochs`, e.g. ``(None, 0)``.
    resample : float, optional
        New sampling rate of the epochs, Hz.
    l_freq, h_freq : float, optional
        Band-pass the continuous data before epoching (``raw.filter``).
    picks : str or list of str, optional
        Channels or channel types (e.g. ``"eeg"``); default: all data channels.
    units : {"auto", "SI"}, default="auto"
        ``"auto"``: uV when all channels are EEG, fT for magnetometers, fT/cm for
        gradiometers, else SI; ``"SI"``: V, T and T/m as MNE stores them. ``attrs["units"]``
        names the unit (``"SI"`` for a mix of channel types).
    modality : {"eeg", "meg", "ieeg"}, optional
        Default: ``"meg"`` if any MEG channel is picked, else ``"eeg"``.
    subject : str, optional

    Returns
    -------
    responses : xarray.DataArray of shape (n_events, n_channels, n_times)
        Neuroid coords ``ch_type`` and, with a montage, ``x``, ``y``, ``z`` (m);
        presentation coords ``onset`` (s) and the events table's other columns.

    Raises
    ------
    SchemaError
        A truncated or corrupt file, no events, events naming unknown stimuli.

    Examples
    --------
    >>> import mne, numpy as np
    >>> from data_adapters.eeg import load_epochs
    >>> raw = mne.io.RawArray(np.zeros((2, 300)), mne.create_info(["C3", "C4"], 100.0, "eeg"),
    ...                       verbose=False)
    >>> _ = raw.set_annotations(mne.Annotations([0.5, 1.5], [0, 0], ["cat", "dog"]))
    >>> load_epochs(raw, tmin=0.0, tmax=0.2).shape
    (2, 2, 21)
    """
    mne = _mne()
    check_option("units", units, UNITS)
    if isinstance(path, mne.BaseEpochs):
        epochs, table, source = path.copy(), None, "mne.Epochs"
    else:
        raw, source, tables = _read_raws(path, events)
        if l_freq is not None or h_freq is not None:
            raw.filter(l_freq, h_freq, verbose=False)
        found, table = _find_events(raw, tables, event_id, stim_channel, source)
        keep = ~np.isin(table["stimulus_id"].to_numpy(str), [str(d) for d in drop or ()])
        found, table = found[keep], table[keep].reset_index(drop=True)
        if not len(found):
            raise SchemaError(
                f"{source!r} has no events left to epoch; check 'event_id', 'drop' and the "
                "annotations (raw.annotations) or stim channel."
            )
        codes = {name: i + 1 for i, name in enumerate(dict.fromkeys(table["stimulus_id"]))}
        found[:, 2] = [codes[s] for s in table["stimulus_id"]]
        epochs = mne.Epochs(
            raw,
            found,
            event_id=codes,
            tmin=tmin,
            tmax=tmax,
            baseline=baseline,
            picks="data" if picks is None else picks,
            preload=True,
            reject_by_annotation=False,
            verbose=False,
        )
        if len(epochs) != len(table):
            raise SchemaError(
                f"{source!r}: {len(table) - len(epochs)} of {len(table)} events lie too close "
                "to the start or end of the recording for the window "
                f"[{tmin}, {tmax}] s; shorten the window or drop those events."
            )
    if resample is not None:
        epochs.resample(resample, verbose=False)
    if isinstance(path, mne.BaseEpochs) and picks is not None:
        epochs.pick(picks)
    names = {code: name for name, code in epochs.event_id.items()}
    ids = np.array([names[code] for code in epochs.events[:, 2]])
    check_stimuli(ids, stimuli, repr(source), "events")
    if table is None:
        table = pd.DataFrame(
            {"stimulus_id": ids, "onset": epochs.events[:, 0] / epochs.info["sfreq"]}
        )
    info = epochs.info
    ch_types = np.array(epochs.get_channel_types())
    data = epochs.get_data(copy=False)
    kinds = set(ch_types)
    factor, unit = 1.0, _SI.get(ch_types[0], "SI") if len(kinds) == 1 else "SI"
    if units == "auto" and len(kinds) == 1 and ch_types[0] in _DISPLAY:
        factor, unit = _DISPLAY[ch_types[0]]
    positions = np.array([ch["loc"][:3] for ch in info["chs"]])
    neuroid_coords = {"ch_type": ch_types}
    if np.isfinite(positions).all() and np.abs(positions).sum() > 0:
        neuroid_coords.update(zip("xyz", positions.T))
    if modality is None:
        modality = "meg" if {"mag", "grad"} & set(ch_types) else "eeg"
    return responses(
        data * factor,
        ids,
        modality=modality,
        subject=subject,
        neuroid_ids=list(epochs.ch_names),
        times=np.round(epochs.times, 9),
        presentation_coords={c: table[c].to_numpy() for c in table.columns if c != "stimulus_id"},
        neuroid_coords=neuroid_coords,
        units=unit,
        source=source,
    )


def read_muse_csv(paths, *, sfreq=256.0, marker_column="Marker0"):
    """Read muse-lsl / EEG-Notebooks CSV recordings as one MNE Raw with a stim channel.

    Parameters
    ----------
    paths : str or list of str
        CSV files with a header ``timestamps, <channels...>, <marker_column>`` (EEG in
        uV); several files are concatenated in the given order.
    sfreq : float, default=256.0
    marker_column : str, default="Marker0"
        Event codes, 0 between events; kept as the stim channel ``"stim"``.

    Returns
    -------
    raw : mne.io.RawArray
        EEG channels in V (every column except the timestamps and the markers; choose
        channels later with ``load_epochs(..., picks=[...])``) and ``"stim"``.

    Examples
    --------
    >>> import os, tempfile
    >>> from data_adapters.eeg import read_muse_csv
    >>> path = os.path.join(tempfile.mkdtemp(), "muse.csv")
    >>> with open(path, "w") as f:
    ...     _ = f.write("timestamps,TP9,AF7,Marker0\\n0.0,1.0,2.0,0\\n0.004,1.5,2.5,1\\n")
    >>> read_muse_csv(path).ch_names
    ['TP9', 'AF7', 'stim']
    """
    mne = _mne()
    raws = []
    for path in as_paths(paths, "paths"):
        with reading(path, "muse-lsl CSV"):
            table = pd.read_csv(path)
        if marker_column not in table.columns:
            raise SchemaError(
                f"'paths': {str(path)!r} has no {marker_column!r} column; its columns are "
                f"{list(table.columns)}. Pass 'marker_column'."
            )
        channels = [c for c in table.columns if c not in ("timestamps", marker_column)]
        data = np.vstack([table[channels].to_numpy(float).T * 1e-6, table[marker_column]])
        info = mne.create_info(channels + ["stim"], sfreq, ["eeg"] * len(channels) + ["stim"])
        raws.append(mne.io.RawArray(data, info, verbose=False))
    return mne.concatenate_raws(raws, verbose=False) if len(raws) > 1 else raws[0]


def _read_raws(path, events):
    mne = _mne()
    if isinstance(path, mne.io.BaseRaw):
        if events is not None:
            tables = [read_table(p, "events") for p in as_paths(events, "events")]
            return path.copy().load_data(verbose=False), "mne.io.Raw", tables
        return path.copy().load_data(verbose=False), "mne.io.Raw", None
    files = as_paths(path, "path")
    event_files = None if events is None else as_paths(events, "events")
    if event_files is not None and len(event_files) != len(files):
        raise SchemaError(
            f"'events' has {len(event_files)} files for {len(files)} recordings; give one "
            "events.tsv per recording."
        )
    raws, tables = [], []
    for index, file in enumerate(files):
        if file.suffix.lower() == ".csv":
            raw = read_muse_csv(file)
        else:
            with reading(file, "EEG/MEG recording"):
                raw = mne.io.read_raw(existing_file(file, "path"), preload=True, verbose=False)
        raws.append(raw)
        if event_files is not None:
            table = read_table(event_files[index], "events")
            table["_file_start"] = sum(r.n_times / r.info["sfreq"] for r in raws[:-1])
            tables.append(table)
    raw = mne.concatenate_raws(raws, verbose=False) if len(raws) > 1 else raws[0]
    return raw, str(files[0]) if len(files) == 1 else str(Path(files[0]).parent), tables or None


def _find_events(raw, tables, event_id, stim_channel, source):
    mne = _mne()
    sfreq = raw.info["sfreq"]
    if tables is not None:
        table = pd.concat(tables, ignore_index=True)
        name = stimulus_column(table, source, "events")
        onset = pd.to_numeric(table["onset"], errors="coerce") + table.get("_file_start", 0.0)
        table = table.drop(columns=[c for c in ("_file_start", "duration") if c in table])
        table = table.rename(columns={name: "stimulus_id"}).drop(
            columns=[c for c in ("trial_type", "value") if c in table.columns and c != name]
        )
        table["onset"] = onset.to_numpy()
        samples = np.round(onset.to_numpy() * sfreq).astype(int) + raw.first_samp
    elif stim_channel is not None:
        found = mne.find_events(raw, stim_channel=stim_channel, verbose=False)
        codes = (event_id or {}).items()
        names = {code: name for name, code in codes}
        if names:
            found = found[np.isin(found[:, 2], list(names))]
        labels = [names.get(code, str(code)) for code in found[:, 2]]
        table = pd.DataFrame({"stimulus_id": labels})
        samples = found[:, 0]
        table["onset"] = (samples - raw.first_samp) / sfreq
    else:
        annotations = raw.annotations
        if not len(annotations):
            raise SchemaError(
                f"{source!r} has no annotations; pass 'events' (a BIDS events.tsv) or "
                "'stim_channel'."
            )
        wanted = sorted(set(annotations.description)) if event_id is None else list(event_id)
        found, codes = mne.events_from_annotations(
            raw, event_id={name: i + 1 for i, name in enumerate(wanted)}, verbose=False
        )
        names = {code: name for name, code in codes.items()}
        table = pd.DataFrame({"stimulus_id": [names[code] for code in found[:, 2]]})
        samples = found[:, 0]
        table["onset"] = (samples - raw.first_samp) / sfreq
    found = np.column_stack([samples, np.zeros(len(samples), int), np.ones(len(samples), int)])
    table["stimulus_id"] = table["stimulus_id"].astype(str)
    return found.astype(int), table.reset_index(drop=True)
