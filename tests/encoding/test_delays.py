"""Delayed designs against a direct loop over samples; delays never cross runs or epochs."""

import numpy as np
import pytest
import torch

from neuroalign.encoding import lags_to_samples, make_delays
from neuroalign.exceptions import DimensionError


def _reference(X, delays, runs):
    """Row t, column (f, k): X[t - delays[k], f] when that sample is in t's run, else 0."""
    n_times, n_features = X.shape
    out = np.zeros((n_times, n_features, len(delays)))
    for t in range(n_times):
        for k, delay in enumerate(delays):
            source = t - delay
            if 0 <= source < n_times and runs[source] == runs[t]:
                out[t, :, k] = X[source]
    return out.reshape(n_times, -1)


def test_lags_to_samples():
    assert lags_to_samples(-0.1, 0.2, 100.0).tolist() == list(range(-10, 21))
    assert lags_to_samples(0.0, 0.0, 250.0).tolist() == [0]
    assert lags_to_samples(2.0, 8.0, 0.5).tolist() == [1, 2, 3, 4]  # FIR: 1-4 TRs of 2 s
    with pytest.raises(ValueError, match="'tmin' must not exceed 'tmax'"):
        lags_to_samples(0.2, 0.1, 100.0)
    with pytest.raises(ValueError, match="'sfreq' must be positive"):
        lags_to_samples(0.0, 0.1, 0)
    with pytest.raises(ValueError, match="'tmax' must be finite"):
        lags_to_samples(0.0, np.inf, 100.0)
    with pytest.raises(TypeError, match="'tmin' must be a number"):
        lags_to_samples("0", 0.1, 100.0)


@pytest.mark.parametrize("delays", [[0, 1, 2], [-2, 0, 3], [5]])
def test_matches_loop_reference_within_runs(rng, delays):
    X = rng.standard_normal((23, 3))
    runs = np.repeat(["a", "b", "c"], [9, 10, 4])
    np.testing.assert_array_equal(make_delays(X, delays, groups=runs), _reference(X, delays, runs))
    np.testing.assert_array_equal(make_delays(X, delays), _reference(X, delays, np.zeros(23)))


def test_runs_do_not_leak():
    X = np.repeat([[1.0], [2.0]], [5, 5], axis=0)  # run 0 is all ones, run 1 all twos
    lagged = make_delays(X, [-3, 0, 3], groups=np.repeat([0, 1], 5))
    assert set(np.unique(lagged[:5])) <= {0.0, 1.0} and set(np.unique(lagged[5:])) <= {0.0, 2.0}
    np.testing.assert_array_equal(lagged[5:8, 2], 0.0)  # first samples of run 1 look back


def test_epochs_are_delayed_independently(rng):
    X = rng.standard_normal((4, 7, 2))
    lagged = make_delays(X, [0, 2])
    flat = make_delays(X.reshape(28, 2), [0, 2], groups=np.repeat(np.arange(4), 7))
    assert lagged.shape == (4, 7, 4)
    np.testing.assert_array_equal(lagged.reshape(28, 4), flat)


def test_tensor_in_tensor_out(rng):
    X = rng.standard_normal((12, 2))
    lagged = make_delays(torch.as_tensor(X), [1, 3], groups=np.repeat([0, 1], 6))
    assert isinstance(lagged, torch.Tensor) and lagged.dtype == torch.float64
    np.testing.assert_array_equal(
        lagged.numpy(), make_delays(X, [1, 3], groups=np.repeat([0, 1], 6))
    )


def test_bad_input():
    X = np.zeros((6, 2))
    with pytest.raises(ValueError, match="run 0 appears in 2 separate blocks"):
        make_delays(X, [0, 1], groups=[0, 0, 1, 1, 0, 0])
    with pytest.raises(DimensionError, match="'groups' must have shape \\(6,\\)"):
        make_delays(X, [0, 1], groups=[0, 1])
    with pytest.raises(ValueError, match="'delays' must be integer"):
        make_delays(X, [0, 0.5])
    with pytest.raises(ValueError, match="'delays' must be a non-empty"):
        make_delays(X, [])
    with pytest.raises(DimensionError, match="'X' must be 2-D"):
        make_delays(np.zeros(6), [0])
    with pytest.raises(ValueError, match="'groups' must be None for epoched"):
        make_delays(np.zeros((2, 3, 1)), [0], groups=[0, 1])
