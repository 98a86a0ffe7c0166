"""User-adjustable defaults (device, dtype, memory budget) scoped by a context manager.

The defaults live in a :class:`contextvars.ContextVar`, so a change made inside
``with neuroalign.config(...)`` is undone on exit (also on error) and does not
leak into other threads or asyncio tasks. Nothing here imports torch.
"""

import contextlib
import contextvars
import dataclasses

__all__ = ["Settings", "config", "get_config"]

_DTYPES = ("float16", "bfloat16", "float32", "float64")


@dataclasses.dataclass(frozen=True)
class Settings:
    """Defaults used when a function is called without an explicit value.

    Attributes
    ----------
    device : str
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    dtype : str
        Floating-point type for heavy computation, one of ``float16``, ``bfloat16``,
        ``float32`` (default) and ``float64``.
    max_memory : int or str or None
        Memory budget for one batched computation, in bytes or as a string such as
        ``"2GB"``; ``None`` lets the backend use half of the free memory of the device.
    """

    device: str = "auto"
    dtype: str = "float32"
    max_memory: int | str | None = None


# Settings is frozen, so sharing one default instance is safe.
_SETTINGS = contextvars.ContextVar("neuroalign_settings", default=Settings())  # noqa: B039


def get_config():
    """Return the defaults in force in the current context.

    Returns
    -------
    settings : Settings

    Examples
    --------
    >>> import neuroalign
    >>> neuroalign.get_config().dtype
    'float32'
    """
    return _SETTINGS.get()


@contextlib.contextmanager
def config(**changes):
    """Change neuroalign's defaults inside a ``with`` block and restore them on exit.

    Parameters
    ----------
    **changes
        Any field of :class:`Settings`: ``device``, ``dtype``, ``max_memory``.

    Yields
    ------
    settings : Settings
        The defaults in force inside the block.

    Raises
    ------
    TypeError
        If a keyword is not a field of :class:`Settings`.
    ValueError
        If ``dtype`` is not a supported floating-point type.

    See Also
    --------
    get_config : read the defaults in force.

    Examples
    --------
    >>> import neuroalign
    >>> with neuroalign.config(device="cpu", dtype="float64"):
    ...     neuroalign.get_config().dtype
    'float64'
    >>> neuroalign.get_config().dtype
    'float32'
    """
    fields = {f.name for f in dataclasses.fields(Settings)}
    unknown = sorted(set(changes) - fields)
    if unknown:
        raise TypeError(
            f"config() got unknown setting(s) {unknown}; valid settings are {sorted(fields)}."
        )
    if "dtype" in changes and str(changes["dtype"]) not in _DTYPES:
        raise ValueError(f"'dtype' must be one of {list(_DTYPES)}; got {changes['dtype']!r}.")
    token = _SETTINGS.set(dataclasses.replace(_SETTINGS.get(), **changes))
    try:
        yield _SETTINGS.get()
    finally:
        _SETTINGS.reset(token)
