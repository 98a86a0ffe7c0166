"""The adapters are registered in the ``neuroalign.adapters`` entry-point group and work when
called by name with plain, YAML-able options (as the experiment runner calls them)."""

from importlib.metadata import entry_points

import numpy as np
import pytest

from neuroalign.data import validate

ADAPTERS = {
    "fmri_betas": "data_adapters.fmri:load_betas",
    "fmri_bold": "data_adapters.fmri:load_bold",
    "fmri_surface": "data_adapters.fmri:load_surface",
    "eeg": "data_adapters.eeg:load_epochs",
    "meg": "data_adapters.eeg:load_epochs",
    "nwb": "data_adapters.spikes:load_nwb",
    "spike_arrays": "data_adapters.spikes:load_spike_arrays",
    "bids": "data_adapters.bids:load_bids",
}


def _registry():
    return {ep.name: ep for ep in entry_points(group="neuroalign.adapters")}


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_adapter_is_registered(name):
    registry = _registry()
    assert name in registry, "run `pip install -e .` to register the entry points"
    assert registry[name].value == ADAPTERS[name]
    assert callable(registry[name].load())


def test_adapters_by_name_with_plain_options(tiny_world, world_files):
    root, paths = world_files
    registry = _registry()
    betas = paths["fmri_betas"]["sub-01"]
    fmri = registry["fmri_betas"].load()(
        path=betas["betas"], stimuli=betas["stimuli"], atlas=betas["atlas"], subject="sub-01"
    )
    eeg = registry["eeg"].load()(path=paths["eeg"]["recording"], events=paths["eeg"]["events"])
    spikes = registry["nwb"].load()(path=paths["spikes"], window=[-0.1, 0.4], bin_size=0.01)
    subjects = registry["bids"].load()(root=str(root), datatype="meg")
    for da in (fmri, eeg, spikes, *subjects.values()):
        validate(da)
    np.testing.assert_array_equal(spikes.values, tiny_world.spikes.values)
    assert subjects["sub-01"].attrs["modality"] == "meg"
