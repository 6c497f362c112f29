"""Welch's unequal-variance t-test (Fig 3b: β-VAE vs neuron-subset ceiling; Fig 7: β-VAE vs baselines)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as _scipy_stats

from .._validation import as_real_array, check_choice, check_finite
from ..errors import DataError

ALTERNATIVES = ("two-sided", "greater", "less")


@dataclass(frozen=True)
class WelchResult:
    """statistic: t; df: Welch-Satterthwaite degrees of freedom; p_value for ``alternative``
    ("greater": mean(a) > mean(b)); mean_difference: mean(a) - mean(b)."""

    statistic: float
    df: float
    p_value: float
    alternative: str
    mean_difference: float


def _sample(x, name: str) -> np.ndarray:
    arr = check_finite(as_real_array(x, name, ndim=1), name)
    if arr.size < 2:
        raise DataError(f"{name}: a t-test needs at least 2 values, got {arr.size}")
    return arr


def welch_ttest(a, b, alternative: str = "two-sided") -> WelchResult:
    """Welch's t-test of mean(a) against mean(b): a [n_a], b [n_b], no equal-variance assumption.

    scipy.stats.ttest_ind(equal_var=False) behind validated input: t = (mean_a - mean_b) /
    sqrt(s_a^2/n_a + s_b^2/n_b), Welch-Satterthwaite df. Two samples with zero variance each
    raise DataError (t is undefined) instead of returning NaN.
    """
    check_choice(alternative, "alternative", ALTERNATIVES)
    a, b = _sample(a, "a"), _sample(b, "b")
    if a.var(ddof=1) / a.size + b.var(ddof=1) / b.size == 0:
        raise DataError("a and b: both samples are constant; the t statistic is undefined")
    result = _scipy_stats.ttest_ind(a, b, equal_var=False, alternative=alternative)
    return WelchResult(float(result.statistic), float(result.df), float(result.pvalue), alternative,
                       float(a.mean() - b.mean()))
