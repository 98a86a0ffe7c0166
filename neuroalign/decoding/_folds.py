"""Stratified cross-validation folds that keep each group (stimulus) in one fold."""

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from neuroalign._validation import check_positive_int
from neuroalign.decoding._checks import _plain, check_class_counts
from neuroalign.encoding import make_folds

__all__ = ["class_folds"]


def class_folds(codes, classes, cv=5, groups=None, seed=None):
    """Train/test indices for decoding, stratified by class.

    Parameters
    ----------
    codes : numpy.ndarray of int of shape (n_samples,)
        Class index of every sample.
    classes : numpy.ndarray of shape (n_classes,)
        Class labels, for error messages.
    cv : int or scikit-learn splitter or iterable of (train, test), default=5
        An int gives ``StratifiedKFold`` (``StratifiedGroupKFold`` with ``groups``),
        unshuffled unless ``seed`` is given, like ``mne.decoding.cross_val_multiscore``.
    groups : array-like of shape (n_samples,), optional
        Samples sharing a group (repetitions of one stimulus) stay in one fold.
    seed : int or None, default=None
        Shuffle the samples (groups) before splitting, with this seed.

    Returns
    -------
    folds : list of (numpy.ndarray, numpy.ndarray)
    """
    n_samples = codes.shape[0]
    groups = None if groups is None else np.asarray(groups)
    if isinstance(cv, (int, np.integer)) and not isinstance(cv, bool):
        n_folds = check_positive_int("cv", cv, minimum=2)
        check_class_counts(codes, classes, n_folds, groups)
        options = {"shuffle": seed is not None, "random_state": seed}
        if groups is None:
            splitter = StratifiedKFold(n_folds, **options)
        else:
            splitter = StratifiedGroupKFold(n_folds, **options)
        cv = list(splitter.split(np.zeros((n_samples, 1)), codes, groups))
    elif hasattr(cv, "split"):
        cv = list(cv.split(np.zeros((n_samples, 1)), codes, groups))
    folds = make_folds(n_samples, cv=cv, groups=groups)
    for index, (train, _) in enumerate(folds):
        missing = np.setdiff1d(np.arange(len(classes)), codes[train])
        if missing.size:
            raise ValueError(
                f"Fold {index} has no training sample of class {_plain(classes[missing[0]])!r}; "
                "use a stratified splitter or fewer folds."
            )
    return folds
