"""Time courses with confidence bands and cluster marks; temporal generalisation matrices."""

import numpy as np

from neuroalign.plotting._common import (
    as_table,
    band_handle,
    band_label,
    colours,
    metric_label,
    new_axes,
    select_rows,
    summarise,
)

_CURVE_COLUMNS = ("region", "layer", "model", "source", "subject")

__all__ = ["plot_generalization_matrix", "plot_time_course"]


def _is_decoding(result):
    """Whether ``result`` is a neuroalign.decoding.DecodingResult (scores over folds)."""
    scores = getattr(result, "scores", None)
    return hasattr(result, "metric") and hasattr(scores, "dims") and "fold" in scores.dims


def _decoding_curve(result):
    """Mean over folds, its t interval (DecodingResult.to_frame), label, chance and metric."""
    import xarray as xr

    if result.scores.dims != ("fold", "time"):
        raise ValueError(
            f"This DecodingResult has dims {result.scores.dims}; plot_time_course needs "
            "('fold', 'time'). Plot a temporal generalisation with plot_generalization_matrix."
        )
    table = result.to_frame()
    label = str(result.attrs.get("target") or "decoding")
    times = {"time": table["time"].to_numpy()}
    curve = xr.DataArray(table["score"].to_numpy(), dims="time", coords=times, name=label)
    ci = (table["ci_low"].to_numpy(), table["ci_high"].to_numpy())
    chance = float(result.chance) if np.isfinite(result.chance) else 0.0
    return curve, {label: ci}, chance, result.metric


def _table_curves(table, by):
    """Curves, CI bands and y label from the time-resolved rows of a tidy table."""
    import xarray as xr

    rows = table[table["time"].notna()] if "time" in table.columns else table.iloc[:0]
    if rows.empty:
        raise ValueError(
            "'curves' as a table needs time-resolved rows (a 'time' column in seconds); "
            "this table has none. Plot static scores with plot_layer_profile."
        )
    rows = select_rows(rows, {}, unique=("method", "metric"), name="curves")
    if by is None:
        by = next((c for c in _CURVE_COLUMNS if c in rows and rows[c].nunique() > 1), None)
    elif by not in rows.columns:
        raise ValueError(f"by={by!r} is not a column of the table; it has {list(rows.columns)}.")
    groups = rows.groupby(by, sort=False) if by else [(rows["metric"].iloc[0], rows)]
    curves, bands = {}, {}
    label_of_bands = band_label(rows, [by, "time"] if by else ["time"])
    for label, group in groups:
        stats = [(time, *summarise(at)) for time, at in group.groupby("time", sort=True)]
        time, score, low, high = (np.asarray(column, float) for column in zip(*stats))
        curves[str(label)] = xr.DataArray(score, dims="time", coords={"time": time})
        if np.isfinite(low).any():
            bands[str(label)] = (low, high)
    method = rows["method"].iloc[0] if "method" in rows else None
    return curves, bands, metric_label(rows["metric"].iloc[0], method), label_of_bands


def _as_curves(curves, name):
    """``{label: DataArray over time}`` from a DataArray (1-D or 2-D) or a mapping."""
    import xarray as xr

    if isinstance(curves, xr.DataArray):
        if "time" not in curves.dims:
            raise ValueError(
                f"{name!r} must have a 'time' dimension (seconds); got dims {curves.dims}."
            )
        if curves.ndim == 1:
            return {str(curves.name or "score"): curves}
        if curves.ndim == 2:
            dim = next(d for d in curves.dims if d != "time")
            return {str(v): curves.sel({dim: v}) for v in curves[dim].values}
        raise ValueError(
            f"{name!r} must be 1-D (time) or 2-D (curve x time); got dims {curves.dims}. "
            "Average or select the other dimensions first."
        )
    if isinstance(curves, dict):
        out = {}
        for label, curve in curves.items():
            out.update({str(label): one for one in _as_curves(curve, name).values()})
        return out
    raise TypeError(
        f"{name!r} must be an xarray.DataArray over 'time' or a dict of them; got "
        f"{type(curves).__name__}."
    )


def _cluster_masks(clusters, labels, alpha):
    """``{label: bool mask over time}`` from masks, a ClusterResult or a FusionResult."""
    if clusters is None:
        return {}
    if hasattr(clusters, "cluster_p") and hasattr(clusters, "fusion"):
        clusters = clusters.significant(alpha)
    if hasattr(clusters, "labels") and hasattr(clusters, "significant"):
        if len(labels) != 1:
            raise ValueError(
                "A single ClusterResult marks a single curve; pass a dict {label: "
                f"ClusterResult}} for the curves {labels}."
            )
        return {labels[0]: np.asarray(clusters.significant(alpha), bool)}
    if isinstance(clusters, dict):
        out = {}
        for label, value in clusters.items():
            out.update(_cluster_masks(value, [str(label)], alpha))
        return out
    masks = _as_curves(clusters, "clusters")
    if len(masks) == 1 and len(labels) == 1:
        return {labels[0]: np.asarray(next(iter(masks.values())), bool)}
    return {label: np.asarray(mask, bool) for label, mask in masks.items()}


def _spans(times, mask):
    """(start, stop) in seconds of each run of True in ``mask``, padded by half a step."""
    step = float(np.median(np.diff(times))) if len(times) > 1 else 0.0
    spans = []
    start = None
    for i, inside in enumerate(np.append(mask, False)):
        if inside and start is None:
            start = i
        elif not inside and start is not None:
            spans.append((times[start] - step / 2, times[i - 1] + step / 2))
            start = None
    return spans


def plot_time_course(
    curves,
    *,
    ci=None,
    clusters=None,
    chance=None,
    alpha=0.05,
    ylabel=None,
    onset=0.0,
    by=None,
    ax=None,
):
    """Scores over time, one line per curve, with CI bands and cluster marks.

    Parameters
    ----------
    curves : xarray.DataArray, dict of str to xarray.DataArray, or DecodingResult
        Each over a ``time`` coordinate in seconds: a 1-D DataArray, a 2-D one (one
        curve per value of its other dimension, e.g. ``region``, as in
        :attr:`neuroalign.rsa.FusionResult.fusion`) or a dict label → curve. A
        time-resolved :class:`neuroalign.decoding.DecodingResult` is drawn as its mean
        over folds with the t interval of :meth:`~neuroalign.decoding.DecodingResult.to_frame`,
        its chance level and its metric as the axis label (unless given). A tidy result
        table (or ComparisonResult) gives one curve per value of ``by`` from its rows
        with a ``time``; several rows per time point (subjects) are averaged and their
        95% t interval drawn, a single row's ``ci_low, ci_high`` otherwise.
    ci : dict of str to (low, high), optional
        Per curve label, the lower and upper CI bounds over time (arrays or DataArrays of
        the curve's length), drawn as a shaded band.
    clusters : optional
        Significant time points marked as bars under the curves: a boolean DataArray
        shaped like ``curves``, a dict label → boolean mask or
        :class:`neuroalign.stats.ClusterResult`, a single ClusterResult (one curve), or
        a :class:`neuroalign.rsa.FusionResult` (its clusters with ``p < alpha``).
    chance : float, optional
        Chance level, drawn as a dotted horizontal line.
    alpha : float, default=0.05
        Significance level for ClusterResult/FusionResult input.
    ylabel : str, optional
        Label of the score axis, with its unit; default ``"score"`` (or the metric of a
        DecodingResult).
    onset : float or None, default=0.0
        Stimulus onset (s), drawn as a vertical line; ``None`` for none.
    by : str, optional
        Table column with one curve per value; default the first of ``region, layer,
        model, source, subject`` that varies.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    figure : matplotlib.figure.Figure

    See Also
    --------
    plot_generalization_matrix, neuroalign.rsa.fusion

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> curve = xr.DataArray(np.sin(np.arange(5)), dims="time", coords={"time": np.arange(5) / 10})
    >>> plot_time_course(curve, chance=0.0).axes[0].get_xlabel()
    'time (s)'
    """
    import pandas as pd

    if not _is_decoding(curves) and not isinstance(curves, dict):
        curves = as_table(curves)
    ci_name = "CI"
    if isinstance(curves, pd.DataFrame):
        curves, table_ci, table_label, table_ci_name = _table_curves(curves, by)
        ci, ci_name = (table_ci, table_ci_name) if ci is None else (ci, ci_name)
        ylabel = table_label if ylabel is None else ylabel
    if _is_decoding(curves):
        curves, decoding_ci, decoding_chance, metric = _decoding_curve(curves)
        ci, ci_name = (decoding_ci, "95% CI across folds") if ci is None else (ci, ci_name)
        chance = decoding_chance if chance is None else chance
        ylabel = metric_label(metric, "decoding") if ylabel is None else ylabel
    ylabel = "score" if ylabel is None else ylabel
    series = _as_curves(curves, "curves")
    labels = list(series)
    masks = _cluster_masks(clusters, labels, alpha)
    unknown = sorted(set(masks) - set(labels)) + sorted(set(ci or {}) - set(labels))
    if unknown:
        raise ValueError(f"'clusters'/'ci' name curves {unknown} that are not in {labels}.")
    figure, ax = new_axes(ax, figsize=(7.5, 3.8))
    palette = dict(zip(labels, colours(len(labels))))
    for label, curve in series.items():
        times = np.asarray(curve["time"].values, float)
        ax.plot(times, np.asarray(curve.values, float), color=palette[label], label=label)
        if ci and label in ci:
            low, high = (np.asarray(getattr(v, "values", v), float) for v in ci[label])
            ax.fill_between(times, low, high, color=palette[label], alpha=0.2, linewidth=0)
    if chance is not None:
        ax.axhline(chance, color="0.4", linestyle=":", linewidth=1, label="chance")
    if onset is not None:
        ax.axvline(onset, color="0.6", linewidth=0.8)
    handles, names = ax.get_legend_handles_labels()
    if ax.collections:
        handles.append(band_handle())
        names.append(ci_name)
    if masks:
        low, high = ax.get_ylim()
        step = 0.04 * (high - low)
        for k, label in enumerate(lbl for lbl in labels if lbl in masks):
            times = np.asarray(series[label]["time"].values, float)
            y = low - (k + 0.5) * step
            for start, stop in _spans(times, masks[label]):
                ax.plot(
                    [start, stop], [y, y], color=palette[label], linewidth=3, solid_capstyle="butt"
                )
        ax.set_ylim(low - (len(masks) + 0.5) * step, high)
        from matplotlib.lines import Line2D

        handles.append(Line2D([], [], color="0.3", linewidth=3))
        tested = hasattr(clusters, "significant") or (
            isinstance(clusters, dict) and any(hasattr(v, "significant") for v in clusters.values())
        )
        names.append(f"significant cluster (p < {alpha:g})" if tested else "significant")
    ax.legend(handles, names, fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_xlabel("time (s)")
    ax.set_ylabel(ylabel)
    return figure


def plot_generalization_matrix(
    tgm,
    *,
    train_times=None,
    test_times=None,
    significant=None,
    chance=None,
    label=None,
    cmap="RdBu_r",
    ax=None,
):
    """Temporal generalisation matrix: score of a decoder trained at one time, tested at another.

    Parameters
    ----------
    tgm : xarray.DataArray of dims (train_time, test_time), array, or DecodingResult
        Rows are training times, columns testing times. A DataArray's coordinates give
        the times in seconds; a plain array of shape (n_train, n_test) needs
        ``train_times`` and ``test_times``. A temporal-generalisation
        :class:`neuroalign.decoding.DecodingResult` gives its mean over folds, its
        chance level and its metric (for the colour-bar label unless given).
    train_times, test_times : array of shape (n_train,) and (n_test,), optional
        Times in seconds when ``tgm`` is not labelled.
    significant : array of bool of the shape of ``tgm`` or ClusterResult, optional
        Points to outline (e.g. ``ClusterResult.significant()``).
    chance : float, optional
        Centre of the diverging colour scale (e.g. 0.5 for accuracy); default the
        middle of the data range.
    label : str, optional
        Colour-bar label, with its unit; default ``"score"`` (or the decoding metric).
    cmap : str, default="RdBu_r"
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    figure : matplotlib.figure.Figure

    See Also
    --------
    plot_time_course

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0, 0.3, 4)
    >>> figure = plot_generalization_matrix(np.eye(4), train_times=t, test_times=t)
    >>> figure.axes[0].get_ylabel()
    'training time (s)'
    """
    if _is_decoding(tgm):
        if np.isfinite(tgm.chance) and chance is None:
            chance = float(tgm.chance)
        label = metric_label(tgm.metric, "decoding") if label is None else label
        tgm = tgm.mean
    label = "score" if label is None else label
    values = np.asarray(getattr(tgm, "values", tgm), dtype=float)
    if values.ndim != 2:
        raise ValueError(f"'tgm' must be 2-D (train_time x test_time); got shape {values.shape}.")
    if hasattr(tgm, "dims"):
        train_times = np.asarray(tgm[tgm.dims[0]].values, float)
        test_times = np.asarray(tgm[tgm.dims[1]].values, float)
    if train_times is None or test_times is None:
        raise ValueError(
            "'tgm' is a plain array; pass train_times= and test_times= (seconds) or a "
            "DataArray with train_time and test_time coordinates."
        )
    train_times, test_times = np.asarray(train_times, float), np.asarray(test_times, float)
    if values.shape != (len(train_times), len(test_times)):
        raise ValueError(
            f"'tgm' has shape {values.shape} but train_times/test_times have "
            f"{len(train_times)}/{len(test_times)} entries."
        )
    if significant is not None and hasattr(significant, "significant"):
        significant = significant.significant()
    figure, ax = new_axes(ax, figsize=(5.0, 4.2))
    centre = float(np.nanmean([np.nanmin(values), np.nanmax(values)])) if chance is None else chance
    span = float(np.nanmax(np.abs(values - centre))) or 1.0
    extent = _edges(test_times) + _edges(train_times)
    image = ax.imshow(
        values,
        origin="lower",
        extent=extent,
        aspect="auto",
        cmap=cmap,
        vmin=centre - span,
        vmax=centre + span,
        interpolation="nearest",
    )
    colorbar = figure.colorbar(image, ax=ax, shrink=0.85)
    colorbar.set_label(label)
    if chance is not None:
        colorbar.ax.axhline(chance, color="black", linewidth=0.8)
    lo = max(train_times[0], test_times[0])
    hi = min(train_times[-1], test_times[-1])
    ax.plot([lo, hi], [lo, hi], color="0.2", linestyle="--", linewidth=0.8, label="diagonal")
    if significant is not None:
        mask = np.asarray(getattr(significant, "values", significant), bool)
        if mask.shape != values.shape:
            raise ValueError(
                f"'significant' must have the shape of 'tgm' {values.shape}; got {mask.shape}."
            )
        if mask.any() and not mask.all():
            ax.contour(
                test_times,
                train_times,
                mask.astype(float),
                levels=[0.5],
                colors="black",
                linewidths=1,
            )
            from matplotlib.lines import Line2D

            ax.legend(
                [Line2D([], [], color="0.2", ls="--", lw=0.8), Line2D([], [], color="k", lw=1)],
                ["diagonal", "significant cluster"],
                fontsize="small",
                loc="lower right",
            )
    if ax.get_legend() is None:
        ax.legend(fontsize="small", loc="lower right")
    ax.set_xlabel("testing time (s)")
    ax.set_ylabel("training time (s)")
    return figure


def _edges(times):
    """``[first - half step, last + half step]`` so pixels are centred on their times."""
    step = float(np.median(np.diff(times))) if len(times) > 1 else 1.0
    return [times[0] - step / 2, times[-1] + step / 2]
