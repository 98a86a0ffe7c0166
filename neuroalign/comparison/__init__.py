"""The high-level API: ``compare`` models with recordings, and the result it returns.

:func:`compare` sweeps models × layers × subjects × regions (× time points) through
the encoding, RSA and similarity engines and returns a :class:`ComparisonResult`:
one tidy table with CIs and noise ceilings, per-neuroid and per-time maps, and the
provenance (resolved options, seeds, package versions, input hashes).
"""

from neuroalign.comparison._compare import as_models, as_subjects, compare, normalize_table
from neuroalign.comparison._methods import METHODS
from neuroalign.comparison._provenance import hash_data, versions
from neuroalign.comparison._result import COLUMNS, ComparisonResult, read_table, write_table

__all__ = [
    "COLUMNS",
    "METHODS",
    "ComparisonResult",
    "as_models",
    "as_subjects",
    "compare",
    "hash_data",
    "normalize_table",
    "read_table",
    "versions",
    "write_table",
]
