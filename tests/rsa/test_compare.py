"""Comparators against rsatoolbox 0.3 ``rsatoolbox.rdm.compare``.

Tolerances: 1e-12 absolute for every comparator (float64 throughout), except a
full (n, n) ``sigma_k`` where rsatoolbox solves with conjugate gradients
(relative tolerance 1e-5): 1e-4 there.
"""

import numpy as np
import pytest
import torch

from neuroalign.rsa import as_rdms, compare
from neuroalign.rsa._compare import RSATOOLBOX_NAMES, features, resampling_from_counts, similarity

rsatoolbox = pytest.importorskip("rsatoolbox")
from rsatoolbox.rdm import RDMs  # noqa: E402
from rsatoolbox.rdm import compare as reference_compare  # noqa: E402

N_STIMULI = 10
N_PAIRS = N_STIMULI * (N_STIMULI - 1) // 2


@pytest.fixture
def rdm_sets(rng):
    a = rng.random((4, N_PAIRS))
    b = rng.random((3, N_PAIRS))
    a[1] = np.round(a[1] * 3)  # ties, as categorical models have
    b[0] = np.round(b[0] * 4)
    return a, b


@pytest.mark.parametrize("method", list(RSATOOLBOX_NAMES))
def test_matches_rsatoolbox(rdm_sets, method):
    a, b = rdm_sets
    expected = reference_compare(a, b, method=RSATOOLBOX_NAMES[method])
    np.testing.assert_allclose(compare(a, b, method=method), expected, atol=1e-12)


@pytest.mark.parametrize("method", ["corr_cov", "cosine_cov"])
def test_whitened_with_pattern_covariance(rdm_sets, rng, method):
    a, b = rdm_sets
    variances = rng.random(N_STIMULI) + 0.5
    expected = reference_compare(a, b, method=method, sigma_k=variances)
    ours = compare(a, b, method=method, sigma_k=variances)
    np.testing.assert_allclose(ours, expected, atol=1e-12)
    factor = rng.normal(size=(N_STIMULI, N_STIMULI))
    covariance = factor @ factor.T / N_STIMULI + np.eye(N_STIMULI)
    expected = reference_compare(a, b, method=method, sigma_k=covariance)
    ours = compare(a, b, method=method, sigma_k=covariance)
    np.testing.assert_allclose(ours, expected, atol=1e-4)


@pytest.mark.parametrize("method", list(RSATOOLBOX_NAMES))
def test_resampled_comparisons_match_rsatoolbox_subsampling(rdm_sets, rng, method):
    """A pattern-bootstrap sample as pair weights equals rsatoolbox's subsample_pattern."""
    a, b = rdm_sets
    draws = [rng.integers(0, N_STIMULI, size=N_STIMULI) for _ in range(3)]
    counts = torch.as_tensor(np.stack([np.bincount(d, minlength=N_STIMULI) for d in draws]))
    resampling = resampling_from_counts(counts.double())
    ours = similarity(
        features(torch.as_tensor(a), method, resampling),
        features(torch.as_tensor(b), method, resampling),
        method,
    ).numpy()
    expected = [
        reference_compare(
            RDMs(a).subsample_pattern("index", d),
            RDMs(b).subsample_pattern("index", d),
            method=RSATOOLBOX_NAMES[method],
        )
        for d in draws
    ]
    np.testing.assert_allclose(ours, np.stack(expected), atol=1e-12)


def test_square_and_labelled_inputs(rdm_sets, rng):
    a, b = rdm_sets
    stimuli = [f"s{i}" for i in range(N_STIMULI)]
    labelled_a = as_rdms(a, stimuli=stimuli)
    permutation = rng.permutation(N_STIMULI)
    square_b = np.stack([np.zeros((N_STIMULI, N_STIMULI))] * b.shape[0])
    rows, cols = np.triu_indices(N_STIMULI, k=1)
    square_b[:, rows, cols] = b
    square_b[:, cols, rows] = b
    shuffled = square_b[:, permutation][:, :, permutation]
    labelled_b = as_rdms(shuffled, stimuli=np.array(stimuli)[permutation])
    np.testing.assert_allclose(
        compare(labelled_a, labelled_b, method="pearson"),
        compare(a, square_b, method="pearson"),
        atol=1e-12,
    )


def test_aliases_and_zero_vectors(rdm_sets):
    a, b = rdm_sets
    np.testing.assert_array_equal(
        compare(a, b, method="tau-a"), compare(a, b, method="kendall_tau_a")
    )
    zero = np.zeros((1, N_PAIRS))
    assert compare(zero, b, method="cosine").tolist() == [[0.0, 0.0, 0.0]]


def test_bad_input(rdm_sets):
    a, b = rdm_sets
    with pytest.raises(ValueError, match="Did you mean 'spearman'"):
        compare(a, b, method="spearmann")
    with pytest.raises(ValueError, match="different stimulus sets.*'s0'"):
        compare(as_rdms(a, stimuli=[f"s{i}" for i in range(N_STIMULI)]), as_rdms(b))
    nan = b.copy()
    nan[1, 4] = np.nan
    with pytest.raises(ValueError, match="1 NaN or infinite dissimilarities.*RDM '1'"):
        compare(a, nan)
    with pytest.raises(ValueError, match="at least 3 stimuli"):
        compare(np.ones((1, 1)), np.ones((1, 1)))
    with pytest.raises(ValueError, match="not n\\*\\(n-1\\)/2"):
        compare(np.ones((1, 7)), np.ones((1, 7)))
    with pytest.raises(ValueError, match="whitened comparators"):
        compare(a, b, method="pearson", sigma_k=np.ones(N_STIMULI))
    with pytest.raises(ValueError, match="different numbers of stimuli"):
        compare(a, np.ones((1, 6)))
