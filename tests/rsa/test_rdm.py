"""RDM computation against rsatoolbox 0.3 ``calc_rdm`` (and scipy for cosine).

Tolerances: float64 computation agrees with rsatoolbox to 1e-10 (absolute); the
default float32 computation to 1e-4 relative to the largest dissimilarity.
"""

import warnings

import numpy as np
import pytest
import scipy.spatial.distance
import torch
import xarray as xr

from neuroalign.data import load, responses, save
from neuroalign.rsa import as_rdms, compute_rdms, noise_precision, rdm_matrices, rdm_stimuli

rsatoolbox = pytest.importorskip("rsatoolbox")
from rsatoolbox.data import Dataset  # noqa: E402
from rsatoolbox.data.noise import prec_from_residuals, prec_from_unbalanced  # noqa: E402
from rsatoolbox.rdm import calc_rdm  # noqa: E402

N_STIMULI, N_RUNS, N_FEATURES = 8, 3, 6


@pytest.fixture
def recording(rng):
    ids = np.tile(np.arange(N_STIMULI), N_RUNS)
    runs = np.repeat(np.arange(N_RUNS), N_STIMULI)
    values = rng.normal(size=(len(ids), N_FEATURES)) + rng.normal(size=(1, N_FEATURES))
    return values, ids, runs


def _reference(values, ids, runs, **kwargs):
    dataset = Dataset(values, obs_descriptors={"conds": ids, "runs": runs})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return calc_rdm(dataset, descriptor="conds", **kwargs).get_vectors()[0]


@pytest.mark.parametrize("method", ["correlation", "euclidean", "mahalanobis", "poisson"])
def test_matches_rsatoolbox(recording, method):
    values, ids, runs = recording
    if method == "poisson":
        values = np.abs(values)
    expected = _reference(values, ids, runs, method=method)
    ours = compute_rdms(values, method=method, stimulus_ids=ids, dtype="float64")
    np.testing.assert_allclose(ours.values[0], expected, atol=1e-10)
    single = compute_rdms(values, method=method, stimulus_ids=ids)
    np.testing.assert_allclose(single.values[0], expected, atol=1e-4 * np.abs(expected).max())


@pytest.mark.parametrize("estimator", ["shrinkage_diag", "shrinkage_eye", "diag"])
@pytest.mark.parametrize("method", ["mahalanobis", "crossnobis"])
def test_estimated_noise_matches_rsatoolbox(recording, method, estimator):
    values, ids, runs = recording
    dataset = Dataset(values, obs_descriptors={"conds": ids, "runs": runs})
    precision = prec_from_unbalanced(dataset, "conds", method=estimator)
    expected = _reference(values, ids, runs, method=method, noise=precision, cv_descriptor="runs")
    ours = compute_rdms(
        values, method=method, stimulus_ids=ids, cv_groups=runs, noise=estimator, dtype="float64"
    )
    np.testing.assert_allclose(ours.values[0], expected, atol=1e-10)


def test_crossnobis_default_folds_and_given_noise(recording, rng):
    values, ids, runs = recording
    precision = np.linalg.inv(np.cov(rng.normal(size=(50, N_FEATURES)), rowvar=False))
    expected = _reference(values, ids, runs, method="crossnobis", noise=precision)
    ours = compute_rdms(
        values, method="crossnobis", stimulus_ids=ids, noise=precision, dtype="float64"
    )
    np.testing.assert_allclose(ours.values[0], expected, atol=1e-10)


@pytest.mark.parametrize("estimator", ["shrinkage_diag", "shrinkage_eye", "diag", "full"])
def test_noise_precision_matches_prec_from_residuals(rng, estimator):
    residuals = rng.normal(size=(40, 5))
    expected = prec_from_residuals(residuals, method=estimator)
    np.testing.assert_allclose(noise_precision(residuals, method=estimator), expected, rtol=1e-10)


def test_cosine_matches_scipy(rng):
    values = rng.normal(size=(7, 5))
    expected = scipy.spatial.distance.pdist(values, "cosine")
    ours = compute_rdms(values, method="cosine", dtype="float64")
    np.testing.assert_allclose(ours.values[0], expected, atol=1e-12)


def test_batched_sources_equal_single_calls(rng):
    layers = rng.normal(size=(4, 9, 30))
    batched = compute_rdms(torch.as_tensor(layers), method="euclidean", dtype="float64")
    tiny_batches = compute_rdms(layers, method="euclidean", dtype="float64", max_memory=20_000)
    for i, layer in enumerate(layers):
        single = compute_rdms(layer, method="euclidean", dtype="float64")
        np.testing.assert_allclose(batched.values[i], single.values[0], atol=1e-12)
        np.testing.assert_allclose(tiny_batches.values[i], single.values[0], atol=1e-12)
    assert batched["source"].values.tolist() == ["0", "1", "2", "3"]


def test_labelled_sources_average_repetitions_and_align_order(rng):
    ids = [f"img{i}" for i in range(6)] * 2
    values = rng.normal(size=(12, 4))
    first = responses(values, ids, modality="fmri", subject="a")
    permutation = rng.permutation(12)
    second = responses(values[permutation], np.array(ids)[permutation], modality="fmri")
    rdms = compute_rdms({"a": first, "b": second})
    assert rdm_stimuli(rdms).tolist() == [f"img{i}" for i in range(6)]
    np.testing.assert_allclose(rdms.values[0], rdms.values[1], atol=1e-6)
    means = values.reshape(2, 6, 4).mean(0)
    expected = scipy.spatial.distance.pdist(means, "correlation")
    np.testing.assert_allclose(rdms.values[0], expected, atol=1e-5)
    assert rdms.attrs["method"] == "correlation"
    assert rdms.stimulus_a.values[0] == "img0" and rdms.stimulus_b.values[0] == "img1"


def test_time_resolved_source_gives_one_rdm_per_time(rng):
    ids = [f"s{i}" for i in range(5)]
    da = responses(rng.normal(size=(5, 3, 4)), ids, modality="eeg", times=[0.0, 0.1, 0.2, 0.3])
    rdms = compute_rdms({"eeg": da}, method="euclidean")
    assert rdms.sizes["source"] == 4
    np.testing.assert_allclose(rdms.time.values, [0.0, 0.1, 0.2, 0.3])
    assert set(rdms.source_name.values.tolist()) == {"eeg"}
    first = compute_rdms(da.values[:, :, 0], method="euclidean")
    np.testing.assert_allclose(rdms.values[0], first.values[0], rtol=1e-6)


def test_save_load_and_square_round_trip(rng, tmp_path):
    rdms = compute_rdms({"V1": rng.normal(size=(6, 4)), "IT": rng.normal(size=(6, 5))})
    loaded = load(save(rdms, tmp_path / "rdms.nc"))
    xr.testing.assert_identical(loaded, rdms)
    square = rdm_matrices(rdms)
    assert square.dims == ("source", "stimulus", "stimulus_other")
    xr.testing.assert_identical(as_rdms(square), rdms)


def test_different_stimulus_sets_are_refused(rng):
    a = responses(rng.normal(size=(4, 3)), ["a", "b", "c", "d"], modality="fmri")
    b = responses(rng.normal(size=(4, 3)), ["a", "b", "c", "e"], modality="fmri")
    with pytest.raises(ValueError, match="different stimulus sets.*'d'.*'e'"):
        compute_rdms({"one": a, "two": b})


def test_fewer_than_three_stimuli_are_refused(rng):
    with pytest.raises(ValueError, match="at least 3 distinct stimuli; got 2"):
        compute_rdms(rng.normal(size=(2, 4)))


def test_nan_distances_name_the_source_and_stimuli(rng):
    values = rng.normal(size=(4, 3))
    values[2] = 1.0
    with pytest.raises(ValueError, match="source '0'.*NaN.*constant response pattern"):
        compute_rdms(values, method="correlation")


def test_crossnobis_needs_repetitions(rng):
    with pytest.raises(ValueError, match="crossnobis needs at least two cross-validation folds"):
        compute_rdms(rng.normal(size=(5, 3)), method="crossnobis")


def test_crossnobis_needs_every_stimulus_in_every_fold(rng):
    ids = [0, 1, 2, 0, 1, 2, 3]
    runs = [0, 0, 0, 1, 1, 1, 1]
    with pytest.raises(ValueError, match="stimulus 3 has no presentation in fold 0"):
        compute_rdms(rng.normal(size=(7, 3)), method="crossnobis", stimulus_ids=ids, cv_groups=runs)


def test_estimated_noise_needs_repetitions(rng):
    with pytest.raises(ValueError, match="shows each stimulus once"):
        compute_rdms(rng.normal(size=(5, 3)), method="mahalanobis", noise="shrinkage_diag")


def test_other_bad_input(rng):
    with pytest.raises(ValueError, match="non-negative"):
        compute_rdms(rng.normal(size=(5, 3)), method="poisson")
    with pytest.raises(ValueError, match="Did you mean 'euclidean'"):
        compute_rdms(rng.normal(size=(5, 3)), method="euclidian")
    with pytest.raises(ValueError, match=r"must have shape \(3, 3\); got \(2, 2\)"):
        compute_rdms(rng.normal(size=(5, 3)), method="mahalanobis", noise=np.eye(2))
