"""scikit-learn estimators around the batched classifiers."""

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from neuroalign._backend import resolve_device, resolve_dtype, to_numpy, to_tensor
from neuroalign._sklearn import check_fitted
from neuroalign._validation import check_option
from neuroalign.decoding._checks import check_epochs, check_labels
from neuroalign.decoding._scoring import SCORINGS, predict_codes, score_decisions
from neuroalign.decoding._solvers import LinearDecision, fit_linear
from neuroalign.decoding._time import (
    generalization_decisions,
    generalization_scores,
    resolve_classifier,
    sliding_windows,
)
from neuroalign.exceptions import DimensionError

__all__ = [
    "GeneralizingDecoder",
    "LDADecoder",
    "LogisticDecoder",
    "RidgeClassifierDecoder",
    "SlidingDecoder",
]


def _class_weight_vector(class_weight, classes):
    """``None``, ``"balanced"`` or a per-class sequence in the order of ``classes``."""
    if class_weight is None or isinstance(class_weight, str):
        if class_weight is not None:
            check_option("class_weight", class_weight, ("balanced",))
        return class_weight
    if isinstance(class_weight, dict):
        return [float(class_weight.get(label, 1.0)) for label in classes.tolist()]
    raise TypeError(
        f"'class_weight' must be None, 'balanced' or a dict label -> weight; got {class_weight!r}."
    )


class _LinearDecoder(ClassifierMixin, BaseEstimator):
    """Shared fit/predict of the linear decoders (a batch of one)."""

    _solver = None

    def solver_options(self):
        """The solver name and its options, for the batched engines."""
        raise NotImplementedError

    def _weighting(self, classes):
        return _class_weight_vector(getattr(self, "class_weight", None), classes)

    def fit(self, X, y):
        """Fit the classifier.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        self
        """
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        check_classification_targets(y)
        self.classes_, codes = check_labels(y, X.shape[0])
        device = resolve_device(self.device)
        name, options = self.solver_options()
        decision = fit_linear(
            to_tensor(X, device=device, dtype=resolve_dtype(self.dtype))[None],
            torch.as_tensor(codes, device=device),
            len(self.classes_),
            classifier=name,
            class_weight=self._weighting(self.classes_),
            standardize=self.standardize,
            **options,
        )
        self.coef_ = to_numpy(decision.weights[0]).T
        self.intercept_ = to_numpy(decision.bias[0])
        self.n_iter_ = decision.n_iter
        return self

    def decision_function(self, X):
        """Decision values.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Binary problems give the score of ``classes_[1]``.
        """
        check_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        scores = X @ self.coef_.T + self.intercept_
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        scores = self.decision_function(X)
        scores = scores[:, None] if scores.ndim == 1 else scores
        return self.classes_[to_numpy(predict_codes(torch.as_tensor(scores)))]


class RidgeClassifierDecoder(_LinearDecoder):
    """Ridge classifier (least squares on ±1 targets), standardised inside ``fit``.

    Equivalent to ``make_pipeline(StandardScaler(), RidgeClassifier(alpha))``.

    Parameters
    ----------
    alpha : float, default=1.0
    class_weight : None, "balanced" or dict, default=None
    standardize : bool, default=True
    device, dtype : optional
        See :func:`neuroalign.config`.

    Attributes
    ----------
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Weights for raw features.
    intercept_ : ndarray of shape (1,) or (n_classes,)
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.decoding import RidgeClassifierDecoder
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [0.1, 0.9], [0.9, 0.2]])
    >>> RidgeClassifierDecoder(device="cpu").fit(X, ["a", "b", "a", "b"]).predict(X).tolist()
    ['a', 'b', 'a', 'b']
    """

    def __init__(self, alpha=1.0, *, class_weight=None, standardize=True, device=None, dtype=None):
        self.alpha = alpha
        self.class_weight = class_weight
        self.standardize = standardize
        self.device = device
        self.dtype = dtype

    def solver_options(self):
        """``("ridge", {"alpha": alpha})``."""
        return "ridge", {"alpha": float(self.alpha)}


class _ProbabilisticDecoder(_LinearDecoder):
    """A linear decoder whose discriminant scores are log-odds (LDA, logistic)."""

    def predict_proba(self, X):
        """Class probabilities: the softmax of the discriminant scores.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        probabilities : ndarray of shape (n_samples, n_classes)
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            scores = np.stack([np.zeros_like(scores), scores], 1)
        scores = scores - scores.max(1, keepdims=True)
        exp = np.exp(scores)
        return exp / exp.sum(1, keepdims=True)


class LDADecoder(_ProbabilisticDecoder):
    """Linear discriminant analysis with a shrunk within-class covariance.

    Equivalent to ``make_pipeline(StandardScaler(), LinearDiscriminantAnalysis(
    solver="lsqr", shrinkage="auto"))`` (Ledoit-Wolf) or, with ``shrinkage="oas"``,
    ``covariance_estimator=OAS()``.

    Parameters
    ----------
    shrinkage : {"ledoit_wolf", "oas"} or float, default="ledoit_wolf"
    priors : None or "balanced", default=None
        Class priors: the class frequencies, or equal.
    standardize : bool, default=True
    device, dtype : optional

    Attributes
    ----------
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.decoding import LDADecoder
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [0.1, 0.9], [0.9, 0.2], [0.2, 1.1], [1.2, 0.1]])
    >>> LDADecoder(device="cpu").fit(X, [0, 1, 0, 1, 0, 1]).predict(X).tolist()
    [0, 1, 0, 1, 0, 1]
    """

    def __init__(
        self, shrinkage="ledoit_wolf", *, priors=None, standardize=True, device=None, dtype=None
    ):
        self.shrinkage = shrinkage
        self.priors = priors
        self.standardize = standardize
        self.device = device
        self.dtype = dtype

    def _weighting(self, classes):
        if self.priors is not None:
            check_option("priors", self.priors, ("balanced",))
        return self.priors

    def solver_options(self):
        """``("lda", {"shrinkage": shrinkage})``."""
        if isinstance(self.shrinkage, str):
            check_option("shrinkage", self.shrinkage, ("ledoit_wolf", "oas"))
        elif not 0.0 <= float(self.shrinkage) <= 1.0:
            raise ValueError(f"'shrinkage' must be in [0, 1]; got {self.shrinkage}.")
        return "lda", {"shrinkage": self.shrinkage}


class LogisticDecoder(_ProbabilisticDecoder):
    """L2-penalised logistic regression (multinomial for more than two classes).

    Fitted by L-BFGS with Böhning's curvature bound as initial inverse Hessian, one
    output for two classes (``decode_over_time`` fits all folds at once).

    Equivalent to ``make_pipeline(StandardScaler(), LogisticRegression(C))``.

    Parameters
    ----------
    C : float, default=1.0
        Inverse penalty strength.
    class_weight : None, "balanced" or dict, default=None
    max_iter : int, default=100
        L-BFGS iterations of each precision (float32 data run in float32 first).
    tol : float, optional
        Every gradient entry of the (standardised) problem below ``tol * C *
        sum(sample weights)``, scikit-learn's stopping rule; default 1e-4 (scikit-learn's)
        for float32 data, 1e-10 for float64.
    standardize : bool, default=True
    device, dtype : optional

    Attributes
    ----------
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
    classes_ : ndarray of shape (n_classes,)
    n_iter_ : int
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.decoding import LogisticDecoder
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [0.1, 0.9], [0.9, 0.2]])
    >>> LogisticDecoder(device="cpu").fit(X, [0, 1, 0, 1]).predict_proba(X).shape
    (4, 2)
    """

    def __init__(
        self,
        C=1.0,
        *,
        class_weight=None,
        max_iter=100,
        tol=None,
        standardize=True,
        device=None,
        dtype=None,
    ):
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.tol = tol
        self.standardize = standardize
        self.device = device
        self.dtype = dtype

    def solver_options(self):
        """``("logistic", {"C": C, "max_iter": max_iter, "tol": tol})``."""
        if not float(self.C) > 0:
            raise ValueError(f"'C' must be positive; got {self.C}.")
        return "logistic", {"C": float(self.C), "max_iter": int(self.max_iter), "tol": self.tol}


class _TimeDecoder(BaseEstimator):
    """Shared fit of the sliding and generalising decoders."""

    def __init__(
        self,
        classifier="ridge",
        *,
        scoring="roc_auc",
        window=None,
        class_weight=None,
        standardize=True,
        device=None,
        dtype=None,
        max_memory=None,
    ):
        self.classifier = classifier
        self.scoring = scoring
        self.window = window
        self.class_weight = class_weight
        self.standardize = standardize
        self.device = device
        self.dtype = dtype
        self.max_memory = max_memory

    def _tensor(self, X):
        values = check_epochs(X)
        device = resolve_device(self.device)
        tensor = to_tensor(values, device=device, dtype=resolve_dtype(self.dtype))
        return sliding_windows(tensor, self.window).permute(2, 0, 1).contiguous()

    def fit(self, X, y):
        """Fit one classifier per time point (all at once).

        Parameters
        ----------
        X : array-like of shape (n_epochs, n_channels, n_times)
        y : array-like of shape (n_epochs,)

        Returns
        -------
        self
        """
        name, options = resolve_classifier(self.classifier)
        check_option("scoring", self.scoring, SCORINGS)
        data = self._tensor(X)
        self.classes_, codes = check_labels(y, data.shape[1])
        self.n_channels_ = check_epochs(X).shape[1]
        self.n_times_ = data.shape[0]
        decision = fit_linear(
            data,
            torch.as_tensor(codes, device=data.device),
            len(self.classes_),
            classifier=name,
            class_weight=_class_weight_vector(self.class_weight, self.classes_),
            standardize=self.standardize,
            max_memory=self.max_memory,
            **options,
        )
        self.coef_ = to_numpy(decision.weights).transpose(0, 2, 1)
        self.intercept_ = to_numpy(decision.bias)
        return self

    def _decision(self):
        check_fitted(self)
        return LinearDecision(
            torch.as_tensor(self.coef_.transpose(0, 2, 1)), torch.as_tensor(self.intercept_)
        )

    def _check_channels(self, X):
        values = check_epochs(X)
        if values.shape[1] != self.n_channels_:
            raise DimensionError(
                f"X has {values.shape[1]} channels but the decoder was fitted on "
                f"{self.n_channels_}; pass epochs with the same channels, in the same order."
            )

    def score(self, X, y):
        """Score at every time (sliding) or train x test time (generalising).

        Parameters
        ----------
        X : array-like of shape (n_epochs, n_channels, n_times)
        y : array-like of shape (n_epochs,)
            Labels among ``classes_``.

        Returns
        -------
        scores : ndarray of shape (n_times,) or (n_train_times, n_test_times)
        """
        n_epochs = check_epochs(X).shape[0]
        labels = np.asarray(y)
        unknown = ~np.isin(labels, self.classes_)
        if labels.shape != (n_epochs,):
            raise ValueError(
                f"'y' must have one label per epoch ({n_epochs}); got shape {labels.shape}."
            )
        if unknown.any():
            raise ValueError(
                f"'y' holds labels the decoder was not fitted on, e.g. {labels[unknown][0]!r}; "
                f"known classes: {self.classes_.tolist()}."
            )
        return to_numpy(self._scores(X, torch.as_tensor(np.searchsorted(self.classes_, labels))))

    def _scores(self, X, codes):
        decisions = self._decisions(X)
        return score_decisions(
            decisions, codes.to(decisions.device), len(self.classes_), self.scoring
        )

    def decision_function(self, X):
        """Decision values (score of ``classes_[1]`` for binary problems).

        Parameters
        ----------
        X : array-like of shape (n_epochs, n_channels, n_times)

        Returns
        -------
        scores : ndarray of shape (n_epochs, *time_shape) or (n_epochs, *time_shape, n_classes)
        """
        decisions = self._decisions(X)
        values = to_numpy(torch.movedim(decisions, -2, 0))
        return values[..., 0] if values.shape[-1] == 1 else values

    def predict(self, X):
        """Predicted labels.

        Parameters
        ----------
        X : array-like of shape (n_epochs, n_channels, n_times)

        Returns
        -------
        labels : ndarray of shape (n_epochs, *time_shape)
        """
        decisions = self._decisions(X)
        return self.classes_[to_numpy(torch.movedim(predict_codes(decisions), -1, 0))]


class SlidingDecoder(_TimeDecoder):
    """One linear classifier per time point, fitted together (like MNE's ``SlidingEstimator``).

    Parameters
    ----------
    classifier : {"ridge", "lda", "logistic"} or decoder, default="ridge"
        A :class:`RidgeClassifierDecoder`, :class:`LDADecoder` or
        :class:`LogisticDecoder` sets the options.
    scoring : {"roc_auc", "accuracy", "balanced_accuracy"}, default="roc_auc"
    window : int, optional
        Samples per sliding window (features: channels x window).
    class_weight : None, "balanced" or dict, default=None
    standardize : bool, default=True
    device, dtype, max_memory : optional

    Attributes
    ----------
    coef_ : ndarray of shape (n_times, n_outputs, n_features)
    intercept_ : ndarray of shape (n_times, n_outputs)
    classes_ : ndarray of shape (n_classes,)
    n_times_ : int
        Time points (windows) fitted.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.decoding import SlidingDecoder
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 20)
    >>> X = rng.standard_normal((40, 3, 4))
    >>> X[y == 1, 0, 2:] += 3.0
    >>> SlidingDecoder(device="cpu").fit(X[::2], y[::2]).score(X[1::2], y[1::2]).shape
    (4,)
    """

    def _decisions(self, X):
        decision = self._decision()
        self._check_channels(X)
        data = self._tensor(X).cpu()
        if data.shape[0] != self.n_times_:
            raise DimensionError(
                f"X has {data.shape[0]} time points (windows) but the decoder was fitted on "
                f"{self.n_times_}; a SlidingDecoder scores each time with its own classifier, "
                "so train and test time axes must match. Use GeneralizingDecoder to score "
                "other times."
            )
        return decision.decisions(data.to(decision.weights.dtype))


class GeneralizingDecoder(_TimeDecoder):
    """Temporal generalisation: each time's classifier scored at every test time.

    Like MNE's ``GeneralizingEstimator``; the test data may have a different number
    of time points than the training data (same channels).

    Parameters
    ----------
    classifier : {"ridge", "lda", "logistic"} or decoder, default="ridge"
    scoring : {"roc_auc", "accuracy", "balanced_accuracy"}, default="roc_auc"
    window : int, optional
    class_weight : None, "balanced" or dict, default=None
    standardize : bool, default=True
    device, dtype, max_memory : optional

    Attributes
    ----------
    coef_ : ndarray of shape (n_train_times, n_outputs, n_features)
    intercept_ : ndarray of shape (n_train_times, n_outputs)
    classes_ : ndarray of shape (n_classes,)
    n_times_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.decoding import GeneralizingDecoder
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 20)
    >>> X = rng.standard_normal((40, 3, 4))
    >>> GeneralizingDecoder(device="cpu").fit(X, y).score(X[:, :, :2], y).shape
    (4, 2)
    """

    def _decision_and_data(self, X):
        decision = self._decision()
        self._check_channels(X)
        return decision, self._tensor(X).cpu().to(decision.weights.dtype)

    def _decisions(self, X):
        decision, data = self._decision_and_data(X)
        return generalization_decisions(decision, data, max_memory=self.max_memory)

    def _scores(self, X, codes):
        # Scored block by block: the decision values of all time pairs are never formed.
        decision, data = self._decision_and_data(X)
        return generalization_scores(
            decision, data, codes, len(self.classes_), self.scoring, max_memory=self.max_memory
        )
