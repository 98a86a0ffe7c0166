"""The result store: every unit's rows and maps under ``OUT/units/``, written atomically."""

import os
import tempfile
from pathlib import Path

from neuroalign.comparison import read_table, write_table
from neuroalign.experiment._units import TABLE_COLUMNS, UnitResult

__all__ = ["UnitStore"]

_TEXT = ("model", "layer", "subject", "region", "method", "metric", "source")
TABLE_DTYPES = {
    name: "str" if name in _TEXT else "int64" if name.startswith("n_") else "float64"
    for name in TABLE_COLUMNS
}


class UnitStore:
    """Finished units of a run, one ``<id>.csv`` (+ ``<id>.nc`` for maps) each.

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
        return self.folder / f"{unit.id}.nc"

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
        from neuroalign.data import save

        self.folder.mkdir(parents=True, exist_ok=True)
        if result.maps:
            save(
                {f"map{i}": da for i, da in enumerate(result.maps.values())},
                self._maps(unit),
                overwrite=True,
            )
            (self.folder / f"{unit.id}.keys").write_text("\n".join(result.maps))
        handle, temporary = tempfile.mkstemp(prefix=f".{unit.id}.", suffix=".csv", dir=self.folder)
        os.close(handle)
        try:
            write_table(result.table, temporary)
            os.replace(temporary, self._table(unit))
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)

    def read(self, unit):
        """The stored result of ``unit``.

        Parameters
        ----------
        unit : Unit

        Returns
        -------
        result : UnitResult
        """
        from neuroalign.data import load

        maps = {}
        if self._maps(unit).exists():
            keys = (self.folder / f"{unit.id}.keys").read_text().split("\n")
            stored = load(self._maps(unit))
            maps = {key: stored[f"map{i}"] for i, key in enumerate(keys)}
        return UnitResult(table=read_table(self._table(unit), TABLE_DTYPES), maps=maps)
