"""Explained variance (design 4.3): k-fold cross-validated ridge from all units to each neuron.

Per fold, the training units are centred and decomposed once, X_c = U diag(s) V^T. For a
target y everything ridge needs is then a product with y: c = U^T y_train (shrunk fits and
the GCV criterion) and d = P^T y_test with P = (X_test - mean_train) V (held-out errors),
plus sums and sums of squares of y. ``RidgeFolds`` holds the decompositions; ``products``
forms those products (the stats engineer forms them for many permutations by gathering
rows); ``score`` turns them into per-target alphas and held-out R^2.

Open choices, documented here:
 - alpha per fold and target minimises generalised cross-validation (Golub, Heath & Wahba
   1979), GCV(alpha) = RSS(alpha) / (n - df(alpha))^2 with df = 1 + sum_k s_k^2/(s_k^2 + alpha)
   (the unpenalised intercept counts 1); ties go to the smaller alpha. This needs only c and
   the training sums of squares, unlike scikit-learn's RidgeCV, which minimises the exact
   leave-one-out error; the two coincide when every training stimulus has the same leverage.
 - ridge with intercept (as sklearn Ridge(fit_intercept=True)) on the training fold; alpha
   penalises ||w||^2 against the unnormalised sum of squared errors (sklearn's convention).
 - R^2 is pooled over folds: 1 - sum_folds SSE / sum_i (y_i - mean(y))^2 over all stimuli, the
   R^2 of the cross-validated predictions (as r2_score of cross_val_predict).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .._validation import as_matrix, as_real_array, check_finite
from ..errors import ConfigError, DataError
from ._inputs import paired

#: Default ridge penalties (for z-scored units, where s_k^2 is of the order of n_stimuli).
DEFAULT_ALPHAS = np.logspace(-2, 6, 17)


@dataclass(frozen=True)
class FoldProducts:
    """What scoring needs from targets y [..., N, T], per fold f:

    train_proj [..., F, K, T] = U_f^T y[train_f]; test_proj [..., F, K, T] = P_f^T y[test_f];
    train_sum, train_sumsq, test_sum, test_sumsq [..., F, T]: sums of y and y^2 over each set.
    """

    train_proj: np.ndarray
    test_proj: np.ndarray
    train_sum: np.ndarray
    train_sumsq: np.ndarray
    test_sum: np.ndarray
    test_sumsq: np.ndarray


@dataclass(frozen=True)
class RidgeScore:
    """r2 [..., T]: pooled held-out R^2; alpha [..., F, T]: the penalty chosen per fold;
    sse [..., F, T]: held-out sum of squared errors per fold."""

    r2: np.ndarray
    alpha: np.ndarray
    sse: np.ndarray


def _fold_labels(cv, n: int, seed) -> np.ndarray:
    if isinstance(cv, (int, np.integer)) and not isinstance(cv, bool):
        if not 2 <= cv <= n:
            raise ConfigError(f"cv={cv} folds: need 2 <= cv <= the number of stimuli ({n})")
        labels = np.empty(n, dtype=np.intp)
        for f, chunk in enumerate(np.array_split(np.random.default_rng(seed).permutation(n), int(cv))):
            labels[chunk] = f
        return labels
    labels = np.asarray(cv)
    if labels.shape != (n,) or labels.dtype.kind not in "iu":
        raise ConfigError(f"cv must be a number of folds or integer fold labels of shape ({n},), "
                          f"got {type(cv).__name__} {getattr(labels, 'shape', '')}")
    _, labels = np.unique(labels, return_inverse=True)
    if labels.max() < 1:
        raise ConfigError("cv: fold labels name only one fold; need at least 2")
    return labels.astype(np.intp)


def _check_alphas(alphas) -> np.ndarray:
    a = check_finite(as_real_array(alphas, "alphas", ndim=1), "alphas")
    if a.size == 0 or np.any(a <= 0):
        raise ConfigError(f"alphas must be a non-empty list of positive numbers, got {alphas!r}")
    return a


@dataclass(frozen=True)
class RidgeFolds:
    """The fixed part of k-fold ridge: fold split on stimuli and one SVD per training fold.

    fold: int [N] fold of each stimulus; alphas [A]; s [F, K] singular values of the centred
    training units (zero-padded, negligible ones set to 0); train_basis [F, N, K] holds U_f on
    the training rows of fold f and 0 elsewhere; test_basis [F, N, K] holds P_f on its test
    rows and 0 elsewhere; test_basis_sum [F, K] = 1^T P_f; test_gram [F, K, K] = P_f^T P_f.
    """

    fold: np.ndarray
    alphas: np.ndarray
    s: np.ndarray
    train_basis: np.ndarray
    test_basis: np.ndarray
    test_basis_sum: np.ndarray
    test_gram: np.ndarray

    @property
    def n_folds(self) -> int:
        return self.s.shape[0]

    @property
    def n_stimuli(self) -> int:
        return self.fold.shape[0]

    @classmethod
    def fit(cls, units, cv=5, alphas=DEFAULT_ALPHAS, seed=0) -> "RidgeFolds":
        """Split the N stimuli of units [N, K] into folds (``cv`` folds shuffled by ``seed``, or
        integer fold labels [N]) and decompose each training set; ``alphas`` is the grid [A]."""
        x = as_matrix(units, "units", min_rows=2)
        n, k = x.shape
        fold = _fold_labels(cv, n, seed)
        n_folds = int(fold.max()) + 1
        alphas = _check_alphas(alphas)
        s_all = np.zeros((n_folds, k))
        train_basis = np.zeros((n_folds, n, k))
        test_basis = np.zeros((n_folds, n, k))
        for f in range(n_folds):
            train, test = fold != f, fold == f
            if train.sum() < 2:
                raise ConfigError(f"cv: fold {f} leaves fewer than 2 training stimuli")
            mean = x[train].mean(axis=0)
            u, s, vt = np.linalg.svd(x[train] - mean, full_matrices=False)
            keep = s > s[0] * max(x.shape) * np.finfo(float).eps if s.size and s[0] > 0 else np.zeros(s.size, bool)
            r = s.size
            u, vt = u * keep, vt * keep[:, None]
            s_all[f, :r] = s * keep
            train_basis[f][train, :r] = u
            test_basis[f][test, :r] = (x[test] - mean) @ vt.T
        return cls(fold, alphas, s_all, train_basis, test_basis, test_basis.sum(axis=1),
                   np.swapaxes(test_basis, 1, 2) @ test_basis)

    def products(self, y) -> FoldProducts:
        """The products of targets y [..., N, T] that ``score`` needs (gather rows of y for a
        permutation before calling, or compute the same products any faster way)."""
        y = np.asarray(y, dtype=np.float64)
        if y.ndim < 2 or y.shape[-2] != self.n_stimuli:
            raise DataError(f"y: expected [..., {self.n_stimuli}, T] targets, got shape {y.shape}")
        yy = y[..., None, :, :]  # [..., 1, N, T]
        train_mask = np.stack([self.fold != f for f in range(self.n_folds)]).astype(float)  # [F, N]
        test_mask = 1.0 - train_mask
        y2 = y * y
        return FoldProducts(
            train_proj=np.swapaxes(self.train_basis, -1, -2) @ yy,
            test_proj=np.swapaxes(self.test_basis, -1, -2) @ yy,
            train_sum=train_mask @ y, train_sumsq=train_mask @ y2,
            test_sum=test_mask @ y, test_sumsq=test_mask @ y2)

    def score(self, p: FoldProducts) -> RidgeScore:
        """Alpha per fold and target by GCV, then pooled held-out R^2 (see the module docstring)."""
        n_test = np.bincount(self.fold, minlength=self.n_folds).astype(float)[:, None]  # [F, 1]
        n_train = self.n_stimuli - n_test
        s2 = self.s ** 2                                              # [F, K]
        a = self.alphas[None, :, None]                                # [1, A, 1]
        shrink = s2[:, None, :] / (s2[:, None, :] + a)                # [F, A, K], f_k(alpha)
        c2 = p.train_proj ** 2                                        # [..., F, K, T]
        rss = (p.train_sumsq - p.train_sum ** 2 / n_train)[..., None, :] \
            - (2 * shrink - shrink ** 2) @ c2                         # [..., F, A, T]
        dof = n_train - 1.0 - shrink.sum(axis=-1)                     # [F, A]
        gcv = np.where(dof[:, :, None] > 0, np.maximum(rss, 0) / np.where(dof > 0, dof, 1.0)[:, :, None] ** 2,
                       np.inf)
        best = np.argmin(gcv, axis=-2)                                # [..., F, T]
        gain = self.s[:, None, :] / (s2[:, None, :] + a)              # [F, A, K]
        g = np.swapaxes(gain[np.arange(self.n_folds)[:, None], best], -1, -2) * p.train_proj  # [..., F, K, T]
        ybar = p.train_sum / n_train                                  # [..., F, T]
        sse = (p.test_sumsq - 2 * ybar * p.test_sum + n_test * ybar ** 2
               - 2 * (p.test_proj * g).sum(axis=-2)
               + 2 * ybar * np.einsum("fk,...fkt->...ft", self.test_basis_sum, g)
               + (g * (self.test_gram @ g)).sum(axis=-2))
        sst = p.test_sumsq.sum(axis=-2) - p.test_sum.sum(axis=-2) ** 2 / self.n_stimuli
        r2 = 1.0 - sse.sum(axis=-2) / np.where(sst > 0, sst, np.nan)
        return RidgeScore(r2, self.alphas[best], sse)


@dataclass(frozen=True)
class ExplainedVariance:
    """r2 [M]: cross-validated R^2 per neuron; r2_ceiling_corrected [M] | None: r2 / noise ceiling
    (NaN where the ceiling is <= 0 or NaN); noise_ceiling [M] | None; alpha [F, M]: penalty chosen per fold
    and neuron; neuron_index [M], unit_index [K]: the caller's column numbers that took part."""

    r2: np.ndarray
    r2_ceiling_corrected: np.ndarray | None
    noise_ceiling: np.ndarray | None
    alpha: np.ndarray
    neuron_index: np.ndarray
    unit_index: np.ndarray


def _noise_ceiling(rates, noise_ceiling, n_neurons: int):
    """Per-neuron r_sb [M] from the argument, else from rates' trials, else None. NaN allowed (undefined)."""
    if noise_ceiling is None:
        if getattr(rates, "trials", None) is None:
            return None
        try:
            if hasattr(rates, "noise_ceiling"):  # a faceit.neural.Responses
                noise_ceiling = rates.noise_ceiling()
            else:
                from ..neural import noise_ceiling as compute_ceiling  # imported only when trials exist
                noise_ceiling = compute_ceiling(rates.trials)
        except DataError as exc:  # e.g. a stimulus shown once: R^2 is still defined, its ceiling is not
            warnings.warn(f"explained_variance: no noise ceiling from the trials ({exc}); R^2 is not corrected",
                          stacklevel=3)
            return None
    ceiling = as_real_array(noise_ceiling, "noise_ceiling", ndim=1)
    if np.isinf(ceiling).any():
        raise DataError("noise_ceiling: contains inf; expected Spearman-Brown reliabilities (NaN = undefined)")
    if ceiling.shape[0] != n_neurons:
        raise DataError(f"noise_ceiling has {ceiling.shape[0]} entries but rates has {n_neurons} neurons")
    return ceiling


def explained_variance(units, rates, cv=5, alphas=DEFAULT_ALPHAS, *, seed=0, noise_ceiling=None
                       ) -> ExplainedVariance:
    """Cross-validated ridge R^2 of each neuron of rates [N, M] from all units [N, K].

    units: array or Representation (informative units); rates: array or Responses. Both are
    z-scored per column. cv: number of folds (shuffled with ``seed``) or fold labels [N].
    noise_ceiling: per-neuron r_sb [M]; by default taken from ``rates.trials`` through
    faceit.neural.noise_ceiling when rates carries trials (with a warning and no correction when
    the trials cannot give one, e.g. a stimulus recorded once).
    """
    data = paired(units, rates)
    n_neurons = np.asarray(rates.rates if hasattr(rates, "rates") else rates).shape[1]
    ceiling = _noise_ceiling(rates, noise_ceiling, n_neurons)
    folds = RidgeFolds.fit(data.units, cv=cv, alphas=alphas, seed=seed)
    result = folds.score(folds.products(data.rates))
    corrected = None
    if ceiling is not None:
        ceiling = ceiling[data.neuron_index]
        bad = ~(ceiling > 0)
        if bad.any():
            warnings.warn(f"explained_variance: {int(bad.sum())} neuron(s) have a noise ceiling <= 0 or NaN; "
                          "their corrected R^2 is NaN", stacklevel=2)
        corrected = np.where(bad, np.nan, result.r2 / np.where(bad, 1.0, ceiling))
    return ExplainedVariance(result.r2, corrected, ceiling, result.alpha, data.neuron_index, data.unit_index)
