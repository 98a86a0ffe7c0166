import numpy as np
import pytest
import xarray as xr

from neuroalign.plotting import plot_generalization_matrix, plot_time_course
from neuroalign.stats import cluster_test

TIMES = np.round(np.arange(-0.1, 0.5, 0.01), 3)


@pytest.fixture
def curves(rng):
    peaks = np.stack([np.exp(-((TIMES - 0.1) ** 2) / 0.002), np.exp(-((TIMES - 0.2) ** 2) / 0.004)])
    return xr.DataArray(
        peaks + rng.normal(0, 0.05, peaks.shape),
        dims=("region", "time"),
        coords={"region": ["early", "late"], "time": TIMES},
    )


def _bars(ax):
    """Cluster bars: horizontal 2-point lines below the curves, as (x0, x1) spans."""
    return [
        tuple(line.get_xdata())
        for line in ax.get_lines()
        if len(line.get_xdata()) == 2 and line.get_linewidth() == 3
    ]


def test_curves_bands_and_cluster_bars(curves, layout_checker):
    ci = {r: (curves.sel(region=r) - 0.1, curves.sel(region=r) + 0.1) for r in ["early", "late"]}
    mask = xr.zeros_like(curves, dtype=bool)
    mask.loc[{"region": "early", "time": slice(0.05, 0.15)}] = True
    figure = plot_time_course(curves, ci=ci, clusters=mask, chance=0.0, ylabel="ρ (unitless)")
    ax = figure.axes[0]
    early = next(line for line in ax.get_lines() if line.get_label() == "early")
    np.testing.assert_array_equal(early.get_xdata(), TIMES)
    np.testing.assert_array_equal(early.get_ydata(), curves.sel(region="early"))
    assert _bars(ax) == [(pytest.approx(0.045), pytest.approx(0.155))]  # half a sample padding
    assert len(ax.collections) == 2  # one CI band per curve
    assert ax.get_xlabel() == "time (s)" and ax.get_ylabel() == "ρ (unitless)"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["early", "late", "chance", "CI", "significant"]
    layout_checker(figure)


def test_cluster_result_marks_its_significant_cluster(curves, rng):
    statistic = curves.sel(region="late").values * 10
    null = rng.normal(size=(200, len(TIMES)))
    result = cluster_test(statistic, null, threshold=3.0, tail=1)
    figure = plot_time_course(curves.sel(region="late"), clusters=result)
    (start, stop), *_ = _bars(figure.axes[0])
    significant = TIMES[result.significant()]
    assert start == pytest.approx(significant.min() - 0.005)
    assert stop == pytest.approx(significant.max() + 0.005)
    legend = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert "significant cluster (p < 0.05)" in legend


def test_time_course_errors(curves):
    with pytest.raises(ValueError, match="'time' dimension"):
        plot_time_course(curves.rename(time="t"))
    with pytest.raises(ValueError, match=r"name curves \['V1'\]"):
        plot_time_course(curves, ci={"V1": (0, 1)})


def test_generalization_matrix(rng, layout_checker):
    values = 0.5 + 0.3 * np.exp(-((TIMES[:, None] - TIMES[None]) ** 2) / 0.003)
    tgm = xr.DataArray(
        values + rng.normal(0, 0.02, values.shape),
        dims=("train_time", "test_time"),
        coords={"train_time": TIMES, "test_time": TIMES},
    )
    figure = plot_generalization_matrix(
        tgm, significant=tgm > 0.7, chance=0.5, label="accuracy (proportion)"
    )
    ax, colorbar = figure.axes
    np.testing.assert_array_equal(ax.images[0].get_array(), tgm.values)
    low, high = ax.images[0].get_clim()
    assert (low + high) / 2 == pytest.approx(0.5)  # diverging scale centred on chance
    assert ax.get_xlabel() == "testing time (s)" and ax.get_ylabel() == "training time (s)"
    assert colorbar.get_ylabel() == "accuracy (proportion)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "diagonal",
        "significant cluster",
    ]
    layout_checker(figure)
    with pytest.raises(ValueError, match="pass train_times= and test_times="):
        plot_generalization_matrix(values)


def _decoding_result(rng, dims, shape):
    from neuroalign.decoding import DecodingResult

    coords = {d: TIMES[: shape[i]] for i, d in enumerate(dims) if d != "fold"}
    scores = xr.DataArray(0.5 + rng.normal(0, 0.05, shape), dims=dims, coords=coords)
    attrs = {"target": "category", "classifier": "lda", "subject": "sub-01"}
    return DecodingResult(scores, metric="roc_auc", chance=0.5, n_stimuli=40, attrs=attrs)


def test_decoding_results_are_accepted(rng, layout_checker):
    result = _decoding_result(rng, ("fold", "time"), (5, len(TIMES)))
    figure = plot_time_course(result)
    ax = figure.axes[0]
    reference = result.to_frame()
    line = next(line for line in ax.get_lines() if line.get_label() == "category")
    np.testing.assert_allclose(line.get_ydata(), reference["score"], rtol=1e-12)
    vertices = ax.collections[0].get_paths()[0].vertices
    top = [vertices[vertices[:, 0] == t, 1].max() for t in TIMES]
    np.testing.assert_allclose(top, reference["ci_high"], rtol=1e-12)
    chance = next(line for line in ax.get_lines() if line.get_label() == "chance")
    assert chance.get_ydata()[0] == 0.5
    assert ax.get_ylabel() == "decoding ROC AUC (proportion)"
    assert "95% CI across folds" in [t.get_text() for t in ax.get_legend().get_texts()]
    layout_checker(figure)
    generalization = _decoding_result(rng, ("fold", "train_time", "test_time"), (5, 20, 20))
    figure = plot_generalization_matrix(generalization)
    np.testing.assert_allclose(
        figure.axes[0].images[0].get_array(), generalization.scores.mean("fold"), rtol=1e-12
    )
    assert figure.axes[1].get_ylabel() == "decoding ROC AUC (proportion)"
    with pytest.raises(ValueError, match="plot_generalization_matrix"):
        plot_time_course(generalization)


def test_time_resolved_table_rows(rng, layout_checker):
    import pandas as pd
    import scipy.stats

    rows = [
        {
            "model": "convnet",
            "layer": "conv4",
            "subject": subject,
            "region": region,
            "method": "rsa",
            "metric": "rho_a",
            "score": float(np.sin(10 * t) + rng.normal(0, 0.1)),
            "time": t,
        }
        for subject in ("sub-01", "sub-02", "sub-03")
        for region in ("early", "late")
        for t in TIMES[:20]
    ]
    table = pd.DataFrame(rows)
    figure = plot_time_course(table)
    ax = figure.axes[0]
    late = next(line for line in ax.get_lines() if line.get_label() == "late")
    by_time = table[table.region == "late"].pivot(index="time", columns="subject", values="score")
    np.testing.assert_allclose(late.get_ydata(), by_time.mean(axis=1), rtol=1e-12)
    band = ax.collections[1].get_paths()[0].vertices
    top = [band[band[:, 0] == t, 1].max() for t in TIMES[:20]]
    expected = scipy.stats.t.interval(
        0.95, 2, by_time.mean(axis=1), scipy.stats.sem(by_time, axis=1)
    )
    np.testing.assert_allclose(top, expected[1], rtol=1e-10)
    assert ax.get_ylabel() == "rsa Spearman ρ-a (dimensionless)"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["early", "late", "95% CI across subjects"]
    layout_checker(figure)
    with pytest.raises(ValueError, match="needs time-resolved rows"):
        plot_time_course(table.drop(columns="time"))
