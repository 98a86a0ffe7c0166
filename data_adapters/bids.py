"""Find the subjects, sessions and runs of a BIDS folder and load them in one call."""

import re
from pathlib import Path

from neuroalign._validation import check_option
from neuroalign.exceptions import SchemaError

__all__ = ["find_bids", "load_bids"]

DATATYPES = {
    # datatype: (folder, file suffixes)
    "func": ("func", ("_bold.nii.gz", "_bold.nii")),
    "betas": ("func", ("_betas.nii.gz", "_betas.nii")),
    "eeg": ("eeg", ("_eeg.edf", "_eeg.bdf", "_eeg.vhdr", "_eeg.set", "_eeg.fif")),
    "meg": ("meg", ("_meg.fif",)),
    "ecephys": ("ecephys", ("_ecephys.nwb",)),
}


def _entity(name, key):
    match = re.search(rf"(?:^|_){key}-([a-zA-Z0-9]+)", name)
    return match.group(1) if match else None


def find_bids(root, *, datatype, subjects=None, sessions=None, task=None):
    """List the data files of one datatype in a BIDS folder (derivatives included).

    Parameters
    ----------
    root : str
    datatype : {"func", "betas", "eeg", "meg", "ecephys"}
        ``"func"``: BOLD runs (``*_bold.nii[.gz]``); ``"betas"``: beta maps
        (``*_betas.nii[.gz]``, e.g. in ``derivatives/``); ``"eeg"``, ``"meg"``:
        recordings; ``"ecephys"``: NWB files.
    subjects, sessions : list of str, optional
        Labels without the ``sub-``/``ses-`` prefix; default: all.
    task : str, optional

    Returns
    -------
    files : dict of str to list of pathlib.Path
        ``"sub-<label>"`` → files sorted by session and run.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from data_adapters.bids import find_bids
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "sub-01" / "eeg").mkdir(parents=True)
    >>> (root / "sub-01" / "eeg" / "sub-01_task-a_eeg.edf").touch()
    >>> {k: [p.name for p in v] for k, v in find_bids(root, datatype="eeg").items()}
    {'sub-01': ['sub-01_task-a_eeg.edf']}
    """
    check_option("datatype", datatype, list(DATATYPES))
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"'root': {str(root)!r} is not a folder; pass a BIDS root.")
    folder, suffixes = DATATYPES[datatype]
    found = {}
    for path in sorted(root.rglob("sub-*")):
        name = path.name
        if path.parent.name != folder or not name.endswith(suffixes):
            continue
        subject, session = _entity(name, "sub"), _entity(name, "ses")
        if subjects is not None and subject not in subjects:
            continue
        if sessions is not None and session not in sessions:
            continue
        if task is not None and _entity(name, "task") != task:
            continue
        found.setdefault(f"sub-{subject}", []).append(path)
    if not found:
        raise SchemaError(
            f"No {datatype!r} files ({', '.join(suffixes)}) in {folder}/ folders under "
            f"{str(root)!r} for subjects={subjects}, sessions={sessions}, task={task!r}; "
            "check the filters and the BIDS layout."
        )
    key = lambda p: (_entity(p.name, "ses") or "", int(_entity(p.name, "run") or 0))  # noqa: E731
    return {subject: sorted(paths, key=key) for subject, paths in sorted(found.items())}


def load_bids(root, *, datatype, subjects=None, sessions=None, task=None, **options):
    """Load every subject of one datatype in a BIDS folder with the matching adapter.

    Each data file's ``<stem>_events.tsv`` (BOLD, EEG, MEG) or ``<stem>_stimuli.tsv``
    (betas; plus ``<stem>_atlas-*_dseg.nii.gz`` and its ``.tsv`` when present) is
    found next to it. Runs of one subject are loaded together.

    Parameters
    ----------
    root, datatype, subjects, sessions, task
        As in :func:`find_bids`.
    **options
        Passed to the adapter: :func:`data_adapters.fmri.load_bold` (``func``),
        :func:`data_adapters.fmri.load_betas` (``betas``),
        :func:`data_adapters.eeg.load_epochs` (``eeg``, ``meg``) or
        :func:`data_adapters.spikes.load_nwb` (``ecephys``, one file per subject).

    Returns
    -------
    recordings : dict of str to xarray.DataArray
        ``"sub-<label>"`` → responses (``attrs["subject"]`` is set).
    """
    files = find_bids(root, datatype=datatype, subjects=subjects, sessions=sessions, task=task)
    return {
        subject: _load(datatype, paths, subject, dict(options)) for subject, paths in files.items()
    }


def _sidecar(path, suffix, new):
    stem = path.name.removesuffix(".gz").removesuffix(path.suffix if path.suffix != ".gz" else "")
    stem = re.sub(r"\.nii$", "", stem)
    return path.with_name(stem[: -len(suffix)] + new)


def _needed(path):
    if not path.exists():
        raise SchemaError(
            f"{str(path)!r} is missing; each recording needs its BIDS sidecar next to it."
        )
    return str(path)


def _load(datatype, paths, subject, options):
    if datatype == "func":
        from data_adapters.fmri import load_bold

        events = [_needed(_sidecar(p, "_bold", "_events.tsv")) for p in paths]
        return load_bold([str(p) for p in paths], events, subject=subject, **options)
    if datatype == "betas":
        from data_adapters.fmri import load_betas

        if len(paths) > 1:
            raise SchemaError(
                f"{subject} has {len(paths)} beta files {[p.name for p in paths]}; filter with "
                "'sessions' or 'task' so that one remains."
            )
        path = paths[0]
        stem = _sidecar(path, "_betas", "")
        atlases = sorted(path.parent.glob(stem.name + "_atlas-*_dseg.nii*"))
        if atlases and "atlas" not in options and "mask" not in options:
            options["atlas"] = str(atlases[0])
            labels = _sidecar(atlases[0], "_dseg", "_dseg.tsv")
            if labels.exists():
                options.setdefault("atlas_labels", str(labels))
        stimuli = _needed(path.with_name(stem.name + "_stimuli.tsv"))
        return load_betas(str(path), stimuli=stimuli, subject=subject, **options)
    if datatype in ("eeg", "meg"):
        from data_adapters.eeg import load_epochs

        suffix = f"_{datatype}"
        events = [_needed(_sidecar(p, suffix, "_events.tsv")) for p in paths]
        return load_epochs([str(p) for p in paths], events=events, subject=subject, **options)
    from data_adapters.spikes import load_nwb

    if len(paths) > 1:
        raise SchemaError(
            f"{subject} has {len(paths)} NWB files; filter with 'sessions' or 'task' so "
            "that one remains."
        )
    return load_nwb(str(paths[0]), subject=subject, **options)
