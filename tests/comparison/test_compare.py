"""compare() is a sweep over the engines: its rows must equal theirs on the same input."""

import numpy as np
import pandas as pd
import pytest
from conftest import build_activations, build_responses

from neuroalign import ComparisonResult, compare
from neuroalign.comparison import COLUMNS
from neuroalign.encoding import encoding_scores
from neuroalign.exceptions import DimensionError
from neuroalign.rsa import compute_rdms, rsa_scores, time_resolved_rsa


@pytest.fixture
def layers(rng):
    return {
        name: build_activations(rng, n_stimuli=12, n_units=6, layer=name)
        for name in ("conv1", "fc")
    }


@pytest.fixture
def fmri(rng):
    regions = ["V1", "V1", "V1", "IT", "IT"]
    return build_responses(rng, n_stimuli=12, n_neuroids=5, regions=regions, subject="s1")


def test_encoding_rows_equal_encoding_scores(layers, fmri):
    result = compare(layers, fmri, methods="encoding", cv=3, n_bootstrap=20, device="cpu")
    reference = encoding_scores(layers, fmri, cv=3, n_bootstrap=20, device="cpu").to_frame()
    assert list(result.table.columns) == list(COLUMNS)
    # Same engine, same input: identical numbers (tolerance 0).
    merged = result.table.merge(reference, on=["layer", "region", "metric"], suffixes=("", "_r"))
    assert len(merged) == len(reference) == 2 * 2 * 2
    for column in ("score", "ci_low", "ci_high", "ceiling"):
        np.testing.assert_array_equal(merged[column], merged[f"{column}_r"])
    assert set(result.table["model"]) == {"net"} and set(result.table["subject"]) == {"s1"}
    pearson = result.maps["encoding/net/s1"]
    assert pearson.dims == ("layer", "neuroid") and list(pearson.layer.values) == ["conv1", "fc"]


def test_rsa_rows_equal_rsa_scores(layers, fmri):
    result = compare(layers, {"s1": fmri}, methods=("rsa",), n_bootstrap=30, seed=3, device="cpu")
    regions = {r: fmri.isel(neuroid=fmri.region.values == r) for r in ("V1", "IT")}
    reference = rsa_scores(layers, regions, n_bootstrap=30, seed=3, device="cpu")
    np.testing.assert_array_equal(result.table["score"], reference["score"])
    np.testing.assert_array_equal(result.table["ci_low"], reference["ci_low"])
    assert result.table["metric"].unique().tolist() == ["rho_a"]
    assert result.table["time"].isna().all()


def test_time_resolved_rsa_rows_equal_engine(rng, layers):
    eeg = build_responses(rng, n_stimuli=12, n_neuroids=4, n_times=5, subject="s1")
    options = {"rsa": {"rdm_method": "euclidean", "compare_method": "spearman"}}
    result = compare(layers, eeg, methods="rsa", options=options, device="cpu")
    curves = time_resolved_rsa(
        eeg, compute_rdms(layers, method="euclidean"), rdm_method="euclidean", device="cpu"
    )
    stored = result.maps["rsa/net/s1"].sel(region="all")
    np.testing.assert_array_equal(stored.values, curves.values)
    assert len(result.table) == 2 * 5 and result.table["time"].notna().all()


def test_several_models_and_subjects(rng, layers, fmri):
    other = {"fc": build_activations(rng, n_stimuli=12, n_units=3, layer="fc")}
    second = fmri.copy(data=rng.standard_normal(fmri.shape))
    result = compare({"a": layers, "b": other}, {"s1": fmri, "s2": second}, methods="rsa")
    counts = result.table.groupby(["model", "subject"]).size()
    assert counts.to_dict() == {("a", "s1"): 4, ("a", "s2"): 4, ("b", "s1"): 2, ("b", "s2"): 2}
    assert set(result.input_hashes) == {
        "features/a/conv1",
        "features/a/fc",
        "features/b/fc",
        "responses/s1",
        "responses/s2",
    }


def test_save_load_is_lossless(tmp_path, layers, fmri):
    result = compare(layers, fmri, methods=("encoding", "rsa"), cv=3, n_bootstrap=10)
    loaded = ComparisonResult.load(result.save(tmp_path / "r"))
    pd.testing.assert_frame_equal(loaded.table, result.table, check_exact=True)
    assert loaded.maps.keys() == result.maps.keys()
    assert all(loaded.maps[k].identical(result.maps[k]) for k in result.maps)
    assert (loaded.config, loaded.seeds, loaded.versions, loaded.input_hashes) == (
        result.config,
        result.seeds,
        result.versions,
        result.input_hashes,
    )
    with pytest.raises(FileExistsError, match="overwrite=True"):
        result.save(tmp_path / "r")


def test_best_layers(layers, fmri):
    result = compare(layers, fmri, methods="encoding", cv=3)
    best = result.best_layers()
    rows = result.table[result.table.metric == "pearson"].set_index(["region", "layer"])["score"]
    for region in ("V1", "IT"):
        assert best[("net", "s1", region)] == rows.loc[region].idxmax()


def test_errors_name_the_problem(rng, layers, fmri):
    with pytest.raises(ValueError, match="Did you mean 'encoding'"):
        compare(layers, fmri, methods=("encodin",))
    with pytest.raises(TypeError, match="'features' must be"):
        compare([1, 2], fmri)
    with pytest.raises(ValueError, match="Unknown RSA option 'rdm'"):
        compare(layers, fmri, methods="rsa", options={"rsa": {"rdm": "euclidean"}})
    eeg = build_responses(rng, n_stimuli=12, n_times=3)
    with pytest.raises(DimensionError, match="time window"):
        compare(layers, eeg, methods="similarity")
