"""Layer profiles: score per network layer, one line per brain region."""

import numpy as np

from neuroalign.plotting._common import (
    as_table,
    band_handle,
    band_label,
    check_table,
    colours,
    metric_label,
    new_axes,
    ordered_levels,
    select_rows,
    set_category_ticks,
    summarise,
)

__all__ = ["plot_layer_profile"]


def _profile(rows, layers):
    """Mean, CI low and CI high per layer for one region's rows, shape (3, n_layers)."""
    return np.array([summarise(rows[rows["layer"] == layer]) for layer in layers], float).T


def plot_layer_profile(
    table,
    *,
    method=None,
    metric=None,
    model=None,
    layer_order=None,
    region_order=None,
    ax=None,
):
    """Score per layer, one line per region, with CIs and noise ceilings.

    Parameters
    ----------
    table : pandas.DataFrame, ComparisonResult or EncodingResult
        Tidy result table (or a result holding one) with columns ``model, layer,
        subject, region, method, metric, score`` and optionally ``ci_low, ci_high,
        ceiling``. Rows of one model, method and metric are plotted; pick them with the
        keywords below when the table holds several.
    method, metric, model : str, optional
        Select rows; required when the table holds more than one value.
    layer_order : sequence of str, optional
        Order of the layers on the x axis; default order of first appearance.
    region_order : sequence of str, optional
        Order of the regions in the legend; default order of first appearance.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; default a new figure.

    Returns
    -------
    figure : matplotlib.figure.Figure
        With one subject per (region, layer) the band is that row's
        ``[ci_low, ci_high]``; with several subjects the line is their mean and the
        band the 95% t interval of the mean across subjects (the legend says which).
        The dashed line is the region's mean noise ceiling (shaded from the lowest to
        the highest subject's).

    See Also
    --------
    plot_model_comparison

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"model": "net", "layer": ["c1", "c2"], "subject": "s1",
    ...     "region": "V1", "method": "encoding", "metric": "pearson_r", "score": [.5, .3]})
    >>> plot_layer_profile(table).axes[0].get_xlabel()
    'layer (net)'
    """
    table = as_table(table)
    check_table(table)
    rows = select_rows(
        table,
        {"method": method, "metric": metric, "model": model},
        unique=("model", "method", "metric"),
    )
    if "time" in rows.columns and rows["time"].notna().any():
        raise ValueError(
            "'table' holds time-resolved rows (a non-empty 'time' column); plot them with "
            "plot_time_course, or select rows without a time first."
        )
    layers = ordered_levels(rows["layer"].astype(str), layer_order, name="layer_order")
    regions = ordered_levels(rows["region"].astype(str), region_order, name="region_order")
    rows = rows.assign(layer=rows["layer"].astype(str), region=rows["region"].astype(str))
    figure, ax = new_axes(ax, figsize=(max(5.5, 0.9 * len(layers) + 3.5), 3.8))
    x = np.arange(len(layers))
    for region, colour in zip(regions, colours(len(regions))):
        region_rows = rows[rows["region"] == region]
        mean, low, high = _profile(region_rows, layers)
        ax.plot(x, mean, marker="o", color=colour, label=region)
        if np.isfinite(low).any():
            ax.fill_between(x, low, high, color=colour, alpha=0.2, linewidth=0)
        ceilings = region_rows["ceiling"].dropna() if "ceiling" in region_rows else []
        if len(ceilings):
            ax.axhline(ceilings.mean(), color=colour, linestyle="--", linewidth=1)
            if ceilings.max() > ceilings.min():
                ax.axhspan(ceilings.min(), ceilings.max(), color=colour, alpha=0.08)
    set_category_ticks(ax, x, layers)
    model_name = rows["model"].dropna().iloc[0] if rows["model"].notna().any() else None
    ax.set_xlabel(f"layer ({model_name})" if model_name else "layer")
    ax.set_ylabel(metric_label(rows["metric"].iloc[0], rows["method"].iloc[0]))
    handles, labels = ax.get_legend_handles_labels()
    if ax.collections:
        handles.append(band_handle())
        labels.append(band_label(rows, ["region", "layer"]))
    if "ceiling" in rows and rows["ceiling"].notna().any():
        from matplotlib.lines import Line2D

        handles.append(Line2D([], [], color="0.3", linestyle="--", linewidth=1))
        labels.append("noise ceiling")
    ax.legend(
        handles,
        labels,
        title="region",
        fontsize="small",
        loc="upper left",
        bbox_to_anchor=(1.01, 1),
    )
    ax.grid(axis="y", alpha=0.3)
    return figure
