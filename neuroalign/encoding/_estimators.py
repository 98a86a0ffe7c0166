"""scikit-learn estimators around the ridge solver."""

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import validate_data

from neuroalign._sklearn import check_fitted
from neuroalign.encoding._banded import solve_banded_ridge_cv
from neuroalign.encoding._ridge import solve_ridge_cv
from neuroalign.encoding._torch_module import LinearEncoderModule

__all__ = ["DEFAULT_ALPHAS", "BandedRidgeEncoder", "RidgeEncoder"]

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
    >>> bool(encoder.score(X, y) > 0.99)
    True
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
        return self._store(result, single_target=y.ndim == 1)

    def _store(self, result, *, single_target):
        """Keep a solver result as fitted attributes, shaped like scikit-learn's Ridge."""
        coef, intercept = result.coef.numpy().T, result.intercept.numpy()
        if single_target:
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


class BandedRidgeEncoder(RidgeEncoder):
    """Banded ridge: one regularisation strength per feature space, chosen per target.

    The columns of ``X`` are consecutive feature spaces (e.g. two layers, or image and
    text features) of sizes ``n_features_per_space``; a thin scikit-learn wrapper
    around :func:`~neuroalign.encoding.solve_banded_ridge_cv`.

    Parameters
    ----------
    n_features_per_space : sequence of int, optional
        Sizes of the feature spaces, summing to ``n_features``; ``None`` is one space
        (plain ridge with the same search).
    alphas : sequence of float, default=DEFAULT_ALPHAS
    n_iter : int or array-like of shape (n_candidates, n_spaces), default=20
        Number of band weights to try (see
        :func:`~neuroalign.encoding.sample_band_weights`), or the weights themselves.
    concentration : float or sequence of float, default=(0.1, 1.0)
        Dirichlet concentrations of the random band weights.
    cv : int or scikit-learn splitter, default=5
    scoring : {"pearson", "r2", "neg_mse"}, default="r2"
    method : {"auto", "primal", "dual"}, default="auto"
    fit_intercept : bool, default=True
    seed : int, default=0
        Seed of the band-weight search.
    device, dtype, max_memory : optional
        See :func:`neuroalign.config`.

    Attributes
    ----------
    coef_ : ndarray of shape (n_targets, n_features) or (n_features,)
        Weights of all spaces, in column order.
    intercept_ : ndarray of shape (n_targets,) or float
    gammas_ : ndarray of shape (n_spaces, n_targets)
        Best band weights; the penalty on space ``i`` is ``best_alphas_ / gammas_[i]``.
    best_alphas_ : ndarray of shape (n_targets,)
    cv_scores_ : ndarray of shape (n_candidates, n_targets)
    n_features_in_ : int

    See Also
    --------
    neuroalign.encoding.solve_banded_ridge_cv : the solver.
    neuroalign.encoding.partition_r2 : split the explained variance between spaces.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroalign.encoding import BandedRidgeEncoder
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((80, 6))
    >>> y = X[:, :3] @ [1.0, -1.0, 2.0] + 0.1 * rng.standard_normal(80)
    >>> encoder = BandedRidgeEncoder((3, 3), n_iter=5, device="cpu").fit(X, y)
    >>> encoder.gammas_.shape, bool(encoder.gammas_[0, 0] > 0.5)
    ((2, 1), True)
    """

    def __init__(
        self,
        n_features_per_space=None,
        alphas=DEFAULT_ALPHAS,
        *,
        n_iter=20,
        concentration=(0.1, 1.0),
        cv=5,
        scoring="r2",
        method="auto",
        fit_intercept=True,
        seed=0,
        device=None,
        dtype=None,
        max_memory=None,
    ):
        self.n_features_per_space = n_features_per_space
        self.alphas = alphas
        self.n_iter = n_iter
        self.concentration = concentration
        self.cv = cv
        self.scoring = scoring
        self.method = method
        self.fit_intercept = fit_intercept
        self.seed = seed
        self.device = device
        self.dtype = dtype
        self.max_memory = max_memory

    def _spaces(self, X):
        sizes = self.n_features_per_space or (X.shape[1],)
        if sum(sizes) != X.shape[1] or min(sizes) < 1:
            raise ValueError(
                f"'n_features_per_space' must be positive sizes summing to n_features="
                f"{X.shape[1]}; got {tuple(sizes)}."
            )
        bounds = np.cumsum((0,) + tuple(sizes))
        return [X[:, start:stop] for start, stop in zip(bounds[:-1], bounds[1:])]

    def fit(self, X, y, groups=None):
        """Search band weights and alphas per target, then refit on all samples.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The feature spaces side by side.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        groups : array-like of shape (n_samples,), optional
            Samples of one group (e.g. repetitions of a stimulus) stay in one fold.

        Returns
        -------
        self : BandedRidgeEncoder
        """
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True)
        result = solve_banded_ridge_cv(
            self._spaces(X),
            y,
            self.alphas,
            n_iter=self.n_iter,
            concentration=self.concentration,
            cv=self.cv,
            groups=groups,
            scoring=self.scoring,
            method=self.method,
            fit_intercept=self.fit_intercept,
            seed=self.seed,
            device=self.device,
            dtype=self.dtype,
            max_memory=self.max_memory,
        )
        self.gammas_ = result.gammas.numpy()
        return self._store(result, single_target=y.ndim == 1)
