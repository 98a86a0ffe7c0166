import numpy as np
import pytest
from conftest import build_activations, build_responses

from neuroalign.data import load, responses, save


@pytest.fixture(params=["zarr", "nc"])
def suffix(request):
    return request.param


def test_roundtrip_keeps_every_coord_and_attr(rng, tmp_path, suffix):
    da = build_responses(
        rng,
        n_times=5,
        regions=["V1", "V1", "IT", "IT"],
        subject="sub-01",
        presentation_coords={"run": np.arange(12) // 6, "category": ["face", "house"] * 6},
        neuroid_coords={"x": np.arange(4.0), "hemisphere": ["L", "R", "L", "R"]},
    ).astype("float32")
    da.attrs.update(
        {"source": "sim", "n_runs": 2, "flags": [True, False], "meta": {"tr": 2.0, "x": None}}
    )
    back = load(save(da, tmp_path / f"sub.{suffix}"))
    assert back.identical(da)
    assert back.dtype == np.float32
    assert back.stimulus_id.dtype.kind == "U"
    assert back.attrs["meta"] == {"tr": 2.0, "x": None}


def test_roundtrip_of_ordered_layers(rng, tmp_path, suffix):
    layers = {name: build_activations(rng, layer=name) for name in ("conv3", "conv1", "fc")}
    back = load(save(layers, tmp_path / f"layers.{suffix}"))
    assert list(back) == ["conv3", "conv1", "fc"]
    for name in layers:
        assert back[name].identical(layers[name])


def test_integer_ids_stay_integers(rng, tmp_path, suffix):
    da = responses(rng.standard_normal((3, 2)), [3, 1, 2], modality="fmri")
    assert load(save(da, tmp_path / f"ints.{suffix}")).stimulus_id.dtype == np.int64


def test_save_refuses_to_overwrite(rng, tmp_path):
    da = build_responses(rng)
    path = save(da, tmp_path / "a.zarr")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save(da, path)
    save(da * 2, path, overwrite=True)
    np.testing.assert_allclose(load(path).values, da.values * 2)
    assert [p.name for p in tmp_path.iterdir()] == ["a.zarr"]


@pytest.mark.parametrize(
    ("name", "error", "match"),
    [("x.csv", ValueError, "suffix"), ("missing.nc", FileNotFoundError, "No file")],
)
def test_load_errors(tmp_path, name, error, match):
    with pytest.raises(error, match=match):
        load(tmp_path / name)


def test_load_rejects_corrupt_and_foreign_files(tmp_path, rng):
    corrupt = tmp_path / "broken.nc"
    corrupt.write_bytes(b"not a netcdf file")
    with pytest.raises(ValueError, match="not a readable netcdf"):
        load(corrupt)
    foreign = tmp_path / "foreign.nc"
    build_responses(rng).to_dataset(name="other").to_netcdf(foreign, engine="h5netcdf")
    with pytest.raises(ValueError, match="not written by neuroalign"):
        load(foreign)


def test_save_rejects_unencodable_attrs(rng, tmp_path):
    da = build_responses(rng)
    da.attrs["array"] = np.arange(3)
    with pytest.raises(TypeError, match="JSON-serialisable"):
        save(da, tmp_path / "x.nc")
    assert not any(tmp_path.iterdir())


def test_save_rejects_wrong_type(tmp_path):
    with pytest.raises(TypeError, match="DataArray or a non-empty mapping"):
        save({}, tmp_path / "x.nc")
