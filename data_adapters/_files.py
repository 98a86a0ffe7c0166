"""Shared helpers of the file adapters: paths, tables and readable errors for broken files."""

import contextlib
from pathlib import Path

import pandas as pd

from neuroalign.exceptions import SchemaError

__all__ = [
    "as_paths",
    "check_stimuli",
    "existing_file",
    "read_table",
    "reading",
    "stimulus_column",
]

STIMULUS_COLUMNS = ("stimulus_id", "trial_type", "stim_file", "value")


def existing_file(path, name):
    """``path`` as a :class:`~pathlib.Path`, or a FileNotFoundError naming the argument."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{name!r}: {str(path)!r} does not exist; check the path.")
    return path


def as_paths(paths, name):
    """One path or a sequence of paths as a list of existing :class:`~pathlib.Path`."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = [existing_file(path, name) for path in paths]
    if not paths:
        raise ValueError(f"{name!r} is empty; pass at least one file.")
    return paths


@contextlib.contextmanager
def reading(path, what):
    """Turn a reader's low-level failure into an error that names the file and the fix."""
    try:
        yield
    except (OSError, EOFError, ValueError, KeyError, IndexError, RuntimeError) as err:
        if isinstance(err, (SchemaError, FileNotFoundError)):
            raise
        raise SchemaError(
            f"Could not read {str(path)!r} as {what} ({type(err).__name__}: {err}). The file "
            "may be truncated or corrupt; copy or export it again and check that it is "
            f"a valid {what} file."
        ) from err


def read_table(path, name, *, columns=None):
    """A TSV/CSV (header row) or, with ``columns``, a headerless whitespace-separated table.

    Columns other than the stimulus columns whose values are all numbers become numeric.
    """
    path = existing_file(path, name)
    with reading(path, "table"):
        if columns is not None:
            table = pd.read_csv(path, sep=r"\s+", header=None, names=list(columns), dtype=str)
        else:
            sep = "," if path.suffix.lower() == ".csv" else "\t"
            table = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    if table.empty:
        raise SchemaError(f"{name!r}: {str(path)!r} has no rows; it must list one row per item.")
    for column in table.columns:
        if column not in STIMULUS_COLUMNS and column not in (columns or ()):
            numbers = pd.to_numeric(table[column], errors="coerce")
            if numbers.notna().all():
                table[column] = numbers
    return table


def stimulus_column(table, path, name, column=None):
    """The stimulus id column of an events/stimulus table (explicit, or the first known one)."""
    candidates = [column] if column else [c for c in STIMULUS_COLUMNS if c in table.columns]
    if not candidates or candidates[0] not in table.columns:
        wanted = repr(column) if column else f"one of {list(STIMULUS_COLUMNS)}"
        raise SchemaError(
            f"{name!r}: {str(path)!r} has no stimulus column ({wanted}); its columns are "
            f"{list(table.columns)}. Add a 'stimulus_id' column or pass the column name."
        )
    return candidates[0]


def check_stimuli(found, stimuli, source, name):
    """Refuse stimulus ids that are not in the known stimulus set ``stimuli`` (None: any)."""
    if stimuli is None:
        return
    known = {str(s) for s in stimuli}
    missing = sorted({str(s) for s in found} - known)
    if missing:
        raise SchemaError(
            f"{name!r}: {source} names stimuli that are not in 'stimuli': {missing[:5]}"
            f"{' ...' if len(missing) > 5 else ''} ({len(missing)} in all). Fix the events "
            "file, add them to 'stimuli', or drop those rows with 'drop'."
        )
