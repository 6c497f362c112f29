"""Lasso in Gram form for many targets and many problems at once (the solver core).

Minimises scikit-learn's objective, for every target column t and batch index b,

    1/(2n) ||y_t - X w_t||^2 + alpha ||w_t||_1        (no intercept: data are z-scored)

knowing only the cross-products G = X^T X [K, K], X^T y_t [K] and, for the stopping rule,
y_t^T y_t. Cyclic coordinate descent with scikit-learn's stopping rule (largest coordinate
step relative to the largest weight, confirmed by the duality gap <= tol * y^T y), compiled
with numba and run in parallel over all (batch, target) pairs. The stats engineer calls this
under permutation: only X^T y changes from one permutation to the next.
"""

from __future__ import annotations

import math
import warnings

import numba
import numpy as np

from .._validation import as_real_array, check_finite, check_number, check_positive_int
from ..errors import DataError


class ConvergenceWarning(UserWarning):
    """Some coordinate-descent fits stopped at max_iter before reaching tol."""


@numba.njit(cache=True, nogil=True)
def _dual_gap(w, qw, c, y2, l1_reg):
    """Duality gap of 1/2||y - Xw||^2 + l1_reg ||w||_1 from w, Gw, X^T y and y^T y."""
    k = w.shape[0]
    c_dot_w = 0.0
    w_qw = 0.0
    l1 = 0.0
    dual_norm = 0.0
    for j in range(k):
        c_dot_w += c[j] * w[j]
        w_qw += w[j] * qw[j]
        l1 += abs(w[j])
        xta = abs(c[j] - qw[j])
        if xta > dual_norm:
            dual_norm = xta
    r_norm2 = y2 + w_qw - 2.0 * c_dot_w
    r_dot_y = y2 - c_dot_w
    scale = l1_reg / dual_norm if dual_norm > l1_reg else 1.0
    primal = 0.5 * r_norm2 + l1_reg * l1
    dual = -0.5 * scale * scale * r_norm2 + scale * r_dot_y
    return primal - dual


@numba.njit(parallel=True, cache=True)
def _lasso_gram_kernel(gram, gram_index, xty, yty, l1_reg, max_iter, tol, w_out, n_iter_out, converged_out):
    """Coordinate descent for every (b, t): gram [G, K, K], xty [B, T, K], yty [B, T] -> w_out [B, T, K]."""
    n_batch, n_targets, k = xty.shape
    for task in numba.prange(n_batch * n_targets):
        b = task // n_targets
        t = task - b * n_targets
        g = gram[gram_index[b]]
        c = xty[b, t]
        w = w_out[b, t]
        y2 = yty[b, t]
        tol_abs = tol * y2
        qw = np.zeros(k)  # G @ w, kept up to date
        w[:] = 0.0
        n_iter = 0
        done = False
        gap = _dual_gap(w, qw, c, y2, l1_reg)
        if 0.0 <= gap <= tol_abs:
            done = True
        while not done and n_iter < max_iter:
            w_max = 0.0
            d_w_max = 0.0
            for j in range(k):
                gjj = g[j, j]
                if gjj <= 0.0:
                    continue
                w_j = w[j]
                tmp = c[j] - qw[j] + w_j * gjj
                if tmp > l1_reg:
                    new = (tmp - l1_reg) / gjj
                elif tmp < -l1_reg:
                    new = (tmp + l1_reg) / gjj
                else:
                    new = 0.0
                if new != w_j:
                    step = new - w_j
                    for i in range(k):
                        qw[i] += step * g[j, i]
                    w[j] = new
                    if abs(step) > d_w_max:
                        d_w_max = abs(step)
                if abs(new) > w_max:
                    w_max = abs(new)
            n_iter += 1
            if w_max == 0.0 or d_w_max / w_max <= tol or n_iter == max_iter:
                gap = _dual_gap(w, qw, c, y2, l1_reg)
                if gap <= tol_abs:
                    done = True
        n_iter_out[b, t] = n_iter
        converged_out[b, t] = done


def lasso_gram(gram, xty, alpha: float, n_samples: int, *, yty=None, max_iter: int = 1000,
               tol: float = 1e-4, return_n_iter: bool = False):
    """Lasso weights for every target and batch index from cross-products.

    gram: float [..., K, K], X^T X (symmetric; its leading dimensions broadcast against xty's).
    xty: float [..., K, T], X^T Y for T targets.
    alpha: the L1 penalty of sklearn's objective 1/(2n)||y - Xw||^2 + alpha ||w||_1, >= 0.
    n_samples: n, the number of rows of X.
    yty: float [..., T], y^T y per target, used only by the stopping rule; ``None`` means the
        targets are z-scored (y^T y = n), which is how faceit calls it.
    Returns W float [..., K, T] (and the iteration counts [..., T] when ``return_n_iter``).
    Fits that reach max_iter without meeting tol raise one ConvergenceWarning.
    """
    gram = check_finite(as_real_array(gram, "gram"), "gram")
    xty = check_finite(as_real_array(xty, "xty"), "xty")
    if gram.ndim < 2 or gram.shape[-1] != gram.shape[-2]:
        raise DataError(f"gram: expected a square matrix [..., K, K], got shape {gram.shape}")
    k = gram.shape[-1]
    if xty.ndim < 2 or xty.shape[-2] != k:
        raise DataError(f"xty: expected shape [..., {k}, T] to match gram [..., {k}, {k}], got {xty.shape}")
    alpha = check_number(alpha, "alpha")
    n_samples = check_positive_int(n_samples, "n_samples")
    max_iter = check_positive_int(max_iter, "max_iter")
    tol = check_number(tol, "tol")
    try:
        batch_shape = np.broadcast_shapes(gram.shape[:-2], xty.shape[:-2])
    except ValueError:
        raise DataError(f"gram {gram.shape} and xty {xty.shape}: leading (batch) dimensions do not broadcast") from None
    n_targets = xty.shape[-1]
    n_batch = math.prod(batch_shape)

    gram_flat = np.ascontiguousarray(gram.reshape(-1, k, k))
    gram_index = np.broadcast_to(np.arange(gram_flat.shape[0]).reshape(gram.shape[:-2]), batch_shape).ravel()
    xty_flat = np.ascontiguousarray(np.swapaxes(np.broadcast_to(xty, batch_shape + (k, n_targets)), -1, -2)
                                    .reshape(n_batch, n_targets, k))
    if yty is None:
        yty_flat = np.full((n_batch, n_targets), float(n_samples))
    else:
        yty = check_finite(as_real_array(yty, "yty"), "yty")
        try:
            yty_flat = np.ascontiguousarray(np.broadcast_to(yty, batch_shape + (n_targets,)).reshape(n_batch, n_targets))
        except ValueError:
            raise DataError(f"yty: shape {yty.shape} does not match the targets {batch_shape + (n_targets,)}") from None

    w = np.zeros((n_batch, n_targets, k))
    n_iter = np.zeros((n_batch, n_targets), dtype=np.int64)
    converged = np.zeros((n_batch, n_targets), dtype=np.bool_)
    if w.size:
        _lasso_gram_kernel(gram_flat, gram_index.astype(np.int64), xty_flat, yty_flat, float(alpha) * n_samples,
                           max_iter, float(tol), w, n_iter, converged)
    n_bad = int((~converged).sum())
    if n_bad:
        warnings.warn(f"lasso_gram: {n_bad} of {converged.size} fits did not converge in max_iter={max_iter} "
                      f"(tol={tol}); raise max_iter or alpha", ConvergenceWarning, stacklevel=2)
    weights = np.swapaxes(w.reshape(batch_shape + (n_targets, k)), -1, -2)
    if return_n_iter:
        return weights, n_iter.reshape(batch_shape + (n_targets,))
    return weights
