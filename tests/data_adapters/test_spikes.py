"""Spiking adapters: NWB round trip (exact counts), binning against a direct loop, broken
files, and the Allen Neuropixels pseudo-population from SpykeTools' arrays."""

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pynwb
import pytest

from data_adapters.spikes import bin_spikes, load_nwb, load_spike_arrays
from neuroalign.exceptions import DimensionError, SchemaError

ALLEN = "allen_neuropixels_gratings_spyketools"


def test_nwb_round_trip_is_exact(tiny_world, world_files):
    _, paths = world_files
    loaded = load_nwb(paths["spikes"], window=(-0.1, 0.4), bin_size=0.01)
    expected = tiny_world.spikes
    np.testing.assert_array_equal(loaded.values, expected.values)
    np.testing.assert_allclose(loaded.time.values, expected.time.values, atol=1e-9)
    for coord in ("stimulus_id", "neuroid_id", "region", "run", "category", "repetition"):
        np.testing.assert_array_equal(loaded[coord].values, expected[coord].values)
    assert loaded.attrs["subject"] == expected.attrs["subject"]
    rates = load_nwb(paths["spikes"], output="rates", unit_query="location == 'IT'")
    np.testing.assert_allclose(
        rates.values, expected.values[:, expected.region.values == "IT"] / 0.01, rtol=1e-6
    )


def test_bin_spikes_matches_a_direct_count(rng):
    spike_times = [np.sort(rng.uniform(0, 20, n)) for n in (50, 0, 300)]
    onsets = np.sort(rng.uniform(1, 18, 7))
    da = bin_spikes(spike_times, onsets, list("abcdefg"), window=(-0.2, 0.3), bin_size=0.05)
    edges = -0.2 + 0.05 * np.arange(11)
    for row, onset in enumerate(onsets):
        for unit, times in enumerate(spike_times):
            relative = times - onset
            direct = [
                ((relative >= lo) & (relative < hi)).sum() for lo, hi in zip(edges[:-1], edges[1:])
            ]
            np.testing.assert_array_equal(da.values[row, unit], direct)


def _nwb(path, *, units):
    nwb = pynwb.NWBFile(
        session_description="test",
        identifier="test",
        session_start_time=datetime(2024, 1, 1, tzinfo=timezone.utc),
    )
    nwb.add_trial_column("stimulus_id", "stimulus")
    nwb.add_trial(start_time=1.0, stop_time=1.5, stimulus_id="a")
    if units:
        nwb.add_unit(spike_times=[1.01, 1.2])
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return str(path)


def test_bad_inputs_name_the_file(world_files, tmp_path):
    with pytest.raises(SchemaError, match="no_units.nwb.*no units table"):
        load_nwb(_nwb(tmp_path / "no_units.nwb", units=False))
    ok = _nwb(tmp_path / "ok.nwb", units=True)
    with pytest.raises(SchemaError, match="no 'gratings' table; it has \\['trials'\\]"):
        load_nwb(ok, intervals="gratings")
    with pytest.raises(SchemaError, match="not in 'stimuli'"):
        load_nwb(ok, stimuli=["b"])
    _, paths = world_files
    truncated = tmp_path / "truncated.nwb"
    truncated.write_bytes(Path(paths["spikes"]).read_bytes()[:4000])
    with pytest.raises(SchemaError, match="(?s)truncated.nwb.*truncated or corrupt"):
        load_nwb(str(truncated))
    with pytest.raises(ValueError, match="whole number of bins"):
        load_nwb(ok, window=(0, 0.25), bin_size=0.1)
    with pytest.raises(DimensionError, match="do not belong together"):
        load_spike_arrays(np.zeros(3), np.full((1, 1, 2), 5), ["a"])


def test_allen_pseudo_population(shared_dataset):
    folder = shared_dataset(ALLEN)
    da = load_spike_arrays(
        str(folder / "spike_times.npy"),
        str(folder / "ii_spike_times.npy"),
        str(folder / "stim_label.npy"),
        window=(0.0, 0.1),
        bin_size=0.01,
    )
    index = np.load(folder / "ii_spike_times.npy")
    assert da.shape == (200, 1000, 10)
    np.testing.assert_array_equal(da.values.sum(-1), index[..., 1] - index[..., 0])
    assert sorted(set(da.stimulus_id.values)) == ["0", "135", "45", "90"]
    # README: population PSTH in 10-ms bins, spikes/s per neuron, to one decimal.
    psth = da.values.mean(axis=(0, 1)) / 0.01
    published = [4.6, 4.5, 4.4, 4.4, 5.7, 9.6, 11.5, 11.6, 10.7, 9.8]
    np.testing.assert_allclose(psth, published, atol=0.05)
