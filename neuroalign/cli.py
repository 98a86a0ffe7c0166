"""The ``neuroalign`` command line.

Only argparse and the standard library are imported at start-up, so ``--help`` and
argument errors answer at once; each command imports what it needs when it runs.
The sub-commands are the modules of :mod:`neuroalign.commands`.
"""

import argparse
import importlib
import pkgutil
import sys

from neuroalign import commands
from neuroalign._version import __version__

__all__ = ["build_parser", "main"]

_DESCRIPTION = """\
Compare brains with deep networks and with each other.

Run `neuroalign demo` for the whole study on the built-in synthetic world
(offline, a few minutes on a laptop), or `neuroalign info` to see which
versions, devices and optional extras this installation has."""


def _command_modules():
    names = sorted(
        info.name
        for info in pkgutil.iter_modules(commands.__path__)
        if not info.name.startswith("_")
    )
    return [importlib.import_module(f"neuroalign.commands.{name}") for name in names]


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
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in _command_modules():
        sub = subparsers.add_parser(
            module.NAME, help=module.HELP, description=getattr(module, "DESCRIPTION", module.HELP)
        )
        module.add_arguments(sub)
        sub.set_defaults(handler=module.run)
    return parser


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
