"""The synthetic world: stimuli, simulated recordings of every modality and the ground truth."""

import dataclasses

from data_adapters._synthetic_features import STAGES, VisualFeatures
from data_adapters._synthetic_readout import check_seed
from data_adapters._synthetic_stimuli import CATEGORIES, StimulusSet, make_stimuli
from data_adapters._synthetic_subjects import (
    FMRI_REGIONS,
    MEEG_SOURCES,
    SPIKE_ONSETS,
    SPIKE_REGIONS,
    FMRISubject,
    MEEGSubject,
    SpikingSubject,
    batched_features,
)
from neuroalign._validation import check_positive_int

__all__ = [
    "GroundTruth",
    "World",
    "make_world",
    "simulate_eeg",
    "simulate_fmri",
    "simulate_meg",
    "simulate_spikes",
]

_TUNING = {"early": "oriented energy", "mid": "colour and curvature", "late": "category"}
_SIZES = {  # quick, full
    "n_per_category": (8, 100),
    "n_voxels_per_region": (30, 100),
    "n_units_per_region": (12, 30),
    "n_meg_channels": (32, 64),
}
_EEG_NOISE = 0.5
_MEG_NOISE = 0.5
_FMRI_NOISE = 1.0
_SPIKE_SUBJECT = "monkey-01"


@dataclasses.dataclass(frozen=True)
class GroundTruth:
    """What the synthetic world was built from, for checking analyses against it.

    Attributes
    ----------
    categories : tuple of str
        Object categories, in label order.
    stages : tuple of str
        Feature stages from shallow to deep: ``("early", "mid", "late")``.
    tuning : dict of str to str
        What each stage encodes (early: oriented energy, mid: colour and curvature,
        late: category).
    fmri_regions : dict of str to str
        fMRI ROI -> the stage that drives it.
    spike_regions : dict of str to str
        Spiking region (V1, V4, IT) -> the stage that drives it.
    spike_onsets : dict of str to float
        Response onset of each spiking region, seconds.
    meeg_sources : dict of str to str
        M/EEG source -> its stage.
    source_latencies : dict of str to float
        Peak latency of the early and late M/EEG sources, seconds.
    """

    categories: tuple = CATEGORIES
    stages: tuple = STAGES
    tuning: dict = dataclasses.field(default_factory=lambda: dict(_TUNING))
    fmri_regions: dict = dataclasses.field(default_factory=lambda: dict(FMRI_REGIONS))
    spike_regions: dict = dataclasses.field(default_factory=lambda: dict(SPIKE_REGIONS))
    spike_onsets: dict = dataclasses.field(default_factory=lambda: dict(SPIKE_ONSETS))
    meeg_sources: dict = dataclasses.field(
        default_factory=lambda: {name: spec[0] for name, spec in MEEG_SOURCES.items()}
    )
    source_latencies: dict = dataclasses.field(
        default_factory=lambda: {spec[0]: spec[2] for spec in MEEG_SOURCES.values()}
    )

    def to_dict(self):
        """The ground truth as plain JSON-serialisable Python objects.

        Returns
        -------
        dict
        """
        return {
            key: list(value) if isinstance(value, tuple) else dict(value)
            for key, value in dataclasses.asdict(self).items()
        }


@dataclasses.dataclass(frozen=True)
class World:
    """A synthetic study: stimuli, recordings, the simulators behind them and the truth.

    Attributes
    ----------
    stimuli : StimulusSet
    fmri : dict of str to xarray.DataArray
        Subject -> recording of shape (n_stimuli * n_repetitions, n_voxels).
    eeg : xarray.DataArray
        Subject ``sub-01``, shape (n_presentations, 32, n_times).
    meg : xarray.DataArray
        Subject ``sub-01``, shape (n_presentations, n_channels, n_times).
    spikes : xarray.DataArray
        Subject ``monkey-01``, Poisson counts of shape (n_presentations, n_units, n_bins).
    subjects : dict of str to dict of str to SimulatedSubject
        Modality (``"fmri"``, ``"eeg"``, ``"meg"``, ``"spikes"``) -> subject -> the
        differentiable simulator; call ``respond(images)`` on new images.
    features : VisualFeatures
        The feature stages shared by every simulator.
    truth : GroundTruth
    seed : int
    """

    stimuli: StimulusSet
    fmri: dict
    eeg: object
    meg: object
    spikes: object
    subjects: dict
    features: VisualFeatures
    truth: GroundTruth
    seed: int


def make_world(*, seed=0, n_per_category=None, n_subjects=2, n_repetitions=2, quick=False):
    """Generate the synthetic world: stimuli and simulated recordings with known truth.

    Every simulator sees the same stimuli through the same feature stages; subjects
    differ in their random read-out of those stages and in their noise.

    Parameters
    ----------
    seed : int, default=0
        Seed of everything (stimuli, tuning, noise, presentation order).
    n_per_category : int, optional
        Stimuli per category; default 100 (8 when ``quick``).
    n_subjects : int, default=2
        fMRI subjects ``sub-01``, ``sub-02``, ...
    n_repetitions : int, default=2
        Presentations of each stimulus in every recording.
    quick : bool, default=False
        A small world (40 stimuli, 30 voxels per ROI, 12 units per region, 32 MEG
        sensors) generated in a few seconds, for tests and quick demos.

    Returns
    -------
    world : World

    Raises
    ------
    ValueError
        If ``seed`` is negative or a count is smaller than 1.

    See Also
    --------
    make_stimuli, simulate_fmri, simulate_eeg, simulate_meg, simulate_spikes

    Examples
    --------
    >>> from data_adapters.synthetic import make_world
    >>> world = make_world(quick=True, n_per_category=2, n_subjects=1)
    >>> sorted(world.fmri), world.eeg.dims
    (['sub-01'], ('presentation', 'neuroid', 'time'))
    """
    seed = check_seed(seed)
    size = 0 if quick else 1
    n_per_category = _SIZES["n_per_category"][size] if n_per_category is None else n_per_category
    n_subjects = check_positive_int("n_subjects", n_subjects)
    stimuli = make_stimuli(n_per_category, seed=seed)
    features = VisualFeatures()
    computed = batched_features(features, stimuli.images)

    def record(simulator, **kwargs):
        signal = simulator.readout(computed).cpu().numpy()
        return simulator._record(stimuli, signal, n_repetitions=n_repetitions, seed=seed, **kwargs)

    fmri_subjects = {
        f"sub-{i + 1:02d}": FMRISubject(
            f"sub-{i + 1:02d}",
            seed=seed,
            features=features,
            n_voxels_per_region=_SIZES["n_voxels_per_region"][size],
        )
        for i in range(n_subjects)
    }
    eeg = MEEGSubject("sub-01", modality="eeg", seed=seed, features=features)
    meg = MEEGSubject(
        "sub-01",
        modality="meg",
        seed=seed,
        features=features,
        n_channels=_SIZES["n_meg_channels"][size],
    )
    spikes = SpikingSubject(
        _SPIKE_SUBJECT,
        seed=seed,
        features=features,
        n_units_per_region=_SIZES["n_units_per_region"][size],
    )
    return World(
        stimuli=stimuli,
        fmri={name: record(s, noise=_FMRI_NOISE) for name, s in fmri_subjects.items()},
        eeg=record(eeg, noise=_EEG_NOISE),
        meg=record(meg, noise=_MEG_NOISE),
        spikes=record(spikes, noise=None),
        subjects={
            "fmri": fmri_subjects,
            "eeg": {"sub-01": eeg},
            "meg": {"sub-01": meg},
            "spikes": {_SPIKE_SUBJECT: spikes},
        },
        features=features,
        truth=GroundTruth(),
        seed=seed,
    )


def simulate_fmri(
    stimuli, *, subject="sub-01", n_voxels_per_region=100, n_repetitions=2, noise=1.0, seed=0
):
    """Simulated fMRI responses (one beta per presentation) to a stimulus set.

    Parameters
    ----------
    stimuli : StimulusSet
    subject : str, default="sub-01"
        Subject identifier; different subjects get different voxel tuning and noise.
    n_voxels_per_region : int, default=100
        Voxels in each ROI (``early``, ``mid``, ``late``).
    n_repetitions : int, default=2
        Presentations of each stimulus (one run per repetition, shuffled order).
    noise : float, default=1.0
        Noise standard deviation relative to each voxel's signal standard deviation
        (further scaled per voxel by a factor in [0.5, 1.5]).
    seed : int, default=0
        Seed of the voxel tuning, noise and presentation order.

    Returns
    -------
    recording : xarray.DataArray of shape (n_stimuli * n_repetitions, 3 * n_voxels_per_region)
        Dims ``("presentation", "neuroid")``; presentation coords ``stimulus_id``,
        ``repetition``, ``run``, ``category``; neuroid coords ``neuroid_id``,
        ``region``, ``x``, ``y``, ``z``; attrs ``modality="fmri"``, ``subject``,
        ``units``, ``source``.

    See Also
    --------
    FMRISubject : the simulator, with a differentiable ``respond``.

    Examples
    --------
    >>> from data_adapters.synthetic import make_stimuli, simulate_fmri
    >>> da = simulate_fmri(make_stimuli(2), n_voxels_per_region=4)
    >>> da.shape, sorted(set(da.region.values.tolist()))
    ((20, 12), ['early', 'late', 'mid'])
    """
    simulator = FMRISubject(subject, n_voxels_per_region=n_voxels_per_region, seed=seed)
    return simulator.simulate(stimuli, n_repetitions=n_repetitions, noise=noise, seed=seed)


def simulate_eeg(stimuli, *, subject="sub-01", n_repetitions=2, noise=0.5, seed=0):
    """Simulated 32-channel EEG epochs (-0.1 to 0.5 s at 100 Hz) to a stimulus set.

    Parameters
    ----------
    stimuli : StimulusSet
    subject : str, default="sub-01"
    n_repetitions : int, default=2
    noise : float, default=0.5
        Noise standard deviation (temporally correlated background activity plus
        sensor noise) relative to the peak amplitude of a unit source (4 uV).
    seed : int, default=0

    Returns
    -------
    recording : xarray.DataArray of shape (n_stimuli * n_repetitions, 32, 61)
        Dims ``("presentation", "neuroid", "time")``, values in uV; neuroid coords
        ``neuroid_id`` (10-20 names), ``ch_type`` (``"eeg"``), layout ``x``, ``y``.

    See Also
    --------
    MEEGSubject : the simulator; its ``leadfield`` and ``sources`` are the ground truth.

    Examples
    --------
    >>> from data_adapters.synthetic import make_stimuli, simulate_eeg
    >>> simulate_eeg(make_stimuli(1)).sizes["time"]
    61
    """
    simulator = MEEGSubject(subject, modality="eeg", seed=seed)
    return simulator.simulate(stimuli, n_repetitions=n_repetitions, noise=noise, seed=seed)


def simulate_meg(stimuli, *, subject="sub-01", n_channels=64, n_repetitions=2, noise=0.5, seed=0):
    """Simulated MEG (magnetometer) epochs, -0.1 to 0.5 s at 100 Hz, to a stimulus set.

    Parameters
    ----------
    stimuli : StimulusSet
    subject : str, default="sub-01"
    n_channels : int, default=64
    n_repetitions : int, default=2
    noise : float, default=0.5
        Noise standard deviation relative to the peak amplitude of a unit source (100 fT).
    seed : int, default=0

    Returns
    -------
    recording : xarray.DataArray of shape (n_stimuli * n_repetitions, n_channels, 61)
        Values in fT; ``ch_type`` is ``"mag"``.

    See Also
    --------
    simulate_eeg, MEEGSubject
    """
    simulator = MEEGSubject(subject, modality="meg", n_channels=n_channels, seed=seed)
    return simulator.simulate(stimuli, n_repetitions=n_repetitions, noise=noise, seed=seed)


def simulate_spikes(
    stimuli, *, subject="monkey-01", n_units_per_region=30, n_repetitions=2, seed=0
):
    """Simulated Poisson spike counts of units in V1, V4 and IT to a stimulus set.

    Parameters
    ----------
    stimuli : StimulusSet
    subject : str, default="monkey-01"
    n_units_per_region : int, default=30
    n_repetitions : int, default=2
    seed : int, default=0

    Returns
    -------
    recording : xarray.DataArray of int32
        Shape (n_stimuli * n_repetitions, 3 * n_units_per_region, 50): counts in 10 ms
        bins from -0.1 to 0.4 s (``time`` holds bin centres); ``units="count"``, neuroid
        coord ``region``.

    See Also
    --------
    SpikingSubject : the simulator; ``respond`` returns the expected rates.

    Examples
    --------
    >>> from data_adapters.synthetic import make_stimuli, simulate_spikes
    >>> da = simulate_spikes(make_stimuli(1), n_units_per_region=2)
    >>> da.dims, int(da.min()) >= 0
    (('presentation', 'neuroid', 'time'), True)
    """
    simulator = SpikingSubject(subject, n_units_per_region=n_units_per_region, seed=seed)
    return simulator.simulate(stimuli, n_repetitions=n_repetitions, seed=seed)
