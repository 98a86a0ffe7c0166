import matplotlib
import numpy as np
import pytest
import torch

from neuroalign.exceptions import DimensionError
from neuroalign.plotting.synthesis import plot_synthesis_grid
from neuroalign.synthesis import SynthesisResult


def test_grid_from_results_with_true_scores(rng):
    guided = SynthesisResult(torch.rand(5, 3, 8, 8), torch.arange(5.0), torch.arange(5))
    unguided = SynthesisResult(torch.rand(5, 3, 8, 8), -torch.arange(5.0), torch.arange(5))
    figure = plot_synthesis_grid(
        guided,
        unguided,
        true_scores={"guided": rng.random(5), "unguided": rng.random(5)},
        max_columns=3,
        title="late",
    )
    assert isinstance(figure, matplotlib.figure.Figure)
    assert len(figure.axes) == 10
    titles = [ax.get_title() for ax in figure.axes]
    assert titles[0].startswith("predicted=0.00\ntrue=") and titles[1].startswith("predicted=-0.00")
    matplotlib.pyplot.close(figure)


def test_mismatched_sets(rng):
    with pytest.raises(DimensionError, match="same number of images.*got 2 and 3"):
        plot_synthesis_grid(rng.random((2, 3, 4, 4)), rng.random((3, 3, 4, 4)))
    with pytest.raises(DimensionError, match="'guided_scores' must have one value per image"):
        plot_synthesis_grid(rng.random((2, 3, 4, 4)), rng.random((2, 3, 4, 4)), guided_scores=[1])
    with pytest.raises(DimensionError, match=r"\(n_images, 3, height, width\)"):
        plot_synthesis_grid(rng.random((2, 4, 4)), rng.random((2, 4, 4)))
    with pytest.raises(ValueError, match="'true_scores' keys"):
        images = np.zeros((1, 3, 2, 2))
        plot_synthesis_grid(images, images, true_scores={"other": [1]})
