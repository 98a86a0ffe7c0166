"""YAML experiments: schema, planning into units, resumable runs, local and Dask executors.

An experiment names its data sources (adapters found through the entry-point group
``neuroalign.adapters``, or saved files), its models and layers, and its analyses
(encoding, RSA, similarity, fusion, decoding). :func:`run_experiment` checks all of
it before computing, splits the work into independent units (source × subject ×
model × layer × method), writes each finished unit atomically under ``OUT/units/``
and collects them into ``OUT/results.csv`` and ``OUT/run.json``; figures go to
``OUT/figures/`` and the HTML report to ``OUT/report.html``.

Units run locally or on Dask (``executor="dask"``; a LocalCluster, a scheduler
``address``, or a dask-jobqueue cluster on SLURM -- see
:class:`DaskExecutor`), with the same numbers on both.
"""

from neuroalign.experiment._executors import (
    EXECUTORS,
    DaskExecutor,
    LocalExecutor,
    make_executor,
)
from neuroalign.experiment._registry import ADAPTER_GROUP, available_adapters, get_adapter
from neuroalign.experiment._resolve import check_experiment
from neuroalign.experiment._runner import RunResult, run_experiment
from neuroalign.experiment._schema import (
    ComparisonAnalysis,
    DecodingAnalysis,
    Experiment,
    FusionAnalysis,
    ModelSpec,
    SourceSpec,
    load_config,
    parse_config,
)
from neuroalign.experiment._units import Unit, plan_units

__all__ = [
    "ADAPTER_GROUP",
    "EXECUTORS",
    "ComparisonAnalysis",
    "DaskExecutor",
    "DecodingAnalysis",
    "Experiment",
    "FusionAnalysis",
    "LocalExecutor",
    "ModelSpec",
    "RunResult",
    "SourceSpec",
    "Unit",
    "available_adapters",
    "check_experiment",
    "get_adapter",
    "load_config",
    "make_executor",
    "parse_config",
    "plan_units",
    "run_experiment",
]
