"""Checks shared by the neural containers, loaders and the noise ceiling."""

from __future__ import annotations

import numpy as np

from .._validation import as_real_array
from ..errors import DataError


def as_ids(ids, n: int | None, name: str, *, unique: bool = True) -> np.ndarray:
    """Identifiers as a 1-D array of int64 or str, of length ``n`` (any length if None), unique unless told.

    ``None`` gives ``arange(n)``. Whole-number floats (as MATLAB and CSV files store them)
    become int64; other floats, booleans and mixed types are refused.
    """
    if ids is None:
        if n is None:
            raise DataError(f"{name}: ids are required here")
        return np.arange(n, dtype=np.int64)
    arr = np.asarray(ids)
    if arr.ndim == 2 and 1 in arr.shape:  # MATLAB row or column vectors
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise DataError(f"{name}: expected a 1-D list of ids, got shape {arr.shape}")
    arr = _normalise_id_dtype(arr, name)
    if n is not None and arr.shape[0] != n:
        raise DataError(f"{name}: has {arr.shape[0]} ids but the data have {n} along that axis")
    if arr.size == 0:
        raise DataError(f"{name}: no ids")
    if not unique:
        return arr
    values, counts = np.unique(arr, return_counts=True)
    if (counts > 1).any():
        dup = values[counts > 1]
        raise DataError(f"{name}: duplicate ids {dup[:5].tolist()}{'...' if dup.size > 5 else ''} "
                        f"({dup.size} repeated); every id must be unique")
    return arr


def _normalise_id_dtype(arr: np.ndarray, name: str) -> np.ndarray:
    kind = arr.dtype.kind
    if kind in "iu":
        return arr.astype(np.int64)
    if kind == "U":
        return arr
    if kind == "S":
        return arr.astype(str)
    if kind == "f":
        if not np.isfinite(arr).all():
            raise DataError(f"{name}: ids contain NaN or inf")
        if (arr != np.round(arr)).any():
            raise DataError(f"{name}: ids must be integers or strings, got non-integer numbers such as "
                            f"{arr[arr != np.round(arr)][0]}")
        return arr.astype(np.int64)
    if kind == "O":
        items = [x.decode() if isinstance(x, bytes) else x for x in arr.tolist()]
        if all(isinstance(x, str) for x in items):
            return np.asarray(items, dtype=str)
        if all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in items):
            return np.asarray(items, dtype=np.int64)
        if items and all(isinstance(x, (float, np.floating)) for x in items):
            return _normalise_id_dtype(np.asarray(items, dtype=np.float64), name)
    return _refuse(name, arr)


def _refuse(name, arr):
    raise DataError(f"{name}: ids must be all integers or all strings, got dtype {arr.dtype}")


def index_of(ids: np.ndarray, wanted, what: str) -> np.ndarray:
    """Positions of ``wanted`` ids inside ``ids``, in the order given; DataError naming any missing.

    Integer ids and all-digit string ids compare by value: image files ``001.png`` ... (ids
    "001", ...) find the responses to stimuli 1, ... of a .mat or .csv file.
    """
    wanted = as_ids(wanted, None, f"requested {what} ids")
    if (wanted.dtype.kind == "U") != (ids.dtype.kind == "U"):
        ids, wanted = _comparable(ids, what), _comparable(wanted, f"requested {what}")
    position = {key: i for i, key in enumerate(ids.tolist())}
    missing = [key for key in wanted.tolist() if key not in position]
    if missing:
        hint = ""
        if (wanted.dtype.kind == "U") != (ids.dtype.kind == "U"):
            hint = (f" (the requested ids are {'strings' if wanted.dtype.kind == 'U' else 'integers'} and the "
                    f"responses' are {'strings' if ids.dtype.kind == 'U' else 'integers'}: convert one side)")
        raise DataError(f"{len(missing)} of {wanted.size} requested {what} ids are not in the responses, "
                        f"e.g. {missing[:5]}; the responses have {what} ids such as {ids[:5].tolist()}{hint}")
    return np.fromiter((position[key] for key in wanted.tolist()), dtype=np.int64, count=wanted.size)


def _comparable(ids: np.ndarray, what: str) -> np.ndarray:
    """Integer ids as they are; string ids as integers when every one is a run of ASCII digits."""
    if ids.dtype.kind != "U" or not all(key.isascii() and key.isdigit() for key in ids.tolist()):
        return ids
    values = ids.astype(np.int64)
    if np.unique(values).size < values.size:
        raise DataError(f"{what} ids {ids[:5].tolist()}... name the same number twice (e.g. '1' and '01'); "
                        "they cannot be matched to integer ids")
    return values


def check_trials(trials, name: str = "trials") -> np.ndarray:
    """Single-trial responses float [S, N, T]; NaN marks a repeat that was not recorded.

    inf is refused, and every (stimulus, neuron) needs at least one recorded trial.
    Float32 input stays float32 (halves the memory of large simulated populations).
    """
    arr = as_real_array(trials, name, ndim=3, dtype=None)
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
    if 0 in arr.shape:
        raise DataError(f"{name}: is empty (shape {arr.shape}); need at least one stimulus, neuron and trial")
    if np.isinf(arr).any():
        bad = tuple(int(i) for i in np.argwhere(np.isinf(arr))[0])
        raise DataError(f"{name}: contains inf at index {bad}")
    recorded = np.isfinite(arr).any(axis=2)
    if not recorded.all():
        s, n = (int(i) for i in np.argwhere(~recorded)[0])
        raise DataError(f"{name}: stimulus {s}, neuron {n} has no recorded trial (all NaN); "
                        f"{int((~recorded).sum())} such stimulus-neuron pairs")
    return arr
