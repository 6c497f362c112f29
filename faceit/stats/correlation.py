"""Pearson and running correlations (Fig 3d/e: UDR against alignment over many models)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as _scipy_stats

from .._validation import as_real_array, check_finite, check_positive_int
from ..errors import DataError


@dataclass(frozen=True)
class Correlation:
    """r: Pearson correlation; p_value: two-sided, against r = 0 (t with n - 2 df); n: pairs used."""

    r: float
    p_value: float
    n: int


@dataclass(frozen=True)
class RunningCorrelation:
    """Pearson r of x with y over the models whose ``by`` is <= each threshold (Fig 3e).

    thresholds [S]: the distinct ``by`` values in increasing order (those with enough models);
    r [S], p_value [S], n [S]: the correlation, its p-value and the number of models included.
    """

    thresholds: np.ndarray
    r: np.ndarray
    p_value: np.ndarray
    n: np.ndarray


def _pair(x, y) -> tuple[np.ndarray, np.ndarray]:
    x = check_finite(as_real_array(x, "x", ndim=1), "x")
    y = check_finite(as_real_array(y, "y", ndim=1), "y")
    if x.size != y.size:
        raise DataError(f"x has {x.size} values but y has {y.size}; they must be paired")
    return x, y


def _pearson(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    n = x.size
    dx, dy = x - x.mean(), y - y.mean()
    denom = np.sqrt((dx @ dx) * (dy @ dy))
    if denom == 0:
        raise DataError(f"x or y is constant over the {n} pairs; the correlation is undefined")
    r = float(np.clip((dx @ dy) / denom, -1.0, 1.0))
    if n == 2:
        return r, 1.0
    if abs(r) == 1.0:
        return r, 0.0
    t = r * np.sqrt((n - 2) / (1.0 - r * r))
    return r, float(2.0 * _scipy_stats.t(n - 2).sf(abs(t)))


def pearson(x, y) -> Correlation:
    """Pearson correlation of paired samples x [n] and y [n] (n >= 2) with its two-sided p-value."""
    x, y = _pair(x, y)
    if x.size < 2:
        raise DataError(f"x and y: a correlation needs at least 2 pairs, got {x.size}")
    r, p = _pearson(x, y)
    return Correlation(r, p, int(x.size))


def running_correlation(x, y, by, min_points: int = 3) -> RunningCorrelation:
    """Pearson r of x with y as more values of ``by`` are included (Fig 3e: β values, smallest first).

    x, y, by: [n] paired values (e.g. UDR, alignment and β of n models). For each distinct value
    v of ``by`` in increasing order, the correlation over every model with by <= v; thresholds
    with fewer than ``min_points`` models (at least 3) or a constant x or y are left out.
    """
    x, y = _pair(x, y)
    by = check_finite(as_real_array(by, "by", ndim=1), "by")
    if by.size != x.size:
        raise DataError(f"by has {by.size} values but x has {x.size}; they must be paired")
    min_points = check_positive_int(min_points, "min_points", minimum=3)
    rows = []
    for v in np.unique(by):
        keep = by <= v
        if keep.sum() < min_points or np.ptp(x[keep]) == 0 or np.ptp(y[keep]) == 0:
            continue
        rows.append((v, *_pearson(x[keep], y[keep]), int(keep.sum())))
    if not rows:
        raise DataError(f"running_correlation: no value of 'by' includes {min_points} models with varying x and y")
    v, r, p, n = (np.array(col) for col in zip(*rows))
    return RunningCorrelation(v, r, p, n.astype(int))
