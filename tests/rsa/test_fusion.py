"""Time-resolved RSA and MEG/EEG-fMRI fusion: references, permutations, synthetic latencies."""

import numpy as np
import pytest
import scipy.stats
from conftest import build_responses
from scipy.spatial.distance import pdist, squareform

import neuroalign
from data_adapters.synthetic import make_world
from neuroalign.data import average_repetitions, responses, select_region
from neuroalign.exceptions import DimensionError, EmptyOverlapError
from neuroalign.rsa import as_rdms, fusion, time_resolved_rsa
from neuroalign.rsa._fusion import _permutation_null


def _spearman_rows(a, b):
    return np.array([[scipy.stats.spearmanr(x, y)[0] for y in b] for x in a])


@pytest.fixture
def recordings(rng):
    """MEG (8 stimuli x 2 repetitions, 6 times) and fMRI with 2 regions, 2 extra stimuli."""
    meg = build_responses(rng, n_stimuli=8, n_repetitions=2, n_neuroids=5, n_times=6)
    ids = [f"img_{i:03d}" for i in range(10)] * 2
    fmri = responses(
        rng.standard_normal((20, 7)), ids, modality="fmri", regions=["V1"] * 3 + ["IT"] * 4
    )
    return meg, fmri.isel(presentation=rng.permutation(20))


def test_time_resolved_rsa_matches_scipy(recordings, rng):
    meg, _ = recordings
    averaged = average_repetitions(meg)
    ids = averaged.stimulus_id.values
    order = rng.permutation(8)  # models list the stimuli in another order
    models = rng.random((2, 28))
    labelled = as_rdms(models, stimuli=ids[order], sources=["pixels", "category"])
    with neuroalign.config(dtype="float64"):
        curve = time_resolved_rsa(meg, labelled, device="cpu")
    # Model vectors in the recording's stimulus order.
    back = np.argsort(order)
    in_order = [squareform(squareform(m)[np.ix_(back, back)]) for m in models]
    time_rdms = [pdist(averaged.values[:, :, t], "correlation") for t in range(6)]
    assert curve.dims == ("model", "time") and curve.model.values.tolist() == ["pixels", "category"]
    np.testing.assert_allclose(curve.values, _spearman_rows(in_order, time_rdms), atol=1e-10)
    np.testing.assert_array_equal(curve.time.values, meg.time.values)


def test_fusion_matches_reference_with_shuffled_and_extra_stimuli(recordings):
    meg, fmri = recordings
    with neuroalign.config(dtype="float64"):
        result = fusion(meg, fmri, rdm_method="euclidean", cluster_test=False, device="cpu")
    averaged_meg = average_repetitions(meg)
    ids = averaged_meg.stimulus_id.values
    averaged_fmri = average_repetitions(fmri)
    rows = [list(averaged_fmri.stimulus_id.values).index(s) for s in ids]
    region_rdms = [
        pdist(select_region(averaged_fmri, r).values[rows], "sqeuclidean") for r in ("V1", "IT")
    ]
    time_rdms = [pdist(averaged_meg.values[:, :, t], "sqeuclidean") for t in range(6)]
    assert result.fusion.region.values.tolist() == ["V1", "IT"]
    assert result.fusion.attrs["n_stimuli"] == 8
    np.testing.assert_allclose(
        result.fusion.values, _spearman_rows(region_rdms, time_rdms), atol=1e-10
    )
    assert result.cluster_p is None and result.clusters is None
    with pytest.raises(ValueError, match="cluster_test=False"):
        result.significant()


def test_permutation_null_matches_loop(rng):
    n, seed = 7, 5
    fmri_rdms = rng.random((2, 21))
    meeg_rdms = rng.random((3, 21))
    order = rng.permutation(n)  # M/EEG stimulus i is fMRI stimulus order[i]
    null = _permutation_null(fmri_rdms, meeg_rdms, order, 4, seed, "spearman", "cpu", None)
    shuffles = np.random.default_rng(seed).random((4, n)).argsort(axis=1)
    for p, shuffle in enumerate(shuffles):
        stimuli = order[shuffle]
        permuted = [squareform(squareform(v)[np.ix_(stimuli, stimuli)]) for v in fmri_rdms]
        np.testing.assert_allclose(null[p], _spearman_rows(permuted, meeg_rdms), atol=1e-12)


@pytest.fixture(scope="module")
def world():
    return make_world(seed=0, n_per_category=20)


@pytest.mark.parametrize("modality", ["eeg", "meg"])
def test_fusion_recovers_simulated_latencies(world, modality):
    """Early ROI fusion peaks at the early sources' latency (0.10 s), the late ROI's later.

    Tolerance: peaks within 0.02 s (two samples at 100 Hz) of 0.10 s for the early ROI and
    0.03 s of 0.20 s for the late ROI (its sources are wider, 35 ms vs 20 ms).
    """
    regions = {r: select_region(world.fmri["sub-01"], r) for r in ("early", "late")}
    result = fusion(
        getattr(world, modality),
        regions,
        rdm_method="euclidean",
        n_permutations=200,
        seed=0,
        device="cpu",
    )
    peaks = result.fusion.idxmax("time")
    latencies = world.truth.source_latencies
    assert abs(float(peaks.sel(region="early")) - latencies["early"]) <= 0.02 + 1e-9
    assert abs(float(peaks.sel(region="late")) - latencies["late"]) <= 0.03 + 1e-9
    significant = result.significant(0.05)
    times = result.fusion.time
    for region in ("early", "late"):
        assert bool(significant.sel(region=region, time=peaks.sel(region=region)))
        assert not significant.sel(region=region).where(times < 0.05, False).any()
    assert not bool(significant.sel(region="early", time=0.2))
    assert not bool(significant.sel(region="late", time=0.1))


def test_errors(recordings, rng):
    meg, fmri = recordings
    with pytest.raises(DimensionError, match="must have a 'time' dimension"):
        fusion(fmri, fmri)
    with pytest.raises(DimensionError, match=r"fmri\['V1'\] has a 'time' dimension"):
        fusion(meg, {"V1": meg})
    strangers = responses(rng.standard_normal((4, 2)), list("abcd"), modality="fmri")
    with pytest.raises(EmptyOverlapError, match="share no stimulus_id"):
        fusion(meg, strangers)
    unknown = as_rdms(rng.random((1, 3)), stimuli=["img_000", "img_001", "zzz"])
    with pytest.raises(ValueError, match="'zzz'"):
        time_resolved_rsa(meg, unknown)
    with pytest.raises(ValueError, match="'threshold_p' must be in"):
        fusion(meg, fmri, threshold_p=1.5)
