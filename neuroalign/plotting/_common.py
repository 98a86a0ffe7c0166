"""Helpers every plot function shares: figures and axes, table checks, colours."""

import numpy as np

TABLE_COLUMNS = ("model", "layer", "subject", "region", "method", "metric", "score")


def new_axes(ax, *, figsize):
    """``(figure, ax)``: the given axes and their figure, or a new figure with one axes."""
    if ax is not None:
        return ax.figure, ax
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=figsize, layout="constrained")
    return figure, ax


def new_figure(figsize):
    """A new constrained-layout figure (pyplot-managed, so notebooks and galleries show it)."""
    import matplotlib.pyplot as plt

    return plt.figure(figsize=figsize, layout="constrained")


def set_category_ticks(ax, positions, labels):
    """Category labels on the x axis, slanted when long so that they never overlap."""
    labels = [str(label) for label in labels]
    if max(map(len, labels), default=0) * len(labels) > 40:
        ax.set_xticks(positions, labels, rotation=30, ha="right", rotation_mode="anchor")
    else:
        ax.set_xticks(positions, labels)


def colours(n):
    """``n`` distinguishable colours from matplotlib's default cycle (tab10, then tab20)."""
    import matplotlib

    name = "tab10" if n <= 10 else "tab20"
    cmap = matplotlib.colormaps[name]
    return [cmap(i % cmap.N) for i in range(n)]


def as_table(result):
    """The tidy table of a ComparisonResult (``.table``), an EncodingResult
    (``.to_frame()``) or a DataFrame (returned as is)."""
    import pandas as pd

    if isinstance(result, pd.DataFrame):
        return result
    if isinstance(getattr(result, "table", None), pd.DataFrame):
        return result.table
    if callable(getattr(result, "to_frame", None)) and hasattr(result, "scores"):
        return result.to_frame()
    return result


def check_table(table, *, name="table", columns=TABLE_COLUMNS):
    """Check that ``table`` is a DataFrame with the tidy result columns it needs."""
    import pandas as pd

    if not isinstance(table, pd.DataFrame):
        raise TypeError(
            f"{name!r} must be a pandas DataFrame (the tidy result table, e.g. "
            f"ComparisonResult.table or EncodingResult.to_frame()); got {type(table).__name__}."
        )
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(
            f"{name!r} lacks the column(s) {missing}; it has {list(table.columns)}. "
            "Result tables have the columns " + ", ".join(TABLE_COLUMNS) + "."
        )
    if table.empty:
        raise ValueError(f"{name!r} has no rows; nothing to plot.")


def select_rows(table, filters, *, unique, name="table"):
    """Rows matching ``filters`` (column -> value or None), with one value left per ``unique``.

    A column in ``unique`` that still holds several values after filtering is an error
    that lists them and names the keyword that picks one.
    """
    selected = table
    for column, value in filters.items():
        if value is None or column not in selected.columns:
            continue
        kept = selected[selected[column] == value]
        if kept.empty:
            from neuroalign._validation import close_matches_hint

            present = list(dict.fromkeys(selected[column].astype(str)))
            raise ValueError(
                f"{column}={value!r} matches no row of {name!r}; its {column!r} values are "
                f"{present}." + close_matches_hint(value, present)
            )
        selected = kept
    for column in unique:
        if column not in selected.columns:
            continue
        values = list(dict.fromkeys(selected[column].dropna()))
        if len(values) > 1:
            raise ValueError(
                f"{name!r} holds several {column!r} values {values}; pick one with "
                f"{column}=... (e.g. {column}={values[0]!r})."
            )
    return selected


def ordered_levels(values, order, *, name):
    """Levels in ``order`` (checked against the data) or in order of first appearance."""
    present = list(dict.fromkeys(values))
    if order is None:
        return present
    order = list(order)
    unknown = [level for level in order if level not in present]
    if unknown:
        raise ValueError(f"{name!r} names {unknown}, which are not in the table ({present}).")
    return order


def mean_ci(values, level=0.95):
    """Mean and the t-based confidence interval of the mean of 1-D ``values`` (NaN-free)."""
    import scipy.stats

    values = np.asarray(values, dtype=float)
    mean = float(values.mean())
    if len(values) < 2:
        return mean, np.nan, np.nan
    half = scipy.stats.sem(values) * scipy.stats.t.ppf(0.5 + level / 2, len(values) - 1)
    return mean, mean - half, mean + half


def band_label(rows, keys):
    """Legend text of CI bands: across subjects when a plotted point averages several rows."""
    several = rows.groupby(keys, sort=False)["score"].count().max() > 1
    return "95% CI across subjects" if several else "CI"


def band_handle():
    """A grey legend patch standing for the CI bands."""
    from matplotlib.patches import Patch

    return Patch(facecolor="0.5", alpha=0.3, linewidth=0)


def summarise(rows):
    """``(score, ci_low, ci_high)`` of the rows of one plotted point.

    One row gives its own score and CI (NaN where the table has none); several rows
    (subjects) give their mean and the 95% t interval of the mean; none gives NaNs.
    """
    scores = rows["score"].dropna()
    if len(scores) == 1:
        row = rows.loc[scores.index[0]]
        return float(scores.iloc[0]), row.get("ci_low", np.nan), row.get("ci_high", np.nan)
    if len(scores) > 1:
        return mean_ci(scores.to_numpy())
    return np.nan, np.nan, np.nan


def metric_label(metric, method=None):
    """Axis label of a score: the metric with its unit (dimensionless scores say so)."""
    names = {
        "pearson_r": "Pearson r",
        "r": "Pearson r",
        "r2": "R²",
        "pearson": "Pearson r",
        "spearman": "Spearman ρ",
        "rho_a": "Spearman ρ-a",
        "tau_a": "Kendall τ-a",
        "corr": "Pearson r",
        "cosine": "cosine similarity",
        "accuracy": "accuracy",
        "balanced_accuracy": "balanced accuracy",
        "auc": "ROC AUC",
        "roc_auc": "ROC AUC",
        "identification": "pairwise identification accuracy",
        "cka": "CKA",
    }
    label = names.get(str(metric), str(metric)) if metric is not None else "score"
    prefix = f"{method} " if method else ""
    proportions = {"accuracy", "balanced_accuracy", "auc", "roc_auc", "identification"}
    unit = "proportion" if str(metric) in proportions else "dimensionless"
    return f"{prefix}{label} ({unit})"
