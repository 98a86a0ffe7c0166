"""The one place that decides device and dtype, converts arrays and plans batches.

Solvers receive tensors prepared here; nothing else in neuroalign chooses a device.
"""

import math
import os
import re

import numpy as np
import torch

from neuroalign._config import get_config

__all__ = [
    "Workspace",
    "available_memory",
    "parse_memory",
    "plan_batches",
    "resolve_device",
    "resolve_dtype",
    "resolve_max_memory",
    "to_numpy",
    "to_tensor",
]

_TORCH_DTYPES = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
}
_MEMORY_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
# Share of the free memory a computation may plan for when no budget is given.
_DEFAULT_MEMORY_FRACTION = 0.5


def resolve_device(device=None):
    """Turn a device request into a :class:`torch.device`.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda", "cuda:N"} or torch.device or None, default=None
        ``None`` uses the default set with :func:`neuroalign.config` (``"auto"``
        unless changed); ``"auto"`` picks CUDA when available, else the CPU.

    Returns
    -------
    device : torch.device

    Raises
    ------
    ValueError
        If the request is not a device name, or asks for CUDA on a machine without it.

    Examples
    --------
    >>> from neuroalign._backend import resolve_device
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    request = get_config().device if device is None else device
    if isinstance(request, torch.device):
        resolved = request
    elif request == "auto":
        resolved = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        try:
            resolved = torch.device(request)
        except (RuntimeError, TypeError) as err:
            raise ValueError(
                f"'device' must be 'auto', 'cpu', 'cuda', 'cuda:N' or a torch.device; "
                f"got {request!r}."
            ) from err
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"'device' is {request!r} but CUDA is not available on this machine. "
            "Use device='cpu' or device='auto'."
        )
    return resolved


def resolve_dtype(dtype=None):
    """Turn a dtype request into a floating-point :class:`torch.dtype`.

    Parameters
    ----------
    dtype : str or torch.dtype or numpy.dtype or None, default=None
        ``None`` uses the configured default (``float32``).

    Returns
    -------
    dtype : torch.dtype

    Raises
    ------
    ValueError
        If the dtype is not one of float16, bfloat16, float32 or float64.

    Examples
    --------
    >>> from neuroalign._backend import resolve_dtype
    >>> resolve_dtype("float64")
    torch.float64
    """
    request = get_config().dtype if dtype is None else dtype
    if isinstance(request, torch.dtype):
        name = str(request).removeprefix("torch.")
    else:
        try:
            name = np.dtype(request).name
        except TypeError:
            name = str(request)
    if name not in _TORCH_DTYPES:
        raise ValueError(f"'dtype' must be one of {list(_TORCH_DTYPES)}; got {request!r}.")
    return _TORCH_DTYPES[name]


def to_tensor(data, *, device=None, dtype=None):
    """Convert numpy arrays, xarray objects, sequences or tensors to a torch tensor.

    Parameters
    ----------
    data : array-like, xarray.DataArray or torch.Tensor
        Values to convert; labels of an xarray object are dropped.
    device : see :func:`resolve_device`, default=None
    dtype : see :func:`resolve_dtype`, default=None

    Returns
    -------
    tensor : torch.Tensor
        Shares memory with ``data`` when no copy is needed, so callers must not
        modify it in place.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign._backend import to_tensor
    >>> to_tensor(np.ones((2, 3)), device="cpu").dtype
    torch.float32
    """
    values = getattr(data, "data", data) if not isinstance(data, torch.Tensor) else data
    if not isinstance(values, torch.Tensor):
        array = np.asarray(values)
        # torch cannot share read-only memory (e.g. a memory-mapped file): copy it.
        values = torch.from_numpy(array if array.flags.writeable else array.copy())
    return values.to(device=resolve_device(device), dtype=resolve_dtype(dtype))


def to_numpy(tensor):
    """Return the values of a tensor (on any device) as a numpy array.

    Parameters
    ----------
    tensor : torch.Tensor or array-like

    Returns
    -------
    array : numpy.ndarray
    """
    if isinstance(tensor, torch.Tensor):
        return tensor.detach().cpu().numpy()
    return np.asarray(tensor)


def parse_memory(value):
    """Convert a memory size such as ``"2GB"``, ``"512 MiB"`` or ``10**9`` to bytes.

    Parameters
    ----------
    value : int or float or str

    Returns
    -------
    n_bytes : int

    Raises
    ------
    ValueError
        If the value is not positive or its unit is unknown.

    Examples
    --------
    >>> from neuroalign._backend import parse_memory
    >>> parse_memory("1.5 GiB")
    1610612736
    """
    if isinstance(value, str):
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", value)
        unit = match.group(2).lower() if match else None
        if match is None or unit not in _MEMORY_UNITS:
            raise ValueError(
                f"'max_memory' must be a number of bytes or a string like '2GB' or '512MiB'; "
                f"got {value!r}."
            )
        n_bytes = float(match.group(1)) * _MEMORY_UNITS[unit]
    else:
        n_bytes = float(value)
    if not n_bytes > 0:
        raise ValueError(f"'max_memory' must be positive; got {value!r}.")
    return int(n_bytes)


def available_memory(device=None):
    """Free memory on a device in bytes (CUDA: free device memory; CPU: available RAM).

    Parameters
    ----------
    device : see :func:`resolve_device`, default=None

    Returns
    -------
    n_bytes : int
    """
    resolved = resolve_device(device)
    if resolved.type == "cuda":
        free, _ = torch.cuda.mem_get_info(resolved)
        return int(free)
    return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def resolve_max_memory(max_memory=None, *, device=None):
    """The memory budget in bytes for one batched computation.

    Parameters
    ----------
    max_memory : int or str or None, default=None
        Explicit budget; ``None`` uses the configured default, and when that is
        ``None`` too, half of :func:`available_memory` of the device.
    device : see :func:`resolve_device`, default=None

    Returns
    -------
    n_bytes : int
    """
    request = get_config().max_memory if max_memory is None else max_memory
    if request is None:
        return int(available_memory(device) * _DEFAULT_MEMORY_FRACTION)
    return parse_memory(request)


def plan_batches(
    n_items, bytes_per_item, max_memory=None, *, device=None, fixed_bytes=0, largest=None
):
    """Split ``n_items`` into consecutive batches whose working memory fits a budget.

    Parameters
    ----------
    n_items : int
        Number of independent items (targets, time points, bootstrap samples...).
    bytes_per_item : int
        Working memory one item needs, summed over every buffer that grows with it.
    max_memory : int or str or None, default=None
        Budget; see :func:`resolve_max_memory`.
    device : see :func:`resolve_device`, default=None
        Device whose free memory sets the default budget.
    fixed_bytes : int, default=0
        Memory needed once regardless of the batch size (e.g. a decomposition).
    largest : int, optional
        At most this many items per batch (e.g. to keep a batch within the caches).

    Returns
    -------
    batches : list of slice
        Consecutive slices covering ``range(n_items)``, all of the same length but
        possibly the last.

    Raises
    ------
    MemoryError
        If the fixed memory plus one item exceeds the budget.
    ValueError
        If ``n_items`` or ``bytes_per_item`` is negative.

    Examples
    --------
    >>> from neuroalign._backend import plan_batches
    >>> plan_batches(10, bytes_per_item=100, max_memory=400)
    [slice(0, 4, None), slice(4, 8, None), slice(8, 10, None)]
    """
    if n_items < 0:
        raise ValueError(f"'n_items' must be >= 0; got {n_items}.")
    if bytes_per_item <= 0:
        raise ValueError(f"'bytes_per_item' must be > 0; got {bytes_per_item}.")
    budget = resolve_max_memory(max_memory, device=device) - fixed_bytes
    batch_size = min(n_items, budget // bytes_per_item) if n_items else 0
    if n_items and batch_size < 1:
        raise MemoryError(
            f"One item needs {bytes_per_item + fixed_bytes:,} bytes but 'max_memory' allows "
            f"{budget + fixed_bytes:,}. Increase max_memory or use a smaller problem."
        )
    if largest is not None:
        batch_size = min(batch_size, max(1, largest))
    n_batches = math.ceil(n_items / batch_size) if n_items else 0
    return [
        slice(start * batch_size, min(n_items, (start + 1) * batch_size))
        for start in range(n_batches)
    ]


class Workspace:
    """Named buffers reused across the iterations of a loop.

    A large fresh CPU tensor is page-faulted on first touch, which costs several times
    an elementwise pass over it; solvers that make the same temporaries in every fold
    take them from a workspace instead (``torch.mul(a, b, out=work.get(...))``).

    Examples
    --------
    >>> import torch
    >>> work = Workspace()
    >>> first = work.get("buffer", (2, 3), torch.float32, "cpu")
    >>> work.get("buffer", (2, 3), torch.float32, "cpu").data_ptr() == first.data_ptr()
    True
    """

    def __init__(self):
        self._buffers = {}

    def get(self, name, shape, dtype, device):
        """An uninitialised tensor of ``shape``, the same one on every call with ``name``.

        Parameters
        ----------
        name : str
        shape : tuple of int
        dtype : torch.dtype
        device : torch.device or str

        Returns
        -------
        buffer : Tensor of shape ``shape``
        """
        buffer = self._buffers.get(name)
        shape = tuple(shape)
        if buffer is None or tuple(buffer.shape) != shape or buffer.dtype != dtype:
            buffer = torch.empty(shape, dtype=dtype, device=device)
            self._buffers[name] = buffer
        return buffer
