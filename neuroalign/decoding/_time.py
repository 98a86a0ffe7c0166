"""Time-resolved and temporal-generalisation decoding with time as a batch dimension."""

import dataclasses
import inspect

import numpy as np
import torch

from neuroalign._backend import plan_batches, resolve_device, resolve_dtype, to_tensor
from neuroalign._validation import check_option, check_positive_int
from neuroalign.decoding._checks import check_epochs, check_labels
from neuroalign.decoding._folds import class_folds
from neuroalign.decoding._generalization import generalization_correct_counts
from neuroalign.decoding._logistic import fit_logistic_folds
from neuroalign.decoding._null import ridge_null_scores
from neuroalign.decoding._scoring import SCORINGS, chance_level, score_decisions
from neuroalign.decoding._solvers import LinearDecision, class_statistics, class_weights, fit_linear

__all__ = [
    "CLASSIFIERS",
    "TimeDecodingResult",
    "decode_over_time",
    "generalization_decisions",
    "generalization_scores",
    "relabelled_curves",
    "resolve_classifier",
    "sliding_decisions",
    "sliding_windows",
]

CLASSIFIERS = ("ridge", "lda", "logistic")
_RELABELLINGS_PER_FIT = 16  # relabellings per batched logistic fit (two classes: 2.9x faster)
# Decision values per block of test times scored by ROC AUC (about 6 MB in float32): every
# pass of the scoring then reads them from the caches (measured when accuracy still went
# through these blocks, 10 classes, 1,000 epochs: 2.1 s against 3.9 s for all test times of
# a fold at once).
_SCORED_VALUES = 1_500_000


@dataclasses.dataclass(frozen=True)
class TimeDecodingResult:
    """Cross-validated decoding scores over time.

    Attributes
    ----------
    scores : numpy.ndarray of shape (n_folds, n_times) or (n_folds, n_train_times, n_test_times)
        Score of every test fold at every (train, test) time; float64.
    scoring : str
    classifier : str
    classes : numpy.ndarray of shape (n_classes,)
        Labels in the order of the classifier outputs.
    chance : float
        Score of a guessing classifier (see :func:`~neuroalign.decoding.chance_level`).
    folds : list of (numpy.ndarray, numpy.ndarray)
        Train and test epoch indices of every fold.
    window : int or None
        Samples per sliding window; time point ``t`` of the scores is the window
        starting at sample ``t``.
    """

    scores: np.ndarray
    scoring: str
    classifier: str
    classes: np.ndarray
    chance: float
    folds: list
    window: int | None = None

    @property
    def mean(self):
        """numpy.ndarray of shape (n_times,) or (n_train_times, n_test_times): mean over folds."""
        return self.scores.mean(0)

    @property
    def generalize(self):
        """bool: whether the scores are a train-time x test-time matrix."""
        return self.scores.ndim == 3


def resolve_classifier(classifier):
    """Solver name and options from a name or a neuroalign decoder instance."""
    if isinstance(classifier, str):
        return check_option("classifier", classifier, CLASSIFIERS), {}
    if hasattr(classifier, "solver_options"):
        return classifier.solver_options()
    raise TypeError(
        f"'classifier' must be one of {list(CLASSIFIERS)} or a neuroalign decoder "
        f"(RidgeClassifierDecoder, LDADecoder, LogisticDecoder); got {classifier!r}."
    )


def sliding_windows(X, window):
    """Concatenate ``window`` consecutive samples of every channel as features.

    Parameters
    ----------
    X : Tensor of shape (n_epochs, n_channels, n_times)
    window : int or None

    Returns
    -------
    X : Tensor of shape (n_epochs, n_channels * window, n_times - window + 1)
    """
    if window is None or window == 1:
        return X
    n_times = X.shape[-1]
    window = check_positive_int("window", window)
    if window > n_times:
        raise ValueError(f"'window' must be at most n_times={n_times}; got {window}.")
    windows = X.unfold(-1, window, 1)
    return windows.permute(0, 1, 3, 2).reshape(X.shape[0], -1, n_times - window + 1)


def sliding_decisions(decision, X):
    """Decision values at matching train and test times.

    Parameters
    ----------
    decision : LinearDecision
        Batch of ``n_times`` classifiers.
    X : Tensor of shape (n_times, n_samples, n_features)

    Returns
    -------
    decisions : Tensor of shape (n_times, n_samples, n_outputs)
    """
    return decision.decisions(X)


def generalization_decisions(decision, X, *, max_memory=None):
    """Decision values of every train-time classifier at every test time, one matmul per chunk.

    Parameters
    ----------
    decision : LinearDecision
        Batch of ``n_train_times`` classifiers.
    X : Tensor of shape (n_test_times, n_samples, n_features)

    Returns
    -------
    decisions : Tensor of shape (n_train_times, n_test_times, n_samples, n_outputs)
    """
    n_test_times, n_samples, n_features = X.shape
    n_train_times, _, n_outputs = decision.weights.shape
    flat = X.reshape(-1, n_features)
    weights = decision.weights.to(X.dtype)
    bias = decision.bias.to(X.dtype)
    per_item = 2 * X.element_size() * n_test_times * n_samples * n_outputs
    chunks = []
    for batch in plan_batches(n_train_times, per_item, max_memory, device=X.device):
        block = weights[batch].permute(1, 0, 2).reshape(n_features, -1)
        values = (flat @ block).reshape(n_test_times, n_samples, -1, n_outputs)
        chunks.append(values.permute(2, 0, 1, 3) + bias[batch, None, None, :])
    return torch.cat(chunks)


def generalization_scores(decision, X, codes, n_classes, scoring, *, max_memory=None):
    """Score every train-time classifier at every test time.

    Accuracy and balanced accuracy come from counts of correct predictions per class
    (:func:`generalization_correct_counts`). ROC AUC needs every decision value: those of
    a block of test times are one matrix product laid out as (test time, train time,
    output, sample), so every score row is contiguous and the block is scored, while it
    is still in the caches, before the next one is formed.

    Parameters
    ----------
    decision : LinearDecision
        Batch of ``n_train_times`` classifiers.
    X : Tensor of shape (n_test_times, n_samples, n_features)
    codes : Tensor of int64 of shape (n_samples,)
    n_classes : int
    scoring : {"roc_auc", "accuracy", "balanced_accuracy"}

    Returns
    -------
    scores : Tensor of float64 of shape (n_train_times, n_test_times)
        Classes absent from ``codes`` are left out of the averages over classes.
    """
    if scoring != "roc_auc":
        correct, sizes = generalization_correct_counts(
            decision, X, codes, n_classes, max_memory=max_memory
        )
        if scoring == "accuracy":
            return correct.sum(0).to(torch.float64) / sizes.sum()
        present = sizes > 0
        return (correct[present].to(torch.float64) / sizes[present, None, None]).mean(0)
    n_test_times, n_samples, n_features = X.shape
    n_train_times, _, n_outputs = decision.weights.shape
    rows = decision.weights.to(X.dtype).permute(0, 2, 1).reshape(-1, n_features)
    bias = decision.bias.to(X.dtype)[:, :, None]
    per_test_time = n_train_times * n_samples * n_outputs
    per_item = 3 * X.element_size() * per_test_time
    block = max(1, _SCORED_VALUES // per_test_time)
    scores = []
    for batch in plan_batches(n_test_times, per_item, max_memory, device=X.device, largest=block):
        values = (rows @ X[batch].transpose(1, 2)).view(-1, n_train_times, n_outputs, n_samples)
        values += bias
        scores.append(score_decisions(values.transpose(-1, -2), codes, n_classes, scoring))
    return torch.cat(scores).T


def _sliding_scores(decision, data, codes, test, n_classes, scoring):
    """Scores (n_times,) of a batch of classifiers on the epochs ``test`` at their own times."""
    test = torch.as_tensor(test, device=data.device)
    decisions = sliding_decisions(decision, data[:, test])
    return score_decisions(decisions, codes[test], n_classes, scoring)


def _centred_epochs(X, window, device, dtype):
    """Epochs as (n_times, n_epochs, n_features), centred per time point, and the offset.

    Centring once keeps float32 cross products accurate and shifts no decision; the
    transposition and the centring are one pass over the data.

    Returns
    -------
    data : Tensor of shape (n_times, n_epochs, n_features)
    offset : Tensor of shape (n_times, 1, n_features)
    """
    tensor = sliding_windows(to_tensor(X, device=device, dtype=dtype), window)
    offset = tensor.mean(0).T[:, None, :]
    data = torch.empty(
        tensor.shape[2], tensor.shape[0], tensor.shape[1], dtype=tensor.dtype, device=device
    )
    torch.sub(tensor.permute(2, 0, 1), offset, out=data)
    return data, offset


def _common_centring(decision, data, offset):
    """Classifiers and test data of every time point moved to one common centring.

    Each time point's data were centred on their own mean, so a classifier trained at
    one time sees other times' data shifted. Centred on the mean offset instead (a
    difference of offsets, small where the offset drifts little), every classifier
    applies to every test time, and only its bias changes, in float64.

    Parameters
    ----------
    decision : LinearDecision
        ``n_times`` classifiers of the data centred per time point.
    data : Tensor of shape (n_times, n_samples, n_features)
        Test data centred per time point.
    offset : Tensor of shape (n_times, 1, n_features)

    Returns
    -------
    decision : LinearDecision
    data : Tensor of shape (n_times, n_samples, n_features)
    """
    moved = offset.to(torch.float64)
    moved = moved - moved.mean(0)
    bias = decision.bias - torch.einsum("tp,tpo->to", moved[:, 0], decision.weights)
    return LinearDecision(decision.weights, bias, decision.n_iter), data + moved.to(data.dtype)


def _logistic_folds(data, labels, n_classes, folds, class_weight, standardize, options, max_memory):
    """Logistic regression of every fold of every labelling at once: one pass serves them all.

    Parameters
    ----------
    labels : Tensor of int64 of shape (n_labellings, n_epochs)
        Class codes under each labelling (the true one, or permutations of it).

    Returns
    -------
    decisions : list of list of LinearDecision
        Per labelling, per fold.
    """
    n_labellings, n_epochs = labels.shape
    weights = torch.zeros(
        n_epochs, n_labellings, len(folds), dtype=torch.float64, device=data.device
    )
    for labelling, codes in enumerate(labels):
        for index, (train, _) in enumerate(folds):
            rows = torch.as_tensor(train, device=data.device)
            per_class = class_weights(codes[rows], n_classes, class_weight, device=data.device)
            weights[rows, labelling, index] = 1.0 if per_class is None else per_class[codes[rows]]
    coef, bias, n_iter = fit_logistic_folds(
        data,
        labels.repeat_interleave(len(folds), 0),
        n_classes,
        weights.flatten(1),
        C=options.get("C", 1.0),
        max_iter=options.get("max_iter", 100),
        tol=options.get("tol"),
        standardize=standardize,
        max_memory=max_memory,
    )
    n_folds = len(folds)
    return [
        [
            LinearDecision(coef[:, column], bias[:, column], n_iter)
            for column in range(start, start + n_folds)
        ]
        for start in range(0, n_labellings * n_folds, n_folds)
    ]


def decode_over_time(
    X,
    y,
    *,
    classifier="ridge",
    cv=5,
    scoring="roc_auc",
    generalize=False,
    window=None,
    groups=None,
    seed=None,
    class_weight=None,
    standardize=True,
    device=None,
    dtype=None,
    max_memory=None,
):
    """Cross-validated decoding at every time point, or across train x test times.

    Every time point is an independent classifier, fitted for all time points of a
    fold at once (time is a batch dimension). With ``generalize=True`` each
    classifier is scored at every test time (temporal generalisation) by matrix
    products over blocks of test times, scored while they are in the caches.
    Features are standardised with the training statistics of each fold and time,
    like ``make_pipeline(StandardScaler(), clf)`` inside
    ``mne.decoding.SlidingEstimator``.

    Parameters
    ----------
    X : array or Tensor of shape (n_epochs, n_channels, n_times)
    y : array-like of shape (n_epochs,)
        Class labels (any type, at least 2 classes).
    classifier : {"ridge", "lda", "logistic"} or decoder, default="ridge"
        ``RidgeClassifier(alpha=1)``, shrinkage LDA (Ledoit-Wolf) or L2 logistic
        regression (``C=1``); pass a :class:`RidgeClassifierDecoder`,
        :class:`LDADecoder` or :class:`LogisticDecoder` to change their options.
    cv : int or scikit-learn splitter or iterable of (train, test), default=5
        An int gives stratified folds (grouped when ``groups`` is given), unshuffled
        unless ``seed`` is set.
    scoring : {"roc_auc", "accuracy", "balanced_accuracy"}, default="roc_auc"
        ROC AUC is one-vs-rest and macro-averaged for more than two classes.
    generalize : bool, default=False
        Score every train time at every test time.
    window : int, optional
        Concatenate this many consecutive samples of every channel as features
        (sliding window); the result then has ``n_times - window + 1`` time points.
    groups : array-like of shape (n_epochs,), optional
        Epochs of one group (e.g. repetitions of one stimulus) stay in one fold.
    seed : int, optional
        Shuffle before splitting into folds.
    class_weight : None or "balanced", default=None
        ``"balanced"`` weighs samples inversely to their class frequency (equal priors
        for LDA).
    standardize : bool, default=True
    device : {"auto", "cpu", "cuda", ...} or torch.device or None, default=None
    dtype : str or torch.dtype or None, default=None
        Dtype of the data and decision values (fits run in float64).
    max_memory : int or str or None, default=None

    Returns
    -------
    result : TimeDecodingResult
        ``scores`` of shape (n_folds, n_times), or (n_folds, n_times, n_times) when
        ``generalize``; ``mean`` averages the folds.

    Raises
    ------
    ValueError
        If ``y`` has a single class, a class has fewer epochs (groups) than folds,
        ``y`` does not have one label per epoch, or an option is unknown.

    See Also
    --------
    SlidingDecoder, GeneralizingDecoder : the same fits as scikit-learn estimators.
    decode : labelled front door for neuroalign responses.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.decoding import decode_over_time
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 20)
    >>> X = rng.standard_normal((40, 3, 5))
    >>> X[y == 1, 0, 3:] += 2.0
    >>> result = decode_over_time(X, y, cv=4, device="cpu")
    >>> result.scores.shape, bool(result.mean[4] > 0.9), bool(result.mean[0] < 0.8)
    ((4, 5), True, True)
    """
    name, options = resolve_classifier(classifier)
    check_option("scoring", scoring, SCORINGS)
    values = check_epochs(X)
    classes, codes = check_labels(y, values.shape[0])
    folds = class_folds(codes, classes, cv, groups, seed)
    device = resolve_device(device)
    data, offset = _centred_epochs(values, window, device, resolve_dtype(dtype))
    labels = torch.as_tensor(codes, device=device)
    n_classes = len(classes)
    statistics = None
    if name == "ridge":
        # Ridge takes each fold's statistics as those of all rows minus the held-out ones.
        statistics = class_statistics(data, labels, n_classes, per_class=class_weight is not None)
    # Logistic regression fits every fold at once (see fit_logistic_folds).
    batched = name == "logistic"
    if batched:
        fitted = _logistic_folds(
            data, labels[None], n_classes, folds, class_weight, standardize, options, max_memory
        )[0]
    scores = []
    for index, (train, test) in enumerate(folds):
        test_t = torch.as_tensor(test, device=device)
        decision = (
            fitted[index]
            if batched
            else fit_linear(
                data,
                labels,
                n_classes,
                train=torch.as_tensor(train, device=device),
                statistics=statistics,
                classifier=name,
                class_weight=class_weight,
                standardize=standardize,
                max_memory=max_memory,
                **options,
            )
        )
        if generalize:
            fold_scores = generalization_scores(
                *_common_centring(decision, data[:, test_t], offset),
                labels[test_t],
                n_classes,
                scoring,
                max_memory=max_memory,
            )
        else:
            fold_scores = _sliding_scores(decision, data, labels, test_t, n_classes, scoring)
        scores.append(fold_scores.cpu().numpy())
    return TimeDecodingResult(
        scores=np.stack(scores),
        scoring=scoring,
        classifier=name,
        classes=classes,
        chance=chance_level(scoring, n_classes),
        folds=folds,
        window=window,
    )


def relabelled_curves(X, relabellings, folds, **options):
    """Mean score of :func:`decode_over_time` on fixed folds for every relabelling of the epochs.

    Sliding decoding solves relabellings together where the classifier allows: an
    unweighted ridge classifier (the default) solves every relabelling of a fold at
    once (:func:`~neuroalign.decoding._null.ridge_null_scores`) when each fold has
    at least as many training epochs as features; logistic regression fits up to
    16 relabellings' folds in one batched L-BFGS run. Other settings (generalisation,
    LDA, weighted or dual ridge) run :func:`decode_over_time` once per relabelling.

    Parameters
    ----------
    X : array or Tensor of shape (n_epochs, n_channels, n_times)
    relabellings : list of array-like of shape (n_epochs,)
        Labels of the epochs with the same classes, e.g. permutations of the true ones.
    folds : list of (numpy.ndarray, numpy.ndarray)
        Train and test epoch indices (e.g. ``TimeDecodingResult.folds``).
    **options
        Options of :func:`decode_over_time` other than ``cv``, ``groups`` and ``seed``.

    Returns
    -------
    curves : numpy.ndarray of float64
        Of shape (n_relabellings, n_times), or (n_relabellings, n_train_times,
        n_test_times) with ``generalize=True``.
    """
    arguments = inspect.signature(decode_over_time).bind(X, relabellings[0], cv=folds, **options)
    arguments.apply_defaults()
    settings = arguments.arguments
    name, solver_options = resolve_classifier(settings["classifier"])
    ridge = name == "ridge" and settings["class_weight"] is None
    if settings["generalize"] or not (ridge or name == "logistic"):
        return _curves_one_by_one(X, relabellings, folds, options)
    values = check_epochs(X)
    device = resolve_device(settings["device"])
    data, _ = _centred_epochs(values, settings["window"], device, resolve_dtype(settings["dtype"]))
    if ridge and any(len(train) < data.shape[2] for train, _ in folds):
        return _curves_one_by_one(X, relabellings, folds, options)
    labelled = [check_labels(labels, values.shape[0]) for labels in relabellings]
    if any(not np.array_equal(classes, labelled[0][0]) for classes, _ in labelled):
        raise ValueError(
            "Every relabelling must use the same classes (e.g. permutations of the true labels)."
        )
    codes = torch.as_tensor(np.stack([codes for _, codes in labelled]), device=device)
    n_classes = len(labelled[0][0])
    scoring = check_option("scoring", settings["scoring"], SCORINGS)
    if ridge:
        return (
            ridge_null_scores(
                data,
                codes,
                folds,
                n_classes,
                scoring=scoring,
                standardize=settings["standardize"],
                max_memory=settings["max_memory"],
                **solver_options,
            )
            .cpu()
            .numpy()
        )
    curves = []
    for start in range(0, len(codes), _RELABELLINGS_PER_FIT):
        group = codes[start : start + _RELABELLINGS_PER_FIT]
        fitted = _logistic_folds(
            data,
            group,
            n_classes,
            folds,
            settings["class_weight"],
            settings["standardize"],
            solver_options,
            settings["max_memory"],
        )
        for labels, decisions in zip(group, fitted, strict=True):
            scores = [
                _sliding_scores(decision, data, labels, test, n_classes, scoring)
                for decision, (_, test) in zip(decisions, folds, strict=True)
            ]
            curves.append(torch.stack(scores).mean(0).cpu().numpy())
    return np.stack(curves)


def _curves_one_by_one(X, relabellings, folds, options):
    """:func:`relabelled_curves` by one :func:`decode_over_time` per relabelling."""
    return np.stack(
        [decode_over_time(X, labels, cv=folds, **options).mean for labels in relabellings]
    )
