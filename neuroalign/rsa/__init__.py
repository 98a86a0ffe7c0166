"""Representational similarity analysis: RDMs, comparators, models and inference."""

from neuroalign.rsa._compare import COMPARE_METHODS, compare
from neuroalign.rsa._evaluate import EvaluationResult, evaluate
from neuroalign.rsa._fusion import FusionResult, fusion, time_resolved_rsa
from neuroalign.rsa._interop import from_rsatoolbox, to_rsatoolbox
from neuroalign.rsa._labelled import as_rdms, rdm_matrices, rdm_stimuli
from neuroalign.rsa._models import (
    CrossvalResult,
    FixedModel,
    WeightedModel,
    crossval,
    fit_weighted_model,
)
from neuroalign.rsa._noise import noise_precision
from neuroalign.rsa._rdm import RDM_METHODS, compute_rdms
from neuroalign.rsa._scores import rsa_scores

__all__ = [
    "COMPARE_METHODS",
    "CrossvalResult",
    "EvaluationResult",
    "FixedModel",
    "FusionResult",
    "RDM_METHODS",
    "WeightedModel",
    "as_rdms",
    "compare",
    "compute_rdms",
    "crossval",
    "evaluate",
    "fit_weighted_model",
    "from_rsatoolbox",
    "fusion",
    "noise_precision",
    "rdm_matrices",
    "rdm_stimuli",
    "rsa_scores",
    "time_resolved_rsa",
    "to_rsatoolbox",
]
