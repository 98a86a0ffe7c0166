"""Time-lagged (delayed) copies of features for temporal response functions and FIR models.

A delay of ``d`` samples puts ``X[t - d]`` in row ``t``: positive delays let a
response follow its stimulus (EEG/MEG lags, fMRI haemodynamic delays), negative
delays look ahead. Rows whose source falls before the start or after the end of
their run (or epoch) are zero, so a delay never carries samples across runs.
"""

import math

import numpy as np
import torch

from neuroalign.exceptions import DimensionError

__all__ = ["lags_to_samples", "make_delays"]


def lags_to_samples(tmin, tmax, sfreq):
    """Integer sample delays covering the lags ``tmin`` to ``tmax`` seconds.

    Parameters
    ----------
    tmin, tmax : float
        First and last lag in seconds (``tmin <= tmax``); negative lags look ahead.
    sfreq : float
        Sampling frequency in Hz.

    Returns
    -------
    delays : ndarray of int of shape (n_delays,)
        ``round(tmin * sfreq)`` to ``round(tmax * sfreq)``, inclusive.

    Raises
    ------
    ValueError
        If a value is not finite, ``sfreq`` is not positive, or ``tmin > tmax``.

    See Also
    --------
    make_delays : the delayed design for these delays.

    Examples
    --------
    >>> from neuroalign.encoding import lags_to_samples
    >>> lags_to_samples(-0.02, 0.05, 100.0).tolist()
    [-2, -1, 0, 1, 2, 3, 4, 5]
    """
    for name, value in (("tmin", tmin), ("tmax", tmax), ("sfreq", sfreq)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise TypeError(f"{name!r} must be a number; got {value!r}.")
        if not math.isfinite(value):
            raise ValueError(f"{name!r} must be finite; got {value!r}.")
    if sfreq <= 0:
        raise ValueError(f"'sfreq' must be positive (Hz); got {sfreq!r}.")
    if tmin > tmax:
        raise ValueError(
            f"'tmin' must not exceed 'tmax'; got tmin={tmin!r} > tmax={tmax!r}. Swap them."
        )
    return np.arange(round(tmin * sfreq), round(tmax * sfreq) + 1)


def _check_delays(delays):
    values = np.atleast_1d(np.asarray(delays))
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"'delays' must be a non-empty 1-D sequence; got shape {values.shape}.")
    if values.dtype.kind not in "iuf" or not np.array_equal(values, np.round(values)):
        raise ValueError(
            f"'delays' must be integer numbers of samples; got {values.tolist()}. Convert "
            "seconds with lags_to_samples(tmin, tmax, sfreq)."
        )
    return values.astype(np.int64)


def _check_runs(groups, n_times):
    """Run labels of each sample, checked to form contiguous blocks."""
    groups = np.asarray(groups)
    if groups.shape != (n_times,):
        raise DimensionError(
            f"'groups' must have shape ({n_times},), one run label per time sample; got "
            f"{groups.shape}."
        )
    starts = np.concatenate([[True], groups[1:] != groups[:-1]])
    labels, counts = np.unique(groups[starts], return_counts=True)
    if (counts > 1).any():
        raise ValueError(
            f"'groups' must label contiguous runs; run {labels[counts > 1][0].item()!r} appears in "
            f"{counts[counts > 1][0]} separate blocks. Sort samples by run and time."
        )
    return np.cumsum(starts)


def make_delays(X, delays, *, groups=None):
    """Delayed copies of every feature: the design of a TRF or FIR model.

    Parameters
    ----------
    X : array-like or Tensor of shape (n_times, n_features) or (n_epochs, n_times, n_features)
        Features over time; epochs are delayed independently.
    delays : array-like of int of shape (n_delays,)
        Delays in samples; positive delays look back (``X[t - d]`` in row ``t``).
    groups : array-like of shape (n_times,), optional
        Run labels of a 2-D ``X``; each run must be a contiguous block of rows.
        Delays never reach across runs (rows are zero-padded instead).

    Returns
    -------
    X_delayed : ndarray or Tensor of shape (n_times, n_features * n_delays) or \
(n_epochs, n_times, n_features * n_delays)
        Column ``f * n_delays + k`` is feature ``f`` delayed by ``delays[k]``
        (feature-major, so ``reshape(n_features, n_delays)`` recovers the pairs).
        A Tensor input gives a Tensor on its device, otherwise a numpy array.

    Raises
    ------
    DimensionError
        If ``X`` is not 2-D or 3-D, or ``groups`` has the wrong length.
    ValueError
        If delays are not integers, or ``groups`` does not form contiguous runs or is
        given for epoched (3-D) ``X``.

    See Also
    --------
    lags_to_samples : delays from lags in seconds.
    TemporalReceptiveField : the estimator fitted on this design.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.encoding import lags_to_samples, make_delays
    >>> X = np.arange(1.0, 7.0)[:, None]  # one feature, two runs of three samples
    >>> make_delays(X, [0, 1], groups=[0, 0, 0, 1, 1, 1])
    array([[1., 0.],
           [2., 1.],
           [3., 2.],
           [4., 0.],
           [5., 4.],
           [6., 5.]])

    FIR delays of 1 to 4 TRs for an fMRI run (TR = 2 s):

    >>> make_delays(np.ones((10, 3)), lags_to_samples(2.0, 8.0, sfreq=0.5)).shape
    (10, 12)
    """
    is_tensor = isinstance(X, torch.Tensor)
    values = X if is_tensor else np.asarray(X)
    if values.ndim not in (2, 3):
        raise DimensionError(
            "'X' must be 2-D (n_times, n_features) or 3-D (n_epochs, n_times, n_features); "
            f"got shape {tuple(values.shape)}."
        )
    if not is_tensor and values.dtype.kind not in "biuf":
        raise TypeError(f"'X' must be numeric; got dtype {values.dtype}.")
    delays = _check_delays(delays)
    if values.ndim == 3:
        if groups is not None:
            raise ValueError(
                "'groups' must be None for epoched (3-D) 'X': each epoch is delayed on its "
                "own. Concatenate runs as 2-D (n_times, n_features) to pass run labels."
            )
        n_epochs, n_times, n_features = values.shape
        runs = np.repeat(np.arange(n_epochs), n_times)
        flat = make_delays(values.reshape(n_epochs * n_times, n_features), delays, groups=runs)
        return flat.reshape(n_epochs, n_times, -1)
    n_times = values.shape[0]
    time = np.arange(n_times)
    source = time[:, None] - delays[None, :]
    valid = (source >= 0) & (source < n_times)
    source = source.clip(0, n_times - 1)
    if groups is not None:
        runs = _check_runs(groups, n_times)
        valid &= runs[source] == runs[:, None]
    if is_tensor:
        source = torch.as_tensor(source, device=values.device)
        valid = torch.as_tensor(valid, device=values.device, dtype=values.dtype)
    else:
        valid = valid.astype(values.dtype)
    lagged = values[source] * valid[:, :, None]
    return lagged.swapaxes(1, 2).reshape(n_times, -1)
