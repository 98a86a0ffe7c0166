import base64
import json
import re
import shutil
import subprocess

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from neuroalign.cli import main  # noqa: E402
from neuroalign.plotting import save_figure  # noqa: E402
from neuroalign.report import build_report  # noqa: E402


@pytest.fixture
def results_dir(tmp_path, rng):
    rows = [
        {
            "model": "convnet",
            "layer": layer,
            "subject": "sub-01",
            "region": region,
            "method": "encoding",
            "metric": "pearson_r",
            "score": score,
            "ci_low": score - 0.05,
            "ci_high": score + 0.05,
            "ceiling": 0.8 if region == "early" else np.nan,
            "n_stimuli": 50,
        }
        for region in ("early", "late")
        for layer, score in zip(("conv1", "fc"), rng.uniform(0.1, 0.6, 2))
    ]
    pd.DataFrame(rows).to_csv(tmp_path / "results.csv", index=False)
    for name, title in (("a_profile", "Layer <profile>"), ("b_rdm", None)):
        figure, ax = plt.subplots(figsize=(2, 2))
        ax.plot([0, 1], [1, 0])
        save_figure(figure, tmp_path, name, title=title, caption=f"Caption of {name} & more")
        plt.close(figure)
    run = {"name": "synthetic study", "seeds": {"world": 0}, "source": "https://example.org/d"}
    (tmp_path / "run.json").write_text(json.dumps(run))
    return tmp_path


def test_report_is_self_contained(results_dir):
    path = build_report(results_dir)
    assert path == results_dir / "report.html"
    text = path.read_text(encoding="utf-8")
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)"', text)
    assert len(images) == 2
    expected = (results_dir / "figures" / "a_profile.png").read_bytes()
    assert base64.b64decode(images[0]) == expected  # figures in file-name order, byte-exact
    # no external resources: every src/href is inline data or an in-page anchor
    for link in re.findall(r'(?:src|href)="([^"]*)"', text):
        assert link.startswith(("data:", "#")), link
    assert "<link" not in text and "<script src" not in text
    assert "<title>synthetic study</title>" in text  # title from run.json
    assert "Layer &lt;profile&gt;" in text and "Caption of a_profile &amp; more" in text
    assert ">b rdm<" in text  # missing title: the file name
    score = pd.read_csv(results_dir / "results.csv").loc[0]
    assert f"[{score.ci_low:.3f}, {score.ci_high:.3f}]" in text  # CI column formatted
    assert "Best layer per region" in text
    table = pd.read_csv(results_dir / "results.csv")
    summary = text.split("Best layer per region")[1].split("All results")[0]
    for region, rows in table.groupby("region"):
        best = rows.loc[rows.score.idxmax()]
        assert (
            f"<td>{region}</td><td>encoding</td><td>pearson_r</td><td>{best.layer}</td>" in summary
        )
    assert "&quot;world&quot;: 0" in text  # run metadata, escaped


def test_report_options_and_cli(results_dir, tmp_path_factory, capsys):
    out = tmp_path_factory.mktemp("elsewhere") / "sub" / "custom.html"
    assert main(["report", str(results_dir), "--out", str(out), "--title", "My study"]) == 0
    assert f"Report written to {out}" in capsys.readouterr().out
    assert "<title>My study</title>" in out.read_text(encoding="utf-8")


def test_missing_or_empty_results_are_clear_errors(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        build_report(tmp_path / "nope")
    assert main(["report", str(tmp_path / "nope")]) == 1
    assert "results folder" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="has no results.csv"):
        build_report(tmp_path)
    (tmp_path / "results.csv").write_text("")
    with pytest.raises(ValueError, match="is empty"):
        build_report(tmp_path)
    (tmp_path / "results.csv").write_text("model,score\n")
    with pytest.raises(ValueError, match="header but no rows"):
        build_report(tmp_path)


def test_malformed_sidecar_is_named(results_dir):
    (results_dir / "figures" / "b_rdm.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"b_rdm.json is not valid JSON"):
        build_report(results_dir)


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Chromium is not installed")
def test_report_renders_in_headless_chromium(results_dir, tmp_path_factory):
    path = build_report(results_dir)
    root = _rendered_root(path, tmp_path_factory.mktemp("chromium-profile"))
    assert 'data-report-ready="true"' in root  # the load handler ran
    assert 'data-js-errors="0"' in root
    assert 'data-images-loaded="2"' in root and 'data-images-broken="0"' in root
    # the check can fail: a corrupted image and a script error are both reported
    broken = path.with_name("broken.html")
    text = path.read_text(encoding="utf-8").replace("base64,iVBOR", "base64,AAAA", 1)
    broken.write_text(text.replace("</body>", "<script>undefinedFunction();</script></body>"))
    root = _rendered_root(broken, tmp_path_factory.mktemp("chromium-profile"))
    assert 'data-images-broken="1"' in root and 'data-js-errors="1"' in root


def _rendered_root(path, profile):
    """The <html> tag of ``path`` after Chromium loaded it (with the report's markers)."""
    result = subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            path.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return re.search(r"<html[^>]*>", result.stdout).group(0)
