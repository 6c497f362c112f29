"""Statistics: permutation nulls with fast batched backends, controls, Welch tests, correlations."""

from .backends import available_backends, get_backend
from .permutation import PermutationResult, max_statistic_p_values, p_value, permutation_test

__all__ = ["PermutationResult", "available_backends", "get_backend", "max_statistic_p_values", "p_value",
           "permutation_test"]
