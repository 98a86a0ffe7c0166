"""The 92-image real-data experiment: the published model ranking, and a clear message
for users without the data."""

import importlib.util
import os
from pathlib import Path

import pandas as pd
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "experiments" / "kriegeskorte92" / "run.py"


@pytest.fixture(scope="module")
def experiment():
    spec = importlib.util.spec_from_file_location("kriegeskorte92", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _data_root():
    root = os.environ.get("NEUROALIGN_SHARED_DATA")
    return Path(root) if root else Path(__file__).resolve().parents[3] / "shared" / "data"


def test_without_data_the_message_says_where_it_comes_from(experiment, monkeypatch, capsys):
    monkeypatch.delenv("NEUROALIGN_DATA", raising=False)
    assert experiment.main(["--out", "unused"]) == 1
    message = capsys.readouterr().err
    assert "pass --data DIR or set NEUROALIGN_DATA" in message
    assert "rsagroup/rsatoolbox" in message and "Traceback" not in message


def test_models_rank_as_in_nili_2014(experiment, tmp_path, monkeypatch):
    if not (_data_root() / experiment.DATASET / experiment.ARCHIVE).is_file():
        pytest.skip(f"{experiment.DATASET} not found under {_data_root()}")
    monkeypatch.setenv("NEUROALIGN_DATA", str(_data_root()))
    results = experiment.run(None, tmp_path, n_bootstrap=50, figures=False)
    human = results["hIT"]
    scores = dict(zip(human.models, human.scores))
    ranking = sorted(scores, key=scores.get, reverse=True)
    assert set(ranking[:2]) == {"animacy", "face_animate_inanimate"}
    assert max(scores["v1"], scores["radon"]) < scores["monkey_it"]
    assert 0 < human.noise_ceiling[0] < human.noise_ceiling[1] < 1
    table = pd.read_csv(tmp_path / "results.csv", keep_default_na=False)
    layers = table[(table["model"] == "default_convnet") & (table["subject"] == "hIT")]
    assert layers["layer"].tolist() == ["conv1", "conv2", "conv3", "conv4", "fc"]
    assert set(table["subject"]) == {"hIT", "mIT"} and (table["n_stimuli"] == 92).all()
