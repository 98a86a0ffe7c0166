"""Encoding models: features → brain responses with cross-validated ridge regression."""

from neuroalign.encoding._cv import make_folds
from neuroalign.encoding._ridge import SCORINGS, RidgeCVResult, solve_ridge_cv

__all__ = ["SCORINGS", "RidgeCVResult", "make_folds", "solve_ridge_cv"]
