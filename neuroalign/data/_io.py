"""Lossless storage of labelled objects in zarr or netCDF."""

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

import xarray as xr

from neuroalign._validation import check_option

__all__ = ["LAYER_ORDER_ATTR", "from_dataset", "load", "save", "to_dataset"]

_FORMATS = {".zarr": "zarr", ".nc": "netcdf", ".nc4": "netcdf", ".h5": "netcdf"}
_META = "neuroalign"  # attribute holding the JSON-encoded name and attrs
LAYER_ORDER_ATTR = "neuroalign_layers"  # root attribute listing layer order


def _format_of(path, format):
    if format is not None:
        return check_option("format", format, ("zarr", "netcdf"))
    suffix = Path(path).suffix.lower()
    if suffix not in _FORMATS:
        raise ValueError(
            f"Cannot tell the storage format of {str(path)!r} from its suffix; use a path "
            f"ending in one of {sorted(_FORMATS)} or pass format='zarr' or 'netcdf'."
        )
    return _FORMATS[suffix]


def to_dataset(da):
    """The storage form of a DataArray: a one-variable Dataset with JSON-encoded attrs.

    Writers that stream data (e.g. activation extraction) use it to produce stores that
    :func:`load` reads.

    Parameters
    ----------
    da : xarray.DataArray

    Returns
    -------
    dataset : xarray.Dataset
        Variable ``values``; name and attrs of ``da`` are kept in its attrs as JSON.
    """
    meta = {"name": da.name, "attrs": da.attrs}
    try:
        encoded = json.dumps(meta)
    except TypeError as err:
        raise TypeError(
            f"attrs of {da.name!r} must be JSON-serialisable (str, numbers, bools, None, "
            f"lists, dicts) to be saved; {err}."
        ) from err
    variable = da.copy(deep=False)
    variable.attrs = {_META: encoded}
    return variable.to_dataset(name="values")


def from_dataset(ds):
    """Inverse of :func:`to_dataset`.

    Parameters
    ----------
    ds : xarray.Dataset

    Returns
    -------
    da : xarray.DataArray
    """
    variable = ds["values"]
    meta = json.loads(variable.attrs[_META])
    restored = variable.copy(deep=False)
    restored.attrs = meta["attrs"]
    restored.name = meta["name"]
    for name, coord in restored.coords.items():
        if coord.dtype.kind in "TO" and all(isinstance(v, str) for v in coord.values.ravel()):
            restored = restored.assign_coords({name: coord.astype(str)})
    return restored


def _write(tree, target, fmt):
    if fmt == "zarr":
        tree.to_zarr(target, zarr_format=2, consolidated=True)
    else:
        tree.to_netcdf(target, engine="h5netcdf")


def save(data, path, *, format=None, overwrite=False):
    """Save a DataArray or an ordered mapping of them (e.g. model layers) losslessly.

    Values, coordinates, names and attrs (JSON-serialisable) come back identical from
    :func:`load`. The file is written to a temporary path first and moved into place,
    so an interrupted save never leaves a half-written result under ``path``.

    Parameters
    ----------
    data : xarray.DataArray or Mapping of str to xarray.DataArray
    path : str or path-like
        Ending in ``.zarr`` (a directory store) or ``.nc`` (netCDF4 via h5netcdf).
    format : {"zarr", "netcdf"}, optional
        Overrides the suffix.
    overwrite : bool, default=False

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``overwrite`` is False.
    TypeError
        If ``data`` is of another type or its attrs cannot be encoded.

    See Also
    --------
    load

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from neuroalign.data import load, responses, save
    >>> da = responses(np.ones((2, 2)), ["a", "b"], modality="fmri", subject="s1")
    >>> path = save(da, pathlib.Path(tempfile.mkdtemp()) / "s1.nc")
    >>> load(path).identical(da)
    True
    """
    path = Path(path)
    fmt = _format_of(path, format)
    if isinstance(data, xr.DataArray):
        tree = xr.DataTree(to_dataset(data))
    elif isinstance(data, Mapping) and data:
        tree = xr.DataTree.from_dict({str(k): to_dataset(v) for k, v in data.items()})
        tree.attrs[LAYER_ORDER_ATTR] = json.dumps([str(k) for k in data])
    else:
        raise TypeError(
            f"'data' must be an xarray.DataArray or a non-empty mapping of them; got "
            f"{type(data).__name__}."
        )
    if path.exists() and not overwrite:
        raise FileExistsError(f"{str(path)!r} exists; pass overwrite=True to replace it.")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        target = staging / path.name
        _write(tree, target, fmt)
        if path.exists():
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        os.replace(target, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path


def load(path, *, format=None):
    """Load what :func:`save` wrote.

    Parameters
    ----------
    path : str or path-like
    format : {"zarr", "netcdf"}, optional
        Overrides the suffix.

    Returns
    -------
    data : xarray.DataArray or dict of str to xarray.DataArray
        A dict (in the saved order) when a mapping was saved. Values are loaded into
        memory and the file is closed.

    Raises
    ------
    FileNotFoundError
        If nothing exists at ``path``.
    ValueError
        If the file was not written by :func:`save`.

    See Also
    --------
    save

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from neuroalign.data import activations, load, save
    >>> layers = {"conv1": activations(np.ones((2, 3)), ["a", "b"], model="m", layer="conv1")}
    >>> list(load(save(layers, pathlib.Path(tempfile.mkdtemp()) / "m.zarr")))
    ['conv1']
    """
    path = Path(path)
    fmt = _format_of(path, format)
    if not path.exists():
        raise FileNotFoundError(f"No file or store at {str(path)!r}.")
    engine = "zarr" if fmt == "zarr" else "h5netcdf"
    try:
        with xr.open_datatree(path, engine=engine) as tree:
            tree = tree.load()
    except (OSError, ValueError, KeyError) as err:
        raise ValueError(f"{str(path)!r} is not a readable {fmt} file: {err}") from err
    if LAYER_ORDER_ATTR in tree.attrs:
        return {
            name: from_dataset(tree[name].to_dataset())
            for name in json.loads(tree.attrs[LAYER_ORDER_ATTR])
        }
    if "values" not in tree.to_dataset() or _META not in tree["values"].attrs:
        raise ValueError(f"{str(path)!r} was not written by neuroalign.data.save().")
    return from_dataset(tree.to_dataset())
