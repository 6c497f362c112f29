"""The statistics of a permutation test, each able to score many permutations at once.

A null object is built once from z-scored units X [n, K] and rates Y [n, M]; calling it with a
chunk of permutations int [c, n] (and their inverses) returns, per permutation, the
statistic of the shuffled data. The only work that depends on the permutation is a batched
gather-and-product on the backend; the rest reuses the cores of faceit.compare
(match_correlations, lasso_gram + alignment_from_weights, RidgeFolds.score), so a null value
is exactly the statistic faceit.compare reports for shuffled responses.
"""

from __future__ import annotations

import numpy as np

from ..compare.alignment import alignment_from_weights
from ..compare.lasso import lasso_gram
from ..compare.matching import match_correlations
from ..compare.ridge import DEFAULT_ALPHAS, FoldProducts, RidgeFolds


def _gathered(x: np.ndarray, dtype) -> np.ndarray:
    """A left operand (its columns are gathered): C-ordered rows in dtype."""
    return np.ascontiguousarray(x, dtype=dtype)


def _multiplied(x: np.ndarray, dtype) -> np.ndarray:
    """A right operand (only multiplied): x itself when already C- or F-contiguous in dtype.

    Transposed responses stay a view: with 10,000 neurons that saves a copy of the data.
    """
    if x.dtype == dtype and (x.flags.c_contiguous or x.flags.f_contiguous):
        return x
    return np.ascontiguousarray(x, dtype=dtype)


class _CrossProductNull:
    """Shared part: X^T Y[perm] [c, K, M] for a chunk, by gathering rows of the units."""

    def __init__(self, units_z: np.ndarray, rates_z: np.ndarray, backend, dtype, scale: float = 1.0):
        self.n = units_z.shape[0]
        self.backend = backend
        self._units_t = backend.to_device(_gathered(units_z.T * scale, dtype))
        self._rates_t = backend.to_device(_multiplied(rates_z.T, dtype))

    def bytes_per_permutation(self, itemsize: int) -> int:
        """Working memory of one permutation: gathered rows, products and float64 work arrays."""
        k, m = self._units_t.shape[0], self._rates_t.shape[0]
        return k * (self.n * itemsize + m * (itemsize + 3 * 8))

    def cross_products(self, inverse: np.ndarray) -> np.ndarray:
        """scale * X^T Y[perm] for every permutation of the chunk: float64 [c, K, M], C-ordered."""
        products = self.backend.gather_products(self._units_t, self._rates_t, inverse)
        return np.asarray(products, dtype=np.float64, order="C")


class MatchedRNull(_CrossProductNull):
    """matched_r (design 4.2, 4.6): mean |r| over the pairs of the one-to-one matching.

    Also returns "null_max", the largest matched |r| of each permutation, from which the
    per-pair family-wise p-values follow (max statistic over the matched pairs).
    """

    keys = ("null", "null_max")

    def __init__(self, units_z, rates_z, backend, dtype=np.float64):
        super().__init__(units_z, rates_z, backend, dtype, scale=1.0 / units_z.shape[0])  # products are r
        self.observed_pairs = match_correlations(units_z.T @ rates_z / self.n)  # (unit pos, neuron pos, r)
        self.observed = float(np.abs(self.observed_pairs[2]).mean())

    def __call__(self, perms: np.ndarray, inverse: np.ndarray) -> dict[str, np.ndarray]:
        r = self.cross_products(inverse)
        matched = np.abs(match_correlations(r)[2])  # [c, P]
        return {"null": matched.mean(axis=1), "null_max": matched.max(axis=1)}


class AlignmentNull(_CrossProductNull):
    """alignment (design 4.1): lasso in Gram form from X^T X (fixed) and X^T Y[perm] (per permutation)."""

    keys = ("null",)

    def __init__(self, units_z, rates_z, backend, dtype=np.float64, *, method="entropy", alpha=0.01,
                 max_iter=1000, tol=1e-4):
        super().__init__(units_z, rates_z, backend, dtype)
        self.gram = units_z.T @ units_z
        self.options = dict(method=method, alpha=alpha, max_iter=max_iter, tol=tol)
        self.observed = float(self._score(units_z.T @ rates_z[None])[0])

    def _score(self, xty: np.ndarray) -> np.ndarray:
        o = self.options
        weights = lasso_gram(self.gram, xty, o["alpha"], self.n, max_iter=o["max_iter"], tol=o["tol"])
        return alignment_from_weights(weights, o["method"])[0]

    def __call__(self, perms: np.ndarray, inverse: np.ndarray) -> dict[str, np.ndarray]:
        return {"null": self._score(self.cross_products(inverse))}


class ExplainedVarianceNull:
    """explained_variance (design 4.3): mean over neurons of the cross-validated ridge R^2.

    RidgeFolds.score needs, per fold f, U_f^T y_train, P_f^T y_test and sums of y and y^2 over
    each set. With Z_f = (X - mean_f) V_f (so U_f = Z_f S_f^-1 on the training rows and
    P_f = Z_f on the test rows) and centred y, Z_f^T y over all rows is V_f^T (X^T y):
    one [K, M] product shared by all folds (gathering unit rows); only the test rows need a
    product per fold, computed by gathering rows of the responses (n_test rows). That is
    2 K n M multiply-adds per permutation instead of 2 F K n M for masked per-fold bases.
    V_f is recovered from RidgeFolds' bases as pinv(X) Z_f, exact because Z_f lies in
    span(X) + constants and X is centred.
    """

    keys = ("null",)

    def __init__(self, units_z, rates_z, backend, dtype=np.float64, *, cv=5, alphas=None, cv_seed=0):
        self.backend = backend
        self.n = units_z.shape[0]
        self.folds = RidgeFolds.fit(units_z, cv=cv, alphas=DEFAULT_ALPHAS if alphas is None else alphas, seed=cv_seed)
        f = self.folds
        self.observed_per_neuron = f.score(f.products(rates_z)).r2
        self.observed = float(np.mean(self.observed_per_neuron))

        s = f.s                                                       # [F, K]
        z_all = f.train_basis * s[:, None, :] + f.test_basis          # Z_f on every row [F, n, K]
        self._v = np.linalg.pinv(units_z) @ z_all                     # V_f [F, K, K] (as X V_f = Z_f + const)
        self._z_mean = z_all.mean(axis=1)                             # [F, K]: -mean_f V_f, for uncentred y
        self._inv_s = np.divide(1.0, s, out=np.zeros_like(s), where=s > 0)
        self._test_rows = [np.flatnonzero(f.fold == k) for k in range(f.n_folds)]
        self._col_sum = rates_z.sum(axis=0)                           # permutation-invariant
        self._col_sumsq = (rates_z ** 2).sum(axis=0)
        self._units_t = backend.to_device(_gathered(units_z.T, dtype))
        self._rates_t = backend.to_device(_gathered(rates_z.T, dtype))  # gathered for the test rows too
        # fold indicators [F, n] against [y, y^2]: the test-set sums of y and y^2
        self._fold_t = backend.to_device(_gathered(f.fold[None, :] == np.arange(f.n_folds)[:, None], dtype))
        self._rates_and_squares_t = backend.to_device(_multiplied(np.hstack([rates_z, rates_z ** 2]).T, dtype))
        self._test_basis_t = [backend.to_device(_multiplied(f.test_basis[k][rows].T, dtype))  # P_f on test rows
                              for k, rows in enumerate(self._test_rows)]

    def bytes_per_permutation(self, itemsize: int) -> int:
        k, m = self._units_t.shape[0], self._rates_t.shape[0]
        n_folds = self.folds.n_folds
        gathers = (k + n_folds) * self.n * itemsize + m * self.n * itemsize
        return gathers + 8 * m * (k + 2) * (5 * n_folds + 2)

    def __call__(self, perms: np.ndarray, inverse: np.ndarray) -> dict[str, np.ndarray]:
        f = self.folds
        g = self.backend.gather_products
        m = self._rates_t.shape[0]
        full = np.asarray(g(self._units_t, self._rates_t, inverse), dtype=np.float64)      # X^T y [c, K, M]
        total = np.swapaxes(self._v, -1, -2) @ full[:, None] \
            + self._z_mean[None, :, :, None] * self._col_sum                                # Z_f^T y [c, F, K, M]
        sums = np.asarray(g(self._fold_t, self._rates_and_squares_t, inverse), dtype=np.float64)  # [c, F, 2M]
        test_sum, test_sumsq = sums[..., :m], sums[..., m:]
        # y[test rows of f] = rates[perm[test rows of f]]: gather those rows of the responses
        test_proj = np.stack([np.asarray(g(self._rates_t, basis_t, perms[:, rows]), dtype=np.float64)
                              for basis_t, rows in zip(self._test_basis_t, self._test_rows)], axis=1)
        test_proj = np.swapaxes(test_proj, -1, -2)                                         # P_f^T y_test [c, F, K, M]
        products = FoldProducts(
            train_proj=(total - test_proj) * self._inv_s[None, :, :, None],
            test_proj=test_proj,
            train_sum=self._col_sum - test_sum, train_sumsq=self._col_sumsq - test_sumsq,
            test_sum=test_sum, test_sumsq=test_sumsq)
        return {"null": f.score(products).r2.mean(axis=-1)}
