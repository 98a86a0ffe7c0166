"""The result of a comparison: a tidy table, per-neuroid / per-time maps and provenance."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["COLUMNS", "ComparisonResult"]

COLUMNS = (
    "model",
    "layer",
    "subject",
    "region",
    "method",
    "metric",
    "score",
    "ci_low",
    "ci_high",
    "ceiling",
    "n_stimuli",
    "n_neuroids",
    "time",
)
_TABLE = "results.csv"
_META = "comparison.json"
_MAPS = "maps.nc"
# Missing numbers are written as "NaN" so that empty strings stay strings on reload.
_NA = "NaN"


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"Cannot encode {type(value).__name__} as JSON.")


def write_table(table, path):
    """Write a tidy table as CSV that :func:`read_table` restores exactly.

    Parameters
    ----------
    table : pandas.DataFrame
    path : path-like

    Returns
    -------
    dtypes : dict of str to str
        Column -> dtype, needed by :func:`read_table`.
    """
    table.to_csv(path, index=False, na_rep=_NA)
    return {name: str(dtype) for name, dtype in table.dtypes.items()}


def read_table(path, dtypes):
    """Read what :func:`write_table` wrote.

    Parameters
    ----------
    path : path-like
    dtypes : dict of str to str

    Returns
    -------
    table : pandas.DataFrame
    """
    text_columns = {name: str for name, dtype in dtypes.items() if dtype in ("object", "str")}
    table = pd.read_csv(path, keep_default_na=False, na_values=[_NA], dtype=text_columns)
    return table.astype(dtypes)


@dataclasses.dataclass(frozen=True, eq=False)
class ComparisonResult:
    """Scores of models against recordings, with everything needed to reproduce them.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (model, layer, subject, region, method, metric[, time]); columns
        :data:`COLUMNS` (``time`` is NaN for scores that are not time-resolved), plus
        any columns a caller adds (the experiment runner adds ``source``).
    maps : dict of str to xarray.DataArray
        Per-neuroid or per-time scores, e.g. ``"encoding/<model>/<subject>"`` of dims
        (layer, neuroid[, time]) or ``"rsa/<model>/<subject>"`` of dims (layer,
        region, time).
    config : dict
        The resolved options of the comparison.
    seeds : dict of str to int
    versions : dict of str to str
        Versions of neuroalign and its core dependencies.
    input_hashes : dict of str to str
        SHA-256 of every input, so a result can be matched with its data.
    """

    table: pd.DataFrame
    maps: dict = dataclasses.field(default_factory=dict)
    config: dict = dataclasses.field(default_factory=dict)
    seeds: dict = dataclasses.field(default_factory=dict)
    versions: dict = dataclasses.field(default_factory=dict)
    input_hashes: dict = dataclasses.field(default_factory=dict)

    def best_layers(self, *, method="encoding", metric="pearson"):
        """The best-scoring layer of each (model, subject, region).

        Parameters
        ----------
        method : str, default="encoding"
        metric : str, default="pearson"

        Returns
        -------
        best : pandas.Series
            Layer name indexed by (model, subject, region); time-resolved scores are
            averaged over time first.
        """
        rows = self.table[(self.table["method"] == method) & (self.table["metric"] == metric)]
        mean = rows.groupby(["model", "subject", "region", "layer"], sort=False)["score"].mean()
        return mean.groupby(level=["model", "subject", "region"], sort=False).idxmax().str[-1]

    def save(self, path, *, overwrite=False):
        """Save to a folder: ``results.csv``, ``comparison.json`` and ``maps.nc``.

        Parameters
        ----------
        path : str or path-like
            A folder; created if needed.
        overwrite : bool, default=False
            Replace a result already saved there.

        Returns
        -------
        path : pathlib.Path

        Raises
        ------
        FileExistsError
            If ``path`` already holds a saved result and ``overwrite`` is False.
        """
        from neuroalign.data import save

        path = Path(path)
        if (path / _META).exists() and not overwrite:
            raise FileExistsError(
                f"{str(path)!r} already holds a comparison result; pass overwrite=True."
            )
        path.mkdir(parents=True, exist_ok=True)
        dtypes = write_table(self.table, path / _TABLE)
        keys = list(self.maps)
        if keys:
            save(
                {f"map{i}": self.maps[key] for i, key in enumerate(keys)},
                path / _MAPS,
                overwrite=True,
            )
        meta = {
            "columns": dtypes,
            "maps": keys,
            "config": self.config,
            "seeds": self.seeds,
            "versions": self.versions,
            "input_hashes": self.input_hashes,
        }
        (path / _META).write_text(json.dumps(meta, indent=2, default=_json_default))
        return path

    @classmethod
    def load(cls, path):
        """Load what :meth:`save` wrote.

        Parameters
        ----------
        path : str or path-like

        Returns
        -------
        result : ComparisonResult

        Raises
        ------
        FileNotFoundError
            If ``path`` holds no saved result.
        """
        from neuroalign.data import load

        path = Path(path)
        if not (path / _META).exists():
            raise FileNotFoundError(
                f"No comparison result in {str(path)!r} (expected {_META}); save one with "
                "ComparisonResult.save()."
            )
        meta = json.loads((path / _META).read_text())
        maps = {}
        if meta["maps"]:
            stored = load(path / _MAPS)
            maps = {key: stored[f"map{i}"] for i, key in enumerate(meta["maps"])}
        return cls(
            table=read_table(path / _TABLE, meta["columns"]),
            maps=maps,
            config=meta["config"],
            seeds=meta["seeds"],
            versions=meta["versions"],
            input_hashes=meta["input_hashes"],
        )
