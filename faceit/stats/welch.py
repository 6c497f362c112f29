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

    t = (mean_a - mean_b) / sqrt(s_a^2/n_a + s_b^2/n_b) (sample variances, ddof 1);
    df = (s_a^2/n_a + s_b^2/n_b)^2 / ((s_a^2/n_a)^2/(n_a-1) + (s_b^2/n_b)^2/(n_b-1)).
    Two samples with zero variance each raise DataError (t is undefined).
    """
    check_choice(alternative, "alternative", ALTERNATIVES)
    a, b = _sample(a, "a"), _sample(b, "b")
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    if va + vb == 0:
        raise DataError("a and b: both samples are constant; the t statistic is undefined")
    diff = float(a.mean() - b.mean())
    t = diff / np.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    dist = _scipy_stats.t(df)
    if alternative == "two-sided":
        p = 2.0 * dist.sf(abs(t))
    elif alternative == "greater":
        p = dist.sf(t)
    else:
        p = dist.cdf(t)
    return WelchResult(float(t), float(df), float(min(p, 1.0)), alternative, diff)
