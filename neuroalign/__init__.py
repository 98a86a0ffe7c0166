"""neuroalign: compare brains with deep networks and with each other.

Submodules load on first use, so ``import neuroalign`` stays fast and imports
neither torch nor any optional dependency.
"""

import importlib

from neuroalign._config import Settings, config, get_config
from neuroalign._version import __version__

_SUBMODULES = {
    "comparison",
    "data",
    "decoding",
    "encoding",
    "exceptions",
    "experiment",
    "models",
    "plotting",
    "report",
    "rsa",
    "similarity",
    "stats",
    "synthesis",
}

# Functions re-exported lazily at the top level: name -> defining module.
_FUNCTIONS = {"compare": "neuroalign.comparison", "ComparisonResult": "neuroalign.comparison"}

__all__ = [
    "Settings",
    "__version__",
    "config",
    "get_config",
    *sorted(_FUNCTIONS),
    *sorted(_SUBMODULES),
]


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"neuroalign.{name}")
    if name in _FUNCTIONS:
        return getattr(importlib.import_module(_FUNCTIONS[name]), name)
    raise AttributeError(f"module 'neuroalign' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _SUBMODULES | set(_FUNCTIONS))
