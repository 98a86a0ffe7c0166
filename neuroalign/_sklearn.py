"""Helpers shared by neuroalign's scikit-learn estimators (this module imports sklearn)."""

from sklearn.exceptions import NotFittedError as SklearnNotFittedError

from neuroalign.exceptions import NotFittedError

__all__ = ["EstimatorNotFittedError", "check_fitted"]


class EstimatorNotFittedError(NotFittedError, SklearnNotFittedError):
    """Not fitted: caught by ``except`` clauses for neuroalign's and scikit-learn's error."""


def check_fitted(estimator, attribute="coef_"):
    """Raise :class:`EstimatorNotFittedError` unless ``fit`` has run.

    Parameters
    ----------
    estimator : object
    attribute : str, default="coef_"
        A fitted attribute that ``fit`` sets.
    """
    if not hasattr(estimator, attribute):
        raise EstimatorNotFittedError(
            f"This {type(estimator).__name__} is not fitted yet; call fit(X, y) first."
        )
