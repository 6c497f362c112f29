"""CPU backend: the row gather runs in parallel numba threads, the product in BLAS.

The gather is memory-bound and numpy runs it on one thread; here it is split over all cores
and writes straight into the buffer the product reads. Small gathers run on one thread
(starting the thread pool costs more than they do). The matrix product stays in BLAS, which
no hand-written loop beats.
"""

from __future__ import annotations

import numpy as np

NAME = "numba"

#: Gathers of fewer elements than this run on one thread.
PARALLEL_MIN_ELEMENTS = 1 << 18

try:
    import numba
except ImportError:  # pragma: no cover - numba is a hard dependency, but keep the registry honest
    numba = None


def is_available() -> bool:
    return numba is not None


if numba is not None:

    def _gather_rows(left_t, index, out):
        m, c, q = out.shape
        for row in numba.prange(m * c):
            j = row // c
            b = row - j * c
            src = left_t[j]
            idx = index[b]
            dst = out[j, b]
            for i in range(q):
                dst[i] = src[idx[i]]

    _gather_parallel = numba.njit(parallel=True, cache=True, nogil=True)(_gather_rows)
    _gather_serial = numba.njit(cache=True, nogil=True)(_gather_rows)


def to_device(x: np.ndarray) -> np.ndarray:
    """x itself when C- or F-contiguous (BLAS reads either), else a C-ordered copy."""
    return x if x.flags.c_contiguous or x.flags.f_contiguous else np.ascontiguousarray(x)


def gather_products(left_t: np.ndarray, right_t: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``out[b] = left_t[:, index[b]] @ right_t.T``: float [c, m, p] (see the package docstring).

    Fastest with a C-ordered ``left_t`` (its rows are read at random positions).
    """
    m = left_t.shape[0]
    c, q = index.shape
    gathered = np.empty((m, c, q), dtype=left_t.dtype)
    gather = _gather_parallel if gathered.size >= PARALLEL_MIN_ELEMENTS else _gather_serial
    gather(left_t, np.ascontiguousarray(index, dtype=np.int64), gathered)
    flat = right_t @ gathered.reshape(m * c, q).T
    return flat.reshape(-1, m, c).transpose(2, 1, 0)
