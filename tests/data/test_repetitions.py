import numpy as np
import pytest
from conftest import build_responses

from neuroalign.data import average_repetitions, responses, select_region, split_halves
from neuroalign.exceptions import NeuroalignWarning, SchemaError


def test_average_repetitions_matches_groupby(rng):
    da = build_responses(rng, n_stimuli=5, n_repetitions=3, n_times=4)
    da = da.isel(presentation=rng.permutation(da.sizes["presentation"]))
    averaged = average_repetitions(da)
    expected = da.groupby("stimulus_id").mean()
    for sid in averaged.stimulus_id.values:
        row = averaged.isel(presentation=list(averaged.stimulus_id.values).index(sid))
        np.testing.assert_allclose(row.values, expected.sel(stimulus_id=sid).values, rtol=1e-12)
    first_seen = list(dict.fromkeys(da.stimulus_id.values))
    assert list(averaged.stimulus_id.values) == first_seen
    assert set(averaged.n_repetitions.values) == {3}
    assert "repetition" not in averaged.coords
    assert averaged.attrs == da.attrs


def test_average_keeps_constant_presentation_coords(rng):
    da = responses(
        rng.standard_normal((4, 2)),
        ["a", "b", "a", "b"],
        modality="fmri",
        presentation_coords={"category": ["face", "house", "face", "house"], "run": [1, 1, 2, 2]},
    )
    averaged = average_repetitions(da)
    assert list(averaged.category.values) == ["face", "house"]
    assert "run" not in averaged.coords


def test_average_of_counts_is_float(rng):
    da = responses(rng.poisson(3, (4, 2)), ["a", "a", "b", "b"], modality="spikes")
    averaged = average_repetitions(da)
    assert averaged.dtype == np.float64
    np.testing.assert_allclose(averaged.values[0], da.values[:2].mean(0))


def test_split_halves_even_odd_and_seeded(rng):
    da = build_responses(rng, n_stimuli=3, n_repetitions=4)
    halves = split_halves(da)
    values = da.values.reshape(4, 3, -1)
    np.testing.assert_allclose(halves.first.values, values[[0, 2]].mean(0))
    np.testing.assert_allclose(halves.second.values, values[[1, 3]].mean(0))
    seeded = split_halves(da, seed=1)
    again = split_halves(da, seed=1)
    np.testing.assert_array_equal(seeded.first.values, again.first.values)
    total = (seeded.first.values + seeded.second.values) / 2
    np.testing.assert_allclose(total, values.mean(0))


def test_split_halves_odd_count_and_singletons(rng):
    da = responses(rng.standard_normal((6, 2)), ["a", "a", "a", "b", "b", "c"], modality="fmri")
    with pytest.warns(NeuroalignWarning, match="left out 1 stimuli"):
        halves = split_halves(da)
    assert list(halves.first.n_repetitions.values) == [2, 1]
    assert list(halves.second.n_repetitions.values) == [1, 1]
    with pytest.raises(ValueError, match="at least twice"):
        split_halves(da.isel(presentation=[0, 3, 5]))


def test_select_region(rng):
    da = build_responses(rng, regions=["V1", "V4", "IT", "V1"])
    assert list(select_region(da, "V1").neuroid_id.values) == [0, 3]
    assert select_region(da, ["IT", "V4"]).sizes["neuroid"] == 2
    with pytest.raises(KeyError, match="available regions: \\['V1', 'V4', 'IT'\\].*'V1'"):
        select_region(da, "v1")
    with pytest.raises(SchemaError, match="no 'region' coordinate"):
        select_region(build_responses(rng), "V1")
