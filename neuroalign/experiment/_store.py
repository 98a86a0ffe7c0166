"""The result store: every unit's rows and maps under ``OUT/units/``, written atomically.

A unit's rows are a CSV file (``<id>.csv``); its maps (per-neuroid / per-time scores)
are a numpy ``.npz`` archive of plain arrays with their coordinates and a JSON
description (``<id>.npz``, read without pickle), which is much faster to write and read
than one netCDF file per unit. The collected maps of a run go to ``OUT/maps.nc``.
"""

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import xarray as xr

from neuroalign.comparison import read_table, write_table
from neuroalign.experiment._units import TABLE_COLUMNS, UnitResult

__all__ = ["UnitStore", "pack_maps", "unpack_maps"]

_TEXT = ("model", "layer", "subject", "region", "method", "metric", "source")
TABLE_DTYPES = {
    name: "str" if name in _TEXT else "int64" if name.startswith("n_") else "float64"
    for name in TABLE_COLUMNS
}


def _plain(values):
    values = np.asarray(values)
    if values.dtype.kind not in "OT":
        return values
    # Object and variable-width string arrays need pickle in .npz; store fixed-width text.
    return np.array([str(v) for v in values.ravel()], dtype=str).reshape(values.shape)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"Cannot encode {type(value).__name__} in a unit's maps.")


def pack_maps(maps):
    """Plain arrays and a JSON description of labelled maps, for :func:`numpy.savez`.

    Parameters
    ----------
    maps : dict of str to xarray.DataArray

    Returns
    -------
    arrays : dict of str to numpy.ndarray
    """
    arrays, meta = {}, []
    for i, (key, da) in enumerate(maps.items()):
        arrays[f"{i}.values"] = _plain(da.values)
        coords = {}
        for j, (name, coord) in enumerate(da.coords.items()):
            arrays[f"{i}.coord{j}"] = _plain(coord.values)
            coords[name] = {"array": f"{i}.coord{j}", "dims": list(coord.dims)}
        meta.append(
            {
                "key": key,
                "name": da.name,
                "dims": list(da.dims),
                "attrs": da.attrs,
                "coords": coords,
            }
        )
    arrays["meta"] = np.array(json.dumps(meta, default=_json_default))
    return arrays


def unpack_maps(arrays):
    """Inverse of :func:`pack_maps`.

    Parameters
    ----------
    arrays : Mapping of str to numpy.ndarray

    Returns
    -------
    maps : dict of str to xarray.DataArray
    """
    maps = {}
    for i, item in enumerate(json.loads(str(arrays["meta"]))):
        coords = {name: (c["dims"], arrays[c["array"]]) for name, c in item["coords"].items()}
        maps[item["key"]] = xr.DataArray(
            arrays[f"{i}.values"],
            dims=item["dims"],
            coords=coords,
            name=item["name"],
            attrs=item["attrs"],
        )
    return maps


def _replace_atomically(path, write):
    handle, temporary = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent
    )
    os.close(handle)
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


class UnitStore:
    """Finished units of a run, one ``<id>.csv`` (+ ``<id>.npz`` for maps) each.

    The table is written last, to a temporary file moved into place, so a unit counts
    as finished only when all its files are complete; an interrupted write leaves
    nothing that :meth:`done` accepts.

    Parameters
    ----------
    out : path-like
        The run's output folder.
    """

    def __init__(self, out):
        self.folder = Path(out) / "units"

    def _table(self, unit):
        return self.folder / f"{unit.id}.csv"

    def _maps(self, unit):
        return self.folder / f"{unit.id}.npz"

    def done(self, unit):
        """Whether ``unit`` has a complete result.

        Parameters
        ----------
        unit : Unit

        Returns
        -------
        bool
        """
        return self._table(unit).is_file()

    def write(self, unit, result):
        """Store the result of ``unit`` atomically.

        Parameters
        ----------
        unit : Unit
        result : UnitResult
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        if result.maps:
            arrays = pack_maps(result.maps)

            def write_maps(path):
                with open(path, "wb") as file:
                    np.savez(file, **arrays)

            _replace_atomically(self._maps(unit), write_maps)
        _replace_atomically(self._table(unit), lambda path: write_table(result.table, path))

    def read(self, unit):
        """The stored result of ``unit``.

        Parameters
        ----------
        unit : Unit

        Returns
        -------
        result : UnitResult
        """
        maps = {}
        if self._maps(unit).exists():
            with np.load(self._maps(unit), allow_pickle=False) as stored:
                maps = unpack_maps({name: stored[name] for name in stored.files})
        return UnitResult(table=read_table(self._table(unit), TABLE_DTYPES), maps=maps)
