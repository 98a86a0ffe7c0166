"""similarity_scores: labelled front door, alignment, batched bootstrap."""

import numpy as np
import pytest
import torch
from conftest import build_activations, build_responses

from neuroalign.data import activations, average_repetitions
from neuroalign.exceptions import DimensionError, EmptyOverlapError, SchemaError
from neuroalign.similarity import (
    cca_similarity,
    linear_cka,
    procrustes_distance,
    rbf_cka,
    similarity_scores,
    svcca,
)

REFERENCES = {
    "cka": lambda x, y: linear_cka(x, y, dtype="float64"),
    "rbf_cka": lambda x, y: rbf_cka(x, y, bandwidth=0.8, dtype="float64"),
    "procrustes": lambda x, y: procrustes_distance(x, y, alpha=0.5),
    "procrustes_euclidean": lambda x, y: procrustes_distance(x, y, alpha=0.5, metric="euclidean"),
    "cca": cca_similarity,
    "svcca": lambda x, y: svcca(x, y, variance=0.9),
}
OPTIONS = {"alpha": 0.5, "bandwidth": 0.8, "variance": 0.9, "dtype": "float64", "device": "cpu"}


@pytest.fixture
def world(rng):
    layers = {
        name: build_activations(rng, n_stimuli=20, n_units=units, layer=name)
        for name, units in (("conv1", 6), ("fc", 3))
    }
    brain = build_responses(rng, n_stimuli=20, n_repetitions=3, n_neuroids=4, subject="s1")
    shuffled = brain.isel(presentation=rng.permutation(brain.sizes["presentation"]))
    return layers, shuffled


def test_table_layout_and_scores_match_arrays(world):
    layers, brain = world
    table = similarity_scores(layers, brain, method="cka", device="cpu", dtype="float64")
    assert list(table.columns) == [
        "source_a",
        "source_b",
        "method",
        "score",
        "ci_low",
        "ci_high",
        "n_stimuli",
    ]
    assert table[["source_a", "source_b"]].values.tolist() == [["conv1", "s1"], ["fc", "s1"]]
    assert (table.n_stimuli == 20).all() and table.ci_low.isna().all()
    averaged = average_repetitions(brain)
    position = {s: i for i, s in enumerate(averaged.stimulus_id.values)}
    for row, layer in zip(table.itertuples(), layers.values()):
        rows = [position[s] for s in layer.stimulus_id.values]
        expected = linear_cka(layer.values, averaged.values[rows], dtype="float64")
        assert row.score == pytest.approx(float(expected), abs=1e-12)


def test_partial_overlap_keeps_shared_stimuli(world, rng):
    layers, brain = world
    subset = {name: da.isel(presentation=slice(3, None)) for name, da in layers.items()}
    table = similarity_scores(brain, subset, method="procrustes", device="cpu")
    assert (table.n_stimuli == 17).all()
    assert table.source_a.tolist() == ["s1", "s1"]


def test_model_to_model_diagonal_is_one(world):
    layers, _ = world
    table = similarity_scores(layers, layers, method="cka", device="cpu")
    same = table[table.source_a == table.source_b]
    np.testing.assert_allclose(same.score, 1.0, atol=1e-6)


@pytest.mark.parametrize("method", sorted(REFERENCES))
def test_batched_bootstrap_equals_loop_over_samples(world, method):
    layers, brain = world
    n_bootstrap, seed = 6, 3
    table = similarity_scores(
        layers, brain, method=method, bootstrap=n_bootstrap, seed=seed, ci=0.8, **OPTIONS
    )
    averaged = average_repetitions(brain)
    position = {s: i for i, s in enumerate(averaged.stimulus_id.values)}
    # Same draw as the implementation (and neuroalign.stats.bootstrap_scores).
    indices = (np.random.default_rng(seed).random((n_bootstrap, 20)) * 20).astype(int)
    for row, layer in zip(table.itertuples(), layers.values()):
        y = averaged.values[[position[s] for s in layer.stimulus_id.values]]
        reference = REFERENCES[method]
        samples = [float(reference(layer.values[i], y[i])) for i in indices]
        low, high = np.quantile(samples, [0.1, 0.9])
        assert row.ci_low == pytest.approx(low, abs=1e-8)
        assert row.ci_high == pytest.approx(high, abs=1e-8)
        assert row.score == pytest.approx(float(reference(layer.values, y)), abs=1e-8)


def test_bootstrap_is_deterministic_and_independent_of_batching(world):
    layers, brain = world
    kwargs = {"method": "cca", "bootstrap": 40, "seed": 0, "device": "cpu"}
    whole = similarity_scores(layers, brain, **kwargs)
    batched = similarity_scores(layers, brain, max_memory=8 * 20 * 20 * 60, **kwargs)
    assert whole.equals(similarity_scores(layers, brain, **kwargs))
    np.testing.assert_allclose(whole.ci_low, batched.ci_low, atol=1e-12)
    assert whole.attrs == {"bootstrap": 40, "seed": 0, "ci": 0.95}


def test_debiased_bootstrap_interval_covers_zero_for_independent_data(rng):
    ids = [f"s{i}" for i in range(60)]
    a = activations(rng.standard_normal((60, 200)), ids, model="m", layer="a")
    b = activations(rng.standard_normal((60, 200)), ids, model="m", layer="b")
    debiased = similarity_scores(a, b, method="cka_debiased", bootstrap=200, seed=0)
    biased = similarity_scores(a, b, method="cka", bootstrap=200, seed=0)
    assert debiased.ci_low[0] < 0 < debiased.ci_high[0]
    assert biased.ci_low[0] > 0.5


def test_errors_name_the_problem(world, rng):
    layers, brain = world
    with pytest.raises(ValueError, match="'method' must be one of.*Did you mean 'cka'"):
        similarity_scores(layers, brain, method="ckaa")
    with pytest.raises(TypeError, match="'a' must be an xarray.DataArray"):
        similarity_scores(np.zeros((3, 3)), brain)
    with pytest.raises(DimensionError, match="has a 'time' dimension"):
        similarity_scores(build_responses(rng, n_times=5), brain)
    nan_brain = brain.copy(data=np.where(brain.neuroid_id == 0, np.nan, brain.values))
    with pytest.raises(SchemaError, match=r"b\['s1'\] contains NaN"):
        similarity_scores(layers, nan_brain)
    other = activations(np.eye(4), ["x", "y", "z", "w"], model="m", layer="l")
    with pytest.raises(EmptyOverlapError):
        similarity_scores(other, brain)
    with pytest.raises(ValueError, match="'bootstrap' must be >= 2"):
        similarity_scores(layers, brain, bootstrap=1)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("method", ["cka_debiased", "rbf_cka", "procrustes", "svcca"])
def test_cuda_matches_cpu(world, method):
    layers, brain = world
    kwargs = {"method": method, "bootstrap": 20, "seed": 0, "dtype": "float64"}
    cpu = similarity_scores(layers, brain, device="cpu", **kwargs)
    cuda = similarity_scores(layers, brain, device="cuda", **kwargs)
    for column in ("score", "ci_low", "ci_high"):
        np.testing.assert_allclose(cuda[column], cpu[column], atol=1e-8)
