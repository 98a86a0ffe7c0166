"""Plot tests draw with the Agg backend, close every figure, and check text layout."""

import itertools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _tick_labels(axis):
    low, high = sorted(axis.get_view_interval())
    labels = []
    for tick in axis.get_major_ticks():
        if low - 1e-9 <= tick.get_loc() <= high + 1e-9:
            labels += [tick.label1, tick.label2]
    return labels


def _visible_texts(figure):
    """Texts that are drawn: titles, axis labels, in-view tick labels, legends, annotations."""
    texts = list(figure.texts)
    for ax in figure.axes:
        texts += [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label]
        texts += list(ax.texts)
        if ax.name != "3d" and ax.get_visible():
            texts += _tick_labels(ax.xaxis) + _tick_labels(ax.yaxis)
        legend = ax.get_legend()
        if legend is not None:
            texts += list(legend.get_texts()) + [legend.get_title()]
    renderer = figure.canvas.get_renderer()
    boxes = []
    for text in texts:
        if text.get_visible() and text.get_text().strip():
            box = text.get_window_extent(renderer)
            if box.width > 0 and box.height > 0:
                boxes.append((text.get_text(), box))
    return boxes


def check_layout(figure):
    """Render ``figure`` and fail if two visible texts overlap or one leaves the canvas."""
    figure.canvas.draw()
    boxes = _visible_texts(figure)
    width, height = figure.canvas.get_width_height()
    for label, box in boxes:
        assert box.x0 >= -1 and box.y0 >= -1 and box.x1 <= width + 1 and box.y1 <= height + 1, (
            f"text {label!r} leaves the canvas: {box}"
        )
    for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
        overlap = box_a.overlaps(box_b) and (
            min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0) > 1
            and min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0) > 1
        )
        assert not overlap, f"texts {a!r} and {b!r} overlap"


@pytest.fixture
def layout_checker():
    return check_layout


def build_table(rng, *, subjects=("sub-01", "sub-02", "sub-03"), with_ceiling=True):
    """Tidy result table: three regions peaking at early, middle and late layers."""
    layers = ["conv1", "conv2", "conv3", "conv4", "fc"]
    rows = []
    for subject in subjects:
        for region, peak in zip(["early", "mid", "late"], [0, 2, 4]):
            ceiling = 0.8 - 0.05 * peak + rng.normal(0, 0.02)
            for i, layer in enumerate(layers):
                score = 0.6 - 0.08 * abs(i - peak) + rng.normal(0, 0.03)
                rows.append(
                    {
                        "model": "convnet",
                        "layer": layer,
                        "subject": subject,
                        "region": region,
                        "method": "encoding",
                        "metric": "pearson_r",
                        "score": score,
                        "ci_low": score - 0.05,
                        "ci_high": score + 0.04,
                        "ceiling": ceiling if with_ceiling else np.nan,
                        "n_stimuli": 100,
                    }
                )
    return pd.DataFrame(rows)


@pytest.fixture
def make_table(rng):
    return lambda **kwargs: build_table(rng, **kwargs)


@pytest.fixture
def table(rng):
    return build_table(rng)
