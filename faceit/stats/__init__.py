"""Statistics: permutation nulls with fast batched backends, controls, Welch tests, correlations.

    permutation_test(units, rates, statistic="matched_r", n_permutations=10_000, seed=0,
                     backend="auto") -> PermutationResult            (design 4.6)
    neuron_subset_ceiling(rates, n_units, ...), mixed_responses_control(units, rates, ...)
                                                                     (Fig 3b/c) -> ControlScores
    welch_ttest(a, b, alternative=...)                               (Fig 3b, Fig 7)
    pearson(x, y), running_correlation(x, y, by)                     (Fig 3d/e)
    get_backend(name), available_backends()                          numpy | numba | cupy
"""

from .backends import available_backends, get_backend
from .controls import ControlScores, mix_responses, mixed_responses_control, neuron_subset_ceiling
from .correlation import Correlation, RunningCorrelation, pearson, running_correlation
from .permutation import PermutationResult, max_statistic_p_values, p_value, permutation_test
from .welch import WelchResult, welch_ttest

__all__ = ["ControlScores", "Correlation", "PermutationResult", "RunningCorrelation", "WelchResult",
           "available_backends", "get_backend", "max_statistic_p_values", "mix_responses", "mixed_responses_control",
           "neuron_subset_ceiling", "p_value", "pearson", "permutation_test", "running_correlation", "welch_ttest"]
