"""Reading the shipped safetensors weight files, with errors that say how to recreate them."""

import os
from pathlib import Path

from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file

__all__ = ["read_weights"]


def read_weights(weights, default, *, script, required):
    """Tensors and metadata of a safetensors file written by a training script.

    Parameters
    ----------
    weights : str or path-like or None
        The file; None for ``default``.
    default : path-like
        The shipped file.
    script : str
        The training script that writes such files (named in error messages).
    required : tuple of str
        Metadata keys the file must have.

    Returns
    -------
    path : pathlib.Path
    state : dict of str to torch.Tensor
    metadata : dict of str to str

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If it is not a readable safetensors file or lacks required metadata.
    """
    path = Path(default if weights is None else os.fspath(weights))
    if not path.is_file():
        raise FileNotFoundError(
            f"'weights' file {str(path)!r} does not exist. Pass the path of a safetensors "
            f"file, or recreate the default weights with `python {script}`."
        )
    try:
        with safe_open(path, framework="pt") as handle:
            metadata = handle.metadata() or {}
        state = load_file(path)
    except (SafetensorError, OSError) as err:
        raise ValueError(
            f"'weights' file {str(path)!r} is not a readable safetensors file ({err}). "
            f"Recreate it with `python {script}`."
        ) from err
    missing = [key for key in required if key not in metadata]
    if missing:
        raise ValueError(
            f"'weights' file {str(path)!r} has no {' or '.join(repr(k) for k in missing)} "
            f"metadata; it was not written by `{script}`."
        )
    return path, state, metadata
