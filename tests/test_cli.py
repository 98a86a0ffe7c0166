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
    assert "demo" in text and "info" in text


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
