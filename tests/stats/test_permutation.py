"""Sign-flip and label-permutation tests against scipy.stats.permutation_test."""

import functools
import math

import numpy as np
import pytest
import scipy.stats
import torch

from neuroalign.stats import permutation_test, sign_flip_test

STATISTICS = {
    "mean": lambda x, axis: np.mean(x, axis=axis),
    "t": lambda x, axis: scipy.stats.ttest_1samp(x, 0.0, axis=axis).statistic,
    "mean_difference": lambda x, y, axis: np.mean(x, axis=axis) - np.mean(y, axis=axis),
    "welch": lambda x, y, axis: scipy.stats.ttest_ind(x, y, axis=axis, equal_var=False).statistic,
}


@pytest.fixture
def one_sample(rng):
    return rng.standard_normal((9, 5)) + np.array([0.0, 0.3, 0.8, -0.6, 1.5])


# Exact tests enumerate the same permutations as scipy: p-values agree to 1e-12.
@pytest.mark.parametrize("statistic", ["mean", "t"])
@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_sign_flip_exact_matches_scipy(one_sample, statistic, alternative):
    result = sign_flip_test(one_sample, statistic=statistic, alternative=alternative, device="cpu")
    reference = scipy.stats.permutation_test(
        (one_sample,),
        STATISTICS[statistic],
        permutation_type="samples",
        alternative=alternative,
        n_resamples=np.inf,
        vectorized=True,
        axis=0,
    )
    assert result.exact and result.n_permutations == 2**9
    np.testing.assert_allclose(result.statistic, reference.statistic, atol=1e-12)
    np.testing.assert_allclose(result.p_value, reference.pvalue, atol=1e-12)


@pytest.mark.parametrize(
    ("statistic", "alternative", "sizes"),
    [
        ("mean_difference", "two-sided", (5, 5)),
        ("mean_difference", "greater", (4, 6)),
        ("t", "less", (6, 4)),
        ("t", "two-sided", (5, 5)),
    ],
)
def test_permutation_exact_matches_scipy(rng, statistic, alternative, sizes):
    # scipy's two-sided p is 2 * min(one-sided p); with equal group sizes the null is
    # symmetric and it equals the |statistic| rule used here.
    x = rng.standard_normal((sizes[0], 3)) + [0.0, 0.8, 2.0]
    y = rng.standard_normal((sizes[1], 3))
    result = permutation_test(x, y, statistic=statistic, alternative=alternative, device="cpu")
    reference = scipy.stats.permutation_test(
        (x, y),
        STATISTICS["welch" if statistic == "t" else statistic],
        permutation_type="independent",
        alternative=alternative,
        n_resamples=np.inf,
        vectorized=True,
        axis=0,
    )
    assert result.exact and result.n_permutations == math.comb(sum(sizes), sizes[0])
    np.testing.assert_allclose(result.statistic, reference.statistic, atol=1e-12)
    np.testing.assert_allclose(result.p_value, reference.pvalue, atol=1e-12)


def test_random_permutations_approximate_exact_p(rng):
    x = rng.standard_normal((14, 4)) + [0.0, 0.3, 0.6, 1.0]
    exact = sign_flip_test(x, n_permutations=2**14, device="cpu")
    approximate = sign_flip_test(x, n_permutations=4000, seed=0, device="cpu")
    assert exact.exact and not approximate.exact
    # Monte Carlo error of a p-value from 4000 permutations is below 0.008.
    np.testing.assert_allclose(approximate.p_value, exact.p_value, atol=0.03)


@pytest.mark.parametrize("function", ["sign_flip", "two_sample"])
def test_seeded_results_do_not_depend_on_batching(rng, function):
    x, y = rng.standard_normal((30, 6)), rng.standard_normal((25, 6)) + 0.3
    kwargs = {"n_permutations": 500, "seed": 1, "device": "cpu"}
    if function == "sign_flip":
        run = functools.partial(sign_flip_test, x, **kwargs)
    else:
        run = functools.partial(permutation_test, x, y, **kwargs)
    whole, chunked = run(), run(max_memory=20_000)
    np.testing.assert_array_equal(whole.p_value, chunked.p_value)
    np.testing.assert_array_equal(whole.p_value, run().p_value)


def test_maxstat_correction_matches_loop(one_sample):
    result = sign_flip_test(one_sample, correction="maxstat", device="cpu")
    signs = np.array(np.meshgrid(*[[1.0, -1.0]] * 9, indexing="ij")).reshape(9, -1).T
    null_max = np.array(
        [
            np.abs(scipy.stats.ttest_1samp(s[:, None] * one_sample, 0.0).statistic).max()
            for s in signs
        ]
    )
    observed = np.abs(scipy.stats.ttest_1samp(one_sample, 0.0).statistic)
    expected = (null_max[:, None] >= observed * (1 - 1e-13)).mean(0)
    np.testing.assert_allclose(result.p_value, expected, atol=1e-12)
    assert (result.p_value >= sign_flip_test(one_sample, device="cpu").p_value).all()


def test_tensor_in_tensor_out(one_sample):
    result = sign_flip_test(torch.as_tensor(one_sample, dtype=torch.float32))
    assert isinstance(result.p_value, torch.Tensor) and result.p_value.dtype == torch.float64
    assert result.p_value.shape == (5,)


def test_errors(rng):
    with pytest.raises(ValueError, match="at least 2 samples"):
        sign_flip_test(np.ones((1, 3)))
    with pytest.raises(ValueError, match="'alternative' must be one of"):
        sign_flip_test(rng.standard_normal((5, 2)), alternative="two_sided")
    with pytest.raises(ValueError, match="same shape after axis 0"):
        permutation_test(rng.standard_normal((5, 2)), rng.standard_normal((5, 3)))
    with pytest.raises(ValueError, match="NaN"):
        sign_flip_test(np.array([[1.0], [np.nan], [2.0]]))
