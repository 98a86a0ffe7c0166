"""Averaging and splitting repeated presentations of the same stimulus."""

import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse
import xarray as xr

from neuroalign.data._schema import PRESENTATION, validate
from neuroalign.exceptions import NeuroalignWarning

__all__ = ["Halves", "average_repetitions", "split_halves"]


class Halves(NamedTuple):
    """Two averages over disjoint halves of each stimulus' repetitions, same row order.

    Attributes
    ----------
    first : xarray.DataArray
        Average of the first half of each stimulus' repetitions.
    second : xarray.DataArray
        Average of the other half, with the same stimuli in the same order.
    """

    first: xr.DataArray
    second: xr.DataArray


def _constant_presentation_coords(da, codes):
    """Presentation coordinates that take one value per stimulus, reduced to that value."""
    first_row = np.unique(codes, return_index=True)[1]
    kept = {}
    for name, coord in da.coords.items():
        if coord.dims != (PRESENTATION,) or name == "repetition":
            continue
        values = coord.values
        if (pd.Series(values).groupby(codes).nunique(dropna=False) <= 1).all():
            kept[name] = (PRESENTATION, values[first_row])
    return kept


def _group_mean(da, rows, codes, n_groups):
    """Mean of ``da``'s presentation rows ``rows`` within groups ``codes``."""
    counts = np.bincount(codes, minlength=n_groups)
    weights = scipy.sparse.csr_matrix(
        (1.0 / counts[codes], (codes, np.arange(len(codes)))), shape=(n_groups, len(codes))
    )
    values = np.asarray(da.values)[rows]
    flat = values.reshape(len(rows), -1)
    mean = np.asarray(weights @ flat).reshape((n_groups,) + values.shape[1:])
    dtype = da.dtype if da.dtype.kind == "f" else np.float64
    return mean.astype(dtype, copy=False), counts


def _averaged(da, rows, codes, n_groups):
    subset = da.isel({PRESENTATION: rows})
    mean, counts = _group_mean(da, rows, codes, n_groups)
    coords = {name: c for name, c in subset.coords.items() if PRESENTATION not in c.dims}
    coords.update(_constant_presentation_coords(subset, codes))
    coords["n_repetitions"] = (PRESENTATION, counts)
    return xr.DataArray(mean, dims=da.dims, coords=coords, name=da.name, attrs=dict(da.attrs))


def average_repetitions(da):
    """Average all presentations of each stimulus into one row.

    Parameters
    ----------
    da : xarray.DataArray of dims (presentation, neuroid[, time])

    Returns
    -------
    averaged : xarray.DataArray
        One row per stimulus in order of first appearance, a new ``n_repetitions``
        coordinate, and the presentation coordinates that are constant within each
        stimulus (e.g. ``category``); ``repetition`` and varying ones (e.g. ``run``)
        are dropped. Integer data (spike counts) become float64.

    See Also
    --------
    split_halves : two independent averages for reliability estimates.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.data import average_repetitions, responses
    >>> da = responses(np.array([[1.0], [2.0], [3.0]]), ["a", "b", "a"], modality="fmri")
    >>> average_repetitions(da).values.ravel().tolist()
    [2.0, 2.0]
    """
    validate(da, allow_nan=True)
    codes, uniques = pd.factorize(da.stimulus_id.values)
    return _averaged(da, np.arange(da.sizes[PRESENTATION]), codes, len(uniques))


def split_halves(da, *, seed=None):
    """Average two disjoint halves of each stimulus' repetitions.

    With ``seed=None`` the halves are the even and odd repetitions in order of
    appearance (0, 2, 4... and 1, 3, 5...); with a seed the repetitions of each
    stimulus are shuffled first. With an odd number of repetitions the first half
    gets the extra one.

    Parameters
    ----------
    da : xarray.DataArray of dims (presentation, neuroid[, time])
    seed : int or None, default=None

    Returns
    -------
    halves : Halves
        ``(first, second)``, each with one row per stimulus in the same order.

    Raises
    ------
    ValueError
        If no stimulus has at least two presentations.

    Warns
    -----
    NeuroalignWarning
        When stimuli with a single presentation are left out.

    See Also
    --------
    average_repetitions

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.data import responses, split_halves
    >>> da = responses(np.arange(4.0)[:, None], ["a", "a", "b", "b"], modality="eeg")
    >>> halves = split_halves(da)
    >>> halves.first.values.ravel().tolist(), halves.second.values.ravel().tolist()
    ([0.0, 2.0], [1.0, 3.0])
    """
    validate(da, allow_nan=True)
    ids = pd.Series(da.stimulus_id.values)
    counts = ids.map(ids.value_counts())
    single = ids[counts < 2].unique()
    if len(single) == len(ids.unique()):
        raise ValueError(
            "split_halves needs stimuli shown at least twice; every stimulus has a single "
            "presentation."
        )
    if len(single):
        warnings.warn(
            f"split_halves left out {len(single)} stimuli with a single presentation "
            f"(e.g. {single[0]!r}).",
            NeuroalignWarning,
            stacklevel=2,
        )
    rows = np.flatnonzero(counts >= 2)
    order = rows
    if seed is not None:
        order = rows[np.random.default_rng(seed).permutation(len(rows))]
    rank = ids.iloc[order].groupby(ids.iloc[order].to_numpy(), sort=False).cumcount()
    rank = rank.reindex(rows).to_numpy()
    codes, uniques = pd.factorize(ids.iloc[rows])
    halves = []
    for parity in (0, 1):
        mask = rank % 2 == parity
        halves.append(_averaged(da, rows[mask], codes[mask], len(uniques)))
    return Halves(*halves)
