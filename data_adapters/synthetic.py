"""The built-in synthetic world: procedural stimuli and simulated subjects with known truth.

A seeded world of textured, coloured shapes (:func:`make_stimuli`) seen by
image-computable, differentiable simulated subjects:

- fMRI voxels in ROIs ``early`` (local oriented energy), ``mid`` (colour and
  curvature) and ``late`` (category) -- :class:`FMRISubject`, :func:`simulate_fmri`;
- EEG/MEG sensors mixing early (0.10 s) and late (0.20 s) sources --
  :class:`MEEGSubject`, :func:`simulate_eeg`, :func:`simulate_meg`;
- Poisson spiking units in V1, V4 and IT -- :class:`SpikingSubject`,
  :func:`simulate_spikes`.

:func:`make_world` bundles stimuli, recordings, simulators and the
:class:`GroundTruth`, so analyses can be checked against what is known to be there.
:func:`load` is the adapter that experiments reach by the name ``synthetic``.
"""

from data_adapters._synthetic_features import VisualFeatures
from data_adapters._synthetic_load import KINDS, load
from data_adapters._synthetic_stimuli import CATEGORIES, StimulusSet, make_stimuli
from data_adapters._synthetic_subjects import (
    FMRISubject,
    MEEGSubject,
    SimulatedSubject,
    SpikingSubject,
)
from data_adapters._synthetic_world import (
    GroundTruth,
    World,
    make_world,
    simulate_eeg,
    simulate_fmri,
    simulate_meg,
    simulate_spikes,
)

__all__ = [
    "CATEGORIES",
    "KINDS",
    "FMRISubject",
    "GroundTruth",
    "MEEGSubject",
    "SimulatedSubject",
    "SpikingSubject",
    "StimulusSet",
    "VisualFeatures",
    "load",
    "World",
    "make_stimuli",
    "make_world",
    "simulate_eeg",
    "simulate_fmri",
    "simulate_meg",
    "simulate_spikes",
]
