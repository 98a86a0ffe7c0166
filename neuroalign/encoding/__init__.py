"""Encoding models: features → brain responses with cross-validated ridge regression."""

from neuroalign.encoding._cv import make_folds
from neuroalign.encoding._estimators import DEFAULT_ALPHAS, RidgeEncoder
from neuroalign.encoding._ridge import SCORINGS, RidgeCVResult, solve_ridge_cv
from neuroalign.encoding._scores import EncodingResult, encoding_scores
from neuroalign.encoding._torch_module import LinearEncoderModule

__all__ = [
    "DEFAULT_ALPHAS",
    "SCORINGS",
    "EncodingResult",
    "LinearEncoderModule",
    "RidgeCVResult",
    "RidgeEncoder",
    "encoding_scores",
    "make_folds",
    "solve_ridge_cv",
]
