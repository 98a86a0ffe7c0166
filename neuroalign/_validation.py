"""Argument checks shared by every public function.

Each check raises an error that names the argument, what was expected, what was
received and, where possible, how to fix it.
"""

import difflib
import warnings

import numpy as np
import torch

from neuroalign.exceptions import NeuroalignWarning

__all__ = [
    "check_alphas",
    "check_finite",
    "check_option",
    "check_positive_int",
    "close_matches_hint",
    "warn_constant_targets",
]


def close_matches_hint(value, candidates, *, n=5):
    """A ``" Did you mean ...?"`` sentence for a misspelt name, or ``""`` if none is close.

    Parameters
    ----------
    value : str
    candidates : iterable of str
    n : int, default=5
        Most suggestions to list.

    Returns
    -------
    hint : str
    """
    by_lower = {str(c).lower(): str(c) for c in candidates}
    matches = difflib.get_close_matches(str(value).lower(), list(by_lower), n=n)
    matches = [by_lower[m] for m in matches]
    return f" Did you mean {', '.join(repr(m) for m in matches)}?" if matches else ""


def check_option(name, value, options):
    """Check that ``value`` is one of ``options``.

    Parameters
    ----------
    name : str
        Argument name, for the message.
    value : object
    options : sequence

    Returns
    -------
    value : object
        The value, unchanged.

    Raises
    ------
    ValueError
        If ``value`` is not among ``options``.
    """
    if value not in options:
        raise ValueError(
            f"{name!r} must be one of {list(options)}; got {value!r}."
            + close_matches_hint(value, options)
        )
    return value


def check_positive_int(name, value, *, minimum=1):
    """Check that ``value`` is an integer no smaller than ``minimum``.

    Parameters
    ----------
    name : str
    value : object
    minimum : int, default=1

    Returns
    -------
    value : int

    Raises
    ------
    TypeError
        If ``value`` is not an integer (booleans are refused too).
    ValueError
        If ``value`` is smaller than ``minimum``.
    """
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(
            f"{name!r} must be an integer; got {value!r} of type {type(value).__name__}."
        )
    if value < minimum:
        raise ValueError(f"{name!r} must be >= {minimum}; got {value}.")
    return int(value)


def check_alphas(alphas):
    """Ridge penalties as a float64 array, all positive and finite.

    Parameters
    ----------
    alphas : float or array-like of shape (n_alphas,)

    Returns
    -------
    alphas : ndarray of shape (n_alphas,), float64

    Raises
    ------
    ValueError
        If ``alphas`` is empty, not 1-D, or holds a value that is not positive and finite.
    """
    values = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"'alphas' must be a non-empty 1-D sequence; got shape {values.shape}.")
    bad = np.flatnonzero(~(np.isfinite(values) & (values > 0)))
    if bad.size:
        raise ValueError(
            f"'alphas' must be positive and finite; got {values[bad[0]]} at index {bad[0]}."
        )
    return values


def check_finite(name, array):
    """Refuse NaN and infinite values in a 2-D array, naming the first one.

    Parameters
    ----------
    name : str
        Argument name used in the message.
    array : ndarray of shape (n_rows, n_columns)

    Raises
    ------
    ValueError
        If ``array`` holds a NaN or infinite value.
    """
    finite = np.isfinite(array)
    if not finite.all():
        row, column = np.argwhere(~finite)[0]
        raise ValueError(
            f"{name!r} contains {int((~finite).sum())} NaN or infinite values (first at row "
            f"{row}, column {column}). Remove or impute them before fitting."
        )


def warn_constant_targets(Y, consequence, *, stacklevel):
    """Warn when targets do not vary over the samples a fit sees.

    Parameters
    ----------
    Y : ndarray or Tensor of shape (n_samples, n_targets)
    consequence : str
        What happens to them, e.g. "they get zero weights and uninformative scores";
        the message ends with the fix.
    stacklevel : int
        As for :func:`warnings.warn`, counted from the caller of this function.
    """
    Y = torch.as_tensor(Y)
    constant = int((Y.amax(0) == Y.amin(0)).sum())
    if constant:
        warnings.warn(
            f"{constant} of {Y.shape[1]} targets are {consequence}. Drop them first.",
            NeuroalignWarning,
            stacklevel=stacklevel + 1,
        )
