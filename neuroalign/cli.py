"""The ``neuroalign`` command line.

Only argparse and the standard library are imported at start-up, so ``--help`` and
argument errors answer at once; each command imports what it needs when it runs.
"""

import argparse
import sys
from pathlib import Path

from neuroalign._version import __version__

__all__ = ["build_parser", "main"]

_DESCRIPTION = """\
Compare brains with deep networks and with each other.

Run `neuroalign demo` for the whole study on the built-in synthetic world
(offline, a few minutes on a laptop), or `neuroalign info` to see which
versions, devices and optional extras this installation has."""


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text}")
    return value


def build_parser():
    """The argument parser of the ``neuroalign`` command.

    Returns
    -------
    parser : argparse.ArgumentParser
    """
    parser = argparse.ArgumentParser(
        prog="neuroalign",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"neuroalign {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    info = commands.add_parser("info", help="print versions, compute devices and installed extras")
    info.set_defaults(handler=_run_info)

    demo = commands.add_parser(
        "demo",
        help="run the synthetic study end to end and write its results",
        description="Generate the synthetic world, extract the default network's "
        "activations and save them next to the simulated recordings.",
    )
    demo.add_argument(
        "--out",
        type=Path,
        default=Path("results/demo"),
        help="output folder (default: %(default)s)",
    )
    demo.add_argument(
        "--quick", action="store_true", help="a smaller world, for a check in well under 2 minutes"
    )
    demo.add_argument(
        "--seed", type=int, default=0, help="seed of the world (default: %(default)s)"
    )
    demo.add_argument(
        "--device", default="auto", help="'auto', 'cpu', 'cuda' or 'cuda:N' (default: %(default)s)"
    )
    demo.add_argument(
        "--batch-size",
        type=_positive_int,
        default=64,
        help="stimuli per forward pass (default: %(default)s)",
    )
    demo.add_argument("--overwrite", action="store_true", help="replace results already in --out")
    demo.set_defaults(handler=_run_demo)
    return parser


def _run_info(args):
    from neuroalign._info import format_info

    print(format_info())
    return 0


def _run_demo(args):
    from neuroalign.demo import run_demo

    result = run_demo(
        args.out,
        quick=args.quick,
        seed=args.seed,
        device=args.device,
        batch_size=args.batch_size,
        overwrite=args.overwrite,
    )
    print(f"Demo results written to {result.out}:")
    for path in result.files:
        print(f"  {path}")
    return 0


def main(argv=None):
    """Run the command line.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success, 1 when the command failed with a user-facing error.
    """
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (ValueError, FileExistsError, FileNotFoundError, ImportError) as err:
        print(f"neuroalign {args.command}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"neuroalign {args.command}: interrupted; finished files are kept.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
