import numpy as np
import pytest
import xarray as xr
from conftest import build_activations, build_responses

from neuroalign.data import activations, responses, validate
from neuroalign.exceptions import ConflictingDuplicatesError, DimensionError, SchemaError


def test_responses_builds_schema_with_coords_and_attrs(rng):
    da = responses(
        rng.standard_normal((4, 3)),
        ["a", "b", "a", "b"],
        modality="fmri",
        subject="sub-01",
        regions=["V1", "V1", "IT"],
        presentation_coords={"run": [0, 0, 1, 1]},
        neuroid_coords={"x": [1.0, 2.0, 3.0]},
        units="% signal change",
    )
    assert da.dims == ("presentation", "neuroid")
    assert list(da.repetition.values) == [0, 0, 1, 1]
    assert list(da.region.values) == ["V1", "V1", "IT"]
    assert da.attrs == {"modality": "fmri", "subject": "sub-01", "units": "% signal change"}
    assert list(da.run.values) == [0, 0, 1, 1]


def test_time_dimension_requires_times(rng):
    with pytest.raises(DimensionError, match="'times'"):
        responses(rng.standard_normal((2, 3, 5)), ["a", "b"], modality="eeg")
    da = responses(
        rng.standard_normal((2, 3, 5)), ["a", "b"], modality="eeg", times=np.arange(5) / 100
    )
    assert da.dims == ("presentation", "neuroid", "time")


def test_activations_accepts_torch_tensor():
    torch = pytest.importorskip("torch")
    da = activations(torch.ones(3, 2), [0, 1, 2], model="m", layer="fc")
    assert da.attrs == {"modality": "model", "model": "m", "layer": "fc"}
    assert da.stimulus_id.dtype == np.int64


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"data": np.zeros(3)}, DimensionError, "shape"),
        ({"stimulus_ids": ["a"]}, DimensionError, "'stimulus_ids' has 1 entries"),
        ({"stimulus_ids": [1.5, 2.5]}, SchemaError, "strings or only integers"),
        ({"data": np.array([["x", "y"], ["z", "w"]])}, SchemaError, "must hold numbers"),
        ({"regions": ["V1"]}, DimensionError, "neuroid_coords\\['region'\\]"),
        ({"modality": "fmrii"}, ValueError, "Did you mean 'fmri'"),
        (
            {"data": np.array([[np.nan, 1.0], [1.0, 1.0]])},
            SchemaError,
            "NaN .*presentation=0, neuroid=0",
        ),
    ],
)
def test_constructor_errors_name_the_problem(kwargs, error, match):
    arguments = {"data": np.zeros((2, 2)), "stimulus_ids": ["a", "b"], "modality": "fmri"} | kwargs
    with pytest.raises(error, match=match):
        responses(arguments.pop("data"), arguments.pop("stimulus_ids"), **arguments)


def test_validate_rejects_non_dataarray():
    with pytest.raises(TypeError, match="neuroalign.data.responses"):
        validate(np.zeros((2, 2)))


def test_validate_suggests_transpose_for_swapped_dims(rng):
    da = build_responses(rng).transpose("neuroid", "presentation")
    with pytest.raises(DimensionError, match=r"transpose\('presentation', 'neuroid'\)"):
        validate(da)


def test_validate_rejects_wrong_dims(rng):
    da = xr.DataArray(np.zeros((2, 2)), dims=("trial", "voxel"))
    with pytest.raises(DimensionError, match="got \\('trial', 'voxel'\\)"):
        validate(da)


def test_validate_missing_coordinate_and_modality(rng):
    da = build_responses(rng)
    with pytest.raises(SchemaError, match="no 'stimulus_id' coordinate"):
        validate(da.drop_vars("stimulus_id"))
    bad = da.copy()
    bad.attrs["modality"] = "xray"
    with pytest.raises(SchemaError, match="attrs\\['modality'\\]"):
        validate(bad)


def test_validate_nan_allowed_on_request(rng):
    da = build_responses(rng)
    da = da.where(da.neuroid_id != 1)
    with pytest.raises(SchemaError, match="dropna"):
        validate(da)
    assert validate(da, allow_nan=True) is da


def test_validate_duplicate_neuroid_ids(rng):
    da = build_responses(rng).assign_coords(neuroid_id=("neuroid", [0, 0, 1, 2]))
    with pytest.raises(SchemaError, match="'neuroid_id' must be unique; 0"):
        validate(da)


def test_validate_time_must_increase(rng):
    da = build_responses(rng, n_times=4)
    with pytest.raises(SchemaError, match="strictly increasing"):
        validate(da.assign_coords(time=da.time.values[::-1]))


def test_conflicting_duplicates(rng):
    values = rng.standard_normal((3, 2))
    with pytest.raises(ConflictingDuplicatesError, match="'a'"):
        activations(values, ["a", "b", "a"], model="m", layer="l")
    same = np.vstack([values[:2], values[:1]])
    assert activations(same, ["a", "b", "a"], model="m", layer="l").sizes["presentation"] == 3
    with pytest.raises(ConflictingDuplicatesError, match="repetition"):
        responses(values, ["a", "b", "a"], modality="fmri", repetitions=[0, 0, 0])


def test_user_dataarray_without_repetition_coord_repeats_freely(rng):
    da = build_responses(rng).drop_vars("repetition")
    assert validate(da) is da


def test_build_activations_roundtrip(rng):
    da = build_activations(rng)
    assert validate(da).attrs["layer"] == "conv1"
