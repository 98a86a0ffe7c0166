"""Encoding models: features → brain responses with cross-validated ridge regression."""

from neuroalign.encoding._banded import (
    BandedRidgeCVResult,
    sample_band_weights,
    solve_banded_ridge_cv,
)
from neuroalign.encoding._cv import make_folds
from neuroalign.encoding._delays import lags_to_samples, make_delays
from neuroalign.encoding._estimators import DEFAULT_ALPHAS, BandedRidgeEncoder, RidgeEncoder
from neuroalign.encoding._partition import (
    R2Partition,
    SubsetPartition,
    partition_r2,
    partition_r2_subsets,
)
from neuroalign.encoding._ridge import SCORINGS, RidgeCVResult, solve_ridge_cv
from neuroalign.encoding._scores import EncodingResult, encoding_scores
from neuroalign.encoding._torch_module import LaggedEncoderModule, LinearEncoderModule
from neuroalign.encoding._trf import TemporalReceptiveField

__all__ = [
    "DEFAULT_ALPHAS",
    "SCORINGS",
    "BandedRidgeCVResult",
    "BandedRidgeEncoder",
    "EncodingResult",
    "LaggedEncoderModule",
    "LinearEncoderModule",
    "R2Partition",
    "RidgeCVResult",
    "RidgeEncoder",
    "SubsetPartition",
    "TemporalReceptiveField",
    "encoding_scores",
    "lags_to_samples",
    "make_delays",
    "make_folds",
    "partition_r2",
    "partition_r2_subsets",
    "sample_band_weights",
    "solve_banded_ridge_cv",
    "solve_ridge_cv",
]
