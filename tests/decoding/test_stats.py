import numpy as np

from neuroalign.decoding import decoding_cluster_test, decoding_permutation_test
from neuroalign.decoding._stats import _permuted_labels
from neuroalign.stats import cluster_permutation_test


def test_group_cluster_test_is_the_one_sided_sign_flip_test(rng):
    scores = 0.5 + 0.05 * rng.standard_normal((8, 20))
    scores[:, 5:12] += 0.08
    ours = decoding_cluster_test(scores, 0.5, n_permutations=256, seed=1)
    expected = cluster_permutation_test(scores - 0.5, tail=1, n_permutations=256, seed=1)
    np.testing.assert_array_equal(ours.labels, expected.labels)
    np.testing.assert_allclose(ours.p_values, expected.p_values)
    assert ours.significant(0.05)[5:12].all()


def test_permutation_test_finds_the_effect_and_nothing_in_noise(rng):
    y = np.repeat([0, 1], 30)
    X = rng.standard_normal((60, 3, 12))
    noise = decoding_permutation_test(X, y, n_permutations=19, cv=3, seed=0, device="cpu")
    assert noise.null.shape == (19, 12) and not noise.clusters.significant(0.05).any()
    X[y == 1, 0, 6:] += 1.5
    result = decoding_permutation_test(X, y, n_permutations=39, cv=3, seed=0, device="cpu")
    assert result.clusters.significant(0.05)[6:].all() and result.p_values[6:].max() == 1 / 40
    assert not result.clusters.significant(0.05)[:5].any()
    general = decoding_permutation_test(
        X, y, n_permutations=9, cv=3, seed=0, generalize=True, device="cpu"
    )
    assert general.observed.shape == (12, 12) and general.null.shape == (9, 12, 12)


def test_grouped_permutations_move_whole_groups(rng):
    groups = np.repeat(np.arange(10), 3)
    y = np.repeat(np.arange(10) % 2, 3)
    permuted = _permuted_labels(np.random.default_rng(0), y, groups)
    assert all(len(set(permuted[groups == g])) == 1 for g in range(10))
    assert np.bincount(permuted).tolist() == np.bincount(y).tolist()
