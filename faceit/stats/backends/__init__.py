"""Compute backends for the hot path of permutation nulls.

Every backend module has the same functions:

- ``is_available() -> bool``: whether it can run here;
- ``to_device(x) -> array``: a 2-D float array placed where the backend computes (C- or
  F-contiguous; on the CPU a contiguous x is used in place);
- ``gather_products(left_t, right_t, index) -> np.ndarray``: for ``left_t`` [m, n] and
  ``right_t`` [p, q] (both from ``to_device``; rows = variables, columns = stimuli) and
  ``index`` int [c, q] with entries in [0, n), the products
  ``out[b] = left_t[:, index[b]] @ right_t.T``, float [c, m, p] on the host. With
  ``index[b]`` the inverse of a permutation ``perm`` (q = n) this is ``L.T @ R[perm]``: the
  cross-products of the units with the shuffled responses, computed by gathering the rows of
  the narrow side only.

``get_backend("auto")`` picks cupy when a GPU is usable, else numba, else numpy.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from ...errors import BackendUnavailableError
from ..._validation import check_choice

BACKENDS = ("numpy", "numba", "cupy")
_MODULES = {"numpy": "numpy_backend", "numba": "numba_backend", "cupy": "cupy_backend"}


def _load(name: str) -> ModuleType | None:
    try:
        module = import_module(f".{_MODULES[name]}", __name__)
    except ImportError:
        return None
    return module if module.is_available() else None


def available_backends() -> list[str]:
    """Names of the backends that can run on this machine, fastest first."""
    return [name for name in ("cupy", "numba", "numpy") if _load(name) is not None]


def get_backend(name: str = "auto") -> ModuleType:
    """The backend module called ``name`` ("auto", "numpy", "numba" or "cupy").

    Raises BackendUnavailableError when a backend is named explicitly but cannot run here.
    """
    check_choice(name, "backend", ("auto", *BACKENDS))
    if name == "auto":
        return _load(available_backends()[0])
    module = _load(name)
    if module is None:
        why = {"cupy": "cupy is not installed or no CUDA GPU is visible (cupy.cuda.is_available() is False)",
               "numba": "numba cannot be imported"}.get(name, "it cannot be imported")
        raise BackendUnavailableError(f"backend={name!r} is unavailable: {why}; use backend='auto' or 'numpy'")
    return module


__all__ = ["BACKENDS", "available_backends", "get_backend"]
