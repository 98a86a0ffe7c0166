import numpy as np
import pytest
import scipy.stats

from neuroalign.plotting import plot_layer_profile


def _band(ax, index):
    """(low, high) along x of the index-th filled band of an axes."""
    vertices = ax.collections[index].get_paths()[0].vertices
    xs = np.unique(vertices[:, 0])
    low = [vertices[vertices[:, 0] == x, 1].min() for x in xs]
    high = [vertices[vertices[:, 0] == x, 1].max() for x in xs]
    return np.array(low), np.array(high)


def test_lines_are_subject_means_with_t_intervals(table, layout_checker):
    figure = plot_layer_profile(table)
    ax = figure.axes[0]
    lines = [line for line in ax.get_lines() if line.get_label() in {"early", "mid", "late"}]
    assert [line.get_label() for line in lines] == ["early", "mid", "late"]
    for line in lines:
        rows = table[table.region == line.get_label()]
        means = rows.groupby("layer", sort=False)["score"].mean().to_numpy()
        np.testing.assert_allclose(line.get_ydata(), means, rtol=1e-12)
    # the 95% t interval of the mean over the 3 subjects, checked against scipy
    low, high = _band(ax, 0)
    scores = table[table.region == "early"].pivot(index="layer", columns="subject", values="score")
    scores = scores.loc[["conv1", "conv2", "conv3", "conv4", "fc"]].to_numpy()
    expected = scipy.stats.t.interval(
        0.95, 2, loc=scores.mean(1), scale=scipy.stats.sem(scores, axis=1)
    )
    np.testing.assert_allclose(np.c_[low, high], np.c_[expected], rtol=1e-10)
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "conv1",
        "conv2",
        "conv3",
        "conv4",
        "fc",
    ]
    assert ax.get_xlabel() == "layer (convnet)"
    assert "Pearson r" in ax.get_ylabel()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["early", "mid", "late", "95% CI across subjects", "noise ceiling"]
    ceilings = [line.get_ydata()[0] for line in ax.get_lines() if line.get_linestyle() == "--"]
    expected_ceilings = table.groupby("region", sort=False)["ceiling"].mean().to_numpy()
    np.testing.assert_allclose(ceilings, expected_ceilings, rtol=1e-12)
    layout_checker(figure)


def test_single_subject_uses_the_rows_ci(make_table):
    table = make_table(subjects=("sub-01",), with_ceiling=False)
    ax = plot_layer_profile(table, layer_order=["fc", "conv4", "conv3", "conv2", "conv1"]).axes[0]
    low, high = _band(ax, 0)
    early = (
        table[table.region == "early"]
        .set_index("layer")
        .loc[["fc", "conv4", "conv3", "conv2", "conv1"]]
    )
    np.testing.assert_allclose(low, early["ci_low"], rtol=1e-12)
    np.testing.assert_allclose(high, early["ci_high"], rtol=1e-12)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["early", "mid", "late", "CI"]


def test_draws_into_given_axes(table):
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2)
    assert plot_layer_profile(table, ax=axes[1]) is figure
    assert axes[1].get_legend() is not None and axes[0].get_legend() is None


def test_ambiguous_or_unknown_selection_is_named(table):
    mixed = table.assign(method=np.where(table.index % 2, "encoding", "rsa"))
    with pytest.raises(ValueError, match=r"several 'method' values .*method="):
        plot_layer_profile(mixed)
    with pytest.raises(ValueError, match=r"metric='pearsn_r' matches no row.*pearson_r"):
        plot_layer_profile(table, metric="pearsn_r")
    with pytest.raises(ValueError, match=r"'layer_order' names \['conv9'\]"):
        plot_layer_profile(table, layer_order=["conv9"])
    with pytest.raises(ValueError, match="lacks the column"):
        plot_layer_profile(table.drop(columns="region"))
    with pytest.raises(ValueError, match="plot_time_course"):
        plot_layer_profile(table.assign(time=0.1))
    with pytest.raises(TypeError, match="pandas DataFrame"):
        plot_layer_profile(table.to_dict())


def test_encoding_result_is_plotted_from_its_table(rng):
    from neuroalign.data import activations, responses
    from neuroalign.encoding import encoding_scores

    ids = [f"s{i}" for i in range(30)]
    features = rng.normal(size=(30, 6))
    layers = {
        name: activations(features @ rng.normal(size=(6, 6)) * w, ids, model="net", layer=name)
        for name, w in (("c1", 1.0), ("c2", 0.5))
    }
    voxels = features[:, :3] + rng.normal(0, 0.5, (30, 3))
    recording = responses(voxels, ids, modality="fmri", regions=["V1", "V1", "IT"])
    result = encoding_scores(layers, recording, cv=3, inner_cv=3)
    ax = plot_layer_profile(result, metric="pearson").axes[0]
    table = result.to_frame()
    for region in ("V1", "IT"):
        line = next(line for line in ax.get_lines() if line.get_label() == region)
        rows = table[(table.region == region) & (table.metric == "pearson")]
        np.testing.assert_allclose(line.get_ydata(), rows["score"], rtol=1e-12)
