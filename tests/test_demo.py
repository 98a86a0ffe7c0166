"""The quick demo end to end: results, figures, report, and the simulated ground truth."""

import json

import pandas as pd
import pytest

from neuroalign.cli import main
from neuroalign.demo import demo_config, run_demo
from neuroalign.experiment import parse_config


@pytest.fixture(scope="module")
def quick_demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "results"
    status = main(["demo", "--quick", "--device", "cpu", "--out", str(out)])
    return status, out


def test_demo_writes_table_figures_and_report(quick_demo):
    status, out = quick_demo
    assert status == 0
    table = pd.read_csv(out / "results.csv")
    assert set(table["method"]) == {"encoding", "rsa", "decoding", "fusion"}
    assert set(table["source"]) == {"fmri", "eeg", "spikes", "eeg+fmri"}
    figures = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert any(name.startswith("profile_encoding_fmri") for name in figures)
    assert any(name.startswith("best_layer_fmri") for name in figures)
    assert any(name.startswith("fusion_eeg") for name in figures)
    assert any(name.startswith("decoding_eeg") for name in figures)
    assert all((out / "figures" / name).with_suffix(".json").exists() for name in figures)
    report = (out / "report.html").read_text()
    assert report.count("<img") >= len(figures)
    run = json.loads((out / "run.json").read_text())
    assert run["name"] == "synthetic-demo" and len(run["executed"]) == len(run["units"])


def test_demo_recovers_the_simulated_ground_truth(quick_demo):
    _, out = quick_demo
    checks = json.loads((out / "ground_truth.json").read_text())["checks"]
    # RSA: early ROI <-> early layers, late ROI <-> late layers (fMRI and V1/IT units).
    assert checks["fmri_rsa"]["passed"], checks["fmri_rsa"]
    assert checks["spikes_rsa"]["passed"], checks["spikes_rsa"]
    assert checks["spikes_encoding"]["passed"], checks["spikes_encoding"]
    # Encoding: late ROI best predicted by the last layers; conv1 predicts the early ROI
    # better than the late one, fc the late ROI better than the early one.
    assert checks["fmri_encoding"]["passed"], checks["fmri_encoding"]
    assert checks["fmri_encoding"]["best_layer"]["late"] in ("conv4", "fc")
    # EEG latency order: the early ROI's geometry appears in the EEG before the late one's.
    latency = checks["eeg_latency"]
    assert latency["passed"], latency
    assert latency["peak_time"]["early"] < latency["peak_time"]["late"]


def test_demo_keeps_existing_results(quick_demo, capsys):
    _, out = quick_demo
    before = (out / "results.csv").read_text()
    assert main(["demo", "--quick", "--out", str(out)]) == 1
    assert "already holds results" in capsys.readouterr().err
    with pytest.raises(FileExistsError, match="--overwrite"):
        run_demo(out, quick=True, device="cpu")
    assert (out / "results.csv").read_text() == before


def test_demo_config_is_a_valid_experiment():
    config = demo_config(quick=True, seed=3, batch_size=8)
    experiment = parse_config(config)
    assert experiment.seed == 3 and experiment.models["default_convnet"].batch_size == 8
    assert all(s.options["quick"] for s in experiment.sources.values())
