import subprocess
import sys

import pytest

from neuroalign._info import installed_extras
from neuroalign.cli import build_parser, main


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert all(name in text for name in ("demo", "info", "run", "extract"))


def test_unknown_command_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["demoo"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'demoo'" in capsys.readouterr().err


def test_demo_rejects_bad_batch_size(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["demo", "--batch-size", "0"])
    assert "positive integer" in capsys.readouterr().err


def test_info_reports_versions_devices_and_extras(capsys):
    assert main(["info"]) == 0
    text = capsys.readouterr().out
    assert "neuroalign" in text and "torch:" in text and "devices:" in text and "cpu:" in text
    assert installed_extras()["models"] is True
    assert "models: yes (transformers" in text


def test_console_script_runs():
    result = subprocess.run(
        [sys.executable, "-m", "neuroalign.cli", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert result.stdout.startswith("neuroalign ")


def test_run_and_extract_reject_bad_arguments(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "x.yaml", "--executor", "slurm"])
    assert "invalid choice: 'slurm'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "x.yaml", "--resume", "--overwrite"])
    assert "not allowed with argument" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        build_parser().parse_args(["extract", "--out", "a.zarr", "--adapter", "x", "--option", "q"])
    assert "KEY=VALUE" in capsys.readouterr().err


def test_extract_writes_activations(tmp_path, rng, capsys):
    import numpy as np

    from neuroalign.data import load

    images = rng.random((3, 3, 64, 64)).astype(np.float32)
    np.savez(tmp_path / "img.npz", images=images, stimulus_ids=np.array(["a", "b", "c"]))
    out = tmp_path / "act.zarr"
    args = ["extract", "--images", str(tmp_path / "img.npz"), "--layers", "conv1,fc"]
    assert main([*args, "--device", "cpu", "--out", str(out)]) == 0
    layers = load(out)
    assert list(layers) == ["conv1", "fc"]
    assert layers["fc"].stimulus_id.values.tolist() == ["a", "b", "c"]
    assert main([*args, "--out", str(out)]) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert (
        main(["extract", "--images", str(tmp_path / "no.npy"), "--out", str(tmp_path / "x")]) == 1
    )
    assert "no file at" in capsys.readouterr().err
