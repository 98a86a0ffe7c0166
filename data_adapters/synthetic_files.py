"""Write the synthetic world as real files: BIDS NIfTI + events.tsv, EDF, FIF and NWB.

These files exercise every loader end to end on the formats labs use:

- :func:`write_fmri_betas`: beta volumes (4-D NIfTI), stimulus table and ROI atlas;
- :func:`write_bold_runs`: simulated 4-D BOLD runs with BIDS ``events.tsv`` and the
  noiseless single-trial responses they were built from;
- :func:`write_meeg`: continuous EEG/MEG (EDF or FIF) with one annotation per
  presentation and a BIDS ``events.tsv``;
- :func:`write_spikes_nwb`: an NWB file with a units table and a trials table;
- :func:`write_bids`: all of a world in one BIDS-like folder (see :mod:`data_adapters.bids`).
"""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd

from neuroalign._optional import import_optional
from neuroalign._validation import check_option
from neuroalign.data import responses

__all__ = [
    "BoldRuns",
    "write_bids",
    "write_bold_runs",
    "write_fmri_betas",
    "write_meeg",
    "write_spikes_nwb",
]

TASK = "view"
TRIAL_SPACING = 1.0  # s between presentation onsets in continuous M/EEG and NWB files
FIRST_ONSET = 1.0  # s


@dataclasses.dataclass(frozen=True)
class BoldRuns:
    """Simulated BOLD runs written to disk and the truth they were built from.

    Attributes
    ----------
    bold, events : list of str
        One 4-D NIfTI and one ``events.tsv`` per run.
    truth : xarray.DataArray of shape (n_stimuli, n_voxels)
        Noiseless response amplitude of every voxel to every stimulus, in percent of
        the baseline, with the same neuroid coords as the loaded betas (``x``, ``y``,
        ``z``, ``region``).
    t_r : float
    noise : float
        Standard deviation of the white noise added to every scan, percent of baseline.
    """

    bold: list
    events: list
    truth: object
    t_r: float
    noise: float


def _volume(coordinates):
    return tuple(int(c) + 1 for c in np.asarray(coordinates).max(axis=0))


def write_fmri_betas(recording, folder, *, stem=None):
    """Write an fMRI recording (one beta per presentation) as NIfTI + stimulus table + atlas.

    Parameters
    ----------
    recording : xarray.DataArray of shape (n_presentations, n_voxels)
        With neuroid coords ``x``, ``y``, ``z`` (voxel indices) and ``region``, e.g.
        ``world.fmri["sub-01"]``.
    folder : str
    stem : str, optional
        File name prefix; default ``"<subject>_task-view"``.

    Returns
    -------
    paths : dict of str to str
        ``betas`` (4-D NIfTI, identity affine, 0 outside the voxels), ``stimuli`` (TSV:
        ``stimulus_id`` and the other presentation coords), ``atlas`` (label image) and
        ``atlas_labels`` (TSV ``index``, ``name``) — the options of
        :func:`data_adapters.fmri.load_betas`.
    """
    nib = import_optional("nibabel", extra="fmri", feature="Writing NIfTI files")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = stem or f"{recording.attrs.get('subject', 'sub-01')}_task-{TASK}"
    xyz = np.stack([recording[a].values for a in "xyz"], axis=1).astype(int)
    shape = _volume(xyz)
    data = np.zeros(shape + (recording.sizes["presentation"],), np.float32)
    data[tuple(xyz.T)] = recording.transpose("neuroid", "presentation").values
    names = list(dict.fromkeys(recording["region"].values.tolist()))
    atlas = np.zeros(shape, np.int16)
    atlas[tuple(xyz.T)] = [names.index(r) + 1 for r in recording["region"].values]
    paths = {
        "betas": folder / f"{stem}_betas.nii.gz",
        "stimuli": folder / f"{stem}_stimuli.tsv",
        "atlas": folder / f"{stem}_atlas-rois_dseg.nii.gz",
        "atlas_labels": folder / f"{stem}_atlas-rois_dseg.tsv",
    }
    nib.save(nib.Nifti1Image(data, np.eye(4)), paths["betas"])
    nib.save(nib.Nifti1Image(atlas, np.eye(4)), paths["atlas"])
    _presentation_table(recording).to_csv(paths["stimuli"], sep="\t", index=False)
    pd.DataFrame({"index": range(1, len(names) + 1), "name": names}).to_csv(
        paths["atlas_labels"], sep="\t", index=False
    )
    return {key: str(path) for key, path in paths.items()}


def write_bold_runs(subject, stimuli, folder, *, n_runs=2, t_r=1.0, spacing=4.0, noise=0.5, seed=0):
    """Simulate 4-D BOLD runs of a synthetic fMRI subject and write them as BIDS files.

    In every run each stimulus is shown once (1 s, random order, one onset every
    ``spacing`` seconds). A voxel's signal is ``100 + sum_trials amplitude * HRF``
    (nilearn's Glover HRF), where ``amplitude`` is the subject's noiseless response to
    the stimulus (unit variance over the calibration images, read as percent signal
    change), plus white Gaussian noise of standard deviation ``noise``.

    Parameters
    ----------
    subject : data_adapters.synthetic.FMRISubject
    stimuli : data_adapters.synthetic.StimulusSet
    folder : str
        Files go to ``folder/<subject>/func/``.
    n_runs : int, default=2
    t_r : float, default=1.0
    spacing : float, default=4.0
        Seconds between trial onsets.
    noise : float, default=0.5
    seed : int, default=0

    Returns
    -------
    runs : BoldRuns
    """
    nib = import_optional("nibabel", extra="fmri", feature="Writing NIfTI files")
    first_level = import_optional(
        "nilearn.glm.first_level", extra="fmri", feature="Simulating BOLD"
    )
    import torch

    rng = np.random.default_rng(seed)
    with torch.no_grad():
        amplitude = subject.respond(stimuli.images).cpu().numpy().astype(np.float64)
    folder = Path(folder) / subject.subject / "func"
    folder.mkdir(parents=True, exist_ok=True)
    n_stimuli = len(stimuli.stimulus_ids)
    n_scans = int(np.ceil((FIRST_ONSET + n_stimuli * spacing + 16.0) / t_r))
    xyz = subject.coordinates
    bold_paths, event_paths = [], []
    for run in range(1, n_runs + 1):
        order = rng.permutation(n_stimuli)
        events = pd.DataFrame(
            {
                "onset": FIRST_ONSET + spacing * np.arange(n_stimuli),
                "duration": 1.0,
                "trial_type": [f"t{i}" for i in range(n_stimuli)],
                "stimulus_id": stimuli.stimulus_ids[order],
            }
        )
        design = first_level.make_first_level_design_matrix(
            np.arange(n_scans) * t_r,
            events[["onset", "duration", "trial_type"]],
            hrf_model="glover",
            drift_model=None,
        )
        X = design[events["trial_type"]].to_numpy()
        signal = 100.0 + X @ amplitude[order] + noise * rng.standard_normal((n_scans, len(xyz)))
        volume = np.zeros(_volume(xyz) + (n_scans,), np.float32)
        volume[tuple(xyz.T)] = signal.T
        image = nib.Nifti1Image(volume, np.eye(4))
        image.header.set_zooms((1.0, 1.0, 1.0, t_r))
        stem = folder / f"{subject.subject}_task-{TASK}_run-{run}"
        nib.save(image, f"{stem}_bold.nii.gz")
        events.drop(columns="trial_type").to_csv(f"{stem}_events.tsv", sep="\t", index=False)
        bold_paths.append(f"{stem}_bold.nii.gz")
        event_paths.append(f"{stem}_events.tsv")
    truth = responses(
        amplitude.astype(np.float32),
        stimuli.stimulus_ids,
        modality="fmri",
        subject=subject.subject,
        neuroid_ids=[f"vox_{x}_{y}_{z}" for x, y, z in xyz],
        regions=subject.regions,
        neuroid_coords=dict(zip("xyz", xyz.T.astype(np.int64))),
        units="percent signal change",
        source="noiseless responses of " + subject._source(),
    )
    return BoldRuns(bold_paths, event_paths, truth, float(t_r), float(noise))


def write_meeg(recording, path):
    """Write EEG/MEG epochs as one continuous recording with an annotation per presentation.

    Epochs are laid end to end (onsets ``1 s`` apart, zeros between them) so that
    epoching at the annotations from ``time[0]`` to ``time[-1]`` gives them back. A BIDS
    ``events.tsv`` next to the file (``<path stem>_events.tsv``, ``_eeg``/``_meg``
    suffix replaced) lists ``onset``, ``duration``, ``stimulus_id`` and the other
    presentation coords.

    Parameters
    ----------
    recording : xarray.DataArray of shape (n_presentations, n_channels, n_times)
        In uV (EEG) or fT (MEG magnetometers), e.g. ``world.eeg``.
    path : str
        ``.edf`` (EEG only, 16-bit, lossy) or ``.fif`` (float32).

    Returns
    -------
    paths : dict of str to str
        ``recording`` and ``events``.
    """
    mne = import_optional("mne", extra="eeg", feature="Writing EEG/MEG files")
    path = Path(path)
    fmt = check_option("path suffix", path.suffix.lower(), (".edf", ".fif"))
    ch_type = str(recording["ch_type"].values[0]) if "ch_type" in recording.coords else "eeg"
    scale = 1e-6 if ch_type == "eeg" else 1e-15
    times = recording["time"].values
    sfreq = round(1.0 / float(np.median(np.diff(times))), 6)
    n_times = len(times)
    onsets = FIRST_ONSET + TRIAL_SPACING * np.arange(recording.sizes["presentation"])
    # Whole seconds, so that EDF data records of 1 s tile the recording.
    total = int(np.ceil(onsets[-1] + TRIAL_SPACING + times[-1]) * sfreq)
    data = np.zeros((recording.sizes["neuroid"], total))
    start = np.round((onsets + times[0]) * sfreq).astype(int)
    values = recording.transpose("presentation", "neuroid", "time").values.astype(np.float64)
    for row, first in enumerate(start):
        data[:, first : first + n_times] = values[row] * scale
    names = [str(n) for n in recording["neuroid_id"].values]
    raw = mne.io.RawArray(data, mne.create_info(names, sfreq, ch_type), verbose=False)
    ids = recording["stimulus_id"].values.astype(str)
    raw.set_annotations(mne.Annotations(onsets, np.zeros(len(ids)), ids))
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == ".fif":
        raw.save(path, overwrite=True, verbose=False)
    else:
        mne.export.export_raw(path, raw, fmt="edf", overwrite=True, verbose=False)
    stem = path.with_suffix("").name
    for suffix in ("_eeg", "_meg", "_raw"):
        stem = stem.removesuffix(suffix)
    events = path.with_name(f"{stem}_events.tsv")
    table = _presentation_table(recording)
    table.insert(0, "duration", 0.0)
    table.insert(0, "onset", onsets)
    table.to_csv(events, sep="\t", index=False)
    return {"recording": str(path), "events": str(events)}


def write_spikes_nwb(recording, path):
    """Write binned spike counts as an NWB file with a units table and a trials table.

    Each count of ``c`` spikes in a bin becomes ``c`` spike times spread evenly inside
    that bin, so binning with the same bins gives the counts back exactly. Trials start
    ``1 s`` apart; the trials table has ``start_time`` (the stimulus onset),
    ``stop_time``, ``stimulus_id`` and the other presentation coords; the units table
    has ``spike_times``, ``unit_name`` and ``location`` (the region).

    Parameters
    ----------
    recording : xarray.DataArray of shape (n_presentations, n_units, n_bins)
        Spike counts with ``time`` at bin centres of equal width, e.g. ``world.spikes``.
    path : str

    Returns
    -------
    path : str
    """
    pynwb = import_optional("pynwb", extra="spikes", feature="Writing NWB files")
    from datetime import datetime, timezone

    centres = recording["time"].values
    width = float(np.median(np.diff(centres)))
    edges = centres - width / 2
    counts = recording.transpose("neuroid", "presentation", "time").values.astype(int)
    onsets = FIRST_ONSET + TRIAL_SPACING * np.arange(recording.sizes["presentation"])
    nwb = pynwb.NWBFile(
        session_description="neuroalign synthetic world",
        identifier=f"neuroalign-synthetic-{recording.attrs.get('subject', 'subject')}",
        session_start_time=datetime(2024, 1, 1, tzinfo=timezone.utc),
        subject=pynwb.file.Subject(subject_id=recording.attrs.get("subject", "subject")),
    )
    table = _presentation_table(recording)
    for column in table.columns:
        nwb.add_trial_column(column, f"presentation coord {column}")
    for row, onset in enumerate(onsets):
        record = {c: _plain(table[c].iloc[row]) for c in table.columns}
        nwb.add_trial(start_time=onset, stop_time=onset + TRIAL_SPACING * 0.9, **record)
    nwb.add_unit_column("unit_name", "neuroalign neuroid_id")
    nwb.add_unit_column("location", "brain region")
    regions = recording["region"].values if "region" in recording.coords else None
    for unit in range(counts.shape[0]):
        times = [
            onsets[p] + edges[b] + width * (np.arange(c) + 0.5) / c
            for p, b in zip(*np.nonzero(counts[unit]))
            for c in [counts[unit, p, b]]
        ]
        nwb.add_unit(
            spike_times=np.sort(np.concatenate(times)) if times else np.zeros(0),
            unit_name=str(recording["neuroid_id"].values[unit]),
            location="unknown" if regions is None else str(regions[unit]),
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return str(path)


def write_bids(world, root, *, n_bold_runs=0, bold_noise=0.5):
    """Write a synthetic world as a BIDS-like folder for :func:`data_adapters.bids.load_bids`.

    Layout: ``derivatives/betas/sub-XX/func/`` (fMRI betas, see
    :func:`write_fmri_betas`), ``sub-01/eeg/sub-01_task-view_eeg.edf``,
    ``sub-01/meg/sub-01_task-view_meg.fif`` (each with ``_events.tsv``) and
    ``sub-<spiking subject>/ecephys/..._ecephys.nwb``; plus ``dataset_description.json``.
    With ``n_bold_runs``, simulated BOLD runs of every fMRI subject go to
    ``sub-XX/func/`` (see :func:`write_bold_runs`).

    Parameters
    ----------
    world : data_adapters.synthetic.World
    root : str
    n_bold_runs : int, default=0
    bold_noise : float, default=0.5
        Noise of the BOLD runs, percent of the baseline signal.

    Returns
    -------
    paths : dict of str to str or dict
        What was written, by modality (``fmri_bold``: subject -> :class:`BoldRuns`).
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / "dataset_description.json").write_text(
        json.dumps({"Name": "neuroalign synthetic world", "BIDSVersion": "1.9.0"})
    )
    betas = {
        name: write_fmri_betas(rec, root / "derivatives" / "betas" / name / "func")
        for name, rec in world.fmri.items()
    }
    eeg_sub = world.eeg.attrs["subject"]
    meg_sub = world.meg.attrs["subject"]
    spike_sub = "sub-" + world.spikes.attrs["subject"].replace("-", "")
    bold = {
        name: write_bold_runs(
            subject, world.stimuli, root, n_runs=n_bold_runs, noise=bold_noise, seed=world.seed
        )
        for name, subject in world.subjects["fmri"].items()
        if n_bold_runs
    }
    return {
        "fmri_betas": betas,
        "fmri_bold": bold,
        "eeg": write_meeg(world.eeg, root / eeg_sub / "eeg" / f"{eeg_sub}_task-{TASK}_eeg.edf"),
        "meg": write_meeg(world.meg, root / meg_sub / "meg" / f"{meg_sub}_task-{TASK}_meg.fif"),
        "spikes": write_spikes_nwb(
            world.spikes, root / spike_sub / "ecephys" / f"{spike_sub}_task-{TASK}_ecephys.nwb"
        ),
    }


def _presentation_table(recording):
    """``stimulus_id`` and the other 1-D presentation coords (not ``repetition``) as a table."""
    columns = {"stimulus_id": recording["stimulus_id"].values.astype(str)}
    for name, coord in recording.coords.items():
        if coord.dims == ("presentation",) and name not in ("stimulus_id", "repetition"):
            columns[name] = coord.values
    return pd.DataFrame(columns)


def _plain(value):
    return value.item() if hasattr(value, "item") else value
