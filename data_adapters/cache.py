"""Activation cache on disk: zarr stores keyed by a content hash, written atomically.

The key hashes everything that changes the activations: the model's weights (every
parameter and buffer), its class, the layers, the stimulus ids and contents, the
preprocessing (the ``transform``'s name or an explicit description), the pooling and
the dimensionality reduction. A store is written under a temporary name and renamed
into place only when complete, so an interrupted run never leaves a half-written
entry that a later run would read.
"""

import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path

import numpy as np

__all__ = ["activation_key", "cache_path", "clear_partial", "commit", "temporary_path"]

_CHUNK = 1 << 20


def _update_array(digest, array):
    array = np.ascontiguousarray(array)
    digest.update(f"{array.dtype.str}{array.shape}".encode())
    view = array.reshape(-1).view(np.uint8)
    for start in range(0, view.size, _CHUNK):
        digest.update(view[start : start + _CHUNK].tobytes())


def _update_stimuli(digest, items):
    if hasattr(items, "images") and hasattr(items, "stimulus_ids"):
        items = items.images
    if hasattr(items, "detach"):
        items = items.detach().cpu().numpy()
    if isinstance(items, np.ndarray):
        _update_array(digest, items)
        return
    for item in items:
        if hasattr(item, "detach"):
            item = item.detach().cpu().numpy()
        if isinstance(item, np.ndarray):
            _update_array(digest, item)
        elif hasattr(item, "tobytes"):  # PIL images
            digest.update(repr((getattr(item, "mode", ""), getattr(item, "size", ""))).encode())
            digest.update(item.tobytes())
        else:
            digest.update(repr(item).encode())


def activation_key(model, stimuli, stimulus_ids, layers, *, preprocessing):
    """A SHA-256 hex digest of everything that determines a set of activations.

    Parameters
    ----------
    model : torch.nn.Module
    stimuli : array, tensor, sequence or stimulus set
        The inputs, hashed by content (arrays byte by byte, other items by ``repr``).
    stimulus_ids : sequence
    layers : sequence of str
    preprocessing : dict
        JSON-serialisable description of the transform, pooling, reduction and any
        other option that changes the values.

    Returns
    -------
    key : str
        64 hexadecimal characters.

    Examples
    --------
    >>> import torch
    >>> from data_adapters.cache import activation_key
    >>> net = torch.nn.Linear(2, 2)
    >>> a = activation_key(net, torch.zeros(3, 2), ["a", "b", "c"], ["0"], preprocessing={})
    >>> with torch.no_grad():
    ...     _ = net.weight.add_(1.0)
    >>> a == activation_key(net, torch.zeros(3, 2), ["a", "b", "c"], ["0"], preprocessing={})
    False
    """
    digest = hashlib.sha256()
    digest.update(f"{type(model).__module__}.{type(model).__qualname__}".encode())
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        _update_array(digest, tensor.detach().cpu().float().numpy())
    digest.update(json.dumps([list(layers), [str(s) for s in stimulus_ids]]).encode())
    digest.update(json.dumps(preprocessing, sort_keys=True, default=repr).encode())
    _update_stimuli(digest, stimuli)
    return digest.hexdigest()


def cache_path(cache_dir, key):
    """Where the store of ``key`` lives: ``<cache_dir>/<key>.zarr``.

    Examples
    --------
    >>> from data_adapters.cache import cache_path
    >>> cache_path("cache", "ab12").as_posix()
    'cache/ab12.zarr'
    """
    return Path(cache_dir) / f"{key}.zarr"


def temporary_path(cache_dir, key):
    """A fresh temporary path next to the final store (same file system, so renames are atomic)."""
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    return Path(cache_dir) / f".{key}.{os.getpid()}.{uuid.uuid4().hex}.partial"


def commit(temporary, final):
    """Move a complete store into place; if another process finished first, keep theirs."""
    try:
        os.rename(temporary, final)
    except OSError:
        if not Path(final).exists():
            raise
        shutil.rmtree(temporary, ignore_errors=True)
    return Path(final)


def clear_partial(cache_dir):
    """Remove temporary stores left by runs that were killed (returns how many).

    Only call it when no other process is writing to ``cache_dir``.
    """
    removed = 0
    for path in Path(cache_dir).glob(".*.partial"):
        shutil.rmtree(path, ignore_errors=True)
        removed += 1
    return removed
