"""``neuroalign run``: a YAML experiment, resumable, on this machine or a Dask cluster."""

from pathlib import Path

NAME = "run"
HELP = "run a YAML experiment (resumable; local or Dask)"
DESCRIPTION = (
    "Run the analyses of a YAML experiment as independent units. Each finished unit is saved "
    "under OUT/units/ at once, so an interrupted run continues with --resume. Results: "
    "OUT/results.csv, OUT/run.json, OUT/figures/, OUT/report.html. For a SLURM cluster, start "
    "Dask workers with dask-jobqueue and pass the scheduler's --address."
)


def add_arguments(parser):
    """Add the options of ``run``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    """
    parser.add_argument("experiment", type=Path, help="the experiment's YAML file")
    parser.add_argument(
        "--out", type=Path, default=None, help="results folder (default: the experiment's 'out')"
    )
    state = parser.add_mutually_exclusive_group()
    state.add_argument(
        "--resume", action="store_true", help="keep finished units of an earlier run in --out"
    )
    state.add_argument(
        "--overwrite", action="store_true", help="delete an earlier run's results in --out first"
    )
    parser.add_argument(
        "--executor",
        choices=("local", "dask"),
        default="local",
        help="where units run (default: %(default)s)",
    )
    parser.add_argument(
        "--address",
        default=None,
        help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (default with --executor dask: "
        "a LocalCluster on this machine)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def run(args):
    """Run the experiment and say where the results are.

    Parameters
    ----------
    args : argparse.Namespace

    Returns
    -------
    status : int
    """
    if args.address is not None and args.executor != "dask":
        raise ValueError(f"--address {args.address} needs --executor dask.")
    from data_adapters.activations import extract
    from neuroalign.experiment import run_experiment

    result = run_experiment(
        args.experiment,
        out=args.out,
        resume=args.resume,
        overwrite=args.overwrite,
        executor=args.executor,
        address=args.address,
        extractor=extract,
        progress=not args.no_progress,
    )
    print(
        f"{len(result.executed)} units computed, {len(result.skipped)} reused, in "
        f"{result.seconds:.1f} s. Results in {result.out}:"
    )
    for name in ("results.csv", "run.json", "report.html"):
        if (result.out / name).exists():
            print(f"  {result.out / name}")
    if result.figures:
        print(f"  {len(result.figures)} figures in {result.out / 'figures'}")
    return 0
