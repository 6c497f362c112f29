"""Calibration: uniform p-values under the null, power on a population tuned to the units' axes."""

import numpy as np
import pytest
from scipy import stats

from faceit.neural import simulate_population
from faceit.stats import permutation_test


def _false_positive_rate(statistic, n_datasets, n_permutations, shape, seed, **options):
    """Run the test on datasets whose responses are independent of the units."""
    rng = np.random.default_rng(seed)
    n, k, m = shape
    p = np.empty(n_datasets)
    min_pair_p = np.empty(n_datasets)
    for i in range(n_datasets):
        # correlated, heavy-tailed responses (noise correlations kept by the joint shuffle)
        mixing = rng.standard_normal((m, m))
        rates = rng.standard_t(4, size=(n, m)) @ mixing
        result = permutation_test(rng.standard_normal((n, k)), rates, statistic, n_permutations=n_permutations,
                                  seed=i, progress=False, **options)
        p[i] = result.p_value
        min_pair_p[i] = result.pair_p_values.min() if result.pair_p_values is not None else np.nan
    return p, min_pair_p


def _assert_rate(p, level, n):
    hits = int(np.sum(p <= level))
    assert stats.binomtest(hits, n, level).pvalue > 1e-3, f"{hits} of {n} p-values <= {level}"


def test_matched_r_p_values_are_uniform_under_the_null():
    n_datasets = 400
    p, min_pair_p = _false_positive_rate("matched_r", n_datasets, 99, (40, 3, 6), seed=0)
    for level in (0.05, 0.2, 0.5):
        _assert_rate(p, level, n_datasets)
    # the pair p-values control the family-wise error: P(any pair <= 0.05) is 0.05
    _assert_rate(min_pair_p, 0.05, n_datasets)
    # and the p-values as a whole look uniform on their grid {1/100, ..., 1}
    assert stats.kstest(p - 0.005, "uniform").pvalue > 1e-3


@pytest.mark.parametrize("statistic, options, n_datasets", [("alignment", {}, 150),
                                                            ("explained_variance", {"cv": 3}, 100)])
def test_lasso_and_ridge_p_values_are_uniform_under_the_null(statistic, options, n_datasets):
    p, _ = _false_positive_rate(statistic, n_datasets, 39, (40, 3, 4), seed=1, **options)
    for level in (0.1, 0.5):
        _assert_rate(p, level, n_datasets)


def test_true_factors_match_an_axis_tuned_population():
    rng = np.random.default_rng(3)
    factors = rng.uniform(-1, 1, size=(300, 5))
    responses = simulate_population(factors, n_neurons=25, tuning="axis", n_trials=4, seed=3, progress=False)
    for statistic in ("matched_r", "alignment"):
        result = permutation_test(factors, responses, statistic, n_permutations=199, seed=0, progress=False)
        assert result.p_value == 1 / 200, statistic
        assert result.observed > result.null.max()
    matched = permutation_test(factors, responses, "matched_r", n_permutations=199, progress=False)
    # every factor's matched neuron is one tuned to that factor, and each pair survives the family-wise test
    axes = responses.tuning.axes
    np.testing.assert_array_equal(np.abs(axes[matched.pair_neuron_index, matched.pair_unit_index]), 1.0)
    assert np.all(matched.pair_p_values == 1 / 200)
