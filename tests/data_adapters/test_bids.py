"""BIDS discovery and one-call loading of the synthetic world written as a BIDS folder.

FIF values are float32: they agree to 1e-6 of the largest absolute value.
"""

import warnings
from pathlib import Path

import numpy as np
import pytest

from data_adapters.bids import find_bids, load_bids
from data_adapters.synthetic_files import write_bids
from neuroalign.exceptions import SchemaError


def test_load_every_datatype(tiny_world, world_files):
    root, _ = world_files
    betas = load_bids(root, datatype="betas")
    assert list(betas) == ["sub-01"]
    fmri = tiny_world.fmri["sub-01"]
    order = np.lexsort((fmri.z.values, fmri.y.values, fmri.x.values))
    np.testing.assert_array_equal(betas["sub-01"].values, fmri.values[:, order])
    np.testing.assert_array_equal(betas["sub-01"].region.values, fmri.region.values[order])
    assert betas["sub-01"].attrs["subject"] == "sub-01"
    eeg = load_bids(root, datatype="eeg")["sub-01"]
    np.testing.assert_array_equal(eeg.stimulus_id.values, tiny_world.eeg.stimulus_id.values)
    meg = load_bids(root, datatype="meg", subjects=["01"], task="view")["sub-01"]
    assert meg.shape == tiny_world.meg.shape
    spikes = load_bids(root, datatype="ecephys")["sub-monkey01"]
    np.testing.assert_array_equal(spikes.values, tiny_world.spikes.values)


def test_bold_runs_of_a_subject_load_together(tiny_world, tmp_path):
    runs = write_bids(tiny_world, tmp_path, n_bold_runs=2)["fmri_bold"]["sub-01"]
    found = find_bids(tmp_path, datatype="func")
    assert [p.name for p in found["sub-01"]] == [
        "sub-01_task-view_run-1_bold.nii.gz",
        "sub-01_task-view_run-2_bold.nii.gz",
    ]
    betas = load_bids(tmp_path, datatype="func", noise_model="ols")["sub-01"]
    assert betas.sizes["presentation"] == 2 * len(tiny_world.stimuli.stimulus_ids)
    assert set(betas.run.values) == {1, 2}
    assert betas.sizes["neuroid"] == runs.truth.sizes["neuroid"]


def test_nothing_found_or_sidecar_missing(world_files, tmp_path):
    root, paths = world_files
    with pytest.raises(SchemaError, match="No 'eeg' files.*subjects=\\['99'\\]"):
        find_bids(root, datatype="eeg", subjects=["99"])
    with pytest.raises(ValueError, match="'datatype' must be one of"):
        find_bids(root, datatype="anat")
    (tmp_path / "sub-02" / "eeg").mkdir(parents=True)
    lonely = tmp_path / "sub-02" / "eeg" / "sub-02_task-view_eeg.edf"
    lonely.write_bytes(Path(paths["eeg"]["recording"]).read_bytes())
    with pytest.raises(SchemaError, match="sub-02_task-view_events.tsv' is missing"):
        load_bids(tmp_path, datatype="eeg")


def test_dataset_written_by_mne_bids(tiny_world, world_files, tmp_path):
    """A BIDS folder written by the reference tool (mne-bids) loads with the right labels."""
    import mne
    from mne_bids import BIDSPath, write_raw_bids

    _, paths = world_files
    raw = mne.io.read_raw_fif(paths["meg"]["recording"], verbose=False)
    bids_path = BIDSPath(subject="01", task="view", run=1, root=tmp_path, datatype="meg")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no digitisation or line frequency in synthetic files
        write_raw_bids(raw, bids_path, verbose=False)
    meg = load_bids(tmp_path, datatype="meg")["sub-01"]
    np.testing.assert_array_equal(meg.stimulus_id.values, tiny_world.meg.stimulus_id.values)
    scale = np.abs(tiny_world.meg.values).max()
    np.testing.assert_allclose(meg.values, tiny_world.meg.values, rtol=0, atol=1e-6 * scale)
