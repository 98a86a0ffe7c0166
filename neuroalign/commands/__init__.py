"""One module per ``neuroalign`` sub-command.

Each module defines ``NAME`` (the sub-command), ``HELP`` (one line for ``--help``),
``add_arguments(parser)`` and ``run(args) -> int``. :mod:`neuroalign.cli` discovers
the modules of this package, so adding a command means adding a module here.
Modules import only argparse and the standard library at import time; heavy
imports happen inside ``run``.
"""
