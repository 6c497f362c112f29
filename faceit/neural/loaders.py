"""load_responses: read recorded responses from .npz/.npy, .mat (v5 and v7.3), .h5/.hdf5, .csv and .nwb.

Array files (npz, mat, h5) hold named arrays: ``rates`` [stimuli, neurons] and/or ``trials``
[stimuli, neurons, trials] (NaN for repeats not recorded), with optional ``stimulus_ids`` and
``neuron_ids``; other names are mapped with ``keys``. A file holding a single 2-D or 3-D array
needs no names. CSV files are one row per stimulus: a header row, stimulus ids in the first
column and one column per neuron (the header names the neurons). NWB files hold spike times,
which become counts in a window after each presentation (see :mod:`faceit.neural.nwb`).
Every problem is a DataError that names the file.
"""

from __future__ import annotations

import contextlib
import csv
import zipfile
from pathlib import Path

import numpy as np

from .._validation import check_choice
from ..errors import ConfigError, DataError, FaceitError
from .responses import Responses
from .spikes import check_window
from .tuning import Tuning

FORMATS = {".npz": "npz", ".npy": "npy", ".mat": "mat", ".h5": "hdf5", ".hdf5": "hdf5", ".csv": "csv", ".nwb": "nwb"}
FIELDS = ("rates", "trials", "stimulus_ids", "neuron_ids")
#: Names tried, in order, for each field when ``keys`` does not name it.
DEFAULT_KEYS = {"rates": ("rates", "responses"), "trials": ("trials",), "stimulus_ids": ("stimulus_ids",),
                "neuron_ids": ("neuron_ids",)}
ORIENTATIONS = ("stimuli_neurons", "neurons_stimuli")


def load_responses(path, *, keys: dict | None = None, orientation: str = "stimuli_neurons",
                   duplicates: str = "error", window=None, presentations: str | None = None,
                   stimulus_column: str = "stimulus_id") -> Responses:
    """Read responses from ``path``; the format follows the extension.

    keys: array files only; maps fields ("rates", "trials", "stimulus_ids", "neuron_ids") to the
        names in the file, e.g. ``{"rates": "psth"}``, or ``{"rates": "session1/psth"}`` for a dataset
        in an HDF5 group or a field of a MATLAB struct.
    orientation: "stimuli_neurons" (rows are stimuli) or "neurons_stimuli" (rows are neurons, as
        many MATLAB pipelines store them; trials then [neurons, stimuli, trials]).
    duplicates: "error" (default: repeated stimulus ids are a DataError) or "trials" (rows are
        single presentations: repeats of a stimulus id become trials, averaged into rates).
    window, presentations, stimulus_column: NWB only; see :func:`faceit.neural.nwb.read_nwb`.
    Returns Responses with ``metadata["source"]`` the file and ``metadata["format"]`` its format.
    """
    path = Path(path)
    check_choice(orientation, "orientation", ORIENTATIONS)
    check_choice(duplicates, "duplicates", ("error", "trials"))
    if keys is not None:
        if not isinstance(keys, dict) or set(keys) - set(FIELDS):
            raise ConfigError(f"keys must be a dict with keys among {list(FIELDS)}, got {keys!r}")
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataError(f"{path}: unknown extension {path.suffix!r}; faceit reads {', '.join(sorted(FORMATS))}")
    nwb_options = window is not None or presentations is not None or stimulus_column != "stimulus_id"
    if fmt == "nwb" and (keys is not None or orientation != "stimuli_neurons" or duplicates != "error"):
        raise ConfigError("keys, orientation and duplicates do not apply to NWB files (spike times are binned)")
    if fmt != "nwb" and nwb_options:
        raise ConfigError("window, presentations and stimulus_column apply to NWB files only")
    if window is not None:
        window = check_window(window)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if not path.is_file():
        raise DataError(f"{path}: is not a file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty (0 bytes)")

    with _naming(path, fmt):
        if fmt == "nwb":
            from .nwb import read_nwb  # pynwb is slow to import: only when an NWB file is read

            responses = read_nwb(path, window=window, presentations=presentations, stimulus_column=stimulus_column)
        elif fmt == "csv":
            responses = _build(_read_csv(path, orientation), keys, orientation, duplicates)
        elif fmt in ("npz", "npy"):
            responses = _read_numpy(path, keys, orientation, duplicates)
        elif fmt == "hdf5" or _is_hdf5(path):  # MATLAB v7.3 .mat files are HDF5
            responses = _read_hdf5(path, keys, orientation, duplicates, matlab=(fmt == "mat"))
        else:
            responses = _build(_read_mat_v5(path), keys, orientation, duplicates)
    origin = responses.metadata.get("source")
    responses.metadata = {**responses.metadata, "source": str(path), "format": fmt}
    if origin is not None and origin != str(path):
        responses.metadata["origin"] = origin  # e.g. a simulated population saved with Responses.save
    return responses


@contextlib.contextmanager
def _naming(path: Path, fmt: str):
    """Turn every failure while reading ``path`` into a DataError that names it."""
    try:
        yield
    except ConfigError:
        raise
    except FaceitError as exc:
        message = str(exc)
        raise type(exc)(message if message.startswith(str(path)) else f"{path}: {message}") from None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: cannot be read as a {fmt} file, it may be corrupt or truncated "
                        f"({type(exc).__name__}: {exc})") from None


# --------------------------------------------------------------------------- from named arrays
def _build(fields: dict, keys: dict | None, orientation: str, duplicates: str) -> Responses:
    """Responses from a mapping of names to arrays (or h5py datasets) read from one file."""
    chosen = _choose(fields, keys)
    rates = _read_field(fields, chosen, "rates")
    trials = _read_field(fields, chosen, "trials")
    stimulus_ids = _read_field(fields, chosen, "stimulus_ids")
    neuron_ids = _read_field(fields, chosen, "neuron_ids")
    if rates is not None:
        rates = _numeric(rates, "rates", ndim=2)
        if orientation == "neurons_stimuli":
            rates = rates.T
    if trials is not None:
        trials = _numeric(trials, "trials", ndim=3)
        if orientation == "neurons_stimuli":
            trials = trials.transpose(1, 0, 2)
    meta = {"keys": {field: name for field, name in chosen.items()}}
    if duplicates == "trials":
        if trials is not None:
            raise ConfigError("duplicates='trials' treats rows of rates as single presentations; "
                              "this file already has a trials array")
        if stimulus_ids is None:
            raise DataError("duplicates='trials' needs stimulus ids to group presentations, and the file has none")
        return Responses.from_presentations(rates, stimulus_ids, neuron_ids=neuron_ids, metadata=meta)
    try:
        if rates is None:
            return Responses.from_trials(trials, stimulus_ids=stimulus_ids, neuron_ids=neuron_ids, metadata=meta)
        return Responses(rates, trials, stimulus_ids, neuron_ids, metadata=meta)
    except DataError as exc:
        if "stimulus_ids: duplicate ids" in str(exc):
            raise DataError(f"{exc}; if rows are repeated presentations of the same stimuli, pass "
                            "duplicates='trials'") from None
        data = rates if rates is not None else trials
        if _transposed(data, stimulus_ids, neuron_ids):
            other = "neurons_stimuli" if orientation == "stimuli_neurons" else "stimuli_neurons"
            raise DataError(f"{exc}; the ids fit the other axis: is the file {other.replace('_', ' x ')}? "
                            f"pass orientation={other!r}") from None
        raise


def _transposed(data, stimulus_ids, neuron_ids) -> bool:
    """True when the id lists fit the data's first two axes the other way round."""
    lengths = [None if ids is None else np.size(ids) for ids in (stimulus_ids, neuron_ids)]
    stimuli, neurons = data.shape[:2]
    return (lengths[0] in (None, neurons) and lengths[1] in (None, stimuli) and lengths != [None, None]
            and stimuli != neurons)


def _choose(fields: dict, keys: dict | None) -> dict:
    """Which name in the file holds each field."""
    keys = keys or {}
    chosen = {}
    for field in FIELDS:
        if field in keys:
            if keys[field] not in fields:
                raise DataError(f"has no array named {keys[field]!r} (for {field}); it holds {sorted(fields)}")
            chosen[field] = keys[field]
        else:
            found = [name for name in DEFAULT_KEYS[field] if name in fields]
            if found:
                chosen[field] = found[0]
    if "rates" not in chosen and "trials" not in chosen:
        candidates = [name for name, value in fields.items() if name not in chosen.values()
                      and getattr(value, "ndim", 0) in (2, 3) and np.dtype(value.dtype).kind in "biuf"]
        # MATLAB stores vectors and scalars as 2-D: prefer arrays that are matrices in every dimension
        matrices = [name for name in candidates if min(fields[name].shape) > 1]
        candidates = matrices or candidates
        if not candidates:
            raise DataError(f"has no array named 'rates' or 'trials' and no other 2-D or 3-D numeric array "
                            f"(it holds {sorted(fields)})")
        if len(candidates) > 1:
            raise DataError(f"has no array named 'rates' or 'trials' but {len(candidates)} candidate arrays "
                            f"{sorted(candidates)}; name one with keys={{'rates': ...}} or keys={{'trials': ...}}")
        chosen["rates" if fields[candidates[0]].ndim == 2 else "trials"] = candidates[0]
    return chosen


def _read_field(fields: dict, chosen: dict, field: str):
    if field not in chosen:
        return None
    value = fields[chosen[field]]
    return value() if callable(value) else np.asarray(value)


def _numeric(value: np.ndarray, name: str, ndim: int) -> np.ndarray:
    shape = {2: "[stimuli, neurons]", 3: "[stimuli, neurons, trials]"}[ndim]
    if value.ndim != ndim:
        raise DataError(f"{name} has shape {value.shape}; expected a {ndim}-D array {shape}")
    if value.dtype.kind not in "biuf":
        raise DataError(f"{name} holds {value.dtype} values; expected numbers")
    if value.size == 0:
        raise DataError(f"{name} is empty (shape {value.shape})")
    return value


# --------------------------------------------------------------------------- numpy
def _read_numpy(path: Path, keys, orientation, duplicates) -> Responses:
    if path.suffix.lower() == ".npy":
        array = np.load(path, allow_pickle=False)
        return _build({"array": array}, None, orientation, duplicates)
    with np.load(path, allow_pickle=False) as archive:
        fields = {name: archive[name] for name in archive.files}
    if "faceit_responses_version" in fields:  # written by Responses.save
        return _from_faceit_archive(fields)
    return _build(fields, keys, orientation, duplicates)


def _from_faceit_archive(fields: dict) -> Responses:
    import json

    tuning = Tuning.from_arrays(fields) if "tuning_axes" in fields else None
    return Responses(fields["rates"], fields.get("trials"), fields["stimulus_ids"], fields["neuron_ids"], tuning,
                     json.loads(str(fields["metadata_json"])),
                     ids_are_row_numbers=bool(fields.get("stimulus_ids_are_row_numbers", False)))


# --------------------------------------------------------------------------- MATLAB v5 (scipy) and CSV
def _read_mat_v5(path: Path) -> dict:
    from scipy.io import loadmat

    try:
        data = loadmat(path, chars_as_strings=True)
    except Exception as exc:  # scipy raises MatReadError, ValueError, TypeError... on damaged files
        raise DataError(f"cannot be read as a MATLAB file, it may be corrupt or truncated ({exc})") from None
    fields = {}
    for name, value in data.items():
        if not name.startswith("__"):
            _flatten_mat_struct(name, value, fields)
    return fields


def _flatten_mat_struct(name: str, value, fields: dict) -> None:
    """Add a MATLAB variable to ``fields``; fields of a scalar struct become "name/field" (as in HDF5)."""
    if isinstance(value, np.ndarray) and value.dtype.names and value.size == 1:
        for field in value.dtype.names:
            _flatten_mat_struct(f"{name}/{field}", value[field].item(), fields)
    else:
        fields[name] = _matlab_cellstr(value)


def _matlab_cellstr(value):
    """MATLAB cell arrays of strings or numbers (object arrays from scipy) as plain 1-D arrays.

    Rows of MATLAB char matrices are padded with blanks: those are stripped.
    """
    if isinstance(value, np.ndarray) and value.dtype.kind == "U":
        return np.char.rstrip(value)
    if isinstance(value, np.ndarray) and value.dtype == object:
        items = [item.item() if isinstance(item, np.ndarray) and item.size == 1 else item for item in value.ravel()]
        if all(isinstance(item, (str, int, float, np.generic)) for item in items):
            return np.asarray(items)
    return value


def _read_csv(path: Path, orientation: str) -> dict:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = [row for row in csv.reader(fh) if row and any(cell.strip() for cell in row)]
    if len(rows) < 2:
        raise DataError("needs a header row and at least one row of responses")
    header, body = rows[0], rows[1:]
    for line, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise DataError(f"line {line} has {len(row)} cells but the header has {len(header)}")
    if len(header) < 2:
        raise DataError("needs an id column followed by at least one column of responses")
    try:
        values = np.array([[float(cell) for cell in row[1:]] for row in body])
    except ValueError:
        for line, row in enumerate(body, start=2):
            for column, cell in zip(header[1:], row[1:]):
                try:
                    float(cell)
                except ValueError:
                    raise DataError(f"line {line}, column {column!r}: {cell!r} is not a number") from None
        raise
    row_ids = _maybe_int([row[0].strip() for row in body])
    column_ids = _maybe_int([cell.strip() for cell in header[1:]])
    row_field, column_field = ("stimulus_ids", "neuron_ids") if orientation == "stimuli_neurons" \
        else ("neuron_ids", "stimulus_ids")
    return {"rates": values, row_field: row_ids, column_field: column_ids}


def _maybe_int(cells: list[str]) -> np.ndarray:
    try:
        return np.array([int(cell) for cell in cells], dtype=np.int64)
    except ValueError:
        return np.array(cells, dtype=str)


# --------------------------------------------------------------------------- HDF5 and MATLAB v7.3
def _is_hdf5(path: Path) -> bool:
    import h5py

    return h5py.is_hdf5(path)


def _read_hdf5(path: Path, keys, orientation, duplicates, matlab: bool) -> Responses:
    import h5py

    with h5py.File(path, "r") as fh:
        fields = {}

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and not name.startswith("#"):  # MATLAB's #refs# and #subsystem#
                fields[name] = _Mat73Variable(obj, fh) if matlab else _Hdf5Variable(obj)

        fh.visititems(visit)
        return _build(fields, keys, orientation, duplicates)


class _Hdf5Variable:
    """A dataset read in numpy's (C) order; byte strings decoded."""

    def __init__(self, dataset):
        self.dataset, self.ndim, self.shape, self.dtype = dataset, dataset.ndim, dataset.shape, dataset.dtype

    def __call__(self) -> np.ndarray:
        value = self.dataset[()]
        if isinstance(value, np.ndarray) and value.dtype.kind in "OS":
            value = np.array([v.decode() if isinstance(v, bytes) else v for v in value.ravel()]).reshape(value.shape)
        return np.asarray(value)


class _Mat73Variable:
    """A MATLAB v7.3 variable: stored column-major (axes reversed), chars as uint16, cells as references."""

    def __init__(self, dataset, fh):
        self.dataset, self.fh, self.ndim, self.shape = dataset, fh, dataset.ndim, dataset.shape
        self.matlab_class = _attr(dataset, "MATLAB_class")
        self.dtype = np.dtype(object) if self.matlab_class in ("char", "cell") else dataset.dtype

    def __call__(self) -> np.ndarray:
        return _mat73_value(self.dataset, self.fh)


def _attr(dataset, name):
    value = dataset.attrs.get(name)
    return value.decode() if isinstance(value, bytes) else value


def _mat73_value(dataset, fh):
    if _attr(dataset, "MATLAB_empty"):
        return np.zeros((0,))
    matlab_class = _attr(dataset, "MATLAB_class")
    data = dataset[()]
    if matlab_class == "char":
        codes = np.atleast_2d(data).T  # MATLAB [rows, chars]
        strings = ["".join(map(chr, row)) for row in codes]
        return strings[0] if len(strings) == 1 else np.asarray(strings)
    if matlab_class == "cell":
        items = [_mat73_value(fh[ref], fh) for ref in data.T.ravel()]
        return np.asarray(items)
    value = np.asarray(data).T
    return value.astype(bool) if matlab_class == "logical" else value
