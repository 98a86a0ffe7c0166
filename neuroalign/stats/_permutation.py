"""Sign-flip and label-permutation tests, vectorised over permutations and tests.

A batch of permutations is a matrix (signs, or group indicators) and the statistic
of every permutation and every test (voxel, time point, ...) is one matrix product
with the data, so no Python loop runs per permutation. p-values follow
``scipy.stats.permutation_test``: exact over all permutations when they are no more
than ``n_permutations``, otherwise ``(1 + #{null >= observed}) / (1 + n_permutations)``
over random ones, with the same relative tolerance for ties.
"""

import dataclasses
import itertools
import math

import numpy as np
import torch

from neuroalign._backend import plan_batches, resolve_device
from neuroalign._validation import check_option, check_positive_int
from neuroalign.stats._scores import _as_tensors, _output

__all__ = ["PermutationResult", "permutation_test", "sign_flip_test"]

_FLOAT64 = torch.float64
ALTERNATIVES = ("two-sided", "greater", "less")
_CORRECTIONS = (None, "maxstat")
# Relative tolerance for null values numerically equal to the observed one (as scipy).
_TIE_RTOL = 100 * np.finfo(np.float64).eps


@dataclasses.dataclass(frozen=True, eq=False)
class PermutationResult:
    """Observed statistics and their permutation p-values.

    Attributes
    ----------
    statistic : array or Tensor of shape (...)
        Statistic of every test on the observed data (float64).
    p_value : array or Tensor of shape (...)
        Permutation p-value of every test; family-wise corrected across all tests
        when the test was run with ``correction="maxstat"``.
    n_permutations : int
        Number of permutations evaluated (all of them when ``exact``).
    exact : bool
        Whether every possible permutation was enumerated.
    """

    statistic: object
    p_value: object
    n_permutations: int
    exact: bool


def exceedances(null, observed, alternative):
    """Count null values at least as extreme as the observed ones (scipy's tie rule).

    Parameters
    ----------
    null : torch.Tensor of shape (n_null, ...)
    observed : torch.Tensor of shape (...)
    alternative : {"two-sided", "greater", "less"}
        ``"two-sided"`` compares absolute values.

    Returns
    -------
    counts : torch.Tensor of int64 of shape (...)
    """
    if alternative == "two-sided":
        null, observed = null.abs(), observed.abs()
    elif alternative == "less":
        null, observed = -null, -observed
    return (null >= observed - _TIE_RTOL * observed.abs()).sum(0)


def p_values_from_counts(counts, n_null, exact):
    """``counts / n`` for exact tests, ``(counts + 1) / (n + 1)`` for random permutations."""
    adjustment = 0 if exact else 1
    return ((counts.to(_FLOAT64) + adjustment) / (n_null + adjustment)).clamp(max=1.0)


def _check_options(n_permutations, alternative, correction):
    n_permutations = check_positive_int("n_permutations", n_permutations)
    check_option("alternative", alternative, ALTERNATIVES)
    check_option("correction", correction, _CORRECTIONS)
    return n_permutations


def _samples_first(x, name, minimum):
    """Tensor of shape (n_samples, n_tests) in float64 and the trailing test shape."""
    if x.ndim == 0:
        raise ValueError(f"{name!r} must have shape (n_samples, ...); got a scalar.")
    if x.shape[0] < minimum:
        raise ValueError(
            f"{name!r} needs at least {minimum} samples along axis 0; got shape {tuple(x.shape)}."
        )
    if not torch.isfinite(x).all():
        raise ValueError(f"{name!r} contains NaN or infinite values; remove them first.")
    return x.reshape(x.shape[0], -1).to(_FLOAT64), tuple(x.shape[1:])


def _count_exceedances(null_batches, observed, alternative, correction):
    """Sum, over batches of null statistics (batch, n_tests), the exceedances of each test."""
    counts = torch.zeros(observed.shape, dtype=torch.int64, device=observed.device)
    for null in null_batches:
        if correction == "maxstat":
            if alternative == "two-sided":
                null = null.abs().amax(-1, keepdim=True)
            elif alternative == "greater":
                null = null.amax(-1, keepdim=True)
            else:
                null = null.amin(-1, keepdim=True)
        counts += exceedances(null, observed, alternative)
    return counts


def _result(
    null_batches,
    observed,
    alternative,
    correction,
    n_null,
    exact,
    test_shape,
    torch_out,
    out_device,
):
    """p-values of ``observed`` against batches of the null, as a PermutationResult."""
    counts = _count_exceedances(null_batches, observed, alternative, correction)
    p_value = p_values_from_counts(counts, n_null, exact)
    return PermutationResult(
        statistic=_output(observed.reshape(test_shape), torch_out, out_device, _FLOAT64),
        p_value=_output(p_value.reshape(test_shape), torch_out, out_device, _FLOAT64),
        n_permutations=n_null,
        exact=exact,
    )


def _one_sample_statistic(signs, x, statistic, sum_squares):
    """Mean or t of every column of ``x`` under each row of ``signs`` (+-1)."""
    n = x.shape[0]
    mean = signs @ x / n
    if statistic == "mean":
        return mean
    variance = (sum_squares - n * mean.square()) / (n - 1)
    # Data that are all zero give 0 / 0: no evidence either way.
    return torch.nan_to_num(mean / (variance.clamp(min=0) / n).sqrt(), nan=0.0)


def _sign_batches(n, n_permutations, exact, seed, batches, device):
    if exact:
        patterns = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
        for batch in batches:
            yield torch.as_tensor(patterns[batch], dtype=_FLOAT64, device=device)
        return
    rng = np.random.default_rng(seed)
    for batch in batches:
        flips = rng.random((batch.stop - batch.start, n)) < 0.5
        yield torch.as_tensor(np.where(flips, -1.0, 1.0), dtype=_FLOAT64, device=device)


def sign_flip_test(
    x,
    *,
    popmean=0.0,
    statistic="t",
    alternative="two-sided",
    n_permutations=10_000,
    correction=None,
    seed=None,
    device=None,
    max_memory=None,
):
    """One-sample (or paired-difference) permutation test by flipping signs.

    Under the null hypothesis each sample of ``x - popmean`` is symmetric about 0,
    so flipping its sign does not change its distribution. The statistic of every
    sign pattern and every test is one matrix product.

    Parameters
    ----------
    x : array or Tensor of shape (n_samples, ...)
        Samples (e.g. subjects) along axis 0; every trailing element is a test
        (voxel, time point...). For paired data pass the differences.
    popmean : float, default=0.0
        Value of the mean under the null hypothesis.
    statistic : {"t", "mean"}, default="t"
        One-sample t statistic or the mean of ``x - popmean``.
    alternative : {"two-sided", "greater", "less"}, default="two-sided"
        ``"two-sided"`` compares absolute values of the statistic.
    n_permutations : int, default=10000
        Random sign patterns; when ``2**n_samples <= n_permutations`` all patterns
        are enumerated instead (exact test).
    correction : {None, "maxstat"}, default=None
        ``"maxstat"``: family-wise error correction across tests by comparing each
        statistic with the null distribution of the maximum over tests.
    seed : int or numpy.random.Generator or None, default=None
        Seed of the random sign patterns.
    device : {"auto", "cpu", "cuda", ...} or torch.device or None, default=None
        Where to compute; ``None``: the device of a tensor input, else the default.
    max_memory : int or str or None, default=None
        Budget for one batch of permutations.

    Returns
    -------
    result : PermutationResult
        ``statistic`` and ``p_value`` of shape ``x.shape[1:]``, float64, numpy or
        torch like ``x``.

    Raises
    ------
    ValueError
        If ``x`` has fewer than 2 samples or non-finite values, or an option is unknown.

    See Also
    --------
    permutation_test : two independent samples.
    cluster_permutation_test : cluster-level inference over time.
    scipy.stats.permutation_test : the reference (``permutation_type="samples"``).

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.stats import sign_flip_test
    >>> x = np.array([[0.8, 0.1], [1.2, -0.3], [0.9, 0.2], [1.1, 0.0], [0.7, -0.1]])
    >>> result = sign_flip_test(x, statistic="mean")
    >>> result.exact, result.p_value.round(4).tolist()
    (True, [0.0625, 1.0])
    """
    check_option("statistic", statistic, ("t", "mean"))
    n_permutations = _check_options(n_permutations, alternative, correction)
    compute_device = (
        None if device is None and isinstance(x, torch.Tensor) else resolve_device(device)
    )
    (values,), torch_out, out_device, _ = _as_tensors((x,), ("x",), device=compute_device)
    data, test_shape = _samples_first(values, "x", 2)
    data = data - popmean
    n, n_tests = data.shape
    exact = n < 63 and 2**n <= n_permutations
    n_null = 2**n if exact else n_permutations
    sum_squares = data.square().sum(0)
    ones = torch.ones((1, n), dtype=_FLOAT64, device=data.device)
    observed = _one_sample_statistic(ones, data, statistic, sum_squares)[0]
    batches = plan_batches(n_null, 8 * (n + 4 * n_tests), max_memory, device=data.device)
    null_batches = (
        _one_sample_statistic(signs, data, statistic, sum_squares)
        for signs in _sign_batches(n, n_permutations, exact, seed, batches, data.device)
    )
    return _result(
        null_batches,
        observed,
        alternative,
        correction,
        n_null,
        exact,
        test_shape,
        torch_out,
        out_device,
    )


def _two_sample_statistic(membership, data, n_x, statistic, sums, sum_squares):
    """Mean difference or Welch t for every row of a group-membership matrix."""
    n = data.shape[0]
    n_y = n - n_x
    sum_x = membership @ data
    mean_x, mean_y = sum_x / n_x, (sums - sum_x) / n_y
    difference = mean_x - mean_y
    if statistic == "mean_difference":
        return difference
    squares_x = membership @ data.square()
    var_x = (squares_x - n_x * mean_x.square()) / (n_x - 1)
    var_y = (sum_squares - squares_x - n_y * mean_y.square()) / (n_y - 1)
    return difference / (var_x.clamp(min=0) / n_x + var_y.clamp(min=0) / n_y).sqrt()


def _membership_batches(n, n_x, exact, seed, batches, device):
    if exact:
        groups = np.array(list(itertools.combinations(range(n), n_x)))
        for batch in batches:
            membership = np.zeros((batch.stop - batch.start, n))
            np.put_along_axis(membership, groups[batch], 1.0, axis=1)
            yield torch.as_tensor(membership, dtype=_FLOAT64, device=device)
        return
    rng = np.random.default_rng(seed)
    for batch in batches:
        order = rng.random((batch.stop - batch.start, n)).argsort(axis=1)
        yield torch.as_tensor((order < n_x).astype(float), dtype=_FLOAT64, device=device)


def permutation_test(
    x,
    y,
    *,
    statistic="mean_difference",
    alternative="two-sided",
    n_permutations=10_000,
    correction=None,
    seed=None,
    device=None,
    max_memory=None,
):
    """Two-sample permutation test by shuffling group labels.

    Parameters
    ----------
    x : array or Tensor of shape (n_x, ...)
    y : array or Tensor of shape (n_y, ...)
        Independent samples along axis 0; trailing shapes must match, each trailing
        element is a test.
    statistic : {"mean_difference", "t"}, default="mean_difference"
        ``mean(x) - mean(y)`` or Welch's t.
    alternative : {"two-sided", "greater", "less"}, default="two-sided"
        ``"two-sided"`` compares absolute values.
    n_permutations : int, default=10000
        Random relabellings; when the number of distinct splits ``C(n_x + n_y, n_x)``
        is no larger, all of them are enumerated (exact test).
    correction : {None, "maxstat"}, default=None
        Family-wise correction across tests by the maximum statistic.
    seed : int or numpy.random.Generator or None, default=None
    device : {"auto", "cpu", "cuda", ...} or torch.device or None, default=None
    max_memory : int or str or None, default=None

    Returns
    -------
    result : PermutationResult
        ``statistic`` and ``p_value`` of shape ``x.shape[1:]``.

    Raises
    ------
    ValueError
        If the trailing shapes differ, a group has fewer than 2 samples, values are
        not finite, or an option is unknown.

    See Also
    --------
    sign_flip_test : one-sample and paired tests.
    scipy.stats.permutation_test : the reference (``permutation_type="independent"``).

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.stats import permutation_test
    >>> result = permutation_test([2.1, 2.5, 2.8, 3.0], [1.0, 1.2, 0.9, 1.4])
    >>> result.exact, round(float(result.p_value), 4)
    (True, 0.0286)
    """
    check_option("statistic", statistic, ("mean_difference", "t"))
    n_permutations = _check_options(n_permutations, alternative, correction)
    has_tensor = isinstance(x, torch.Tensor) or isinstance(y, torch.Tensor)
    compute_device = None if device is None and has_tensor else resolve_device(device)
    (x, y), torch_out, out_device, _ = _as_tensors((x, y), ("x", "y"), device=compute_device)
    data_x, test_shape = _samples_first(x, "x", 2)
    data_y, shape_y = _samples_first(y, "y", 2)
    if test_shape != shape_y:
        raise ValueError(
            f"'x' and 'y' must have the same shape after axis 0; got {tuple(x.shape)} and "
            f"{tuple(y.shape)}."
        )
    data = torch.cat([data_x, data_y])
    n, n_x = data.shape[0], data_x.shape[0]
    n_splits = math.comb(n, n_x)
    exact = n_splits <= n_permutations
    n_null = n_splits if exact else n_permutations
    sums, sum_squares = data.sum(0), data.square().sum(0)

    def statistic_of(membership):
        return _two_sample_statistic(membership, data, n_x, statistic, sums, sum_squares)

    observed_membership = torch.zeros((1, n), dtype=_FLOAT64, device=data.device)
    observed_membership[0, :n_x] = 1.0
    observed = statistic_of(observed_membership)[0]
    batches = plan_batches(n_null, 8 * (n + 6 * data.shape[1]), max_memory, device=data.device)
    null_batches = map(statistic_of, _membership_batches(n, n_x, exact, seed, batches, data.device))
    return _result(
        null_batches,
        observed,
        alternative,
        correction,
        n_null,
        exact,
        test_shape,
        torch_out,
        out_device,
    )
