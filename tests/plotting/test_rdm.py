import numpy as np
import pytest
import scipy.spatial.distance
from sklearn.manifold import MDS

from neuroalign.plotting import plot_mds, plot_rdm
from neuroalign.plotting._rdm import _precomputed_options
from neuroalign.rsa import compute_rdms, rdm_matrices

CATEGORIES = np.repeat(["face", "body", "car"], 4)


@pytest.fixture
def rdms(rng):
    return compute_rdms({"conv1": rng.normal(size=(12, 6)), "fc": rng.normal(size=(12, 6))})


def test_rdm_shows_the_square_matrix(rdms, layout_checker):
    figure = plot_rdm(rdms, source="fc", labels=CATEGORIES)
    ax = figure.axes[0]
    np.testing.assert_array_equal(ax.images[0].get_array(), rdm_matrices(rdms).sel(source="fc"))
    assert [t.get_text() for t in ax.get_yticklabels()] == ["face", "body", "car"]
    assert ax.get_xlabel() == "stimulus" and ax.get_title() == "fc"
    colour_bar = figure.axes[1].get_ylabel()
    assert colour_bar == "correlation distance (1 − Pearson r)"  # names the measure
    layout_checker(figure)


def test_rdm_accepts_square_and_condensed_arrays(rdms):
    square = rdm_matrices(rdms).sel(source="conv1").values
    condensed = scipy.spatial.distance.squareform(square, checks=False)
    for rdm in (square, condensed):
        np.testing.assert_allclose(plot_rdm(rdm).axes[0].images[0].get_array(), square)


def test_mds_matches_sklearn_on_the_same_input(rdms, layout_checker):
    figure = plot_mds(rdms, source="conv1", labels=CATEGORIES, seed=3)
    ax = figure.axes[0]
    points = np.concatenate([c.get_offsets() for c in ax.collections])
    square = rdm_matrices(rdms).sel(source="conv1").values
    reference = MDS(n_components=2, random_state=3, n_init=4, **_precomputed_options(MDS))
    expected = reference.fit_transform(square)
    order = np.concatenate([np.flatnonzero(c == CATEGORIES) for c in ["face", "body", "car"]])
    np.testing.assert_allclose(points, expected[order], rtol=1e-10, atol=1e-12)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["face", "body", "car"]
    assert "MDS dimension 1" in ax.get_xlabel() and "MDS dimension 2" in ax.get_ylabel()
    layout_checker(figure)


def test_errors_name_the_problem(rdms):
    with pytest.raises(ValueError, match=r"holds 2 RDMs.*source="):
        plot_rdm(rdms)
    with pytest.raises(ValueError, match="'labels' must have 12 entries; got 3"):
        plot_mds(rdms, source="fc", labels=["a", "b", "c"])
    with pytest.raises(ValueError, match=r"got an array of shape \(2, 3\)"):
        plot_rdm(np.ones((2, 3)))
