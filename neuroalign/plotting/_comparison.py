"""Model-comparison bars with CIs, the noise ceiling and pairwise significance."""

import numpy as np

from neuroalign.plotting._common import (
    colours,
    metric_label,
    new_axes,
    ordered_levels,
    select_rows,
    set_category_ticks,
    summarise,
)

__all__ = ["plot_model_comparison"]


def _from_evaluation(result):
    """Bars, CIs, ceiling band and corrected pairwise p-values of an EvaluationResult."""
    bars = {
        "labels": [str(m) for m in result.models],
        "score": np.asarray(result.scores, float),
        "ci_low": np.asarray(result.ci_low, float),
        "ci_high": np.asarray(result.ci_high, float),
        "ceiling": tuple(float(v) for v in result.noise_ceiling),
        "ylabel": metric_label(result.method, "RSA"),
    }
    return bars, np.asarray(result.p_pairwise_corrected, float)


def _from_table(table, x, order, filters):
    """Bars, CIs and ceiling band from a tidy table (one bar per value of ``x``)."""
    from neuroalign.plotting._common import check_table

    check_table(table, columns=(x, "score"))
    rows = select_rows(table, filters, unique=("method", "metric"))
    labels = ordered_levels(rows[x].astype(str), order, name="order")
    rows = rows.assign(**{x: rows[x].astype(str)})
    _check_one_row_per_subject(rows, x)
    score, low, high = np.array([summarise(rows[rows[x] == label]) for label in labels], float).T
    ceiling = (np.nan, np.nan)
    if "ceiling_low" in rows and "ceiling_high" in rows:
        ceiling = (float(rows["ceiling_low"].mean()), float(rows["ceiling_high"].mean()))
    elif "ceiling" in rows and rows["ceiling"].notna().any():
        values = rows["ceiling"].dropna()
        ceiling = (float(values.min()), float(values.max()))
    metric = rows["metric"].iloc[0] if "metric" in rows else None
    method = rows["method"].iloc[0] if "method" in rows else None
    bars = {
        "labels": labels,
        "score": score,
        "ci_low": low,
        "ci_high": high,
        "ceiling": ceiling,
        "ylabel": metric_label(metric, method),
    }
    return bars


def _check_one_row_per_subject(rows, x):
    """Each bar averages one row per subject; other varying columns would be mixed in."""
    keys = [x, "subject"] if "subject" in rows.columns else [x]
    duplicated = rows.duplicated(keys, keep=False)
    if not duplicated.any():
        return
    clash = rows[duplicated]
    varying = [
        c
        for c in ("model", "layer", "region", "source", "time")
        if c in clash.columns and c != x and clash.groupby(keys)[c].nunique().max() > 1
    ]
    example = {c: list(dict.fromkeys(clash[c].astype(str)))[:4] for c in varying}
    raise ValueError(
        f"'result_or_table' has several rows per {x!r} and subject, which differ in "
        f"{varying or 'other columns'} ({example}); select the rows to compare first, e.g. "
        f"table[table[{(varying or ['region'])[0]!r}] == ...] or region=..."
    )


def _pairwise_matrix(pairwise, labels):
    """Square p-value matrix from a matrix or a table with model_a, model_b and p."""
    import pandas as pd

    if pairwise is None:
        return None
    if isinstance(pairwise, pd.DataFrame):
        column = "p_corrected" if "p_corrected" in pairwise else "p"
        missing = [c for c in ("model_a", "model_b", column) if c not in pairwise]
        if missing:
            raise ValueError(
                f"'pairwise' as a table needs the columns model_a, model_b and p (or "
                f"p_corrected); it lacks {missing}."
            )
        index = {label: i for i, label in enumerate(labels)}
        matrix = np.ones((len(labels), len(labels)))
        for a, b, p in pairwise[["model_a", "model_b", column]].itertuples(index=False):
            if str(a) in index and str(b) in index:
                matrix[index[str(a)], index[str(b)]] = matrix[index[str(b)], index[str(a)]] = p
        return matrix
    matrix = np.asarray(pairwise, float)
    if matrix.shape != (len(labels), len(labels)):
        raise ValueError(
            f"'pairwise' must be a ({len(labels)}, {len(labels)}) matrix of p-values, one row "
            f"and column per bar; got shape {matrix.shape}."
        )
    return matrix


def _stars(p):
    return "***" if p < 0.001 else "**" if p < 0.01 else "*"


def _brackets(ax, p_values, tops, alpha, which, scores):
    """Brackets over bar pairs with p < alpha; overlapping brackets go on separate levels."""
    n = len(tops)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n) if p_values[i, j] < alpha]
    if which == "adjacent":
        pairs = [(i, j) for i, j in pairs if j == i + 1]
    elif which == "best":
        best = int(np.nanargmax(scores))
        pairs = [(i, j) for i, j in pairs if best in (i, j)]
    if not pairs:
        return 0
    placed = []
    for i, j in sorted(pairs, key=lambda pair: (pair[1] - pair[0], pair[0])):
        level = 0
        while any(lvl == level and i <= b and j >= a for a, b, lvl in placed):
            level += 1
        placed.append((i, j, level))
    n_levels = max(level for *_, level in placed) + 1
    # Each level must be taller than its stars plus the end ticks of the bracket above:
    # step >= 1.6 * text height, where the text height is a fraction of the final y range.
    low, high = ax.get_ylim()
    figure_height = ax.figure.get_figheight() * ax.get_position().height
    text = 1.6 * (10 / 72) / max(figure_height, 1.0)
    step = text * (high - low) / max(1 - text * (n_levels + 1), 0.2)
    base = np.nanmax(tops) + 0.6 * step
    for i, j, level in placed:
        y = base + level * step
        ax.plot([i, i, j, j], [y - 0.25 * step, y, y, y - 0.25 * step], color="0.2", lw=1)
        ax.text((i + j) / 2, y, _stars(p_values[i, j]), ha="center", va="bottom", fontsize=9)
    top = base + n_levels * step
    ax.set_ylim(low, max(high, top))
    return len(pairs)


def plot_model_comparison(
    result_or_table,
    *,
    pairwise=None,
    x="model",
    order=None,
    method=None,
    metric=None,
    region=None,
    alpha=0.05,
    brackets="all",
    ax=None,
):
    """Bars of model scores with CIs, the noise-ceiling band and significance brackets.

    Parameters
    ----------
    result_or_table : neuroalign.rsa.EvaluationResult, pandas.DataFrame or ComparisonResult
        An RSA evaluation (scores, CIs, noise ceiling and corrected pairwise p-values
        are taken from it) or a tidy result table (or a result holding one) with ``x``
        and ``score`` columns and optionally ``ci_low, ci_high, ceiling`` (or
        ``ceiling_low, ceiling_high``).
        Several rows per bar (subjects) are averaged and their 95% t interval drawn.
    pairwise : array of shape (n_bars, n_bars) or pandas.DataFrame, optional
        p-values of bar differences (a table needs ``model_a, model_b, p`` or
        ``p_corrected``); default the EvaluationResult's corrected p-values, none for a
        table. Pairs with ``p < alpha`` get a bracket (``*`` < .05, ``**`` < .01, ``***`` < .001).
    x : str, default="model"
        Table column with one bar per value (e.g. ``"layer"``).
    order : sequence of str, optional
        Bar order; default order of first appearance.
    method, metric, region : str, optional
        Select table rows; required when the table holds several methods or metrics.
    alpha : float, default=0.05
    brackets : {"all", "adjacent", "best", None}, default="all"
        Which significant pairs get a bracket: all, neighbouring bars only, those with
        the best-scoring bar only (for many bars), or none.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    figure : matplotlib.figure.Figure

    See Also
    --------
    neuroalign.rsa.evaluate, plot_layer_profile

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"model": ["a", "b"], "score": [0.2, 0.4], "metric": "rho_a"})
    >>> len(plot_model_comparison(table).axes[0].patches)
    2
    """
    import pandas as pd

    from neuroalign._validation import check_option
    from neuroalign.plotting._common import as_table

    check_option("brackets", brackets, ("all", "adjacent", "best", None))
    if not hasattr(result_or_table, "p_pairwise_corrected"):
        result_or_table = as_table(result_or_table)
    if isinstance(result_or_table, pd.DataFrame):
        bars = _from_table(
            result_or_table, x, order, {"method": method, "metric": metric, "region": region}
        )
        p_values = None
    elif hasattr(result_or_table, "p_pairwise_corrected"):
        bars, p_values = _from_evaluation(result_or_table)
    else:
        raise TypeError(
            "'result_or_table' must be a neuroalign.rsa.EvaluationResult or a pandas "
            f"DataFrame; got {type(result_or_table).__name__}."
        )
    labels = bars["labels"]
    if pairwise is not None:
        p_values = _pairwise_matrix(pairwise, labels)
    figure, ax = new_axes(ax, figsize=(max(3.5, 0.8 * len(labels) + 2.0), 3.8))
    positions = np.arange(len(labels))
    score, low, high = bars["score"], bars["ci_low"], bars["ci_high"]
    ax.bar(positions, score, color=colours(len(labels)), width=0.7)
    has_ci = np.isfinite(low) & np.isfinite(high)
    if has_ci.any():
        errors = np.vstack([score - low, high - score])[:, has_ci]
        ax.errorbar(
            positions[has_ci],
            score[has_ci],
            yerr=errors,
            fmt="none",
            ecolor="0.1",
            capsize=3,
            linewidth=1,
            label="95% CI",
        )
    ceiling_low, ceiling_high = bars["ceiling"]
    if np.isfinite(ceiling_high) or np.isfinite(ceiling_low):
        bottom = ceiling_low if np.isfinite(ceiling_low) else ceiling_high
        top = ceiling_high if np.isfinite(ceiling_high) else ceiling_low
        ax.axhspan(
            bottom,
            max(top, bottom),
            color="0.6",
            alpha=0.35,
            zorder=0,
            label="noise ceiling",
            linewidth=0,
        )
        if top == bottom:
            ax.axhline(top, color="0.4", linestyle="--", linewidth=1)
    ax.axhline(0, color="0.2", linewidth=0.8)
    set_category_ticks(ax, positions, labels)
    ax.set_xlabel(x)
    ax.set_ylabel(bars["ylabel"])
    tops = np.where(has_ci, high, score)
    n_significant = 0
    if p_values is not None and brackets is not None:
        n_significant = _brackets(ax, p_values, tops, alpha, brackets, score)
    handles, names = ax.get_legend_handles_labels()
    if n_significant:
        from matplotlib.lines import Line2D

        handles.append(Line2D([], [], color="0.2", linewidth=1))
        names.append(f"p < {alpha:g} (pairwise)")
    ax.legend(handles, names, fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    return figure
