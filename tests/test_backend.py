import numpy as np
import pytest
import torch
import xarray as xr

import neuroalign
from neuroalign._backend import (
    parse_memory,
    plan_batches,
    resolve_device,
    resolve_dtype,
    resolve_max_memory,
    to_numpy,
    to_tensor,
)


def test_resolve_device_auto_and_explicit():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    with neuroalign.config(device="cpu"):
        assert resolve_device(None) == torch.device("cpu")


def test_resolve_device_errors():
    with pytest.raises(ValueError, match="'device' must be"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")


@pytest.mark.parametrize(
    ("request_", "expected"),
    [("float64", torch.float64), (np.float32, torch.float32), (torch.bfloat16, torch.bfloat16)],
)
def test_resolve_dtype(request_, expected):
    assert resolve_dtype(request_) is expected


def test_resolve_dtype_rejects_integers():
    with pytest.raises(ValueError, match="'dtype' must be one of"):
        resolve_dtype("int32")


def test_to_tensor_from_numpy_xarray_and_back(rng):
    values = rng.standard_normal((3, 4))
    labelled = xr.DataArray(values, dims=("presentation", "neuroid"))
    for data in (values, labelled, values.tolist(), torch.from_numpy(values)):
        tensor = to_tensor(data, device="cpu")
        assert tensor.dtype == torch.float32
        np.testing.assert_allclose(to_numpy(tensor), values, rtol=1e-6)
    assert to_tensor(values, device="cpu", dtype="float64").dtype == torch.float64


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2GB", 2 * 10**9), ("512 MiB", 512 * 2**20), (1000, 1000), ("1.5kb", 1500)],
)
def test_parse_memory(text, expected):
    assert parse_memory(text) == expected


@pytest.mark.parametrize("bad", ["lots", "-1GB", 0, "3 parsecs"])
def test_parse_memory_rejects(bad):
    with pytest.raises(ValueError, match="max_memory"):
        parse_memory(bad)


def test_plan_batches_covers_every_item_within_budget():
    batches = plan_batches(103, bytes_per_item=10, max_memory=250, fixed_bytes=50)
    assert all(b.stop - b.start <= 20 for b in batches)
    assert np.array_equal(np.concatenate([np.arange(103)[b] for b in batches]), np.arange(103))
    assert plan_batches(0, bytes_per_item=1, max_memory=10) == []
    assert plan_batches(5, bytes_per_item=1, max_memory="1GB") == [slice(0, 5)]
    # A cap on the batch size applies within the memory budget.
    assert plan_batches(5, bytes_per_item=1, max_memory="1GB", largest=2) == [
        slice(0, 2),
        slice(2, 4),
        slice(4, 5),
    ]
    assert plan_batches(5, bytes_per_item=1, max_memory=3, largest=4) == [slice(0, 3), slice(3, 5)]


def test_plan_batches_errors():
    with pytest.raises(MemoryError, match="Increase max_memory"):
        plan_batches(3, bytes_per_item=100, max_memory=50)
    with pytest.raises(ValueError, match="'bytes_per_item'"):
        plan_batches(3, bytes_per_item=0, max_memory=50)


def test_default_budget_comes_from_config_or_device():
    with neuroalign.config(max_memory="1MB"):
        assert resolve_max_memory() == 10**6
    assert resolve_max_memory(device="cpu") > 0


def test_config_restores_defaults_even_on_error():
    before = neuroalign.get_config()
    with pytest.raises(RuntimeError), neuroalign.config(dtype="float64", device="cpu"):
        assert resolve_dtype() is torch.float64
        raise RuntimeError
    assert neuroalign.get_config() == before
    with neuroalign.config(dtype="float64"), neuroalign.config(device="cpu"):
        assert neuroalign.get_config().dtype == "float64"
    assert neuroalign.get_config() == before


def test_config_rejects_unknown_settings():
    with pytest.raises(TypeError, match="unknown setting"), neuroalign.config(devcie="cpu"):
        pass
    with pytest.raises(ValueError, match="'dtype'"), neuroalign.config(dtype="int8"):
        pass
