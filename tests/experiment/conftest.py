"""A tiny experiment: a toy adapter, a saved two-layer model, six units."""

import numpy as np
import pytest

from neuroalign.data import activations, responses, save

N_STIMULI = 15


def _toy_world(seed):
    rng = np.random.default_rng(seed)
    ids = [f"img_{i:02d}" for i in range(N_STIMULI)]
    features = rng.standard_normal((N_STIMULI, 8))
    layers = {
        name: activations(features @ rng.standard_normal((8, 10)), ids, model="toy", layer=name)
        for name in ("early", "late")
    }
    signal = np.concatenate([features @ rng.standard_normal((8, 6))] * 2)
    fmri = responses(
        signal + rng.standard_normal(signal.shape),
        ids * 2,
        modality="fmri",
        subject="sub-01",
        regions=["V1"] * 3 + ["IT"] * 3,
    )
    eeg = responses(
        rng.standard_normal((2 * N_STIMULI, 4, 5)),
        ids * 2,
        modality="eeg",
        subject="sub-01",
        times=np.linspace(0.0, 0.4, 5),
        presentation_coords={"category": np.array(["a", "b", "c"] * 10)},
    )
    return layers, {"fmri": {"sub-01": fmri}, "eeg": {"sub-01": eeg}}


class ToyAdapter:
    """A loader that counts its calls, to show that bad configs fail before any load."""

    def __init__(self, seed=0):
        self.calls = 0
        self.data = _toy_world(seed)[1]

    def __call__(self, kind):
        self.calls += 1
        return self.data[kind]


@pytest.fixture
def toy_adapter():
    return ToyAdapter()


@pytest.fixture
def activations_file(tmp_path):
    return save(_toy_world(0)[0], tmp_path / "toy.zarr")


@pytest.fixture
def config(activations_file):
    return {
        "name": "toy",
        "seed": 1,
        "device": "cpu",
        "sources": {
            "fmri": {"adapter": "toy", "options": {"kind": "fmri"}},
            "eeg": {"adapter": "toy", "options": {"kind": "eeg"}},
        },
        "models": {"toy": {"activations": str(activations_file)}},
        "analyses": [
            {"method": "encoding", "sources": ["fmri"], "cv": 3, "n_bootstrap": 10},
            {"method": "rsa", "sources": ["fmri", "eeg"], "options": {"rdm_method": "euclidean"}},
            {"method": "decoding", "sources": ["eeg"], "target": "category", "cv": 3},
        ],
        "figures": False,
        "report": False,
    }
