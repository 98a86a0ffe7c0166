"""Decoding recovers the synthetic world's ground truth."""

import numpy as np
import pytest
import torch

from neuroalign.data import activations, select_region
from neuroalign.decoding import decode, decoding_permutation_test

synthetic = pytest.importorskip("data_adapters.synthetic")


@pytest.fixture(scope="module")
def world():
    return synthetic.make_world(seed=0, quick=True, n_subjects=1, n_per_category=20)


def onset(result, chance, margin=0.1):
    """First time at which the mean score exceeds chance by ``margin``."""
    mean = result.mean
    return float(mean.time[mean > chance + margin][0])


def test_decoding_onsets_follow_the_source_latencies(world):
    eeg = world.eeg
    subject = world.subjects["eeg"]["sub-01"]
    with torch.no_grad():
        amplitudes = subject.source_amplitudes(
            world.features(torch.as_tensor(world.stimuli.images))
        )
    early = [i for i, name in enumerate(subject.sources) if name.startswith("early")]
    drive = amplitudes[:, early].sum(1).numpy()
    # Label: is the stimulus's early-source drive above the median?
    strong = dict(zip(world.stimuli.stimulus_ids, drive > np.median(drive)))
    labels = np.array([strong[i] for i in eeg.stimulus_id.values])
    early_result = decode(eeg, labels, cv=4, classifier="lda", device="cpu")
    late_result = decode(eeg, "category", cv=4, classifier="lda", device="cpu")
    latencies = world.truth.source_latencies
    early_peak = float(early_result.mean.idxmax("time"))
    late_peak = float(late_result.mean.idxmax("time"))
    # Peaks within 20 ms of the simulated source latencies (0.10 s and 0.20 s).
    assert abs(early_peak - latencies["early"]) <= 0.02
    assert abs(late_peak - latencies["late"]) <= 0.02
    # Category decoding starts after the early sources peak and before the late ones do.
    late_onset = onset(late_result, 0.5, margin=0.15)
    assert latencies["early"] < late_onset <= latencies["late"]
    # Before stimulus onset nothing is decodable.
    for result in (early_result, late_result):
        assert float(result.mean.sel(time=slice(None, 0.0)).max()) < 0.7


def test_identification_from_the_late_region(world):
    fmri = world.fmri["sub-01"]
    with torch.no_grad():
        late = world.features(torch.as_tensor(world.stimuli.images))["late"].numpy()
    target = activations(late, world.stimuli.stimulus_ids, model="truth", layer="late")
    scores = {
        region: decode(
            select_region(fmri, region), target, scoring="identification", cv=4, device="cpu"
        ).mean
        for region in ("early", "late")
    }
    assert scores["late"] > 0.8
    assert scores["late"] > scores["early"]


def test_permutation_clusters_cover_the_late_window(world):
    eeg = world.eeg.isel(time=slice(10, 40))  # 0.0 to 0.29 s
    result = decoding_permutation_test(
        eeg.values,
        eeg.category.values,
        groups=eeg.stimulus_id.values,
        n_permutations=39,
        cv=4,
        seed=0,
        device="cpu",
    )
    significant = eeg.time.values[result.clusters.significant(0.05)]
    assert significant.size and significant.min() < 0.2 < significant.max()
    assert significant.min() > 0.1


def test_late_features_are_identified_from_the_eeg_at_the_late_latency(world):
    eeg = world.eeg
    with torch.no_grad():
        late = world.features(torch.as_tensor(world.stimuli.images))["late"].numpy()
    target = activations(late, world.stimuli.stimulus_ids, model="truth", layer="late")
    result = decode(eeg, target, scoring="identification", cv=5, device="cpu")
    assert result.scores.dims == ("fold", "time")
    mean = result.mean
    # Peaks within 20 ms of the late sources' latency, well above chance (0.5), and
    # nothing is identified before stimulus onset.
    assert abs(float(mean.idxmax("time")) - world.truth.source_latencies["late"]) <= 0.02
    assert float(mean.max()) > 0.75
    assert float(mean.sel(time=slice(None, 0.0)).max()) < 0.65
