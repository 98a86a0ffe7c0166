"""Similarity of representations: CKA, Procrustes shape metrics, CCA and SVCCA.

Metrics take response matrices (n_stimuli x n_features) as plain arrays or tensors
and score every pair of sources in one batched call; :func:`similarity_scores`
is the labelled front door for brain and model data in the neuroalign schema.
"""

from neuroalign.similarity._cca import canonical_correlations, cca_similarity, svcca
from neuroalign.similarity._cka import linear_cka, rbf_cka
from neuroalign.similarity._procrustes import procrustes_distance
from neuroalign.similarity._scores import SIMILARITY_METHODS, similarity_scores

__all__ = [
    "SIMILARITY_METHODS",
    "canonical_correlations",
    "cca_similarity",
    "linear_cka",
    "procrustes_distance",
    "rbf_cka",
    "similarity_scores",
    "svcca",
]
