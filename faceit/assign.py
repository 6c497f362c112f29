"""Linear sum assignment, the public face of faceit's C++ solver (csrc/assign/).

``linear_sum_assignment`` keeps the exact contract of
:func:`scipy.optimize.linear_sum_assignment`; ``linear_sum_assignment_batch`` solves many
problems of one shape in one call, across threads, with the GIL released. The solver is
the Jonker-Volgenant initialisation followed by shortest augmenting paths; float32 and
float64 costs are read in place (no copy) in any memory layout, other real dtypes are
converted to float64.
"""

from __future__ import annotations

import os

import numpy as np

from . import _assign
from .errors import ConfigError, DataError, InfeasibleError

__all__ = ["linear_sum_assignment", "linear_sum_assignment_batch"]

#: the most worker threads linear_sum_assignment_batch starts (more than problems are never started)
MAX_THREADS = 1024


def _as_cost_array(cost, name: str, ndim: int) -> np.ndarray:
    try:
        arr = np.asarray(cost)
    except ValueError as exc:  # a ragged nested list
        raise DataError(f"{name}: not a rectangular array ({exc})") from None
    if arr.ndim != ndim:
        what = "a matrix (2-D array)" if ndim == 2 else "a 3-D array [batch, n, m]"
        raise DataError(f"{name}: expected {what}, got shape {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise DataError(f"{name}: expected real numbers, got dtype {arr.dtype}")
    if arr.dtype not in (np.float32, np.float64) or not arr.dtype.isnative:
        arr = arr.astype(np.float64)
    if any(s % arr.itemsize for s in arr.strides):
        arr = np.ascontiguousarray(arr)
    return arr


def _raise_for_status(status: np.ndarray, name: str, maximize: bool) -> None:
    bad = np.flatnonzero(status != _assign.STATUS_OK)
    if bad.size == 0:
        return
    b = int(bad[0])
    where = f"{name}[{b}]" if status.ndim and status.size > 1 else name
    if status[b] == _assign.STATUS_OUT_OF_RANGE:
        raise DataError(f"{where}: has finite entries beyond +-1e300, where differences of costs overflow; "
                        f"rescale the costs, and mark forbidden pairs with {'-inf' if maximize else '+inf'}, "
                        "not with a huge number")
    if status[b] == _assign.STATUS_INVALID_ENTRY:
        forbidden = "+inf" if maximize else "-inf"
        raise DataError(f"{where}: contains NaN or {forbidden}; only finite values and "
                        f"{'-inf' if maximize else '+inf'} (a forbidden pair) are allowed")
    raise InfeasibleError(f"{where}: cost matrix is infeasible (no complete assignment avoids "
                          "the forbidden, infinite-cost pairs)")


def linear_sum_assignment(cost, maximize: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Solve the linear sum assignment problem, as :func:`scipy.optimize.linear_sum_assignment`.

    cost: real array [n, m], either n <= m or n > m. ``+inf`` (``-inf`` when maximising)
    marks a forbidden pair. Returns ``(row_ind, col_ind)``, int64 arrays of length
    min(n, m), sorted by row, such that ``cost[row_ind, col_ind].sum()`` is minimal (maximal).

    Raises ValueError (a :class:`faceit.errors.DataError`) for input that is not 2-D, holds
    NaN or -inf (+inf when maximising) or finite entries beyond +-1e300, or has no feasible
    complete assignment.
    """
    arr = _as_cost_array(cost, "cost", ndim=2)
    rows, cols, status = _assign.solve_batch(arr[None], bool(maximize), 1)
    _raise_for_status(status, "cost", maximize)
    return rows[0], cols[0]


def linear_sum_assignment_batch(costs, maximize: bool = False, n_threads: int | None = None
                                ) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``costs[b]`` for every b, in parallel threads.

    costs: real array [B, n, m]. Returns ``(row_ind, col_ind)``, int64 arrays [B, k] with
    k = min(n, m), each row as :func:`linear_sum_assignment` would return it.
    n_threads: worker threads (default: the cores this process may use).
    """
    arr = _as_cost_array(costs, "costs", ndim=3)
    if n_threads is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        n_threads = min(cores, MAX_THREADS)
    if (isinstance(n_threads, bool) or not isinstance(n_threads, (int, np.integer))
            or not 1 <= n_threads <= MAX_THREADS):
        raise ConfigError(f"n_threads must be an integer in [1, {MAX_THREADS}] or None, got {n_threads!r}")
    rows, cols, status = _assign.solve_batch(arr, bool(maximize), int(n_threads))
    _raise_for_status(status, "costs", maximize)
    return rows, cols
