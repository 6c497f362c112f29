"""NWB files: a units table with spike times plus a table of stimulus presentations.

pynwb is imported here only, when an NWB file is read (it takes about a second to import).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError
from .responses import Responses
from .spikes import DEFAULT_WINDOW, check_window, responses_from_spike_times


def read_nwb(path, window=None, presentations: str | None = None, stimulus_column: str = "stimulus_id") -> Responses:
    """Responses in spikes/s from an NWB file's spike times.

    Units: ``nwbfile.units`` with a ``spike_times`` column (neuron ids: the units' ids).
    Presentations: an intervals table (``nwbfile.trials`` or one in ``nwbfile.intervals``) with
    ``start_time`` (stimulus onset, s) and ``stimulus_column``; ``presentations`` names it, else
    the one table that has that column is used. Each presentation contributes the spike count in
    ``window`` (default 50-300 ms after onset) divided by its duration; repeats of a stimulus
    become trials, averaged into rates.
    """
    from pynwb import NWBHDF5IO

    path = Path(path)
    window = check_window(DEFAULT_WINDOW if window is None else window)
    try:
        io = NWBHDF5IO(str(path), mode="r")
    except Exception as exc:  # h5py, hdmf and pynwb each raise their own types on damaged files
        raise DataError(f"{path}: cannot be read as an NWB file ({type(exc).__name__}: {exc})") from None
    with io:
        try:
            nwbfile = io.read()
        except Exception as exc:
            raise DataError(f"{path}: cannot be read as an NWB file ({type(exc).__name__}: {exc})") from None
        units = nwbfile.units
        if units is None or len(units) == 0:
            raise DataError(f"{path}: has no units table (nwbfile.units); faceit needs spike times per unit")
        if "spike_times" not in units.colnames:
            raise DataError(f"{path}: the units table has no spike_times column (columns: {list(units.colnames)})")
        ends = np.asarray(units["spike_times"].data[:], dtype=np.int64)
        flat = np.asarray(units["spike_times"].target.data[:], dtype=np.float64)
        spike_times = np.split(flat, ends[:-1])
        neuron_ids = np.asarray(units.id[:])

        table_name, table = _presentation_table(nwbfile, presentations, stimulus_column, path)
        onsets = np.asarray(table["start_time"].data[:], dtype=np.float64)
        shown = np.asarray(table[stimulus_column].data[:])
        metadata = {"presentations": table_name, "stimulus_column": stimulus_column,
                    "session_description": nwbfile.session_description, "identifier": nwbfile.identifier}
    return responses_from_spike_times(spike_times, onsets, shown, window=window, neuron_ids=neuron_ids,
                                      metadata=metadata)


def _presentation_table(nwbfile, name, stimulus_column, path):
    tables = dict(nwbfile.intervals) if nwbfile.intervals else {}
    if name is not None:
        if name not in tables:
            raise DataError(f"{path}: has no intervals table {name!r}; it has {sorted(tables)}")
        table = tables[name]
        if stimulus_column not in table.colnames:
            raise DataError(f"{path}: table {name!r} has no column {stimulus_column!r} "
                            f"(columns: {list(table.colnames)})")
        return name, table
    having = sorted(key for key, table in tables.items() if stimulus_column in table.colnames)
    if len(having) != 1:
        found = "no intervals table" if not having else f"several intervals tables ({having})"
        raise DataError(f"{path}: {found} with a {stimulus_column!r} column; name the table of stimulus "
                        f"presentations with presentations=... (tables: {sorted(tables)})")
    return having[0], tables[having[0]]
