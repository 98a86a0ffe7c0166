"""FDR (scipy.stats.false_discovery_control) and Holm (statsmodels-style reference below)."""

import numpy as np
import pytest
import scipy.stats

from neuroalign.stats import fdr_correction, holm_correction


def _holm_reference(p, alpha):
    """statsmodels multipletests(method="holm"): step-down rejections, running-max p."""
    order = np.argsort(p, kind="stable")
    m = len(p)
    adjusted, reject = np.empty(m), np.zeros(m, dtype=bool)
    running, still_rejecting = 0.0, True
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
        still_rejecting = still_rejecting and p[i] <= alpha / (m - rank)
        reject[i] = still_rejecting
    return adjusted, reject


@pytest.fixture
def p_values(rng):
    p = np.concatenate([rng.uniform(0, 0.01, 8), rng.uniform(0, 1, 40), [0.02, 0.02, 1.0, 0.0]])
    return rng.permutation(p)


@pytest.mark.parametrize("method", ["bh", "by"])
def test_fdr_matches_scipy(p_values, method):
    result = fdr_correction(p_values, method=method, alpha=0.1)
    expected = scipy.stats.false_discovery_control(p_values, method=method)
    np.testing.assert_allclose(result.p_adjusted, expected, atol=1e-12)
    np.testing.assert_array_equal(result.reject, expected <= 0.1)


def test_fdr_keeps_shape(p_values):
    grid = p_values.reshape(4, 13)
    result = fdr_correction(grid)
    assert result.p_adjusted.shape == (4, 13)
    np.testing.assert_allclose(
        result.p_adjusted.ravel(), scipy.stats.false_discovery_control(p_values), atol=1e-12
    )


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.2])
def test_holm_matches_reference(p_values, alpha):
    result = holm_correction(p_values, alpha=alpha)
    adjusted, reject = _holm_reference(p_values, alpha)
    np.testing.assert_allclose(result.p_adjusted, adjusted, atol=1e-12)
    np.testing.assert_array_equal(result.reject, reject)


@pytest.mark.parametrize(
    ("p", "alpha", "match"),
    [
        ([0.1, np.nan], 0.05, "without NaN"),
        ([0.1, 1.2], 0.05, r"in \[0, 1\]"),
        ([], 0.05, "empty"),
        ([0.1], 1.5, r"'alpha' must be a number in \(0, 1\)"),
    ],
)
def test_errors(p, alpha, match):
    with pytest.raises(ValueError, match=match):
        fdr_correction(p, alpha=alpha)
    with pytest.raises(ValueError, match=match):
        holm_correction(p, alpha=alpha)
