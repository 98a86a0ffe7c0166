"""Decoding: brain → stimulus, with batched classifiers over time and identification scores."""

from neuroalign.decoding._estimators import (
    GeneralizingDecoder,
    LDADecoder,
    LogisticDecoder,
    RidgeClassifierDecoder,
    SlidingDecoder,
)
from neuroalign.decoding._identification import (
    IdentificationResult,
    pairwise_identification,
    top_k_accuracy,
)
from neuroalign.decoding._labelled import DecodingResult, decode
from neuroalign.decoding._scoring import SCORINGS, chance_level
from neuroalign.decoding._stats import (
    DecodingPermutationResult,
    decoding_cluster_test,
    decoding_permutation_test,
)
from neuroalign.decoding._time import CLASSIFIERS, TimeDecodingResult, decode_over_time

__all__ = [
    "CLASSIFIERS",
    "SCORINGS",
    "DecodingPermutationResult",
    "DecodingResult",
    "GeneralizingDecoder",
    "LDADecoder",
    "LogisticDecoder",
    "RidgeClassifierDecoder",
    "SlidingDecoder",
    "IdentificationResult",
    "TimeDecodingResult",
    "chance_level",
    "decode",
    "decode_over_time",
    "decoding_cluster_test",
    "decoding_permutation_test",
    "pairwise_identification",
    "top_k_accuracy",
]
