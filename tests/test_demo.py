import json

import pytest
import xarray as xr

from neuroalign.cli import main
from neuroalign.data import align, average_repetitions, load, validate
from neuroalign.demo import run_demo
from neuroalign.models import DEFAULT_LAYERS


@pytest.fixture(scope="module")
def quick_demo(tmp_path_factory):
    return run_demo(tmp_path_factory.mktemp("demo"), quick=True, device="cpu")


def test_demo_writes_reloadable_results(quick_demo):
    out = quick_demo.out
    assert {str(p) for p in quick_demo.files} >= {
        "stimuli.nc",
        "recordings/fmri_sub-01.nc",
        "recordings/eeg.nc",
        "recordings/spikes.nc",
        "activations/default_convnet.zarr",
        "manifest.json",
    }
    layers = load(out / "activations/default_convnet.zarr")
    assert tuple(layers) == DEFAULT_LAYERS
    fmri = validate(load(out / "recordings/fmri_sub-01.nc"))
    brain, layer = align(average_repetitions(fmri), layers["conv4"])
    assert brain.sizes["presentation"] == layer.sizes["presentation"] == 40
    with xr.open_dataset(out / "stimuli.nc", engine="h5netcdf") as stimuli:
        assert stimuli["images"].shape == (40, 3, 64, 64)
        assert set(stimuli.stimulus_id.values) == set(layer.stimulus_id.values)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 0 and manifest["quick"] is True
    assert manifest["ground_truth"]["tuning"]["late"] == "category"


def test_demo_keeps_existing_results(quick_demo):
    before = (quick_demo.out / "manifest.json").read_text()
    with pytest.raises(FileExistsError, match="--overwrite"):
        run_demo(quick_demo.out, quick=True, device="cpu")
    assert (quick_demo.out / "manifest.json").read_text() == before


def test_demo_cli_reports_errors_without_traceback(quick_demo, capsys):
    assert main(["demo", "--quick", "--out", str(quick_demo.out)]) == 1
    assert "already holds results" in capsys.readouterr().err


def test_demo_cli_runs(tmp_path, capsys):
    assert main(["demo", "--quick", "--device", "cpu", "--out", str(tmp_path / "d")]) == 0
    assert "activations/default_convnet.zarr" in capsys.readouterr().out
