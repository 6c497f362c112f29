"""Alignment score (design 4.1, Fig 3a): how one-to-one the lasso weights from units to neurons are.

For each neuron i a lasso rate_i ~ units gives weights w_ij over the K units; R_ij = |w_ij|,
p_ij = R_ij / sum_j R_ij. "entropy": D_i = 1 - H(p_i) / log K (nats); "max_fraction":
D_i = max_j p_ij. score = sum_i rho_i D_i with rho_i = sum_j R_ij / sum_ij R_ij. The rotation
control scores the same units after random orthogonal rotations: the model's own chance level.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .._validation import as_real_array, check_choice, check_finite, check_positive_int
from ..errors import ConfigError, DataError
from ._inputs import paired
from .lasso import lasso_gram

METHODS = ("entropy", "max_fraction")
DEFAULT_ALPHA = 0.01


@dataclass(frozen=True)
class AlignmentResult:
    """score: float in [0, 1]; per_neuron: D_i [M]; weights: lasso weights [K, M] on z-scored data;
    rho: neuron weighting [M] (sums to 1 unless every weight is 0); rotation_control: mean score over
    ``rotation_scores`` [n_rotations] (None when no rotation was asked for); unit_index [K] and
    neuron_index [M]: the caller's column numbers of the units and neurons that took part."""

    score: float
    per_neuron: np.ndarray
    weights: np.ndarray
    rho: np.ndarray
    method: str
    alpha: float
    rotation_control: float | None
    rotation_scores: np.ndarray | None
    unit_index: np.ndarray
    neuron_index: np.ndarray


def alignment_from_weights(weights, method: str = "entropy", *, return_rho: bool = False):
    """Alignment of weight matrices: weights float [..., K, N] (units x neurons).

    Returns (score [...], per_neuron D [..., N]) and, with ``return_rho``, rho [..., N].
    A neuron whose weights are all zero has D = 0 and rho = 0 (it does not count); when every
    weight is zero the score is 0. K = 1 gives D = 1 and score 1 by definition.
    """
    check_choice(method, "method", METHODS)
    r = np.abs(check_finite(as_real_array(weights, "weights"), "weights"))
    if r.ndim < 2:
        raise DataError(f"weights: expected [..., K, N], got shape {r.shape}")
    k = r.shape[-2]
    per_neuron_sum = r.sum(axis=-2)  # [..., N]
    total = per_neuron_sum.sum(axis=-1, keepdims=True)
    active = per_neuron_sum > 0
    rho = np.divide(per_neuron_sum, total, out=np.zeros_like(per_neuron_sum), where=total > 0)
    if k == 1:
        d = np.ones_like(per_neuron_sum)
        score = np.ones(per_neuron_sum.shape[:-1])
        return (score, d, rho) if return_rho else (score, d)
    p = np.divide(r, per_neuron_sum[..., None, :], out=np.zeros_like(r), where=active[..., None, :])
    if method == "entropy":
        plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
        d = 1.0 - (-plogp.sum(axis=-2)) / np.log(k)
    else:
        d = p.max(axis=-2)
    d = np.where(active, d, 0.0)
    score = (rho * d).sum(axis=-1)
    return (score, d, rho) if return_rho else (score, d)


def random_rotations(k: int, n: int, seed=0) -> np.ndarray:
    """n Haar-distributed orthogonal matrices [n, k, k] (QR of Gaussian matrices, signs fixed)."""
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.standard_normal((n, k, k)))
    return q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[:, None, :]


def _rotated_products(gram, xty, n_samples, rotations):
    """Cross-products of the rotated and re-standardised units X Q diag(s)^-1 with the rates."""
    g = np.swapaxes(rotations, -1, -2) @ gram @ rotations          # [R, K, K]
    scale = 1.0 / np.sqrt(np.diagonal(g, axis1=-2, axis2=-1) / n_samples)  # rotated columns back to variance 1
    g = g * scale[:, :, None] * scale[:, None, :]
    c = (np.swapaxes(rotations, -1, -2) @ xty) * scale[:, :, None]  # [R, K, M]
    return g, c


def _check_alpha(alpha) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.integer, np.floating)) or not alpha > 0 \
            or not np.isfinite(alpha):
        raise ConfigError(f"alpha must be a finite number > 0, got {alpha!r}")
    return float(alpha)


def rotation_control(units, rates, n_rotations: int = 10, seed=0, *, method: str = "entropy",
                     alpha: float = DEFAULT_ALPHA, max_iter: int = 1000, tol: float = 1e-4) -> np.ndarray:
    """Alignment scores [n_rotations] of the units after random orthogonal rotations (chance level).

    The rotated units are re-standardised before the lasso, like any model's units; their mean is
    the model's own chance level (design 4.1), to be read beside ``alignment_score``.
    """
    check_choice(method, "method", METHODS)
    data = paired(units, rates)
    n = data.n_stimuli
    return _rotation_scores(data.units.T @ data.units, data.units.T @ data.rates, n,
                            check_positive_int(n_rotations, "n_rotations"), seed, method,
                            _check_alpha(alpha), max_iter, tol)


def _rotation_scores(gram, xty, n, n_rotations, seed, method, alpha, max_iter, tol):
    g, c = _rotated_products(gram, xty, n, random_rotations(gram.shape[0], n_rotations, seed))
    w = lasso_gram(g, c, alpha, n, max_iter=max_iter, tol=tol)
    return alignment_from_weights(w, method)[0]


def alignment_score(units, rates, method: str = "entropy", alpha: float = DEFAULT_ALPHA, *,
                    n_rotations: int = 10, seed=0, max_iter: int = 1000, tol: float = 1e-4) -> AlignmentResult:
    """Alignment score of units [N_stimuli, K] (or a Representation) with rates [N_stimuli, M].

    One lasso per neuron (all neurons solved together in Gram form) on z-scored data, then
    ``alignment_from_weights``. ``n_rotations`` random rotations (seeded by ``seed``; 0 skips
    them) give ``rotation_control``. Constant columns are dropped with a warning.
    """
    check_choice(method, "method", METHODS)
    alpha = _check_alpha(alpha)
    data = paired(units, rates)
    n = data.n_stimuli
    gram = data.units.T @ data.units
    xty = data.units.T @ data.rates
    weights = lasso_gram(gram, xty, alpha, n, max_iter=max_iter, tol=tol)
    score, d, rho = alignment_from_weights(weights, method, return_rho=True)
    if not np.any(weights) and weights.shape[0] > 1:
        warnings.warn(f"alignment_score: every lasso weight is 0 at alpha={alpha}; the score is 0. "
                      "Use a smaller alpha.", stacklevel=2)
    rot_scores = None
    rot_mean = None
    if n_rotations:
        rot_scores = _rotation_scores(gram, xty, n, check_positive_int(n_rotations, "n_rotations"), seed,
                                      method, alpha, max_iter, tol)
        rot_mean = float(rot_scores.mean())
    return AlignmentResult(float(score), d, weights, rho, method, alpha, rot_mean, rot_scores,
                           data.unit_index, data.neuron_index)
