"""From spike times to responses: counts in a window after each stimulus onset."""

from __future__ import annotations

import numpy as np

from .._validation import as_real_array, check_finite
from ..errors import ConfigError, DataError
from .responses import Responses

#: Default counting window after stimulus onset, seconds (the IT response starts ~50 ms after onset).
DEFAULT_WINDOW = (0.05, 0.30)


def check_window(window) -> tuple[float, float]:
    """``(start, stop)`` in seconds after onset, finite with start < stop."""
    try:
        start, stop = (float(x) for x in window)
    except (TypeError, ValueError):
        raise ConfigError(f"window must be (start, stop) in seconds after onset, got {window!r}") from None
    if not (np.isfinite(start) and np.isfinite(stop) and start < stop):
        raise ConfigError(f"window must be finite with start < stop, got {window!r}")
    return start, stop


def count_spikes(spike_times, onsets, window=DEFAULT_WINDOW) -> np.ndarray:
    """Spike counts int [P, N]: spikes of unit n in ``[onset_p + start, onset_p + stop)``.

    spike_times: a sequence of N 1-D arrays (seconds, any order); onsets: float [P] seconds.
    """
    start, stop = check_window(window)
    onsets = check_finite(as_real_array(onsets, "onsets", ndim=1), "onsets")
    if onsets.size == 0:
        raise DataError("onsets: no stimulus presentations")
    if len(spike_times) == 0:
        raise DataError("spike_times: no units")
    counts = np.empty((onsets.size, len(spike_times)), dtype=np.int64)
    for n, times in enumerate(spike_times):
        times = check_finite(as_real_array(times, f"spike_times[{n}]", ndim=1), f"spike_times[{n}]")
        times = np.sort(times)
        counts[:, n] = np.searchsorted(times, onsets + stop, "left") - np.searchsorted(times, onsets + start, "left")
    return counts


def responses_from_spike_times(spike_times, onsets, stimulus_ids, window=DEFAULT_WINDOW, neuron_ids=None,
                               metadata=None) -> Responses:
    """Responses in spikes/s from spike times and stimulus presentations.

    Counts in ``window`` after each onset (see :func:`count_spikes`) divided by its duration give
    one trial per presentation; repeats of a stimulus id become trials [S, N, T] (NaN-padded)
    and their mean the rates [S, N]. stimulus_ids: [P], the stimulus of each presentation.
    """
    start, stop = check_window(window)
    counts = count_spikes(spike_times, onsets, (start, stop))
    info = {**(metadata or {}), "window_s": [start, stop], "units": "spikes/s"}
    return Responses.from_presentations(counts / (stop - start), stimulus_ids, neuron_ids=neuron_ids, metadata=info)
