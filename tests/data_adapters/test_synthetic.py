"""The synthetic world: determinism, schema, and that its ground truth is really there."""

import json

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score

from data_adapters.synthetic import (
    CATEGORIES,
    FMRISubject,
    MEEGSubject,
    SpikingSubject,
    make_stimuli,
    make_world,
    simulate_eeg,
    simulate_fmri,
    simulate_meg,
    simulate_spikes,
)
from neuroalign.data import average_repetitions, validate
from neuroalign.exceptions import DimensionError


@pytest.fixture(scope="module")
def world():
    """100 stimuli, quick-sized recordings: enough for cross-validated decoding."""
    return make_world(quick=True, n_per_category=20, seed=0)


def _small_world(seed):
    return make_world(quick=True, n_per_category=2, n_subjects=2, seed=seed)


# --- stimuli -------------------------------------------------------------------------------


def test_make_stimuli_shapes_values_and_metadata():
    stimuli = make_stimuli(3, image_size=48, seed=1)
    n = 3 * len(CATEGORIES)
    assert stimuli.images.shape == (n, 3, 48, 48)
    assert stimuli.images.dtype == np.float32
    assert stimuli.images.min() >= 0.0 and stimuli.images.max() <= 1.0
    assert len(stimuli) == n and stimuli.categories == CATEGORIES
    assert list(stimuli.stimulus_ids[:2]) == ["stim_0000", "stim_0001"]
    assert len(set(stimuli.stimulus_ids)) == n
    expected = {
        "stimulus_id",
        "category",
        "hue",
        "saturation",
        "value",
        "size",
        "x",
        "y",
        "orientation",
        "texture_frequency",
        "texture_orientation",
        "texture_phase",
        "background",
    }
    assert expected <= set(stimuli.metadata.columns)
    assert stimuli.metadata["category"].value_counts().to_dict() == dict.fromkeys(CATEGORIES, 3)
    np.testing.assert_array_equal(
        np.array(CATEGORIES)[stimuli.labels], stimuli.metadata["category"].to_numpy()
    )


def test_make_stimuli_is_deterministic_for_a_seed():
    first, again, other = make_stimuli(2, seed=3), make_stimuli(2, seed=3), make_stimuli(2, seed=4)
    np.testing.assert_array_equal(first.images, again.images)
    assert first.metadata.equals(again.metadata)
    assert not np.array_equal(first.images, other.images)


def test_objects_differ_from_the_grey_background():
    stimuli = make_stimuli(2, seed=0)
    chroma = np.abs(stimuli.images - stimuli.images.mean(1, keepdims=True)).max(1)
    # every image holds a coloured object covering at least 1% of the pixels
    assert ((chroma > 0.1).mean((1, 2)) > 0.01).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_per_category": 0}, "'n_per_category' must be >= 1; got 0"),
        ({"image_size": 8}, "'image_size' must be >= 16; got 8"),
    ],
)
def test_make_stimuli_rejects_bad_sizes(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_stimuli(**kwargs)


# --- world: determinism and schema ------------------------------------------------------------


def test_world_is_deterministic_for_a_seed():
    first, again, other = _small_world(0), _small_world(0), _small_world(1)
    for name in ("eeg", "meg", "spikes"):
        np.testing.assert_array_equal(getattr(first, name).values, getattr(again, name).values)
        assert not np.array_equal(getattr(first, name).values, getattr(other, name).values)
    for subject in first.fmri:
        np.testing.assert_array_equal(first.fmri[subject].values, again.fmri[subject].values)
        np.testing.assert_array_equal(
            first.fmri[subject].stimulus_id.values, again.fmri[subject].stimulus_id.values
        )
    assert not np.array_equal(first.fmri["sub-01"].values, other.fmri["sub-01"].values)


def test_subjects_differ_in_tuning_and_noise(world):
    first, second = world.fmri["sub-01"], world.fmri["sub-02"]
    assert first.shape == second.shape
    assert not np.allclose(first.values, second.values)


def test_fmri_recording_follows_the_schema(world):
    da = world.fmri["sub-02"]
    validate(da)
    n_stimuli = len(world.stimuli)
    assert da.dims == ("presentation", "neuroid")
    assert da.sizes == {"presentation": 2 * n_stimuli, "neuroid": 90}
    assert da.attrs["modality"] == "fmri" and da.attrs["subject"] == "sub-02"
    assert {"units", "source"} <= set(da.attrs)
    for coord in (
        "stimulus_id",
        "repetition",
        "run",
        "category",
        "neuroid_id",
        "region",
        "x",
        "y",
        "z",
    ):
        assert coord in da.coords
    assert sorted(set(da.region.values)) == ["early", "late", "mid"]
    counts = np.unique(da.stimulus_id.values, return_counts=True)[1]
    assert (counts == 2).all() and set(da.run.values) == {1, 2}
    xyz = np.stack([da.x.values, da.y.values, da.z.values], axis=1)
    assert len(np.unique(xyz, axis=0)) == da.sizes["neuroid"]


def test_eeg_meg_and_spike_recordings_follow_the_schema(world):
    for da, modality in ((world.eeg, "eeg"), (world.meg, "meg"), (world.spikes, "spikes")):
        validate(da)
        assert da.dims == ("presentation", "neuroid", "time")
        assert da.attrs["modality"] == modality
        assert np.all(np.diff(da.time.values) > 0)
    assert world.eeg.sizes["neuroid"] == 32 and set(world.eeg.ch_type.values) == {"eeg"}
    assert world.eeg.time.values[0] == pytest.approx(-0.1)
    assert world.eeg.time.values[-1] == pytest.approx(0.5)
    assert set(world.meg.ch_type.values) == {"mag"} and world.meg.attrs["units"] == "fT"
    assert sorted(set(world.spikes.region.values)) == ["IT", "V1", "V4"]
    assert world.spikes.attrs["units"] == "count"


def test_spikes_are_non_negative_integers(world):
    counts = world.spikes.values
    assert np.issubdtype(counts.dtype, np.integer)
    assert counts.min() >= 0 and counts.sum() > 0


def test_simulate_functions_match_the_world_layout():
    stimuli = make_stimuli(1, seed=2)
    n = len(stimuli)
    assert simulate_fmri(stimuli, n_voxels_per_region=3, n_repetitions=3).shape == (3 * n, 9)
    assert simulate_eeg(stimuli, n_repetitions=1).shape == (n, 32, 61)
    assert simulate_meg(stimuli, n_channels=10, n_repetitions=1).shape == (n, 10, 61)
    assert simulate_spikes(stimuli, n_units_per_region=2, n_repetitions=1).shape == (n, 6, 50)


def test_ground_truth_is_json_serialisable(world):
    truth = world.truth.to_dict()
    assert json.loads(json.dumps(truth)) == truth
    assert truth["fmri_regions"] == {"early": "early", "mid": "mid", "late": "late"}
    assert truth["source_latencies"]["early"] < truth["source_latencies"]["late"]
    assert set(world.subjects) == {"fmri", "eeg", "meg", "spikes"}


# --- ground truth holds in the simulated data --------------------------------------------------


def _decoding_accuracy(da, region):
    averaged = average_repetitions(da)
    X = averaged.sel(neuroid=averaged.region == region).values
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    return cross_val_score(
        LogisticRegression(max_iter=1000), X, averaged.category.values, cv=cv
    ).mean()


def test_late_roi_separates_categories_and_early_roi_does_not(world):
    # Chance is 0.2 (5 balanced categories, 100 stimuli). Over seeds 0-5 the late ROI
    # decodes at 0.99-1.0 and the early ROI at 0.15-0.32; the thresholds leave a wide
    # margin on both sides (0.45 is ~6 binomial standard errors above chance).
    assert _decoding_accuracy(world.fmri["sub-01"], "late") >= 0.9
    assert _decoding_accuracy(world.fmri["sub-01"], "early") <= 0.45


def test_eeg_late_source_peaks_after_the_early_source(world):
    simulator = world.subjects["eeg"]["sub-01"]
    gains = np.abs(simulator.leadfield)
    is_early = np.array([world.truth.meeg_sources[s] == "early" for s in simulator.sources])
    ratio = gains[:, is_early].sum(1) / gains[:, ~is_early].sum(1)
    evoked = world.eeg.mean("presentation").values
    times = world.eeg.time.values

    def peak(channels):
        return times[np.sqrt((evoked[channels] ** 2).mean(0)).argmax()]

    early_peak, late_peak = peak(np.argsort(ratio)[-4:]), peak(np.argsort(ratio)[:4])
    latencies = world.truth.source_latencies
    # peaks are read at 10 ms resolution from noisy trial averages
    assert early_peak == pytest.approx(latencies["early"], abs=0.02)
    assert late_peak == pytest.approx(latencies["late"], abs=0.03)
    assert late_peak > early_peak


def test_spiking_regions_respond_in_hierarchical_order(world):
    psth = world.spikes.mean("presentation")
    peaks = {
        region: float(
            psth.time[psth.sel(neuroid=psth.region == region).mean("neuroid").argmax("time")]
        )
        for region in ("V1", "V4", "IT")
    }
    assert peaks["V1"] < peaks["V4"] < peaks["IT"]
    for region, onset in world.truth.spike_onsets.items():
        assert onset < peaks[region] < onset + 0.06


def test_noiseless_simulation_equals_respond(world):
    stimuli = make_stimuli(1, seed=7)
    simulator = world.subjects["fmri"]["sub-01"]
    recording = simulator.simulate(stimuli, n_repetitions=1, noise=0.0)
    expected = simulator.respond(torch.from_numpy(stimuli.images)).detach().numpy()
    order = np.searchsorted(stimuli.stimulus_ids, recording.stimulus_id.values)
    np.testing.assert_allclose(recording.values, expected[order], rtol=1e-5, atol=1e-5)


# --- differentiable simulators -----------------------------------------------------------------


@pytest.mark.parametrize("modality", ["fmri", "eeg", "meg", "spikes"])
@pytest.mark.parametrize("size", [64, 40])
def test_respond_is_differentiable(world, modality, size):
    simulator = next(iter(world.subjects[modality].values()))
    images = torch.nn.functional.interpolate(
        torch.from_numpy(world.stimuli.images[:3]), size=size
    ).requires_grad_(True)
    output = simulator.respond(images)
    assert output.shape[0] == 3 and torch.isfinite(output).all()
    output[:, 0].sum().backward()
    assert torch.isfinite(images.grad).all()
    assert images.grad.abs().sum() > 0


def test_late_roi_gradient_raises_its_activation(world):
    simulator = world.subjects["fmri"]["sub-01"]
    late = torch.as_tensor(simulator.regions == "late")
    images = torch.from_numpy(world.stimuli.images[:4]).requires_grad_(True)
    before = simulator.respond(images)[:, late].mean()
    before.backward()
    with torch.no_grad():
        after = simulator.respond(images + 0.01 * images.grad.sign())[:, late].mean()
    assert after > before


def test_respond_rejects_images_of_the_wrong_shape(world):
    with pytest.raises(DimensionError, match=r"'images' must have shape \(n_images, 3"):
        world.subjects["fmri"]["sub-01"].respond(torch.rand(2, 1, 64, 64))


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: FMRISubject(n_voxels_per_region=0), "'n_voxels_per_region' must be >= 1"),
        (lambda: FMRISubject(seed=-1), "'seed' must be a non-negative integer; got -1"),
        (lambda: MEEGSubject(modality="ieeg"), "'modality' must be 'eeg' or 'meg'; got 'ieeg'"),
        (lambda: MEEGSubject(n_channels=64), "'n_channels' must be None or 32 for EEG"),
        (lambda: SpikingSubject(subject=""), "'subject' must be a non-empty string"),
    ],
)
def test_simulators_reject_bad_arguments(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_simulate_rejects_bad_noise(world):
    stimuli = make_stimuli(1)
    with pytest.raises(ValueError, match="'noise' must be a finite number >= 0; got -1"):
        world.subjects["fmri"]["sub-01"].simulate(stimuli, noise=-1)
    with pytest.raises(ValueError, match="'noise' must be None for spikes"):
        world.subjects["spikes"]["monkey-01"].simulate(stimuli, noise=1.0)
