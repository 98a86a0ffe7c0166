"""Inner join of two labelled objects on ``stimulus_id``."""

import logging
from typing import NamedTuple

import numpy as np
import pandas as pd

from neuroalign.data._schema import PRESENTATION, validate
from neuroalign.exceptions import EmptyOverlapError, SchemaError

__all__ = ["Aligned", "align"]

logger = logging.getLogger("neuroalign")


class Aligned(NamedTuple):
    """Two objects whose presentation rows correspond one to one.

    Attributes
    ----------
    a : xarray.DataArray
        The first object, restricted to the shared stimuli.
    b : xarray.DataArray
        The second object; row *i* shows the same stimulus as row *i* of ``a``.
    """

    a: object
    b: object


def _preview(ids, n=3):
    shown = ", ".join(repr(i) for i in ids[:n])
    return shown + ("…" if len(ids) > n else "")


def _empty_overlap_message(ids_a, ids_b):
    message = f"The two objects share no stimulus_id (a: {_preview(ids_a)}; b: {_preview(ids_b)})."
    if (ids_a.dtype.kind in "iu") != (ids_b.dtype.kind in "iu"):
        message += (
            " One side uses integer ids and the other strings: convert one of them, e.g. "
            "da.assign_coords(stimulus_id=da.stimulus_id.astype(str))."
        )
    return message


def _has_repeats(ids):
    return pd.Index(ids).has_duplicates


def _first_rows(da):
    """Keep the first row of each stimulus (duplicates are identical; validate checked)."""
    keep = ~pd.Index(da.stimulus_id.values).duplicated()
    return da.isel({PRESENTATION: np.flatnonzero(keep)})


def _follow(rows, unique):
    """Index the one-row-per-stimulus object ``unique`` to match ``rows``' stimulus ids."""
    position = pd.Index(unique.stimulus_id.values).get_indexer(rows.stimulus_id.values)
    return unique.isel({PRESENTATION: position})


def _join_repetitions(a, b):
    for name, da in (("a", a), ("b", b)):
        if "repetition" not in da.coords:
            raise SchemaError(
                f"Both objects repeat stimuli, but {name!r} has no 'repetition' coordinate to "
                "pair repetitions on. Average one side first with "
                "neuroalign.data.average_repetitions()."
            )
    key_a = pd.MultiIndex.from_arrays([a.stimulus_id.values, a.repetition.values])
    key_b = pd.MultiIndex.from_arrays([b.stimulus_id.values, b.repetition.values])
    position_b = key_b.get_indexer(key_a)
    keep = np.flatnonzero(position_b >= 0)
    if keep.size == 0:
        raise EmptyOverlapError(
            "The objects share stimuli but no (stimulus_id, repetition) pair; average "
            "repetitions on one side with neuroalign.data.average_repetitions()."
        )
    return a.isel({PRESENTATION: keep}), b.isel({PRESENTATION: position_b[keep]})


def align(a, b):
    """Restrict two objects to their common stimuli, with rows in the same order.

    Rows are matched on ``stimulus_id``:

    - both sides show each stimulus once: rows follow the order of ``a``;
    - one side repeats stimuli (a recording) and the other does not (a layer, a
      trial-averaged recording): the repeating side keeps its row order and the
      other side's rows are repeated to match, so row *i* of both is the same stimulus;
    - both sides repeat stimuli: rows are paired on ``(stimulus_id, repetition)``.

    Identical duplicated rows of a network layer count as one row.

    Parameters
    ----------
    a, b : xarray.DataArray
        Objects in the schema (see :func:`validate`).

    Returns
    -------
    aligned : Aligned
        Named tuple ``(a, b)`` of views restricted to the shared stimuli.

    Raises
    ------
    EmptyOverlapError
        If no stimulus (or no stimulus and repetition) is shared.
    ConflictingDuplicatesError
        If an object lists one stimulus several times with different values.

    See Also
    --------
    average_repetitions : collapse repetitions before aligning two recordings.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.data import activations, align, responses
    >>> brain = responses(np.zeros((4, 2)), ["b", "a", "b", "z"], modality="fmri")
    >>> layer = activations(np.arange(6.0).reshape(3, 2), ["a", "b", "c"], model="m", layer="l")
    >>> pair = align(brain, layer)
    >>> pair.a.stimulus_id.values.tolist(), pair.b.stimulus_id.values.tolist()
    (['b', 'a', 'b'], ['b', 'a', 'b'])
    """
    validate(a, allow_nan=True)
    validate(b, allow_nan=True)
    ids_a, ids_b = a.stimulus_id.values, b.stimulus_id.values
    if a.attrs.get("modality") == "model":
        a = _first_rows(a)
    if b.attrs.get("modality") == "model":
        b = _first_rows(b)
    shared_a = pd.Index(a.stimulus_id.values).isin(b.stimulus_id.values)
    if not shared_a.any():
        raise EmptyOverlapError(_empty_overlap_message(ids_a, ids_b))
    a = a.isel({PRESENTATION: np.flatnonzero(shared_a)})
    shared_b = pd.Index(b.stimulus_id.values).isin(a.stimulus_id.values)
    b = b.isel({PRESENTATION: np.flatnonzero(shared_b)})
    repeats_a, repeats_b = _has_repeats(a.stimulus_id.values), _has_repeats(b.stimulus_id.values)
    if repeats_a and repeats_b:
        a, b = _join_repetitions(a, b)
    elif repeats_b:
        a = _follow(b, a)
    else:
        b = _follow(a, b)
    logger.info(
        "align: %d shared stimuli, %d rows (a had %d rows, b had %d).",
        len(pd.unique(a.stimulus_id.values)),
        a.sizes[PRESENTATION],
        len(ids_a),
        len(ids_b),
    )
    return Aligned(a, b)
