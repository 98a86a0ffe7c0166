"""scikit-learn estimators around the ridge solver."""

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import validate_data

from neuroalign._sklearn import check_fitted
from neuroalign.encoding._ridge import solve_ridge_cv
from neuroalign.encoding._torch_module import LinearEncoderModule

__all__ = ["DEFAULT_ALPHAS", "RidgeEncoder"]

DEFAULT_ALPHAS = tuple(np.logspace(-2, 8, 21))


class RidgeEncoder(RegressorMixin, BaseEstimator):
    """Ridge regression with a cross-validated alpha for every target.

    A thin scikit-learn wrapper around :func:`~neuroalign.encoding.solve_ridge_cv`:
    ``fit`` validates, calls the solver and stores its results.

    Parameters
    ----------
    alphas : sequence of float, default=DEFAULT_ALPHAS
        Positive regularisation strengths (21 values from 1e-2 to 1e8).
    cv : int or scikit-learn splitter, default=5
    scoring : {"pearson", "r2", "neg_mse"}, default="pearson"
        Validation score that chooses each target's alpha.
    method : {"auto", "primal", "dual"}, default="auto"
    fit_intercept : bool, default=True
    standardize : bool, default=False
    device, dtype, max_memory : optional
        See :func:`neuroalign.config`.

    Attributes
    ----------
    coef_ : ndarray of shape (n_targets, n_features) or (n_features,)
        As in :class:`sklearn.linear_model.Ridge` (1-D for a 1-D ``y``).
    intercept_ : ndarray of shape (n_targets,) or float
    best_alphas_ : ndarray of shape (n_targets,)
    cv_scores_ : ndarray of shape (n_alphas, n_targets)
        Validation score of every alpha, averaged over folds.
    n_features_in_ : int

    See Also
    --------
    neuroalign.encoding.solve_ridge_cv : the solver.
    neuroalign.encoding.encoding_scores : labelled, cross-validated scores per neuroid.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.encoding import RidgeEncoder
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((60, 4))
    >>> y = X @ [1.0, -2.0, 0.5, 0.0] + 0.1 * rng.standard_normal(60)
    >>> encoder = RidgeEncoder(device="cpu").fit(X, y)
    >>> round(encoder.score(X, y), 3)
    0.998
    """

    def __init__(
        self,
        alphas=DEFAULT_ALPHAS,
        *,
        cv=5,
        scoring="pearson",
        method="auto",
        fit_intercept=True,
        standardize=False,
        device=None,
        dtype=None,
        max_memory=None,
    ):
        self.alphas = alphas
        self.cv = cv
        self.scoring = scoring
        self.method = method
        self.fit_intercept = fit_intercept
        self.standardize = standardize
        self.device = device
        self.dtype = dtype
        self.max_memory = max_memory

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X, y, groups=None):
        """Choose each target's alpha by cross-validation and refit on all samples.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        groups : array-like of shape (n_samples,), optional
            Samples of one group (e.g. repetitions of a stimulus) stay in one fold.

        Returns
        -------
        self : RidgeEncoder
        """
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True)
        result = solve_ridge_cv(
            X,
            y,
            self.alphas,
            cv=self.cv,
            groups=groups,
            scoring=self.scoring,
            method=self.method,
            fit_intercept=self.fit_intercept,
            standardize=self.standardize,
            device=self.device,
            dtype=self.dtype,
            max_memory=self.max_memory,
        )
        coef, intercept = result.coef.numpy().T, result.intercept.numpy()
        if y.ndim == 1:
            coef, intercept = coef[0], float(intercept[0])
        self.coef_, self.intercept_ = coef, intercept
        self.best_alphas_ = result.best_alphas.numpy()
        self.cv_scores_ = result.cv_scores.numpy()
        return self

    def predict(self, X):
        """Predicted responses.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
        """
        check_fitted(self)
        X = validate_data(self, X, reset=False)
        return X @ self.coef_.T + self.intercept_

    def to_torch(self):
        """The fitted encoder as a differentiable module.

        Returns
        -------
        module : LinearEncoderModule
            Maps features of shape (batch, n_features) to responses (batch, n_targets).
        """
        check_fitted(self)
        weight = np.atleast_2d(self.coef_)
        return LinearEncoderModule(weight, np.atleast_1d(self.intercept_))
