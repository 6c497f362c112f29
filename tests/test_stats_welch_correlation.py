"""Welch t-tests and (running) Pearson correlations against scipy.stats."""

import numpy as np
import pytest
from scipy import stats

from faceit.errors import ConfigError, DataError
from faceit.stats.correlation import pearson, running_correlation
from faceit.stats.welch import welch_ttest


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_welch_matches_scipy(rng, alternative):
    for n_a, n_b, shift in [(5, 9, 0.0), (20, 7, 0.8), (40, 40, -0.3)]:
        a = rng.normal(shift, 1.0, n_a)
        b = rng.normal(0.0, 2.5, n_b)
        got = welch_ttest(a, b, alternative=alternative)
        ref = stats.ttest_ind(a, b, equal_var=False, alternative=alternative)
        assert got.statistic == pytest.approx(ref.statistic, rel=1e-12)
        assert got.p_value == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)
        assert got.df == pytest.approx(ref.df, rel=1e-12)
        assert got.mean_difference == pytest.approx(a.mean() - b.mean())


def test_welch_rejects_bad_input():
    with pytest.raises(DataError, match="a: a t-test needs at least 2"):
        welch_ttest([1.0], [1.0, 2.0])
    with pytest.raises(DataError, match="b: contains nan"):
        welch_ttest([1.0, 2.0], [1.0, np.nan])
    with pytest.raises(DataError, match="both samples are constant"):
        welch_ttest([1.0, 1.0], [2.0, 2.0, 2.0])
    with pytest.raises(ConfigError, match="alternative"):
        welch_ttest([1.0, 2.0], [1.0, 3.0], alternative="bigger")


def test_pearson_matches_scipy(rng):
    x = rng.standard_normal(30)
    y = 0.4 * x + rng.standard_normal(30)
    got = pearson(x, y)
    ref = stats.pearsonr(x, y)
    assert got.r == pytest.approx(ref.statistic, rel=1e-12)
    assert got.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert got.n == 30


def test_pearson_rejects_bad_input():
    with pytest.raises(DataError, match="x has 3 values but y has 2"):
        pearson([1, 2, 3], [1, 2])
    with pytest.raises(DataError, match="constant"):
        pearson([1, 1, 1], [1, 2, 3])


def test_running_correlation_matches_scipy_per_threshold(rng):
    beta = np.repeat([1.0, 2.0, 4.0, 8.0], 5)
    udr = rng.standard_normal(beta.size) + beta
    alignment = 0.1 * udr + 0.2 * rng.standard_normal(beta.size)
    got = running_correlation(udr, alignment, beta)
    np.testing.assert_array_equal(got.thresholds, [1.0, 2.0, 4.0, 8.0])
    for v, r, p, n in zip(got.thresholds, got.r, got.p_value, got.n):
        keep = beta <= v
        ref = stats.pearsonr(udr[keep], alignment[keep])
        assert (r, p, n) == (pytest.approx(ref.statistic, rel=1e-12), pytest.approx(ref.pvalue, rel=1e-9),
                             keep.sum())


def test_running_correlation_skips_thresholds_with_too_few_models():
    by = np.array([1.0, 2.0, 2.0, 3.0, 3.0])
    got = running_correlation([1.0, 2.0, 3.0, 5.0, 4.0], [2.0, 1.0, 4.0, 4.5, 5.0], by, min_points=3)
    np.testing.assert_array_equal(got.thresholds, [2.0, 3.0])
    np.testing.assert_array_equal(got.n, [3, 5])
    with pytest.raises(DataError, match="no value of 'by'"):
        running_correlation([1.0, 2.0], [1.0, 3.0], [1.0, 2.0])
