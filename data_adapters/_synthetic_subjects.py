"""Simulated subjects: image-computable, differentiable fMRI, M/EEG and spiking responses.

Each subject is a :class:`torch.nn.Module` whose :meth:`~SimulatedSubject.respond` maps
an image batch to noiseless responses, so gradients flow back to the pixels. Its
``simulate`` method adds the modality's noise and presentation schedule and returns a
labelled recording in the neuroalign schema.
"""

import math

import numpy as np
import scipy.signal
import torch
from torch import nn

from data_adapters._synthetic_features import VisualFeatures
from data_adapters._synthetic_readout import Readout, check_seed, derive_rng, stage_weights
from neuroalign._validation import check_positive_int
from neuroalign.data import responses
from neuroalign.exceptions import DimensionError

__all__ = [
    "FMRI_REGIONS",
    "MEEG_SOURCES",
    "SPIKE_ONSETS",
    "SPIKE_REGIONS",
    "FMRISubject",
    "MEEGSubject",
    "SimulatedSubject",
    "SpikingSubject",
    "batched_features",
]

FMRI_REGIONS = {"early": "early", "mid": "mid", "late": "late"}  # ROI -> feature stage
SPIKE_REGIONS = {"V1": "early", "V4": "mid", "IT": "late"}
SPIKE_ONSETS = {"V1": 0.04, "V4": 0.07, "IT": 0.10}  # seconds
# name -> (stage, head-layout position, peak latency s, width s, polarity)
MEEG_SOURCES = {
    "early-left": ("early", (-0.25, -0.85), 0.10, 0.02, 1.0),
    "early-right": ("early", (0.25, -0.85), 0.10, 0.02, 1.0),
    "late-left": ("late", (-0.75, -0.6), 0.20, 0.035, -1.0),
    "late-right": ("late", (0.75, -0.6), 0.20, 0.035, -1.0),
    "late-midline": ("late", (0.0, -0.45), 0.20, 0.035, -1.0),
}
MEEG_TIMES = np.round(np.arange(-0.1, 0.5 + 1e-9, 0.01), 6)  # 100 Hz
SPIKE_BIN = 0.01
SPIKE_BIN_CENTRES = np.round(np.arange(-0.1, 0.4 - 1e-9, SPIKE_BIN) + SPIKE_BIN / 2, 6)

# Standard 32-channel 10-20 montage on a 2-D head layout (x right, y nose; ears at |x| = 1).
EEG_LAYOUT = {
    "Fp1": (-0.31, 0.95),
    "Fp2": (0.31, 0.95),
    "F7": (-0.81, 0.59),
    "F3": (-0.42, 0.52),
    "Fz": (0.0, 0.45),
    "F4": (0.42, 0.52),
    "F8": (0.81, 0.59),
    "FC5": (-0.64, 0.26),
    "FC1": (-0.22, 0.23),
    "FC2": (0.22, 0.23),
    "FC6": (0.64, 0.26),
    "T7": (-1.0, 0.0),
    "C3": (-0.45, 0.0),
    "Cz": (0.0, 0.0),
    "C4": (0.45, 0.0),
    "T8": (1.0, 0.0),
    "TP9": (-0.95, -0.33),
    "CP5": (-0.64, -0.26),
    "CP1": (-0.22, -0.23),
    "CP2": (0.22, -0.23),
    "CP6": (0.64, -0.26),
    "TP10": (0.95, -0.33),
    "P7": (-0.81, -0.59),
    "P3": (-0.42, -0.52),
    "Pz": (0.0, -0.45),
    "P4": (0.42, -0.52),
    "P8": (0.81, -0.59),
    "PO9": (-0.6, -0.9),
    "O1": (-0.31, -0.95),
    "Oz": (0.0, -1.0),
    "O2": (0.31, -0.95),
    "PO10": (0.6, -0.9),
}

_FMRI_TUNING = {  # stage -> (channel concentration, receptive-field width range)
    "early": (1.0, (0.06, 0.12)),
    "mid": (0.5, (0.15, 0.3)),
    "late": (0.5, None),
}
_SPIKE_TUNING = {"early": (0.3, (0.04, 0.08)), "mid": (0.3, (0.1, 0.2)), "late": (0.3, None)}
_SOURCE_TUNING = {"early": (2.0, (0.3, 0.4)), "late": (1.0, None)}
_FMRI_NOISE_SCALE = (0.5, 1.5)  # per-voxel multiplier of the noise level
_SOURCE_MODULATION = 0.4  # log-gain of a source per unit of standardised drive
_SENSOR_SPREAD = {"eeg": 0.35, "meg": 0.25}  # width of a source's field on the layout
_SENSOR_SCALE = {"eeg": 4.0, "meg": 100.0}  # peak amplitude of a unit source (uV, fT)
_SENSOR_UNITS = {"eeg": "uV", "meg": "fT"}
_BACKGROUND_SOURCES = 10
_BACKGROUND_AR = 0.9  # lag-one autocorrelation of the background activity
_BACKGROUND_SHARE = 0.8  # share of the noise std due to background activity
_SPIKE_BASELINE = (2.0, 10.0)  # Hz
_SPIKE_GAIN = (15.0, 40.0)  # Hz at standardised drive 0
_SPIKE_TRANSIENT = 0.025  # time to peak after onset, s
_SPIKE_SUSTAINED = 0.3  # sustained rate relative to the transient peak
_BATCH = 64


class SimulatedSubject(nn.Module):
    """Base class: a fixed visual system (``features``) read out by random units.

    Parameters
    ----------
    features : VisualFeatures or None
        Shared feature stages; a new one is built when ``None``.
    subject : str
        Subject identifier, stored in ``attrs["subject"]`` of simulated recordings.
    seed : int
        Seed of the subject's random tuning.
    """

    modality = None

    def __init__(self, features, subject, seed):
        super().__init__()
        if not isinstance(subject, str) or not subject:
            raise ValueError(f"'subject' must be a non-empty string; got {subject!r}.")
        self.subject = subject
        self.seed = check_seed(seed)
        self.features = VisualFeatures() if features is None else features

    def respond(self, images):
        """Noiseless responses to an image batch, differentiable with respect to the images.

        Parameters
        ----------
        images : Tensor or array-like of shape (n_images, 3, height, width)
            RGB values in [0, 1]; images that are not 64 x 64 are resampled.

        Returns
        -------
        responses : Tensor of shape (n_images, n_neuroids) or (n_images, n_neuroids, n_times)
            On the device of the subject's buffers.
        """
        return self.readout(self.features(_as_images(images, self.features.gabors.device)))

    def forward(self, images):
        """Same as :meth:`respond`."""
        return self.respond(images)

    def readout(self, features):
        """Noiseless responses computed from precomputed features (see :meth:`respond`)."""
        raise NotImplementedError

    def simulate(self, stimuli, *, n_repetitions=2, noise=1.0, seed=0):
        """Record noisy responses to a stimulus set.

        Parameters
        ----------
        stimuli : StimulusSet
        n_repetitions : int, default=2
            Presentations of every stimulus; repetition ``r`` forms run ``r + 1`` and
            stimuli appear in a random order within each run.
        noise : float, default=1.0
            Noise standard deviation relative to the signal: to each voxel's signal
            standard deviation (fMRI, further scaled per voxel by ``noise_scale``), or to
            the peak sensor amplitude of a unit source (EEG/MEG).
        seed : int, default=0
            Seed of the noise and of the presentation order.

        Returns
        -------
        recording : xarray.DataArray
            Dims ``("presentation", "neuroid"[, "time"])`` in the neuroalign schema.
        """
        check_positive_int("n_repetitions", n_repetitions)
        check_seed(seed)
        noise = self._valid_noise(noise)
        signal = self.readout(batched_features(self.features, stimuli.images))
        return self._record(
            stimuli, signal.cpu().numpy(), n_repetitions=n_repetitions, noise=noise, seed=seed
        )

    def _record(self, stimuli, signal, *, n_repetitions, noise, seed):
        raise NotImplementedError

    def _valid_noise(self, noise):
        if (
            isinstance(noise, bool)
            or not isinstance(noise, (int, float, np.number))
            or not (math.isfinite(noise) and noise >= 0)
        ):
            raise ValueError(f"'noise' must be a finite number >= 0; got {noise!r}.")
        return float(noise)

    def _presentations(self, stimuli, n_repetitions, seed):
        """Row order, repetition and run of every presentation, plus the noise generator."""
        n_repetitions = check_positive_int("n_repetitions", n_repetitions)
        rng = derive_rng(check_seed(seed), self.modality, self.subject, "presentations")
        order = np.concatenate([rng.permutation(len(stimuli)) for _ in range(n_repetitions)])
        repetition = np.repeat(np.arange(n_repetitions), len(stimuli))
        coords = {
            "run": repetition + 1,
            "category": stimuli.metadata["category"].to_numpy(dtype=str)[order],
        }
        return order, repetition, coords, rng

    def _source(self):
        name = type(self).__name__
        return f"data_adapters.synthetic.{name}(subject={self.subject!r}, seed={self.seed})"


class FMRISubject(SimulatedSubject):
    """Simulated fMRI subject: voxels in ROIs ``early``, ``mid`` and ``late``.

    Each voxel is a random positive mixture of its ROI's features (early: oriented
    energy in a small receptive field placed retinotopically; mid: hue and curvature
    in a larger field; late: category), scaled to unit signal variance, with its own
    noise level.

    Parameters
    ----------
    subject : str, default="sub-01"
    n_voxels_per_region : int, default=100
    seed : int, default=0
        Seed of the voxel tuning, combined with ``subject``.
    features : VisualFeatures, optional
        Shared feature stages; a new one is built when omitted.

    Attributes
    ----------
    regions : ndarray of str of shape (n_voxels,)
    coordinates : ndarray of int of shape (n_voxels, 3)
        Voxel indices (x, y, z); ROIs are stacked from posterior (early, small y) to
        anterior (late).
    noise_scale : ndarray of shape (n_voxels,)
        Per-voxel multiplier of the noise level.
    neuroid_ids : ndarray of str of shape (n_voxels,)

    Examples
    --------
    >>> import torch
    >>> from data_adapters.synthetic import FMRISubject
    >>> subject = FMRISubject(n_voxels_per_region=5)
    >>> subject.respond(torch.rand(2, 3, 64, 64)).shape
    torch.Size([2, 15])
    """

    modality = "fmri"

    def __init__(self, subject="sub-01", *, n_voxels_per_region=100, seed=0, features=None):
        n = check_positive_int("n_voxels_per_region", n_voxels_per_region)
        super().__init__(features, subject, seed)
        rng = derive_rng(self.seed, "fmri", subject)
        calibration = self.features.calibration()
        readouts, regions, coordinates = [], [], []
        for depth, (region, stage) in enumerate(FMRI_REGIONS.items()):
            xyz, rf_centres = _voxel_grid(rng, n, depth)
            concentration, rf_width = _FMRI_TUNING[stage]
            weights = stage_weights(
                rng,
                stage,
                n,
                sizes=self.features.sizes,
                grids=self.features.grids,
                concentration=concentration,
                rf_centres=rf_centres,
                rf_width=rf_width,
            )
            readouts.append(Readout(stage, weights, calibration))
            regions += [region] * n
            coordinates.append(xyz)
        self.readouts = nn.ModuleList(readouts)
        self.regions = np.array(regions)
        self.coordinates = np.concatenate(coordinates)
        self.noise_scale = rng.uniform(*_FMRI_NOISE_SCALE, len(regions))
        self.neuroid_ids = np.array([f"vox_{i:04d}" for i in range(len(regions))])

    def readout(self, features):
        """Noiseless voxel responses from precomputed features.

        Parameters
        ----------
        features : dict of str to Tensor
            Output of ``VisualFeatures`` for n images.

        Returns
        -------
        responses : Tensor of shape (n_images, n_voxels)
            Unit variance and zero mean on the calibration images (arbitrary units).
        """
        return torch.cat([readout(features) for readout in self.readouts], dim=1)

    def _record(self, stimuli, signal, *, n_repetitions, noise, seed):
        order, repetition, coords, rng = self._presentations(stimuli, n_repetitions, seed)
        data = signal[order] + noise * self.noise_scale * rng.standard_normal(
            (len(order), signal.shape[1])
        )
        return responses(
            data.astype(np.float32),
            stimuli.stimulus_ids[order],
            modality="fmri",
            subject=self.subject,
            neuroid_ids=self.neuroid_ids,
            regions=self.regions,
            repetitions=repetition,
            presentation_coords=coords,
            neuroid_coords=dict(zip("xyz", self.coordinates.T)),
            units="a.u.",
            source=self._source(),
        )


class MEEGSubject(SimulatedSubject):
    """Simulated EEG or MEG subject: sensors mixing early and late neural sources.

    Two early sources (occipital, peak latency 0.10 s) are driven by oriented energy and
    three late sources (occipito-temporal and midline, peak 0.20 s, negative) by
    category. A source's time course is a Gaussian bump scaled by
    ``exp(0.4 * drive)``; sensors see the sources through smooth, subject-specific
    gains on a 2-D head layout (EEG: average reference).

    Parameters
    ----------
    subject : str, default="sub-01"
    modality : {"eeg", "meg"}, default="eeg"
    n_channels : int, optional
        MEG magnetometers (default 64, placed evenly on the layout); EEG always uses the
        32-channel 10-20 montage and refuses other values.
    seed : int, default=0
    features : VisualFeatures, optional

    Attributes
    ----------
    channel_names : ndarray of str of shape (n_channels,)
    positions : ndarray of shape (n_channels, 2)
        Head-layout coordinates (x right, y towards the nose; ears at ``|x| = 1``).
    sources : tuple of str
        Source names, in the column order of ``leadfield``.
    leadfield : ndarray of shape (n_channels, n_sources)
        Gain of every source at every sensor, in the modality's units.
    times : ndarray of shape (n_times,)
        Seconds, -0.1 to 0.5 at 100 Hz.

    Examples
    --------
    >>> import torch
    >>> from data_adapters.synthetic import MEEGSubject
    >>> MEEGSubject().respond(torch.rand(2, 3, 64, 64)).shape
    torch.Size([2, 32, 61])
    """

    def __init__(self, subject="sub-01", *, modality="eeg", n_channels=None, seed=0, features=None):
        if modality not in _SENSOR_UNITS:
            raise ValueError(f"'modality' must be 'eeg' or 'meg'; got {modality!r}.")
        if modality == "eeg" and n_channels not in (None, len(EEG_LAYOUT)):
            raise ValueError(
                f"'n_channels' must be None or {len(EEG_LAYOUT)} for EEG (the 10-20 "
                f"montage); got {n_channels!r}."
            )
        if modality == "meg":
            n_channels = check_positive_int("n_channels", 64 if n_channels is None else n_channels)
        super().__init__(features, subject, seed)
        self.modality = modality
        if modality == "eeg":
            self.channel_names = np.array(list(EEG_LAYOUT))
            self.positions = np.array(list(EEG_LAYOUT.values()))
        else:
            self.channel_names = np.array([f"MEG{i + 1:04d}" for i in range(n_channels)])
            self.positions = _sunflower(n_channels)
        rng = derive_rng(self.seed, modality, subject)
        calibration = self.features.calibration()
        self.sources = tuple(MEEG_SOURCES)
        readouts, gains, kernels = [], [], []
        for stage, position, latency, width, polarity in MEEG_SOURCES.values():
            concentration, rf_width = _SOURCE_TUNING[stage]
            weights = stage_weights(
                rng,
                stage,
                1,
                sizes=self.features.sizes,
                grids=self.features.grids,
                concentration=concentration,
                rf_centres=np.array([[0.5, 0.5]]),
                rf_width=rf_width,
            )
            readouts.append(Readout(stage, weights, calibration))
            location = np.asarray(position) + rng.normal(0.0, 0.05, 2)
            gains.append(
                polarity
                * rng.uniform(0.8, 1.2)
                * _field(self.positions, location, _SENSOR_SPREAD[modality])
            )
            kernels.append(np.exp(-((MEEG_TIMES - latency) ** 2) / (2 * width**2)))
        leadfield = _SENSOR_SCALE[modality] * np.stack(gains, axis=1)
        if modality == "eeg":
            leadfield -= leadfield.mean(0, keepdims=True)
        self.leadfield = leadfield
        self.times = MEEG_TIMES.copy()
        self.readouts = nn.ModuleList(readouts)
        self.register_buffer("_leadfield", torch.as_tensor(leadfield, dtype=torch.float32))
        self.register_buffer("_kernels", torch.as_tensor(np.stack(kernels), dtype=torch.float32))
        background = np.stack(
            [
                _field(self.positions, rng.uniform(-0.9, 0.9, 2), 0.4) * rng.choice([-1.0, 1.0])
                for _ in range(_BACKGROUND_SOURCES)
            ],
            1,
        )
        self.background_mixing = background / np.linalg.norm(background, axis=1, keepdims=True)

    def source_amplitudes(self, features):
        """Gain of every source for every image.

        Parameters
        ----------
        features : dict of str to Tensor

        Returns
        -------
        amplitudes : Tensor of shape (n_images, n_sources)
            ``exp(0.4 * drive)``, positive.
        """
        drive = torch.cat([readout(features) for readout in self.readouts], dim=1)
        return torch.exp(_SOURCE_MODULATION * drive)

    def readout(self, features):
        """Noiseless sensor time courses from precomputed features.

        Parameters
        ----------
        features : dict of str to Tensor

        Returns
        -------
        responses : Tensor of shape (n_images, n_channels, n_times)
            In uV (EEG) or fT (MEG).
        """
        amplitudes = self.source_amplitudes(features)
        return torch.einsum("ns,cs,st->nct", amplitudes, self._leadfield, self._kernels)

    def _record(self, stimuli, signal, *, n_repetitions, noise, seed):
        order, repetition, coords, rng = self._presentations(stimuli, n_repetitions, seed)
        n_times = len(self.times)
        n_channels = len(self.channel_names)
        white = rng.standard_normal((len(order), _BACKGROUND_SOURCES, n_times))
        start = _BACKGROUND_AR * rng.standard_normal((len(order), _BACKGROUND_SOURCES, 1))
        activity = scipy.signal.lfilter(
            [math.sqrt(1 - _BACKGROUND_AR**2)], [1.0, -_BACKGROUND_AR], white, axis=-1, zi=start
        )[0]
        background = np.einsum("cb,pbt->pct", self.background_mixing, activity)
        sensor = rng.standard_normal((len(order), n_channels, n_times))
        share = _BACKGROUND_SHARE
        scale = noise * _SENSOR_SCALE[self.modality]
        data = signal[order] + scale * (share * background + math.sqrt(1 - share**2) * sensor)
        ch_type = "eeg" if self.modality == "eeg" else "mag"
        return responses(
            data.astype(np.float32),
            stimuli.stimulus_ids[order],
            modality=self.modality,
            subject=self.subject,
            neuroid_ids=self.channel_names,
            times=self.times,
            repetitions=repetition,
            presentation_coords=coords,
            neuroid_coords={
                "ch_type": np.full(n_channels, ch_type),
                "x": self.positions[:, 0],
                "y": self.positions[:, 1],
            },
            units=_SENSOR_UNITS[self.modality],
            source=self._source(),
        )


class SpikingSubject(SimulatedSubject):
    """Simulated array recording: Poisson units in ``V1``, ``V4`` and ``IT``.

    A unit's rate is ``baseline + gain * softplus(2 * drive) / log(2) * k(t - onset)``,
    where ``drive`` is a standardised random positive mixture of its region's features
    (V1: oriented energy in a small receptive field; V4: hue and curvature; IT:
    category) and ``k`` an alpha-function transient (peak 25 ms after onset) plus a
    sustained plateau. Onsets: V1 40 ms, V4 70 ms, IT 100 ms.

    Parameters
    ----------
    subject : str, default="monkey-01"
    n_units_per_region : int, default=30
    seed : int, default=0
    features : VisualFeatures, optional

    Attributes
    ----------
    regions : ndarray of str of shape (n_units,)
    neuroid_ids : ndarray of str of shape (n_units,)
    times : ndarray of shape (n_bins,)
        Bin centres in seconds (10 ms bins from -0.1 to 0.4 s).

    Examples
    --------
    >>> import torch
    >>> from data_adapters.synthetic import SpikingSubject
    >>> SpikingSubject(n_units_per_region=4).respond(torch.rand(2, 3, 64, 64)).shape
    torch.Size([2, 12, 50])
    """

    modality = "spikes"

    def __init__(self, subject="monkey-01", *, n_units_per_region=30, seed=0, features=None):
        n = check_positive_int("n_units_per_region", n_units_per_region)
        super().__init__(features, subject, seed)
        rng = derive_rng(self.seed, "spikes", subject)
        calibration = self.features.calibration()
        readouts, regions, kernels = [], [], []
        for region, stage in SPIKE_REGIONS.items():
            concentration, rf_width = _SPIKE_TUNING[stage]
            weights = stage_weights(
                rng,
                stage,
                n,
                sizes=self.features.sizes,
                grids=self.features.grids,
                concentration=concentration,
                rf_width=rf_width,
            )
            readouts.append(Readout(stage, weights, calibration))
            regions += [region] * n
            kernels.append(np.repeat(_spike_kernel(SPIKE_ONSETS[region])[None], n, axis=0))
        self.readouts = nn.ModuleList(readouts)
        self.regions = np.array(regions)
        self.neuroid_ids = np.array([f"unit_{i:03d}" for i in range(len(regions))])
        self.times = SPIKE_BIN_CENTRES.copy()
        self.register_buffer(
            "_kernels", torch.as_tensor(np.concatenate(kernels), dtype=torch.float32)
        )
        self.register_buffer(
            "_baseline",
            torch.as_tensor(rng.uniform(*_SPIKE_BASELINE, len(regions)), dtype=torch.float32),
        )
        self.register_buffer(
            "_gain", torch.as_tensor(rng.uniform(*_SPIKE_GAIN, len(regions)), dtype=torch.float32)
        )

    def readout(self, features):
        """Expected firing rates from precomputed features.

        Parameters
        ----------
        features : dict of str to Tensor

        Returns
        -------
        rates : Tensor of shape (n_images, n_units, n_bins)
            Spikes per second in each time bin.
        """
        drive = torch.cat([readout(features) for readout in self.readouts], dim=1)
        tuning = nn.functional.softplus(2 * drive) / math.log(2)
        return self._baseline[:, None] + (self._gain * tuning)[:, :, None] * self._kernels

    def simulate(self, stimuli, *, n_repetitions=2, noise=None, seed=0):
        """Record Poisson spike counts to a stimulus set.

        Parameters
        ----------
        stimuli : StimulusSet
        n_repetitions : int, default=2
        noise : None
            Spike counts are Poisson; there is no separate noise level.
        seed : int, default=0

        Returns
        -------
        recording : xarray.DataArray of int32
            Dims ``("presentation", "neuroid", "time")``, counts per 10 ms bin.
        """
        return super().simulate(stimuli, n_repetitions=n_repetitions, noise=noise, seed=seed)

    def _valid_noise(self, noise):
        if noise is not None:
            raise ValueError(
                f"'noise' must be None for spikes (counts are Poisson); got {noise!r}."
            )
        return noise

    def _record(self, stimuli, signal, *, n_repetitions, noise, seed):
        order, repetition, coords, rng = self._presentations(stimuli, n_repetitions, seed)
        counts = rng.poisson(signal[order] * SPIKE_BIN).astype(np.int32)
        return responses(
            counts,
            stimuli.stimulus_ids[order],
            modality="spikes",
            subject=self.subject,
            neuroid_ids=self.neuroid_ids,
            times=self.times,
            regions=self.regions,
            repetitions=repetition,
            presentation_coords=coords,
            units="count",
            source=self._source(),
        )


def batched_features(features, images, *, batch_size=_BATCH):
    """Features of many images, computed in batches without gradients.

    Parameters
    ----------
    features : VisualFeatures
    images : ndarray of shape (n_images, 3, height, width)
    batch_size : int, default=64

    Returns
    -------
    dict of str to Tensor
        As returned by ``VisualFeatures``, on its device.
    """
    device = features.gabors.device
    chunks = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            batch = _as_images(images[start : start + batch_size], device)
            chunks.append(features(batch))
    return {stage: torch.cat([chunk[stage] for chunk in chunks]) for stage in chunks[0]}


def _as_images(images, device):
    if not isinstance(images, torch.Tensor):
        images = torch.as_tensor(np.asarray(images))
    if images.ndim != 4 or images.shape[1] != 3:
        raise DimensionError(
            f"'images' must have shape (n_images, 3, height, width) with RGB values in [0, 1]; "
            f"got shape {tuple(images.shape)}."
        )
    if not images.is_floating_point():
        raise TypeError(f"'images' must be floating point in [0, 1]; got dtype {images.dtype}.")
    return images.to(device=device, dtype=torch.float32)


def _voxel_grid(rng, n, depth):
    """Unique voxel indices of one ROI and the receptive-field centres they imply.

    ROIs are boxes 4 voxels deep along y, stacked by ``depth``; a voxel's (x, z) maps
    retinotopically to its receptive-field centre in [0.25, 0.75] (z up = image top).
    """
    side = max(2, math.ceil(math.sqrt(n / 2)))
    flat = rng.choice(side * 4 * side, size=n, replace=False)
    x, y, z = np.unravel_index(flat, (side, 4, side))
    xyz = np.stack([x, y + 4 * depth, z], axis=1)
    jitter = rng.normal(0.0, 0.25 / side, (n, 2))
    centres = 0.25 + 0.5 * np.stack([(x + 0.5) / side, 1 - (z + 0.5) / side], axis=1) + jitter
    return xyz, np.clip(centres, 0.0, 1.0)


def _field(positions, location, spread):
    """Smooth gain of a source at ``location`` on sensors at ``positions``."""
    distance_sq = ((positions - location) ** 2).sum(1)
    return np.exp(-distance_sq / (2 * spread**2))


def _sunflower(n):
    """``n`` evenly spread points in the unit disk, shape (n, 2)."""
    index = np.arange(n) + 0.5
    radius = np.sqrt(index / n)
    angle = index * math.pi * (3 - math.sqrt(5))
    return np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)


def _spike_kernel(onset):
    """Transient plus sustained response in each bin, peak 1, shape (n_bins,)."""
    lag = np.clip(SPIKE_BIN_CENTRES - onset, 0.0, None) / _SPIKE_TRANSIENT
    transient = lag * np.exp(1 - lag)
    sustained = _SPIKE_SUSTAINED * (1 - np.exp(-lag))
    return transient + sustained
