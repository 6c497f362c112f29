"""GPU backend: gather and product on a CUDA device with cupy; results come back to the host.

cupy is optional: importing this module never fails, ``is_available()`` says whether a GPU
can be used.
"""

from __future__ import annotations

import numpy as np

NAME = "cupy"

try:
    import cupy
except Exception:  # ImportError, or a CUDA library error raised while importing
    cupy = None


def is_available() -> bool:
    if cupy is None:
        return False
    try:
        return bool(cupy.cuda.is_available())
    except Exception:
        return False


def to_device(x: np.ndarray):
    return cupy.ascontiguousarray(cupy.asarray(x))


def gather_products(left_t, right_t, index: np.ndarray) -> np.ndarray:
    """``out[b] = left_t[:, index[b]] @ right_t.T``: float [c, m, p] on the host."""
    m, c = left_t.shape[0], index.shape[0]
    gathered = cupy.take(left_t, cupy.asarray(index), axis=1).reshape(m * c, -1)
    flat = right_t @ gathered.T
    return cupy.asnumpy(flat).reshape(-1, m, c).transpose(2, 1, 0)
