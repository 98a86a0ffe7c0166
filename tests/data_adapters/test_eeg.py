"""EEG/MEG adapter on real files: EDF and FIF round trips, MNE objects, real EDF and CSV data.

Tolerances: FIF stores float32, so values agree to 1e-6 of the largest absolute value.
EDF stores 16-bit integers: each value may move by up to one quantisation step of its
channel, (physical range) / (digital range), read from the file's own header.
"""

from pathlib import Path

import edfio
import mne
import numpy as np
import pytest

from data_adapters.eeg import load_epochs, read_muse_csv
from neuroalign.exceptions import SchemaError

EEGMMIDB = "physionet_eegmmidb_S001_motor_imagery"
MUSE = "eegnotebooks_n170_muse_faces_houses"


def test_edf_round_trip_within_one_quantisation_step(tiny_world, world_files):
    _, paths = world_files
    loaded = load_epochs(paths["eeg"]["recording"], events=paths["eeg"]["events"])
    expected = tiny_world.eeg
    edf = edfio.read_edf(paths["eeg"]["recording"])
    steps = {
        signal.label: (signal.physical_max - signal.physical_min)
        / (signal.digital_max - signal.digital_min)
        for signal in edf.signals
    }
    step = np.array([steps[name] for name in loaded.neuroid_id.values])
    error = np.abs(loaded.values - expected.values).max(axis=(0, 2))
    assert (error <= step * 1.0001).all()
    np.testing.assert_allclose(loaded.time.values, expected.time.values, atol=1e-9)
    np.testing.assert_array_equal(loaded.stimulus_id.values, expected.stimulus_id.values)
    np.testing.assert_array_equal(loaded.neuroid_id.values, expected.neuroid_id.values)
    np.testing.assert_array_equal(loaded.run.values, expected.run.values)
    np.testing.assert_array_equal(loaded.category.values, expected.category.values)
    assert loaded.attrs["units"] == expected.attrs["units"] == "uV"


def test_fif_round_trip_meg(tiny_world, world_files):
    _, paths = world_files
    loaded = load_epochs(paths["meg"]["recording"], events=paths["meg"]["events"])
    expected = tiny_world.meg
    scale = np.abs(expected.values).max()
    np.testing.assert_allclose(loaded.values, expected.values, rtol=0, atol=1e-6 * scale)
    assert loaded.attrs["modality"] == "meg" and loaded.attrs["units"] == "fT"
    assert (loaded.ch_type.values == "mag").all()
    np.testing.assert_array_equal(loaded.stimulus_id.values, expected.stimulus_id.values)


def test_annotations_epochs_objects_and_options(tiny_world, world_files):
    _, paths = world_files
    from_annotations = load_epochs(paths["meg"]["recording"])
    np.testing.assert_array_equal(
        from_annotations.stimulus_id.values, tiny_world.meg.stimulus_id.values
    )
    raw = mne.io.read_raw_fif(paths["meg"]["recording"], preload=True, verbose=False)
    events, event_id = mne.events_from_annotations(raw, verbose=False)
    epochs = mne.Epochs(raw, events, event_id, tmin=-0.1, tmax=0.5, baseline=None, verbose=False)
    from_epochs = load_epochs(epochs)
    np.testing.assert_array_equal(from_epochs.values, from_annotations.values)
    np.testing.assert_array_equal(
        from_epochs.stimulus_id.values, from_annotations.stimulus_id.values
    )
    reduced = load_epochs(
        paths["meg"]["recording"], picks=["MEG0001", "MEG0002"], resample=50.0, units="SI"
    )
    reference = epochs.copy().load_data().pick(["MEG0001", "MEG0002"]).resample(50.0)
    assert reduced.attrs["units"] == "T"
    np.testing.assert_allclose(reduced.values, reference.get_data(), rtol=1e-6, atol=0)
    np.testing.assert_allclose(reduced.time.values, reference.times, atol=1e-9)


def test_bad_inputs_name_the_file(world_files, tmp_path):
    _, paths = world_files
    data = Path(paths["eeg"]["recording"]).read_bytes()
    broken = tmp_path / "broken_eeg.edf"
    broken.write_bytes(data[:200])
    with pytest.raises(SchemaError, match="(?s)broken_eeg.edf.*truncated or corrupt"):
        load_epochs(str(broken))
    with pytest.raises(SchemaError, match="not in 'stimuli'"):
        load_epochs(paths["eeg"]["recording"], stimuli=["stim_0000"])
    with pytest.raises(FileNotFoundError, match="'path'.*missing.fif"):
        load_epochs(str(tmp_path / "missing.fif"))


def test_eegmmidb_edf(shared_dataset):
    path = shared_dataset(EEGMMIDB) / "S001R04.edf"
    epochs = load_epochs(str(path), tmin=0.0, tmax=4.0)
    raw = mne.io.read_raw_edf(path, verbose=False)
    described = np.asarray(raw.annotations.description)
    assert epochs.sizes == {"presentation": len(described), "neuroid": 64, "time": 641}
    np.testing.assert_array_equal(epochs.stimulus_id.values, described)
    assert (epochs.stimulus_id.values == "T0").sum() == 15
    # The stored unit is uV; MNE reads volts and the adapter reports uV again: the values
    # equal MNE's own epochs of the same events, scaled to uV, exactly.
    raw.load_data()
    events, _ = mne.events_from_annotations(raw, verbose=False)
    reference = mne.Epochs(
        raw, events, tmin=0.0, tmax=4.0, baseline=None, preload=True, verbose=False
    ).get_data()
    np.testing.assert_allclose(epochs.values, reference * 1e6, rtol=1e-12, atol=0)
    assert epochs.attrs["units"] == "uV"


def test_muse_csv_faces_and_houses(shared_dataset):
    folder = shared_dataset(MUSE)
    first = sorted(folder.glob("*.csv"))[0]
    raw = read_muse_csv(str(first))
    assert raw.ch_names == ["TP9", "AF7", "AF8", "TP10", "Right AUX", "stim"]
    epochs = load_epochs(
        str(first),
        stim_channel="stim",
        event_id={"house": 1, "face": 2},
        tmin=-0.1,
        tmax=0.8,
        picks=["TP9", "AF7", "AF8", "TP10"],
    )
    # README: markers in the first file are 108 houses and 89 faces.
    counts = {name: int((epochs.stimulus_id == name).sum()) for name in ("house", "face")}
    assert counts == {"house": 108, "face": 89}
    assert epochs.sizes["neuroid"] == 4 and epochs.attrs["units"] == "uV"
