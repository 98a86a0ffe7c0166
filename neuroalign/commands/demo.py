"""``neuroalign demo``: the whole study on the built-in synthetic world."""

from pathlib import Path

from neuroalign.commands._arguments import positive_int

NAME = "demo"
HELP = "run the synthetic study end to end and write its results"
DESCRIPTION = (
    "Run experiments/demo.yaml on the built-in synthetic world: the default network's layers "
    "against simulated fMRI, EEG and spiking subjects (encoding, RSA, EEG-fMRI fusion), with "
    "the result table, figures and an HTML report, checked against the world's ground truth."
)


def add_arguments(parser):
    """Add the demo's options.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    """
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("results/demo"),
        help="output folder (default: %(default)s)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smaller world, for a check in well under 2 minutes"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the world (default: %(default)s)"
    )
    parser.add_argument(
        "--device", default="auto", help="'auto', 'cpu', 'cuda' or 'cuda:N' (default: %(default)s)"
    )
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=None,
        help="stimuli per forward pass (default: the experiment's)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace results already in --out")


def run(args):
    """Run the demo, list the files it wrote and the ground-truth checks.

    Parameters
    ----------
    args : argparse.Namespace

    Returns
    -------
    status : int
    """
    from neuroalign.demo import run_demo

    result = run_demo(
        args.out,
        quick=args.quick,
        seed=args.seed,
        device=args.device,
        batch_size=args.batch_size,
        overwrite=args.overwrite,
    )
    print(f"Demo results written to {result.out} in {result.seconds:.0f} s:")
    for path in result.files:
        print(f"  {path}")
    print("Ground truth of the synthetic world:")
    for name, check in result.checks.items():
        details = {k: v for k, v in check.items() if k != "passed"}
        print(f"  {name}: {'recovered' if check['passed'] else 'NOT recovered'} {details}")
    return 0
