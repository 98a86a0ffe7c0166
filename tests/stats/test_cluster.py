"""Cluster-based permutation tests against a straightforward loop-over-permutations reference.

MNE is not installed here, so the main reference is written out below (scipy.ndimage.label
for the clusters, one permutation at a time); ``test_matches_mne`` runs when MNE is present.
"""

import itertools

import numpy as np
import pytest
import scipy.ndimage
import scipy.stats
import torch

from neuroalign.stats import cluster_permutation_test, cluster_test


def _clusters(statistic, threshold, tail):
    """[(first flat index, signed mass, member mask)] of supra-threshold clusters."""
    found = []
    for sign in {0: (1, -1), 1: (1,), -1: (-1,)}[tail]:
        labels, n = scipy.ndimage.label(sign * statistic > threshold)
        for k in range(1, n + 1):
            members = labels == k
            found.append((np.flatnonzero(members)[0], statistic[members].sum(), members))
    return sorted(found, key=lambda cluster: cluster[0])


def _max_mass(statistic, threshold, tail):
    masses = [abs(mass) for _, mass, _ in _clusters(statistic, threshold, tail)]
    return max(masses, default=0.0)


def _reference_1samp(x, threshold, tail):
    """Every sign pattern (exact test), t statistics, max cluster mass null."""
    t = scipy.stats.ttest_1samp(x, 0.0).statistic
    null = [
        _max_mass(
            scipy.stats.ttest_1samp(np.multiply(signs, x.T).T, 0.0).statistic, threshold, tail
        )
        for signs in itertools.product((1.0, -1.0), repeat=x.shape[0])
    ]
    clusters = _clusters(t, threshold, tail)
    p_values = [np.mean(np.array(null) >= abs(mass) * (1 - 1e-13)) for _, mass, _ in clusters]
    return t, clusters, np.array(p_values), np.array(null)


def _check_against(result, t, clusters, p_values):
    np.testing.assert_allclose(result.statistic, t, atol=1e-10)
    np.testing.assert_allclose(result.masses, [mass for _, mass, _ in clusters], atol=1e-10)
    np.testing.assert_allclose(result.p_values, p_values, atol=1e-12)
    for k, (_, _, members) in enumerate(clusters, start=1):
        np.testing.assert_array_equal(result.labels == k, members)
    assert result.labels.max() == len(clusters)


@pytest.fixture
def time_courses(rng):
    x = rng.standard_normal((9, 50))
    x[:, 10:18] += 1.2
    x[:, 30:34] -= 1.0
    x[:, 40] += 2.0
    return x


# Exact tests (2^9 patterns) compare every number to 1e-10 against the reference.
@pytest.mark.parametrize("tail", [0, 1, -1])
def test_time_course_matches_reference(time_courses, tail):
    threshold = 1.5
    result = cluster_permutation_test(time_courses, threshold=threshold, tail=tail, device="cpu")
    t, clusters, p_values, null = _reference_1samp(time_courses, threshold, tail)
    assert result.exact and result.n_permutations == 2**9
    _check_against(result, t, clusters, p_values)
    np.testing.assert_allclose(np.sort(result.null_distribution), np.sort(null), atol=1e-10)


def test_time_by_time_map_matches_reference(rng):
    x = rng.standard_normal((8, 12, 12))
    x[:, 2:6, 2:6] += 1.0
    x[:, 8:11, 1:3] -= 1.0
    x[:, 7, 7] += 3.0  # touches the (8, 8) corner only diagonally
    result = cluster_permutation_test(x, threshold=1.0, device="cpu")
    t, clusters, p_values, _ = _reference_1samp(x, 1.0, 0)
    _check_against(result, t, clusters, p_values)
    assert result.statistic.shape == (12, 12)


def test_default_threshold_is_mne_t_threshold(time_courses):
    result = cluster_permutation_test(time_courses, n_permutations=64, seed=0, device="cpu")
    assert result.threshold == pytest.approx(scipy.stats.t.ppf(0.975, 8))
    one_sided = cluster_permutation_test(time_courses, tail=1, n_permutations=64, seed=0)
    assert one_sided.threshold == pytest.approx(scipy.stats.t.ppf(0.95, 8))


def test_random_permutations_are_seeded_and_batch_independent(rng):
    x = rng.standard_normal((20, 30))
    x[:, 5:12] += 0.8
    kwargs = {"n_permutations": 300, "seed": 4, "device": "cpu"}
    whole = cluster_permutation_test(x, **kwargs)
    chunked = cluster_permutation_test(x, max_memory=200_000, **kwargs)
    assert not whole.exact and whole.n_permutations == 300
    np.testing.assert_array_equal(whole.null_distribution, chunked.null_distribution)
    np.testing.assert_array_equal(whole.p_values, chunked.p_values)
    assert whole.significant(0.05)[5:12].all() and not whole.significant(0.05)[20:].any()


def test_cluster_test_with_given_null_and_pointwise_threshold(rng):
    observed = rng.standard_normal(40) * 0.3
    observed[12:20] += 2.0
    null = rng.standard_normal((99, 40))
    threshold = np.linspace(1.0, 1.5, 40)
    result = cluster_test(observed, null, threshold=threshold, tail=1, device="cpu")
    expected_null = [_max_mass(m, threshold, 1) for m in null]
    clusters = _clusters(observed, threshold, 1)
    p_values = [(1 + np.sum(np.array(expected_null) >= m)) / 100 for _, m, _ in clusters]
    _check_against(result, observed, clusters, np.array(p_values))
    assert not result.exact and result.n_permutations == 99


@pytest.mark.parametrize("tail", [0, 1])
def test_matches_mne(time_courses, tail):
    mne = pytest.importorskip("mne")
    result = cluster_permutation_test(time_courses, threshold=1.5, tail=tail, device="cpu")
    t_obs, clusters, p_values, null = mne.stats.permutation_cluster_1samp_test(
        time_courses, threshold=1.5, tail=tail, n_permutations=2**9, out_type="mask", verbose=False
    )
    np.testing.assert_allclose(result.statistic, t_obs, atol=1e-10)
    ours = {
        int(np.flatnonzero(result.labels == k + 1)[0]): p for k, p in enumerate(result.p_values)
    }
    theirs = {}
    for cluster, p_value in zip(clusters, p_values):
        mask = np.zeros(result.labels.shape, bool)
        mask[cluster] = True  # MNE gives index tuples (slices for 1-D data)
        theirs[int(np.flatnonzero(mask)[0])] = p_value
    assert ours.keys() == theirs.keys()
    if tail == 0:
        for start, p_value in theirs.items():
            assert ours[start] == pytest.approx(p_value, abs=1e-12)
    else:
        # MNE's exact one-tailed mode enumerates the identity sign pattern twice (once
        # among its 2**n - 1 "permutations", once as the observed value), so its
        # p-values are ours plus 1/2**n wherever the observed mass is the null's maximum.
        np.testing.assert_allclose(np.sort(null)[-2:], result.masses.max(), rtol=1e-12)
        for start, p_value in theirs.items():
            excess = 1 / 2**9 if ours[start] == 1 / 2**9 else 0.0
            assert ours[start] + excess == pytest.approx(p_value, abs=1e-12)


def test_errors(rng):
    with pytest.raises(ValueError, match="n_samples, n_times"):
        cluster_permutation_test(rng.standard_normal(10))
    with pytest.raises(ValueError, match="non-negative for tail=0"):
        cluster_permutation_test(rng.standard_normal((5, 10)), threshold=-1.0)
    with pytest.raises(ValueError, match="'tail' must be one of"):
        cluster_permutation_test(rng.standard_normal((5, 10)), tail=2)
    with pytest.raises(ValueError, match=r"'null' must have shape \(n_permutations"):
        cluster_test(np.zeros(10), np.zeros((5, 9)), threshold=1.0)
    with pytest.raises(ValueError, match="broadcast to the map shape"):
        cluster_test(np.zeros(10), np.zeros((5, 10)), threshold=np.ones(3))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu(rng):
    x = rng.standard_normal((15, 20, 20))
    x[:, 4:9, 4:9] += 0.9
    cpu = cluster_permutation_test(x, n_permutations=200, seed=0, device="cpu")
    cuda = cluster_permutation_test(x, n_permutations=200, seed=0, device="cuda")
    np.testing.assert_allclose(cuda.null_distribution, cpu.null_distribution, atol=1e-9)
    np.testing.assert_array_equal(cuda.labels, cpu.labels)
    np.testing.assert_allclose(cuda.p_values, cpu.p_values)
