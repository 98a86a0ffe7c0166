"""Selecting neuroids by region."""

import pandas as pd

from neuroalign._validation import close_matches_hint
from neuroalign.data._schema import NEUROID, validate
from neuroalign.exceptions import SchemaError

__all__ = ["select_region"]


def select_region(da, region):
    """Keep the neuroids of one region or several regions.

    Parameters
    ----------
    da : xarray.DataArray
        With a ``region`` coordinate along ``neuroid``.
    region : str or sequence of str

    Returns
    -------
    selected : xarray.DataArray
        Neuroids in their original order.

    Raises
    ------
    SchemaError
        If ``da`` has no ``region`` coordinate.
    KeyError
        If a requested region does not exist; the message lists the existing ones.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.data import responses, select_region
    >>> da = responses(np.zeros((2, 3)), ["a", "b"], modality="fmri", regions=["V1", "V1", "IT"])
    >>> select_region(da, "V1").sizes["neuroid"]
    2
    """
    validate(da, allow_nan=True)
    if "region" not in da.coords:
        raise SchemaError(
            "This object has no 'region' coordinate along 'neuroid'. Pass regions=... to "
            "neuroalign.data.responses(), or add it with "
            "da.assign_coords(region=('neuroid', labels))."
        )
    wanted = [region] if isinstance(region, str) else list(region)
    available = pd.unique(da.region.values).tolist()
    missing = [r for r in wanted if r not in available]
    if missing:
        raise KeyError(
            f"Region {missing[0]!r} not found; available regions: {available}."
            + close_matches_hint(missing[0], available)
        )
    return da.isel({NEUROID: da.region.isin(wanted).values})
