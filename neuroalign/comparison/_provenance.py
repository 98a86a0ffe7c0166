"""Provenance of a comparison: content hashes of the inputs and package versions."""

import functools
import hashlib
import platform
from collections.abc import Mapping

import numpy as np

__all__ = ["hash_data", "versions"]


def _update(digest, da):
    digest.update(repr((da.name, da.dims, da.shape, str(da.dtype))).encode())
    digest.update(np.ascontiguousarray(da.values).tobytes())
    for name in sorted(da.coords):
        values = np.asarray(da.coords[name].values)
        digest.update(name.encode())
        digest.update(
            values.astype(str).tobytes()
            if values.dtype.kind in "OUS"
            else np.ascontiguousarray(values).tobytes()
        )


def hash_data(data):
    """SHA-256 of the values and coordinates of a DataArray or a mapping of them.

    Parameters
    ----------
    data : xarray.DataArray or Mapping of str to xarray.DataArray

    Returns
    -------
    digest : str
        64 hexadecimal characters; equal for equal data.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.data import responses
    >>> a = responses(np.zeros((2, 2)), ["x", "y"], modality="fmri")
    >>> hash_data(a) == hash_data(a.copy()), len(hash_data({"a": a}))
    (True, 64)
    """
    digest = hashlib.sha256()
    items = data.items() if isinstance(data, Mapping) else [("", data)]
    for key, da in items:
        digest.update(str(key).encode())
        _update(digest, da)
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def _versions():
    from neuroalign._info import CORE_PACKAGES, package_version
    from neuroalign._version import __version__

    found = {"python": platform.python_version(), "neuroalign": __version__}
    found.update({name: package_version(name) for name in CORE_PACKAGES})
    return tuple(found.items())


def versions():
    """Versions of Python, neuroalign and its core dependencies.

    Returns
    -------
    versions : dict of str to str
    """
    return dict(_versions())
