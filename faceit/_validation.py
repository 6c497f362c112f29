"""Shared input checks: plain arrays in, validated early, clear errors out.

Every public function goes through these helpers so that a bad argument gets a
:class:`~faceit.errors.DataError` naming it, never a traceback from numpy.
"""

from __future__ import annotations

import math

import warnings

import numpy as np

from .errors import ConfigError, DataError


def as_real_array(x, name: str, ndim: int | tuple[int, ...] | None = None, dtype=np.float64) -> np.ndarray:
    """Return ``x`` as a numpy array of a real dtype, checking its number of dimensions.

    Integer and boolean input is converted to ``dtype``; complex, object and string input
    is refused. No copy is made when ``x`` already has ``dtype``.
    """
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise DataError(f"{name}: cannot be read as an array ({exc})") from None
    if arr.dtype.kind not in "biuf":
        raise DataError(f"{name}: expected real numbers, got dtype {arr.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if arr.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise DataError(f"{name}: expected a {want} array, got shape {arr.shape}")
    if dtype is not None and arr.dtype != dtype:
        arr = arr.astype(dtype)
    return arr


def check_finite(arr: np.ndarray, name: str) -> np.ndarray:
    """Raise DataError if ``arr`` holds NaN or inf, saying where the first one is."""
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr))[0]
        value = arr[tuple(bad)]
        raise DataError(f"{name}: contains {value} at index {tuple(int(i) for i in bad)}; "
                        "remove or impute non-finite values first")
    return arr


def as_matrix(x, name: str, *, min_rows: int = 1, min_cols: int = 1) -> np.ndarray:
    """A finite float64 2-D array [rows, cols] with at least the given size."""
    arr = check_finite(as_real_array(x, name, ndim=2), name)
    if arr.shape[0] < min_rows or arr.shape[1] < min_cols:
        raise DataError(f"{name}: expected at least {min_rows} rows and {min_cols} columns, got shape {arr.shape}")
    return arr


def check_same_rows(a: np.ndarray, a_name: str, b: np.ndarray, b_name: str) -> None:
    """Raise DataError unless ``a`` and ``b`` describe the same number of stimuli (rows)."""
    if a.shape[0] != b.shape[0]:
        raise DataError(f"{a_name} has {a.shape[0]} stimuli (rows) but {b_name} has {b.shape[0]}; "
                        "they must describe the same stimuli in the same order")


def zscore_columns(x: np.ndarray, name: str, *, warn: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Z-score each column over rows; constant columns are dropped with a warning.

    Returns ``(z, kept)`` where ``z`` is [rows, n_kept] float64 and ``kept`` the
    indices of the columns that were kept. Never divides by zero.
    """
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    scale = np.maximum(np.abs(mean), 1.0)
    kept = np.flatnonzero(std > 1e-12 * scale)
    if warn and kept.size < x.shape[1]:
        dropped = np.setdiff1d(np.arange(x.shape[1]), kept)
        warnings.warn(f"{name}: dropped {dropped.size} constant column(s) {dropped[:10].tolist()}"
                      f"{'...' if dropped.size > 10 else ''}", stacklevel=3)
    z = (x[:, kept] - mean[kept]) / std[kept]
    return z, kept


def check_choice(value, name: str, choices) -> None:
    """Raise ConfigError unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ConfigError(f"{name}={value!r} is not one of {sorted(choices)}")


def check_number(value, name: str, *, positive: bool = False) -> float:
    """Return ``value`` as float, raising ConfigError unless it is a finite real number >= 0 (> 0 if
    ``positive``); booleans and strings are refused."""
    ok = (isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
          and math.isfinite(value) and (value > 0 if positive else value >= 0))
    if not ok:
        raise ConfigError(f"{name} must be a {'positive' if positive else 'finite'} number"
                          f"{'' if positive else ' >= 0'}, got {value!r}")
    return float(value)


def check_positive_int(value, name: str, minimum: int = 1) -> int:
    """Return ``value`` as int, raising ConfigError unless it is an integer >= minimum."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)
