"""One self-contained HTML report of a results folder: figures, result table, run metadata.

The folder layout (written by the experiment runner and by
:func:`neuroalign.plotting.save_figure`)::

    RESULTS_DIR/results.csv          the tidy result table
    RESULTS_DIR/figures/NAME.png     figures, each with an optional NAME.json sidecar
                                     {"title": ..., "caption": ...}
    RESULTS_DIR/run.json             resolved config, seeds, versions, input hashes

The report inlines every image (base64), styles and its one script, so it opens offline
and can be mailed as a single file; it references no external URL.
"""

import base64
import html
import json
import math
from pathlib import Path

from neuroalign._version import __version__
from neuroalign.plotting._save import write_atomically

__all__ = ["build_report"]

_MAX_ROWS = 5000
_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 1100px; padding: 0 1rem; color: #1a1a1a; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.25rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
h3 { font-size: 1.05rem; margin-bottom: 0.4rem; }
.meta { color: #555; font-size: 0.9rem; }
nav { font-size: 0.9rem; }
nav ul ul { columns: 2; }
figure { margin: 1.5rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #333; font-size: 0.9rem; margin-top: 0.3rem; }
table { border-collapse: collapse; font-size: 0.82rem; margin: 0.5rem 0; }
th, td { border: 1px solid #ddd; padding: 0.2rem 0.45rem; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f4f4f4; position: sticky; top: 0; }
.scroll { max-height: 36rem; overflow: auto; }
pre { background: #f7f7f7; padding: 0.8rem; overflow: auto; font-size: 0.8rem; }
"""
# Marks the page once every image has decoded (naturalWidth > 0) and counts script
# errors, so a headless browser (or a person) can check the report rendered.
_SCRIPT = """
(function () {
  var root = document.documentElement;
  root.dataset.jsErrors = "0";
  window.addEventListener("error", function () {
    root.dataset.jsErrors = String(Number(root.dataset.jsErrors) + 1);
  });
  window.addEventListener("load", function () {
    var images = Array.prototype.slice.call(document.images);
    var broken = images.filter(function (img) {
      return !(img.complete && img.naturalWidth > 0);
    });
    root.dataset.imagesLoaded = String(images.length - broken.length);
    root.dataset.imagesBroken = String(broken.length);
    root.dataset.reportReady = "true";
  });
})();
"""


def _read_json(path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err}); fix or delete it.") from err


def _figures(folder):
    """``[(name, title, caption, png bytes)]`` in file-name order."""
    figures = []
    for png in sorted((folder / "figures").glob("*.png")) if (folder / "figures").is_dir() else []:
        sidecar = png.with_suffix(".json")
        meta = _read_json(sidecar) if sidecar.is_file() else {}
        if not isinstance(meta, dict):
            raise ValueError(
                f"{sidecar} must hold a JSON object {{'title': ..., 'caption': ...}}; "
                f"got {type(meta).__name__}."
            )
        title = meta.get("title") or png.stem.replace("_", " ")
        figures.append((png.stem, str(title), meta.get("caption"), png.read_bytes()))
    return figures


def _format_number(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"
    return str(value)


def _format_table(table):
    """Rows ready to print: numbers to 3 decimals, CI bounds merged into one column."""
    import pandas as pd

    shown = table.copy()
    if {"ci_low", "ci_high"} <= set(shown.columns):
        position = shown.columns.get_loc("ci_low")
        ci = [
            "—" if pd.isna(low) or pd.isna(high) else f"[{low:.3f}, {high:.3f}]"
            for low, high in zip(shown["ci_low"], shown["ci_high"])
        ]
        shown = shown.drop(columns=["ci_low", "ci_high"])
        shown.insert(position, "95% CI", ci)
    return shown


def _html_table(table, *, caption=None):
    numeric = {c for c in table.columns if table[c].dtype.kind in "fiu"}
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    rows = []
    for record in table.itertuples(index=False):
        cells = []
        for column, value in zip(table.columns, record):
            css = ' class="num"' if column in numeric else ""
            cells.append(f"<td{css}>{html.escape(_format_number(value))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    caption_html = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (
        f'<div class="scroll"><table>{caption_html}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _best_layers(table):
    """Best layer per model, (source,) region, method and metric (mean over subjects)."""
    needed = {"model", "layer", "region", "method", "metric", "score"}
    if not needed <= set(table.columns):
        return None
    static = table[table["time"].isna()] if "time" in table.columns else table
    keys = [c for c in ("model", "source", "region", "method", "metric") if c in table.columns]
    means = static.groupby([*keys, "layer"], sort=False, dropna=False)["score"].mean()
    means = means.dropna().reset_index()
    if means.empty or means["layer"].nunique() < 2:
        return None
    best = means.loc[means.groupby(keys, sort=False, dropna=False)["score"].idxmax()]
    return best.rename(columns={"layer": "best layer", "score": "mean score"})


def _load_table(folder):
    import pandas as pd

    path = folder / "results.csv"
    if not path.is_file():
        raise FileNotFoundError(
            f"{folder} has no results.csv, so there are no results to report. Run an "
            "experiment into it first (neuroalign run EXPERIMENT.yaml or neuroalign demo)."
        )
    try:
        table = pd.read_csv(path)
    except pd.errors.EmptyDataError as err:
        raise ValueError(f"{path} is empty; the run wrote no results.") from err
    if table.empty:
        raise ValueError(f"{path} has a header but no rows; the run wrote no results.")
    return table


def _count(n, noun):
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _render(title, table, figures, run):
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="meta">{_count(len(table), "result row")} · '
        f"{_count(len(figures), 'figure')} · "
        f"generated by neuroalign {html.escape(__version__)}</p>",
    ]
    figure_links = "".join(
        f'<li><a href="#fig-{html.escape(name)}">{html.escape(fig_title)}</a></li>'
        for name, fig_title, _, _ in figures
    )
    run_link = '<li><a href="#run">Run</a></li>' if run is not None else ""
    body.append(
        '<nav><ul><li><a href="#figures">Figures</a>'
        + (f"<ul>{figure_links}</ul>" if figure_links else "")
        + f'</li><li><a href="#results">Results</a></li>{run_link}</ul></nav>'
    )
    body.append('<h2 id="figures">Figures</h2>')
    if not figures:
        body.append("<p>This run saved no figures.</p>")
    for name, fig_title, caption, png in figures:
        data = base64.b64encode(png).decode("ascii")
        caption_html = f"<figcaption>{html.escape(str(caption))}</figcaption>" if caption else ""
        body.append(
            f'<figure id="fig-{html.escape(name)}"><h3>{html.escape(fig_title)}</h3>'
            f'<img src="data:image/png;base64,{data}" alt="{html.escape(fig_title)}">'
            f"{caption_html}</figure>"
        )
    body.append('<h2 id="results">Results</h2>')
    best = _best_layers(table)
    if best is not None:
        body.append("<h3>Best layer per region</h3>")
        body.append(_html_table(best))
    body.append("<h3>All results</h3>")
    shown = _format_table(table)
    if len(shown) > _MAX_ROWS:
        body.append(
            f"<p>Showing the first {_MAX_ROWS} of {len(shown)} rows; the full table is "
            "results.csv.</p>"
        )
        shown = shown.head(_MAX_ROWS)
    body.append(_html_table(shown))
    if run is not None:
        text = json.dumps(run, indent=2, ensure_ascii=False, sort_keys=True, default=str)
        body.append('<h2 id="run">Run</h2>')
        body.append(
            "<p>Resolved configuration, seeds, package versions and input hashes (run.json).</p>"
        )
        body.append(f"<details open><summary>run.json</summary><pre>{html.escape(text)}</pre>")
        body.append("</details>")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n"
        f"<script>{_SCRIPT}</script>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )


def build_report(results_dir, *, out=None, title=None):
    """Bundle a results folder into one self-contained HTML file.

    Parameters
    ----------
    results_dir : str or path-like
        Folder with ``results.csv`` and optionally ``figures/*.png`` (with
        ``NAME.json`` sidecars) and ``run.json``.
    out : str or path-like, optional
        Where to write the report; default ``RESULTS_DIR/report.html``.
    title : str, optional
        Page title; default ``run.json``'s ``"name"`` or the folder name.

    Returns
    -------
    path : pathlib.Path
        The report. Images are inlined as base64, so it needs no other file and no
        network.

    Raises
    ------
    FileNotFoundError
        If ``results_dir`` or its ``results.csv`` does not exist.
    ValueError
        If ``results.csv`` has no rows or a JSON file is malformed.

    See Also
    --------
    neuroalign.plotting.save_figure

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> pd.DataFrame({"model": ["net"], "score": [0.5]}).to_csv(folder / "results.csv")
    >>> build_report(folder).name
    'report.html'
    """
    folder = Path(results_dir)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"results folder {str(folder)!r} does not exist; pass the folder a run wrote "
            "(the one with results.csv)."
        )
    table = _load_table(folder)
    table = table.drop(columns=[c for c in table.columns if str(c).startswith("Unnamed: ")])
    run = _read_json(folder / "run.json") if (folder / "run.json").is_file() else None
    if title is None:
        name = run.get("name") if isinstance(run, dict) else None
        title = str(name) if name else f"neuroalign results: {folder.resolve().name}"
    document = _render(title, table, _figures(folder), run)
    out = folder / "report.html" if out is None else Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    encoded = document.encode("utf-8")
    write_atomically(out, lambda file: file.write(encoded))
    return out
