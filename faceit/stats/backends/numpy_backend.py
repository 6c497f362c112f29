"""Reference backend: numpy fancy indexing and one BLAS matrix product per chunk."""

from __future__ import annotations

import numpy as np

NAME = "numpy"


def is_available() -> bool:
    return True


def to_device(x: np.ndarray) -> np.ndarray:
    """x itself when C- or F-contiguous (BLAS reads either), else a C-ordered copy."""
    return x if x.flags.c_contiguous or x.flags.f_contiguous else np.ascontiguousarray(x)


def gather_products(left_t: np.ndarray, right_t: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``out[b] = left_t[:, index[b]] @ right_t.T``: float [c, m, p] (see the package docstring)."""
    m, c = left_t.shape[0], index.shape[0]
    gathered = np.take(left_t, index, axis=1).reshape(m * c, -1)  # [m*c, n]
    # [p, n] @ [n, m*c] is the orientation OpenBLAS runs fastest for a narrow right_t.
    flat = right_t @ gathered.T
    return flat.reshape(-1, m, c).transpose(2, 1, 0)
