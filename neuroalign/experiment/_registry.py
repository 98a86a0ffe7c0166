"""Adapters found through the entry-point group ``neuroalign.adapters``.

An adapter is a callable ``load(**options)`` returning a schema DataArray or a mapping
subject -> DataArray. A package registers one in its ``pyproject.toml``::

    [project.entry-points."neuroalign.adapters"]
    mylab = "mylab_io.neuroalign:load"

and an experiment uses it as ``sources: {bold: {adapter: mylab, options: {...}}}``.
"""

from importlib.metadata import entry_points

from neuroalign._validation import close_matches_hint

__all__ = ["ADAPTER_GROUP", "available_adapters", "get_adapter"]

ADAPTER_GROUP = "neuroalign.adapters"


def available_adapters(extra=None):
    """Names of the registered adapters (plus those given in ``extra``).

    Parameters
    ----------
    extra : Mapping of str to callable, optional
        Adapters passed in directly; they take precedence over registered ones.

    Returns
    -------
    names : list of str
        Sorted.
    """
    names = {ep.name for ep in entry_points(group=ADAPTER_GROUP)}
    return sorted(names | set(extra or {}))


def get_adapter(name, extra=None):
    """The loader registered under ``name``.

    Parameters
    ----------
    name : str
    extra : Mapping of str to callable, optional
        Adapters passed in directly; they take precedence over registered ones.

    Returns
    -------
    load : callable

    Raises
    ------
    ValueError
        If no adapter has that name; the message lists the available ones.
    """
    if extra and name in extra:
        return extra[name]
    for ep in entry_points(group=ADAPTER_GROUP):
        if ep.name == name:
            return ep.load()
    names = available_adapters(extra)
    listed = ", ".join(repr(n) for n in names) if names else "none"
    raise ValueError(
        f"Unknown adapter {name!r}; available adapters: {listed}."
        + close_matches_hint(name, names)
        + f" Adapters are registered under the entry-point group {ADAPTER_GROUP!r}."
    )
