"""Unsupervised Disentanglement Ranking (design 4.5; Duan et al., ICLR 2020).

For every ordered pair of models (a, b): a similarity R(a, b) [K_a, K_b] between a's and b's
standardised posterior means, either |lasso weights| predicting b's units from a's (alpha 0.1)
or |Spearman rho|, restricted to the informative units (KL > 0.01) of both; then an
aggregate of how one-to-one R is. A model's score is the median of its pair scores.

Open choices, documented here (all as disentanglement_lib's udr.py does):
 - the lasso is fitted on all non-constant units of a and b, and R is restricted to
   informative units afterwards (the KL filter applies to the similarity, not the fit);
 - pair_scores[a, b] is computed from R(a, b) (a's units predict b's); model b's score is the
   median of pair_scores[a, b] over a != b;
 - a unit whose similarities are all 0 contributes 0 to its side's sum (and counts in d or
   in the mean); a model with no informative unit gets pair scores 0 and a warning.
All pairs are batched: one Gram-form lasso call for every (a, b) pair, one correlation matrix
of ranks for Spearman.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

from .._validation import as_matrix, as_real_array, check_choice, check_finite
from ..errors import ConfigError, DataError
from ..representation import Representation
from .lasso import lasso_gram

METHODS = ("lasso", "spearman")
AGGREGATES = ("paper", "dlib")
DEFAULT_ALPHA = 0.1


@dataclass(frozen=True)
class UDRResult:
    """scores [M]: UDR per model (median over the other models); pair_scores [M, M]: the score of
    each ordered pair (a, b), NaN on the diagonal; n_informative [M]; names [M]."""

    scores: np.ndarray
    pair_scores: np.ndarray
    n_informative: np.ndarray
    names: tuple
    method: str
    aggregate: str


def udr_from_similarity(similarity, aggregate: str = "paper", *, row_mask=None, col_mask=None):
    """The UDR aggregate of similarity matrices R [..., K_a, K_b] (non-negative).

    row_mask [..., K_a] / col_mask [..., K_b] (bool, default all True) select the informative
    units; masked rows and columns take no part. With r_a = max_b R, r_b = max_a R:
    "paper": (sum_b r_b^2 / sum_a R + sum_a r_a^2 / sum_b R) / (d_a + d_b);
    "dlib": the mean of the two sides' averages. Returns [...]; 0 where a side has no unit.
    """
    check_choice(aggregate, "aggregate", AGGREGATES)
    r = check_finite(as_real_array(similarity, "similarity"), "similarity")
    if r.ndim < 2:
        raise DataError(f"similarity: expected [..., K_a, K_b], got shape {r.shape}")
    if np.any(r < 0):
        raise DataError("similarity: must be non-negative (use |weights| or |rho|)")
    rows = np.ones(r.shape[:-1], bool) if row_mask is None else np.broadcast_to(np.asarray(row_mask, bool), r.shape[:-1])
    cols = np.ones(r.shape[:-2] + r.shape[-1:], bool) if col_mask is None else \
        np.broadcast_to(np.asarray(col_mask, bool), r.shape[:-2] + r.shape[-1:])
    r = r * rows[..., :, None] * cols[..., None, :]

    def side(axis, mask):
        total = r.sum(axis=axis)
        peak = r.max(axis=axis, initial=0.0)
        term = np.divide(peak ** 2, total, out=np.zeros_like(total), where=total > 0) * mask
        return term.sum(axis=-1), mask.sum(axis=-1)

    row_sum, d_a = side(-1, rows)
    col_sum, d_b = side(-2, cols)
    if aggregate == "paper":
        return np.divide(row_sum + col_sum, d_a + d_b, out=np.zeros_like(row_sum), where=(d_a + d_b) > 0)
    row_mean = np.divide(row_sum, d_a, out=np.zeros_like(row_sum), where=d_a > 0)
    col_mean = np.divide(col_sum, d_b, out=np.zeros_like(col_sum), where=d_b > 0)
    return (row_mean + col_mean) / 2


def _standardised_models(representations):
    """Padded z-scored units [N, M, K_max], kept-column mask [M, K_max], informative mask, names."""
    if isinstance(representations, (np.ndarray, Representation)) or not hasattr(representations, "__len__"):
        raise DataError("representations: expected a sequence of Representations or [N, K] arrays, one per model")
    if len(representations) < 2:
        raise DataError(f"representations: UDR compares models with each other; got {len(representations)} model(s)")
    units, informative, names = [], [], []
    for m, rep in enumerate(representations):
        if isinstance(rep, Representation):
            u, info, name = rep.units, rep.informative, rep.name
        else:
            u = as_matrix(rep, f"representations[{m}]")
            info, name = np.ones(u.shape[1], bool), f"model_{m}"
        units.append(u), informative.append(info), names.append(name)
    n = units[0].shape[0]
    for m, u in enumerate(units):
        if u.shape[0] != n:
            raise DataError(f"representations[{m}] ({names[m]}) has {u.shape[0]} samples but representations[0] "
                            f"has {n}; every model must encode the same samples in the same order")
    if n < 2:
        raise DataError(f"representations: need at least 2 samples, got {n}")
    k_max = max(u.shape[1] for u in units)
    z = np.zeros((n, len(units), k_max))
    kept = np.zeros((len(units), k_max), bool)
    info = np.zeros((len(units), k_max), bool)
    for m, u in enumerate(units):
        mean, std = u.mean(axis=0), u.std(axis=0)
        ok = std > 1e-12 * np.maximum(np.abs(mean), 1.0)  # constant units: dropped (not informative)
        z[:, m, :u.shape[1]][:, ok] = (u[:, ok] - mean[ok]) / std[ok]
        kept[m, :u.shape[1]] = ok
        info[m, :u.shape[1]] = informative[m] & ok
    return z, kept, info, tuple(names)


def _lasso_similarity(z, alpha, max_iter, tol):
    """|lasso weights| [M_a, M_b, K, K] predicting every model's units from every model's units."""
    n, n_models, k = z.shape
    flat = z.reshape(n, n_models * k)
    cross = flat.T @ flat                                             # all cross-products at once
    blocks = cross.reshape(n_models, k, n_models * k)                 # rows grouped by predictor model a
    gram = blocks.reshape(n_models, k, n_models, k)[np.arange(n_models), :, np.arange(n_models), :]  # [M, K, K]
    yty = np.diagonal(cross)                                          # n for kept columns, 0 for padding
    w = lasso_gram(gram, blocks, alpha, n, yty=yty, max_iter=max_iter, tol=tol)  # [M_a, K, M_b * K]
    return np.abs(w.reshape(n_models, k, n_models, k)).transpose(0, 2, 1, 3)


def _spearman_similarity(z, kept):
    """|Spearman rho| [M_a, M_b, K, K] from one correlation matrix of column ranks."""
    n, n_models, k = z.shape
    ranks = rankdata(z.reshape(n, n_models * k), axis=0)
    ranks -= ranks.mean(axis=0)
    norm = np.sqrt((ranks ** 2).sum(axis=0))
    ranks = np.divide(ranks, norm, out=np.zeros_like(ranks), where=kept.reshape(-1) & (norm > 0))
    rho = np.abs(ranks.T @ ranks)
    return rho.reshape(n_models, k, n_models, k).transpose(0, 2, 1, 3)


def udr(representations, method: str = "lasso", aggregate: str = "paper", *, alpha: float = DEFAULT_ALPHA,
        max_iter: int = 1000, tol: float = 1e-4) -> UDRResult:
    """UDR of each of M models from their posterior means on the same N samples.

    representations: a sequence of Representations (their ``informative`` masks apply) or
    arrays [N, K_m] (every non-constant unit informative). method: "lasso" (alpha, default 0.1)
    or "spearman"; aggregate: "paper" or "dlib" (see udr_from_similarity).
    """
    check_choice(method, "method", METHODS)
    check_choice(aggregate, "aggregate", AGGREGATES)
    if not (isinstance(alpha, (int, float, np.integer, np.floating)) and math.isfinite(alpha) and alpha > 0):
        raise ConfigError(f"alpha must be a finite number > 0, got {alpha!r}")
    z, kept, info, names = _standardised_models(representations)
    n_models = z.shape[1]
    empty = [names[m] for m in range(n_models) if not info[m].any()]
    if empty:
        warnings.warn(f"udr: model(s) {empty} have no informative unit; their pair scores are 0", stacklevel=2)
    if method == "lasso":
        sim = _lasso_similarity(z, float(alpha), max_iter, tol)
    else:
        sim = _spearman_similarity(z, kept)
    pair = udr_from_similarity(sim, aggregate, row_mask=info[:, None, :], col_mask=info[None, :, :])
    pair[np.arange(n_models), np.arange(n_models)] = np.nan
    scores = np.nanmedian(pair, axis=0)
    return UDRResult(scores, pair, info.sum(axis=1), names, method, aggregate)
