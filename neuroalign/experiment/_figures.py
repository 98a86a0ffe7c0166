"""The figures of a run, chosen from what its results hold, and the HTML report.

- a layer profile per (method, metric, source) of scores that are not time-resolved;
- per fMRI-like source (voxels with ``x, y, z``): the best layer of each voxel and the
  best score on the volume, for the first subject;
- time courses of time-resolved RSA (one line per layer), of decoding (with chance)
  and of fusion (one line per region, cluster-corrected significant points marked).
"""

import re

import numpy as np

__all__ = ["make_figures", "make_report"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_METRIC_LABELS = {
    "pearson": "Pearson r (out-of-fold)",
    "r2": "R² (out-of-fold)",
    "rho_a": "RSA: Spearman ρ-a",
    "spearman": "RSA: Spearman ρ",
    "kendall_tau_a": "RSA: Kendall τ-a",
    "cka": "linear CKA",
}


def _name(*parts):
    return _UNSAFE.sub("_", "_".join(str(p) for p in parts if p))


def _label(metric):
    return _METRIC_LABELS.get(metric, metric)


def _profiles(table, out, save_figure, plot_layer_profile):
    static = table[table["time"].isna() & (table["layer"] != "")]
    paths = []
    groups = static.groupby(["method", "metric", "source", "model"], sort=False)
    for (method, metric, source, model), rows in groups:
        if method == "encoding" and metric != "pearson":
            continue
        figure = plot_layer_profile(
            rows,
            method=method,
            metric=metric,
            model=model,
            layer_order=list(dict.fromkeys(rows["layer"])),
        )
        subjects = ", ".join(dict.fromkeys(rows["subject"]))
        paths.append(
            save_figure(
                figure,
                out,
                _name("profile", method, source, model),
                title=f"{method}: {model} layers vs {source} ({_label(metric)})",
                caption=f"Mean over subjects ({subjects}) per region; band: 95% CI; dashed: "
                "noise ceiling where the data have repetitions.",
                close=True,
            )
        )
    return paths


def _brain_maps(maps, out, plotting):
    paths = []
    seen = set()
    for key, scores in maps.items():
        method, source, model, subject = (key.split("/") + [""] * 4)[:4]
        is_volume = {"x", "y", "z"} <= set(scores.coords) and "time" not in scores.dims
        if method != "encoding" or not is_volume or (source, model) in seen:
            continue
        seen.add((source, model))
        figure = plotting.plot_best_layer_map(
            scores,
            layer_order=list(scores.layer.values),
            title=f"{source} {subject}: best layer of {model}",
        )
        paths.append(
            plotting.save_figure(
                figure,
                out,
                _name("best_layer", source, model, subject),
                title=f"Best {model} layer per voxel ({source}, {subject})",
                caption="Layer with the highest out-of-fold Pearson r in each voxel.",
                close=True,
            )
        )
        figure = plotting.plot_brain_map(
            scores.max("layer"),
            label="best Pearson r",
            title=f"{source} {subject}",
        )
        paths.append(
            plotting.save_figure(
                figure,
                out,
                _name("best_score", source, model, subject),
                title=f"Best encoding score per voxel ({source}, {subject})",
                caption=f"Highest out-of-fold Pearson r over the layers of {model}.",
                close=True,
            )
        )
    return paths


def _time_courses(maps, out, plotting):
    paths = []
    for key, curves in maps.items():
        method, *rest = key.split("/")
        if method == "rsa" and "time" in curves.dims:
            source, model, subject = rest
            for region in curves.region.values:
                figure = plotting.plot_time_course(
                    curves.sel(region=region),
                    ylabel=_label(curves.attrs.get("metric", "")),
                )
                paths.append(
                    plotting.save_figure(
                        figure,
                        out,
                        _name("rsa_time", source, model, subject, region),
                        title=f"Time-resolved RSA: {model} layers vs {source} {subject}",
                        caption=f"Region {region}; RDM: {curves.attrs.get('rdm_method')}; one "
                        "line per layer.",
                        close=True,
                    )
                )
        if method == "decoding" and "time" in curves.dims:
            source, subject = rest
            chance = curves.attrs.get("chance")
            figure = plotting.plot_time_course(
                curves,
                chance=chance if chance is not None and np.isfinite(chance) else None,
                ylabel=f"decoding {curves.attrs.get('metric')}",
            )
            paths.append(
                plotting.save_figure(
                    figure,
                    out,
                    _name("decoding", source, subject),
                    title=f"Decoding {curves.attrs.get('target')} from {source} ({subject})",
                    caption="Cross-validated score at each time point (mean over folds); "
                    "dashed: chance.",
                    close=True,
                )
            )
        if method == "fusion":
            source, subject = rest
            significant = maps[f"fusion_p/{source}/{subject}"] < 0.05
            figure = plotting.plot_time_course(
                curves,
                clusters=significant,
                ylabel=_label(curves.attrs.get("compare_method")),
            )
            paths.append(
                plotting.save_figure(
                    figure,
                    out,
                    _name("fusion", source, subject),
                    title=f"EEG/MEG-fMRI fusion ({source}, {subject})",
                    caption="Similarity of each fMRI region's RDM with the M/EEG RDM over time; "
                    "bars: cluster-corrected p < 0.05 (stimulus-label permutations).",
                    close=True,
                )
            )
    return paths


def make_figures(result, out):
    """Render the figures that a run's results support into ``out/figures/``.

    Parameters
    ----------
    result : ComparisonResult
    out : path-like

    Returns
    -------
    paths : list of pathlib.Path
        The PNG files written.
    """
    from neuroalign import plotting

    paths = _profiles(result.table, out, plotting.save_figure, plotting.plot_layer_profile)
    paths += _brain_maps(result.maps, out, plotting)
    paths += _time_courses(result.maps, out, plotting)
    return paths


def make_report(out, *, title=None):
    """Bundle the results folder into ``out/report.html``.

    Parameters
    ----------
    out : path-like
    title : str, optional

    Returns
    -------
    path : pathlib.Path
    """
    from neuroalign.report import build_report

    return build_report(out, title=title)
