"""``run_experiment``: check, load, plan units, execute (resumable), collect, report."""

import dataclasses
import json
import logging
import shutil
import time
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from neuroalign.experiment._executors import make_executor
from neuroalign.experiment._resolve import check_experiment, load_models, load_sources
from neuroalign.experiment._schema import Experiment, load_config, parse_config
from neuroalign.experiment._store import UnitStore
from neuroalign.experiment._units import execute_unit, plan_units

__all__ = ["RunResult", "run_experiment"]

logger = logging.getLogger("neuroalign")

RUN_FILE = "run.json"
_OUTPUTS = (
    "units",
    "figures",
    "results.csv",
    "comparison.json",
    "maps.nc",
    RUN_FILE,
    "report.html",
)


@dataclasses.dataclass(frozen=True, eq=False)
class RunResult:
    """What :func:`run_experiment` did.

    Attributes
    ----------
    out : pathlib.Path
        The results folder: ``results.csv``, ``run.json``, ``units/``, ``figures/``,
        ``report.html``.
    result : ComparisonResult
        Every unit's rows and maps together.
    executed : tuple of str
        Ids of the units computed by this call.
    skipped : tuple of str
        Ids of the units found finished (with ``resume=True``).
    figures : tuple of pathlib.Path
    report : pathlib.Path or None
    seconds : float
    """

    out: Path
    result: object
    executed: tuple
    skipped: tuple
    figures: tuple
    report: Path | None
    seconds: float


def _experiment(experiment):
    if isinstance(experiment, Experiment):
        return experiment, Path.cwd()
    if isinstance(experiment, Mapping):
        return parse_config(dict(experiment)), Path.cwd()
    path = Path(experiment)
    return load_config(path), path.resolve().parent


def _prepare_out(out, *, resume, overwrite):
    if resume and overwrite:
        raise ValueError("Pass either resume=True (--resume) or overwrite=True (--overwrite).")
    started = out.exists() and any((out / name).exists() for name in _OUTPUTS)
    if started and not (resume or overwrite):
        raise FileExistsError(
            f"{str(out)!r} already holds results of a run; pass --resume (resume=True) to "
            "finish it, --overwrite (overwrite=True) to start again, or choose another --out."
        )
    if overwrite:
        for name in _OUTPUTS:
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    out.mkdir(parents=True, exist_ok=True)


def _merge_maps(results):
    from xarray import concat

    grouped = {}
    for result in results:
        for key, da in result.maps.items():
            grouped.setdefault(key, []).append(da)
    return {
        key: parts[0] if len(parts) == 1 else concat(parts, dim="layer")
        for key, parts in grouped.items()
    }


def _progress(total, enabled):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="units", unit="unit", disable=not enabled)


def run_experiment(
    experiment,
    *,
    out=None,
    resume=False,
    overwrite=False,
    executor="local",
    address=None,
    client=None,
    adapters=None,
    extractor=None,
    progress=True,
    on_unit_done=None,
):
    """Run an experiment: every analysis as independent units, each saved when done.

    Everything is checked before computing (see :func:`check_experiment`). Finished
    units are written to ``out/units/`` atomically; with ``resume=True`` they are read
    back instead of recomputed, so an interrupted run (Ctrl-C, a lost job) continues
    where it stopped. At the end the units are collected into ``out/results.csv``,
    ``out/run.json`` and, when the experiment asks for them, figures and a report.

    Parameters
    ----------
    experiment : str, path-like, dict or Experiment
        A YAML file, its parsed content, or a validated :class:`Experiment`.
        Relative paths inside a file are relative to the file's folder.
    out : path-like, optional
        Results folder; default the experiment's ``out``.
    resume : bool, default=False
        Keep finished units of an earlier run in ``out``.
    overwrite : bool, default=False
        Delete an earlier run's results in ``out`` first.
    executor : {"local", "dask"}, default="local"
    address : str, optional
        Dask scheduler address (``tcp://host:port``); default a LocalCluster.
    client : distributed.Client, optional
        Run on this Dask client instead.
    adapters : Mapping of str to callable, optional
        Adapters by name, in addition to the registered ones (entry-point group
        ``neuroalign.adapters``).
    extractor : callable, optional
        Activation extractor for models that run a network, e.g.
        ``data_adapters.activations.extract``.
    progress : bool, default=True
        Show a progress bar over units.
    on_unit_done : callable, optional
        Called with each unit after its result is saved.

    Returns
    -------
    result : RunResult

    Raises
    ------
    ValueError
        If the experiment is invalid (every problem is listed) or no ``out`` is given.
    FileExistsError
        If ``out`` holds an earlier run and neither ``resume`` nor ``overwrite`` is set.
    FileNotFoundError
        If the experiment file does not exist.

    See Also
    --------
    neuroalign.compare : what each comparison unit runs.
    """
    from neuroalign._backend import resolve_device
    from neuroalign.comparison import ComparisonResult, hash_data, normalize_table, versions

    start = time.perf_counter()
    experiment, base_dir = _experiment(experiment)
    out = Path(out) if out is not None else experiment.out
    if out is None:
        raise ValueError(
            f"Experiment {experiment.name!r} has no 'out' folder; pass --out (out=...)."
        )
    check_experiment(experiment, base_dir, adapters=adapters, extractor=extractor)
    _prepare_out(out, resume=resume, overwrite=overwrite)
    sources = load_sources(experiment, base_dir, adapters=adapters)
    models = load_models(
        experiment,
        base_dir,
        sources,
        extractor=extractor,
        cache_dir=out / "cache",
        device=resolve_device(experiment.device),
    )
    hashes = {}

    def data(key):
        kind, name, part = key
        return (models if kind == "model" else sources)[name][part]

    def input_hash(key):
        if key not in hashes:
            hashes[key] = hash_data(data(key))
        return hashes[key]

    units = plan_units(experiment, sources, models, input_hash)
    store = UnitStore(out)
    finished = [u for u in units if store.done(u)] if resume else []
    pending = [u for u in units if not (resume and store.done(u))]
    by_id = {u.id: u for u in units}
    executed = []
    runner = make_executor(executor, address=address, client=client)
    bar = _progress(len(units), progress)
    bar.update(len(finished))
    try:
        tasks = [(u.id, (u, *[data(key) for key in u.inputs])) for u in pending]
        for unit_id, unit_result in runner.run(execute_unit, tasks):
            store.write(by_id[unit_id], unit_result)
            executed.append(unit_id)
            bar.update(1)
            if on_unit_done is not None:
                on_unit_done(by_id[unit_id])
    finally:
        bar.close()
        runner.close()
    results = [store.read(u) for u in units]
    table = normalize_table(pd.concat([r.table for r in results], ignore_index=True))
    config = experiment.model_dump(mode="json")
    result = ComparisonResult(
        table=table,
        maps=_merge_maps(results),
        config=config,
        seeds={"seed": experiment.seed},
        versions=versions(),
        input_hashes={"/".join(key): value for key, value in hashes.items()},
    )
    result.save(out, overwrite=True)
    seconds = time.perf_counter() - start
    run = {
        "name": experiment.name,
        "experiment": config,
        "seeds": result.seeds,
        "versions": result.versions,
        "input_hashes": result.input_hashes,
        "units": [u.id for u in units],
        "executed": executed,
        "skipped": [u.id for u in finished],
        "executor": executor,
        "seconds": round(seconds, 3),
    }
    (out / RUN_FILE).write_text(json.dumps(run, indent=2))
    figures, report = (), None
    if experiment.figures:
        from neuroalign.experiment._figures import make_figures

        figures = tuple(make_figures(result, out))
    if experiment.report:
        from neuroalign.experiment._figures import make_report

        report = make_report(out, title=experiment.name)
    logger.info(
        "experiment %s: %d units computed, %d reused", experiment.name, len(executed), len(finished)
    )
    return RunResult(
        out=out,
        result=result,
        executed=tuple(executed),
        skipped=tuple(u.id for u in finished),
        figures=figures,
        report=report,
        seconds=seconds,
    )
