"""Cross-validation folds that never split the repetitions of one stimulus."""

import numpy as np
from sklearn.model_selection import GroupKFold, KFold

from neuroalign._validation import check_positive_int

__all__ = ["make_folds"]


def make_folds(n_samples, cv=5, groups=None):
    """Train/test index pairs for cross-validation.

    Parameters
    ----------
    n_samples : int
    cv : int or scikit-learn splitter or iterable of (train, test), default=5
        An int gives that many contiguous folds (``KFold``), or ``GroupKFold`` when
        ``groups`` is given. A splitter's ``split(X, y, groups)`` is called with
        placeholder arrays, so any scikit-learn splitter works.
    groups : array-like of shape (n_samples,), optional
        Samples sharing a group (e.g. repetitions of one stimulus, or one run) stay in
        the same fold.

    Returns
    -------
    folds : list of (ndarray, ndarray)
        Integer train and test indices of each fold.

    Raises
    ------
    ValueError
        If there are fewer samples (or groups) than folds, a fold is empty, an index
        is out of range, or a group appears in both the train and test side of a fold.

    Examples
    --------
    >>> from neuroalign.encoding import make_folds
    >>> [test.tolist() for _, test in make_folds(6, cv=3)]
    [[0, 1], [2, 3], [4, 5]]
    """
    n_samples = check_positive_int("n_samples", n_samples)
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != (n_samples,):
            raise ValueError(
                f"'groups' must have shape ({n_samples},), one label per sample; got "
                f"{groups.shape}."
            )
    if isinstance(cv, (int, np.integer)) and not isinstance(cv, bool):
        n_folds = check_positive_int("cv", cv, minimum=2)
        n_units = n_samples if groups is None else len(np.unique(groups))
        if n_units < n_folds:
            unit = "sample" if groups is None else "group"
            raise ValueError(
                f"cv={n_folds} folds need at least {n_folds} {unit}s; got {n_units} "
                f"{unit}{'s' if n_units != 1 else ''}. Use fewer folds or more data."
            )
        splitter = KFold(n_folds) if groups is None else GroupKFold(n_folds)
        folds = list(splitter.split(np.zeros(n_samples), groups=groups))
    elif hasattr(cv, "split"):
        folds = list(cv.split(np.zeros((n_samples, 1)), np.zeros(n_samples), groups))
    else:
        folds = [(np.asarray(train), np.asarray(test)) for train, test in cv]
    return [
        _check_fold(index, train, test, n_samples, groups)
        for index, (train, test) in enumerate(folds)
    ]


def _check_fold(index, train, test, n_samples, groups):
    train, test = np.asarray(train, dtype=np.int64), np.asarray(test, dtype=np.int64)
    if train.size == 0 or test.size == 0:
        raise ValueError(f"Fold {index} has an empty train or test set; check 'cv'.")
    if min(train.min(), test.min()) < 0 or max(train.max(), test.max()) >= n_samples:
        raise ValueError(f"Fold {index} has indices outside 0..{n_samples - 1}; check 'cv'.")
    if groups is not None:
        shared = np.intersect1d(groups[train], groups[test])
        if shared.size:
            raise ValueError(
                f"Fold {index} puts group {shared[0].item()!r} in both its train and test sets; "
                "repetitions of a stimulus must stay in one fold. Use a group-aware splitter."
            )
    return train, test
