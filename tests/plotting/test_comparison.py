import numpy as np
import pandas as pd
import pytest

from neuroalign.plotting import plot_model_comparison
from neuroalign.rsa import compute_rdms, evaluate


@pytest.fixture
def evaluation(rng):
    base = rng.normal(size=(10, 15))
    data = np.stack([base + rng.normal(size=(10, 15)) for _ in range(3)])
    models = {
        name: base + rng.normal(size=(10, 15)) * noise
        for name, noise in [("alexnet", 0.3), ("convnet", 1.0), ("random", 20.0)]
    }
    return evaluate(
        compute_rdms(models),
        compute_rdms(data),
        method="corr",
        bootstrap="pattern",
        n_bootstrap=100,
        seed=0,
    )


def _error_bars(ax):
    segments = ax.collections[-1].get_segments()
    return np.array([[s[0][1], s[1][1]] for s in segments])


def test_evaluation_bars_cis_and_ceiling(evaluation, layout_checker):
    figure = plot_model_comparison(evaluation)
    ax = figure.axes[0]
    heights = [patch.get_height() for patch in ax.patches if patch.get_width() == 0.7]
    np.testing.assert_allclose(heights, evaluation.scores, rtol=1e-12)
    np.testing.assert_allclose(
        np.sort(_error_bars(ax), 1), np.c_[evaluation.ci_low, evaluation.ci_high], rtol=1e-12
    )
    band = [p for p in ax.patches if p.get_label() == "noise ceiling"][0]
    corners = band.get_path().transformed(band.get_patch_transform()).vertices[:, 1]
    np.testing.assert_allclose(
        [corners.min(), corners.max()], np.sort(evaluation.noise_ceiling), rtol=1e-12
    )
    assert [t.get_text() for t in ax.get_xticklabels()] == ["alexnet", "convnet", "random"]
    assert ax.get_xlabel() == "model" and "Pearson r" in ax.get_ylabel()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "noise ceiling" in legend and "95% CI" in legend
    significant = int(
        (np.triu(evaluation.p_pairwise_corrected, 1)[np.triu_indices(3, 1)] < 0.05).sum()
    )
    stars = [t for t in ax.texts if set(t.get_text()) == {"*"}]
    assert len(stars) == significant
    layout_checker(figure)


def test_pairwise_brackets_stack_without_overlap(evaluation, layout_checker):
    p = np.ones((3, 3))
    for (i, j), value in {(0, 1): 0.04, (1, 2): 0.004, (0, 2): 0.0001}.items():
        p[i, j] = p[j, i] = value
    figure = plot_model_comparison(evaluation, pairwise=p)
    ax = figure.axes[0]
    assert sorted(t.get_text() for t in ax.texts) == ["*", "**", "***"]
    heights = {t.get_text(): t.get_position()[1] for t in ax.texts}
    assert heights["***"] > max(heights["*"], heights["**"])  # the widest pair on top
    assert "p < 0.05 (pairwise)" in [t.get_text() for t in ax.get_legend().get_texts()]
    layout_checker(figure)
    only_best = plot_model_comparison(evaluation, pairwise=p, brackets="best").axes[0].texts
    best = int(np.argmax(evaluation.scores))
    expected = sorted(
        {(0, 1): "*", (1, 2): "**", (0, 2): "***"}[pair]
        for pair in [(0, 1), (1, 2), (0, 2)]
        if best in pair
    )
    assert sorted(t.get_text() for t in only_best) == expected
    adjacent = plot_model_comparison(evaluation, pairwise=p, brackets="adjacent").axes[0].texts
    assert sorted(t.get_text() for t in adjacent) == ["*", "**"]
    assert not plot_model_comparison(evaluation, pairwise=p, brackets=None).axes[0].texts
    table = pd.DataFrame({"model_a": ["alexnet"], "model_b": ["random"], "p_corrected": [0.002]})
    stars = [t.get_text() for t in plot_model_comparison(evaluation, pairwise=table).axes[0].texts]
    assert stars == ["**"]


def test_table_with_subjects_averages_them(rng, table, layout_checker):
    late = table[table.region == "late"]
    figure = plot_model_comparison(late, x="layer")
    ax = figure.axes[0]
    heights = [patch.get_height() for patch in ax.patches if patch.get_width() == 0.7]
    expected = late.groupby("layer", sort=False)["score"].mean()
    np.testing.assert_allclose(heights, expected.to_numpy(), rtol=1e-12)
    assert ax.get_xlabel() == "layer"
    layout_checker(figure)


def test_bad_inputs_are_named(evaluation, table):
    with pytest.raises(
        ValueError, match=r"several rows per 'layer' and subject, which differ in \['region'\]"
    ):
        plot_model_comparison(table, x="layer")
    with pytest.raises(ValueError, match=r"\(3, 3\) matrix"):
        plot_model_comparison(evaluation, pairwise=np.ones((2, 2)))
    with pytest.raises(ValueError, match="'brackets' must be one of"):
        plot_model_comparison(evaluation, brackets="some")
    with pytest.raises(TypeError, match="EvaluationResult or a pandas"):
        plot_model_comparison([0.1, 0.2])
