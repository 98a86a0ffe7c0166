import numpy as np
import pytest
from scipy.spatial.distance import cdist

from neuroalign.decoding import pairwise_identification, top_k_accuracy


@pytest.mark.parametrize("metric", ["correlation", "cosine", "euclidean"])
def test_against_a_loop_over_pairs(rng, metric):
    true = rng.standard_normal((12, 7))
    predicted = true + rng.standard_normal((12, 7))
    similarity = -cdist(predicted, true, metric="sqeuclidean" if metric == "euclidean" else metric)
    expected_pairs = [
        np.mean([similarity[i, i] > similarity[i, j] for j in range(12) if j != i])
        for i in range(12)
    ]
    ranks = [(similarity[i] > similarity[i, i]).sum() for i in range(12)]
    result = pairwise_identification(predicted, true, metric=metric, device="cpu")
    np.testing.assert_allclose(result.per_item, expected_pairs, atol=1e-12)
    assert result.chance == 0.5 and result.accuracy == pytest.approx(np.mean(expected_pairs))
    for k in (1, 3):
        top = top_k_accuracy(predicted, true, k=k, metric=metric, device="cpu")
        np.testing.assert_array_equal(top.per_item, np.array(ranks) < k)
        assert top.chance == pytest.approx(k / 12)


def test_chance_for_random_vectors_and_batching(rng):
    true = rng.standard_normal((4, 60, 10))
    predicted = rng.standard_normal((4, 60, 10))
    result = pairwise_identification(predicted, true, device="cpu")
    assert result.accuracy.shape == (4,)
    assert abs(result.accuracy.mean() - 0.5) < 0.05
    top = top_k_accuracy(predicted, true, k=6, device="cpu")
    assert abs(top.accuracy.mean() - top.chance) < 0.07


def test_ties_count_half():
    true = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    result = pairwise_identification(true, true, metric="cosine", device="cpu")
    np.testing.assert_allclose(result.per_item, [0.75, 0.75, 1.0])
    top = top_k_accuracy(true, true, k=1, metric="cosine", device="cpu")
    np.testing.assert_allclose(top.per_item, [0.5, 0.5, 1.0])


def test_bad_input(rng):
    with pytest.raises(ValueError, match="same shape"):
        pairwise_identification(rng.standard_normal((3, 2)), rng.standard_normal((4, 2)))
    with pytest.raises(ValueError, match="at least 2 items"):
        pairwise_identification(np.ones((1, 2)), np.ones((1, 2)))
    with pytest.raises(ValueError, match="'k' must be at most the number of items \\(3\\)"):
        top_k_accuracy(np.eye(3), np.eye(3), k=4)
