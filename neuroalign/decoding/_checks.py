"""Checks of decoding inputs: epochs, labels and class counts."""

import numpy as np
import torch

from neuroalign.exceptions import DimensionError

__all__ = ["check_class_counts", "check_epochs", "check_labels"]


def check_epochs(X, name="X", *, ndim=3):
    """Numeric, finite array of shape (n_epochs, n_channels[, n_times]).

    Parameters
    ----------
    X : array-like or torch.Tensor
    name : str, default="X"
    ndim : {2, 3}, default=3

    Returns
    -------
    X : numpy.ndarray or torch.Tensor
        Tensors are kept as tensors (no device transfer), arrays become numpy.
    """
    values = X if isinstance(X, torch.Tensor) else np.asarray(getattr(X, "values", X))
    layout = "(n_epochs, n_channels, n_times)" if ndim == 3 else "(n_samples, n_features)"
    if values.ndim != ndim:
        raise DimensionError(f"{name!r} must have shape {layout}; got shape {tuple(values.shape)}.")
    if any(size == 0 for size in values.shape):
        raise DimensionError(f"{name!r} is empty; got shape {tuple(values.shape)}.")
    if isinstance(values, torch.Tensor):
        finite = bool(torch.isfinite(values).all()) if values.is_floating_point() else True
    else:
        if values.dtype.kind not in "biuf":
            raise TypeError(f"{name!r} must be numeric; got dtype {values.dtype}.")
        finite = bool(np.isfinite(values).all())
    if not finite:
        raise ValueError(
            f"{name!r} contains NaN or infinite values; drop or interpolate those epochs first."
        )
    return values


def check_labels(y, n_samples, *, name="y"):
    """Class labels as integer codes.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Labels of any hashable type (int, str, bool).
    n_samples : int
        Expected number of labels (epochs or presentations).
    name : str, default="y"

    Returns
    -------
    classes : numpy.ndarray of shape (n_classes,)
        Sorted unique labels.
    codes : numpy.ndarray of int64 of shape (n_samples,)
        Index of each label in ``classes``.

    Raises
    ------
    ValueError
        If ``y`` is not 1-D, its length differs from ``n_samples``, it holds NaN, or
        it has a single class.
    """
    labels = np.asarray(y.cpu() if isinstance(y, torch.Tensor) else y)
    if labels.ndim != 1:
        raise DimensionError(
            f"{name!r} must be 1-D, one label per epoch; got shape {labels.shape}."
        )
    if labels.shape[0] != n_samples:
        raise ValueError(
            f"{name!r} has {labels.shape[0]} labels but the data have {n_samples} epochs "
            "(presentations); pass one label per epoch, in the same order."
        )
    if labels.dtype.kind == "f" and np.isnan(labels).any():
        raise ValueError(f"{name!r} contains NaN labels; drop those epochs first.")
    classes, codes = np.unique(labels, return_inverse=True)
    if classes.size < 2:
        raise ValueError(
            f"{name!r} has one class ({_plain(classes[0])!r}); decoding needs at least 2 classes. "
            "Check the labels, or the epochs you selected."
        )
    return classes, codes.astype(np.int64)


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def check_class_counts(codes, classes, n_folds, groups=None):
    """Every class must have at least one sample (or group) per fold.

    Parameters
    ----------
    codes : numpy.ndarray of int of shape (n_samples,)
    classes : numpy.ndarray of shape (n_classes,)
    n_folds : int
    groups : numpy.ndarray of shape (n_samples,), optional
        When given, distinct groups (e.g. stimuli) are counted instead of samples.

    Raises
    ------
    ValueError
        If a class has fewer samples (groups) than folds.
    """
    unit = "samples" if groups is None else "distinct stimuli (groups)"
    for code, label in enumerate(classes):
        members = codes == code
        count = int(members.sum()) if groups is None else len(np.unique(groups[members]))
        if count < n_folds:
            raise ValueError(
                f"Class {_plain(label)!r} has {count} {unit} but cv={n_folds} folds need at least "
                f"{n_folds} per class. Use fewer folds (cv={max(2, count)}) or drop that class."
            )
