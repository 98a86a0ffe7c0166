"""Statistics shared by encoding, RSA and decoding: scores, noise ceilings, bootstrap.

Array level and batched: functions take numpy arrays or torch tensors (torch in,
torch out on the same device) and never loop over targets or resamples.
"""

from neuroalign.stats._bootstrap import (
    BootstrapResult,
    ConfidenceInterval,
    bootstrap_scores,
    percentile_ci,
)
from neuroalign.stats._ceilings import (
    correlation_ceiling,
    ncsnr,
    noise_ceiling,
    noise_ceiling_from_responses,
    spearman_brown,
    split_half_reliability,
)
from neuroalign.stats._cluster import ClusterResult, cluster_permutation_test, cluster_test
from neuroalign.stats._fdr import Correction, fdr_correction, holm_correction
from neuroalign.stats._permutation import PermutationResult, permutation_test, sign_flip_test
from neuroalign.stats._scores import pearson_r, r2_score

__all__ = [
    "BootstrapResult",
    "ClusterResult",
    "ConfidenceInterval",
    "Correction",
    "PermutationResult",
    "bootstrap_scores",
    "cluster_permutation_test",
    "cluster_test",
    "correlation_ceiling",
    "fdr_correction",
    "holm_correction",
    "ncsnr",
    "noise_ceiling",
    "noise_ceiling_from_responses",
    "pearson_r",
    "percentile_ci",
    "permutation_test",
    "r2_score",
    "sign_flip_test",
    "spearman_brown",
    "split_half_reliability",
]
