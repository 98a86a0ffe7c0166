"""Adapter entry point ``synthetic``: the built-in world as named data sources."""

import functools

import xarray as xr

from neuroalign._validation import check_option

__all__ = ["KINDS", "load"]

KINDS = ("stimuli", "fmri", "eeg", "meg", "spikes")


@functools.lru_cache(maxsize=4)
def _cached_world(seed, quick, n_per_category, n_subjects, n_repetitions):
    from data_adapters._synthetic_world import make_world

    return make_world(
        seed=seed,
        quick=quick,
        n_per_category=n_per_category,
        n_subjects=n_subjects,
        n_repetitions=n_repetitions,
    )


def _stimulus_array(stimuli):
    metadata = stimuli.metadata.reset_index(drop=True)
    coords = {name: ("presentation", metadata[name].to_numpy()) for name in metadata.columns}
    coords["stimulus_id"] = ("presentation", stimuli.stimulus_ids)
    coords["channel"] = ["red", "green", "blue"]
    return xr.DataArray(
        stimuli.images,
        dims=("presentation", "channel", "y", "x"),
        coords=coords,
        name="images",
        attrs={"modality": "stimuli", "categories": list(stimuli.categories)},
    )


def load(kind, *, seed=0, quick=False, n_per_category=None, n_subjects=2, n_repetitions=2):
    """One part of the synthetic world, for experiments (adapter name ``synthetic``).

    The world is built once per process for each set of arguments and reused, so
    loading several kinds from the same world costs one generation.

    Parameters
    ----------
    kind : {"stimuli", "fmri", "eeg", "meg", "spikes"}
        Which part to return.
    seed : int, default=0
    quick : bool, default=False
        The small world of :func:`make_world`.
    n_per_category : int, optional
    n_subjects : int, default=2
    n_repetitions : int, default=2
        See :func:`make_world`.

    Returns
    -------
    data : xarray.DataArray or dict of str to xarray.DataArray
        ``"fmri"``: subject -> recording of dims (presentation, neuroid);
        ``"eeg"``, ``"meg"``, ``"spikes"``: subject -> recording of dims
        (presentation, neuroid, time); ``"stimuli"``: the images, dims
        (presentation, channel, y, x) with a ``stimulus_id`` coordinate and the
        generating parameters as presentation coordinates.

    Raises
    ------
    ValueError
        If ``kind`` is unknown or an argument of :func:`make_world` is invalid.

    See Also
    --------
    make_world

    Examples
    --------
    >>> from data_adapters.synthetic import load
    >>> eeg = load("eeg", quick=True, n_per_category=2, n_subjects=1)
    >>> list(eeg), eeg["sub-01"].dims
    (['sub-01'], ('presentation', 'neuroid', 'time'))
    """
    check_option("kind", kind, KINDS)
    world = _cached_world(seed, bool(quick), n_per_category, n_subjects, n_repetitions)
    if kind == "stimuli":
        return _stimulus_array(world.stimuli)
    if kind == "fmri":
        return dict(world.fmri)
    recording = getattr(world, kind)
    return {recording.attrs["subject"]: recording}
