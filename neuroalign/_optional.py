"""Lazy imports of optional dependencies with an error that names the extra."""

import importlib

from neuroalign.exceptions import MissingDependencyError

__all__ = ["import_optional"]


def import_optional(module, *, extra, feature):
    """Import an optional module or explain how to install it.

    Parameters
    ----------
    module : str
        Importable module name, e.g. ``"mne"``.
    extra : str
        The neuroalign extra that installs it, e.g. ``"eeg"``.
    feature : str
        What the caller was trying to do, for the message.

    Returns
    -------
    module : types.ModuleType

    Raises
    ------
    MissingDependencyError
        If the module cannot be imported.
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise MissingDependencyError(
            f"{feature} needs the optional package {module!r}, which is not installed. "
            f"Install it with: pip install 'neuroalign[{extra}]'"
        ) from err
