"""Comparisons between model units and neurons, between models, and with ground-truth factors.

    alignment_score, rotation_control   lasso alignment (design 4.1)
    match_units                          one-to-one matching on |r| (4.2)
    explained_variance                   cross-validated ridge R^2 (4.3, 4.4)
    udr                                  Unsupervised Disentanglement Ranking (4.5)
    mig, mig_per_factor, dci, sap        supervised metrics on known factors (4.8)

The math cores (lasso_gram, RidgeFolds, alignment_from_weights, match_correlations) take
cross-products with leading batch dimensions so that faceit.stats can call them under
permutation.
"""

from .alignment import AlignmentResult, alignment_from_weights, alignment_score, rotation_control
from .ground_truth import DCIResult, dci, mig, mig_per_factor, sap
from .lasso import ConvergenceWarning, lasso_gram
from .matching import Matching, match_correlations, match_units
from .ridge import DEFAULT_ALPHAS, ExplainedVariance, FoldProducts, RidgeFolds, RidgeScore, explained_variance
from .udr import UDRResult, udr, udr_from_similarity

__all__ = [
    "AlignmentResult", "ConvergenceWarning", "DCIResult", "DEFAULT_ALPHAS", "ExplainedVariance", "FoldProducts",
    "Matching", "RidgeFolds", "RidgeScore", "UDRResult", "alignment_from_weights", "alignment_score", "dci",
    "explained_variance", "lasso_gram", "match_correlations", "match_units", "mig", "mig_per_factor",
    "rotation_control", "sap", "udr", "udr_from_similarity",
]
