import json

import pytest

from neuroalign.cli import build_parser, main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--n", "0"], "positive integer"),
        (["--recurrence", "0"], "positive integer"),
        (["--guidance", "-1"], "must be a number >= 0"),
        (["--scheduler", "heun"], "invalid choice: 'heun'"),
    ],
)
def test_bad_arguments_are_argparse_errors(capsys, argv, message):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["synthesize", *argv])
    assert message in capsys.readouterr().err


def test_unknown_region_is_a_clear_error(tmp_path, capsys):
    status = main(["synthesize", "--quick", "--region", "latte", "--out", str(tmp_path)])
    assert status == 1
    err = capsys.readouterr().err
    assert "'--region' must be one of ['early', 'late', 'mid']; got 'latte'" in err
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_quick_run_writes_figure_samples_and_summary(tmp_path, capsys):
    out = tmp_path / "synthesis"
    assert main(["synthesize", "--quick", "--region", "mid", "--out", str(out)]) == 0
    assert {p.name for p in out.iterdir()} == {"synthesis.png", "samples.npz", "summary.json"}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["region"] == "mid" and summary["n"] == 8
    assert "Region 'mid' of sub-01" in capsys.readouterr().out
