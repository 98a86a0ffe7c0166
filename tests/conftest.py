"""Shared fixtures: a seeded generator and small builders of schema objects."""

import numpy as np
import pytest

from neuroalign.data import activations, responses


def build_responses(rng, *, n_stimuli=6, n_repetitions=2, n_neuroids=4, n_times=None, **kwargs):
    """Simulated recording: each stimulus shown ``n_repetitions`` times, interleaved."""
    ids = [f"img_{i:03d}" for i in range(n_stimuli)] * n_repetitions
    shape = (len(ids), n_neuroids) + ((n_times,) if n_times else ())
    kwargs.setdefault("modality", "eeg" if n_times else "fmri")
    times = np.linspace(-0.1, 0.5, n_times) if n_times else None
    return responses(rng.standard_normal(shape), ids, times=times, **kwargs)


def build_activations(rng, *, n_stimuli=6, n_units=5, layer="conv1"):
    """One network layer with one row per stimulus."""
    ids = [f"img_{i:03d}" for i in range(n_stimuli)]
    return activations(rng.standard_normal((n_stimuli, n_units)), ids, model="net", layer=layer)


@pytest.fixture
def rng():
    return np.random.default_rng(42)
