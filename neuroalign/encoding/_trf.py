"""Temporal response functions: ridge on a time-lagged design, with lags in seconds."""

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import check_array

from neuroalign._sklearn import check_fitted
from neuroalign._validation import check_option
from neuroalign.encoding._delays import lags_to_samples, make_delays
from neuroalign.encoding._estimators import DEFAULT_ALPHAS
from neuroalign.encoding._ridge import SCORINGS, solve_ridge_cv
from neuroalign.encoding._torch_module import LaggedEncoderModule
from neuroalign.exceptions import DimensionError
from neuroalign.stats import pearson_r, r2_score

__all__ = ["TemporalReceptiveField"]


def _as_float_array(name, values):
    """Finite float64 array (sparse, complex, empty or non-numeric input is refused)."""
    return check_array(values, allow_nd=True, ensure_2d=False, dtype=np.float64, input_name=name)


class TemporalReceptiveField(RegressorMixin, BaseEstimator):
    """Temporal response function (TRF) or FIR encoding model fitted by ridge CV.

    Each output is modelled as ``y[t] = sum_f sum_k coef[f, k] x_f[t - delays[k]] + b``
    with delays from ``tmin`` to ``tmax`` seconds. The lagged design
    (:func:`make_delays`) is fitted with :func:`solve_ridge_cv`, choosing an alpha per
    output. Cross-validation never splits an epoch or a run, and delays never reach
    across epochs or runs, so no lagged sample straddles a fold boundary.

    Parameters
    ----------
    tmin, tmax : float
        First and last lag in seconds; positive lags mean the response follows the
        feature. For fMRI FIR models use e.g. ``tmin=TR, tmax=4 * TR, sfreq=1 / TR``.
    sfreq : float
        Sampling frequency of ``X`` and ``Y`` in Hz.
    alphas : sequence of float, default=DEFAULT_ALPHAS
        Positive regularisation strengths (21 values from 1e-2 to 1e8).
    cv : int or scikit-learn splitter or iterable of (train, test), default=5
        Folds over samples of the flattened data. An int gives group folds over epochs
        (3-D data), over ``groups`` (runs) when given, or over ``cv`` contiguous
        blocks of a single continuous recording, which are then also treated as runs
        for the delays (zero-padded at block edges).
    scoring : {"pearson", "r2", "neg_mse"}, default="pearson"
        Validation score that chooses each output's alpha, also used by :meth:`score`.
    fit_intercept : bool, default=True
    device : optional
        Where the solver runs; see :func:`neuroalign.config`.

    Attributes
    ----------
    coef_ : ndarray of shape (n_outputs, n_features, n_delays)
        The TRF of every output and feature.
    intercept_ : ndarray of shape (n_outputs,)
    delays_ : ndarray of int of shape (n_delays,)
        Delays in samples.
    times_ : ndarray of shape (n_delays,)
        Lags in seconds (``delays_ / sfreq``).
    best_alphas_ : ndarray of shape (n_outputs,)
    cv_scores_ : ndarray of shape (n_alphas, n_outputs)
        Validation score of every alpha, averaged over folds.
    n_features_in_ : int

    See Also
    --------
    make_delays : the lagged design.
    solve_ridge_cv : the solver.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.encoding import TemporalReceptiveField
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((500, 1))
    >>> y = np.roll(x, 3, axis=0) + 0.1 * rng.standard_normal((500, 1))  # 30 ms later
    >>> trf = TemporalReceptiveField(0.0, 0.1, 100.0, device="cpu").fit(x, y)
    >>> trf.coef_.shape, float(trf.times_[trf.coef_[0, 0].argmax()])
    ((1, 1, 11), 0.03)
    """

    def __init__(
        self,
        tmin,
        tmax,
        sfreq,
        *,
        alphas=DEFAULT_ALPHAS,
        cv=5,
        scoring="pearson",
        fit_intercept=True,
        device=None,
    ):
        self.tmin = tmin
        self.tmax = tmax
        self.sfreq = sfreq
        self.alphas = alphas
        self.cv = cv
        self.scoring = scoring
        self.fit_intercept = fit_intercept
        self.device = device

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _check_features(self, X, *, reset):
        X = _as_float_array("X", X)
        if X.ndim == 1:
            raise DimensionError(
                f"'X' must be 2-D (n_times, n_features) or 3-D; got a 1-D array of shape "
                f"{X.shape}. Reshape your data with X.reshape(-1, 1) for a single feature."
            )
        if X.ndim > 3:
            raise DimensionError(
                "'X' must be 2-D (n_times, n_features) or 3-D (n_epochs, n_times, n_features); "
                f"got shape {X.shape}."
            )
        if reset:
            self.n_features_in_ = X.shape[-1]
        elif X.shape[-1] != self.n_features_in_:
            raise DimensionError(
                f"X has {X.shape[-1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input (as in fit); pass the same features."
            )
        return X

    def _check_targets(self, y, X):
        """Targets as (n_samples, n_outputs), and whether ``y`` had a single output."""
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None; "
                "give the responses, shaped like X without its feature axis (+ outputs)."
            )
        y = _as_float_array("y", y)
        leading = X.shape[:-1]
        if y.shape[: len(leading)] != leading or y.ndim not in (len(leading), len(leading) + 1):
            raise DimensionError(
                f"'y' must have shape {leading} or {leading + ('n_outputs',)} to match 'X' "
                f"of shape {X.shape}; got {y.shape}."
            )
        return y.reshape(int(np.prod(leading)), -1), y.ndim == len(leading)

    def _design(self, X, groups, *, fitting):
        """Lagged design (n_samples, n_features * n_delays) and the run label of each row."""
        if X.ndim == 3:
            n_epochs, n_times = X.shape[:2]
            runs = np.repeat(np.arange(n_epochs), n_times)
            if groups is not None:
                groups = np.asarray(groups)
                if groups.shape != (n_epochs,):
                    raise DimensionError(
                        f"'groups' must have shape ({n_epochs},), one label per epoch; got "
                        f"{groups.shape}."
                    )
                runs = np.repeat(groups, n_times)
            return make_delays(X, self.delays_).reshape(n_epochs * n_times, -1), runs
        if groups is None and fitting and isinstance(self.cv, (int, np.integer)):
            n_times = len(X)
            if n_times < self.cv:
                raise ValueError(
                    f"cv={self.cv} contiguous folds need at least {self.cv} time samples; got "
                    f"{n_times} sample{'s' if n_times != 1 else ''}. Use more data or fewer folds."
                )
            sizes = [len(block) for block in np.array_split(np.arange(n_times), self.cv)]
            groups = np.repeat(np.arange(self.cv), sizes)
        return make_delays(X, self.delays_, groups=groups), groups

    def fit(self, X, y, groups=None):
        """Fit the TRF of every output, with a cross-validated alpha for each.

        Parameters
        ----------
        X : array-like of shape (n_times, n_features) or (n_epochs, n_times, n_features)
        y : array-like of shape (n_times, n_outputs) or (n_epochs, n_times, n_outputs)
            ``(n_times,)`` or ``(n_epochs, n_times)`` for a single output.
        groups : array-like, optional
            Run label of every time sample (2-D ``X``; runs must be contiguous), or a
            label per epoch (3-D ``X``; e.g. the stimulus, so repetitions share a
            fold). Delays never cross runs or epochs.

        Returns
        -------
        self : TemporalReceptiveField
        """
        check_option("scoring", self.scoring, SCORINGS)
        delays = lags_to_samples(self.tmin, self.tmax, self.sfreq)
        X = self._check_features(X, reset=True)
        Y, single_output = self._check_targets(y, X)
        self.delays_, self.times_ = delays, delays / self.sfreq
        design, runs = self._design(X, groups, fitting=True)
        result = solve_ridge_cv(
            design,
            Y,
            self.alphas,
            cv=self.cv,
            groups=runs,
            scoring=self.scoring,
            fit_intercept=self.fit_intercept,
            device=self.device,
        )
        self._single_output = single_output
        self.coef_ = result.coef.numpy().T.reshape(Y.shape[1], self.n_features_in_, -1)
        self.intercept_ = result.intercept.numpy()
        self.best_alphas_ = result.best_alphas.numpy()
        self.cv_scores_ = result.cv_scores.numpy()
        return self

    def predict(self, X, groups=None):
        """Predicted responses.

        Parameters
        ----------
        X : array-like of shape (n_times, n_features) or (n_epochs, n_times, n_features)
        groups : array-like of shape (n_times,), optional
            Run labels of a 2-D ``X`` (delays stay within runs); ignored for epochs.

        Returns
        -------
        y_pred : ndarray of shape (n_times, n_outputs) or (n_epochs, n_times, n_outputs)
            Without the last axis when the TRF was fitted on a single output.
        """
        check_fitted(self)
        X = self._check_features(X, reset=False)
        design, _ = self._design(X, groups if X.ndim == 2 else None, fitting=False)
        y_pred = design @ self.coef_.reshape(len(self.coef_), -1).T + self.intercept_
        return y_pred.reshape(X.shape[:-1] + (() if self._single_output else (-1,)))

    def to_torch(self):
        """The fitted TRF as a differentiable module.

        Returns
        -------
        module : LaggedEncoderModule
            Maps epochs of shape (n_epochs, n_times, n_features) to predicted responses
            of shape (n_epochs, n_times, n_outputs).
        """
        check_fitted(self)
        weight = self.coef_.reshape(len(self.coef_), -1)
        return LaggedEncoderModule(weight, np.atleast_1d(self.intercept_), self.delays_)

    def score(self, X, y, groups=None):
        """Mean over outputs of the ``scoring`` metric on all samples.

        Parameters
        ----------
        X : array-like of shape (n_times, n_features) or (n_epochs, n_times, n_features)
        y : array-like, shaped as for :meth:`fit`
        groups : array-like of shape (n_times,), optional

        Returns
        -------
        score : float
            Pearson r, R² or negative mean squared error, averaged over outputs.
        """
        y_pred = self.predict(X, groups).reshape(-1, len(self.coef_))
        Y, _ = self._check_targets(y, self._check_features(X, reset=False))
        if self.scoring == "neg_mse":
            return float(-((Y - y_pred) ** 2).mean())
        metric = pearson_r if self.scoring == "pearson" else r2_score
        return float(np.mean(metric(Y, y_pred)))
