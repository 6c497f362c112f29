"""The Responses container: firing rates of recorded (or simulated) neurons to a set of stimuli."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .._io import atomic_path
from .._validation import as_matrix, zscore_columns
from ..errors import ConfigError, DataError
from ._checks import as_ids, check_trials, index_of
from .reliability import noise_ceiling
from .tuning import Tuning

#: Written into every archive that :meth:`Responses.save` makes; bumped if the layout changes.
FORMAT_VERSION = 1


@dataclass(eq=False)
class Responses:
    """Responses of N neurons to S stimuli.

    rates: float [S, N], trial-averaged responses (spikes/s unless ``metadata["units"]`` says otherwise).
    trials: float [S, N, T] | None, single-trial responses in the same units; NaN marks a repeat
        that was not recorded (stimuli shown a different number of times). ``rates`` is their mean.
    stimulus_ids: [S] int or str, unique (default 0..S-1); rows follow this order.
    neuron_ids: [N] int or str, unique (default 0..N-1).
    tuning: the ground truth of a simulated population, else None.
    metadata: free-form dict (source file, window, units, ...), saved as JSON.
    ids_are_row_numbers: whether the stimulus ids only number the rows (None: exactly when
        ``stimulus_ids`` is None); :meth:`rows_for` then pairs the rows with stimuli by position.

    Validated on construction: rates finite, shapes consistent, ids unique.
    """

    rates: np.ndarray
    trials: np.ndarray | None = None
    stimulus_ids: np.ndarray | None = None
    neuron_ids: np.ndarray | None = None
    tuning: Tuning | None = None
    metadata: dict = field(default_factory=dict)
    #: True when the stimulus ids are row numbers, not names (None: True exactly when no
    #: stimulus_ids were given); subsets, zscore, copies and files keep it
    ids_are_row_numbers: bool | None = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        self.rates = as_matrix(self.rates, "rates")
        n_stim, n_neurons = self.rates.shape
        if self.trials is not None:
            self.trials = check_trials(self.trials)
            if self.trials.shape[:2] != self.rates.shape:
                raise DataError(f"trials has shape {self.trials.shape} but rates has shape {self.rates.shape}; "
                                "expected trials [stimuli, neurons, trials] matching rates [stimuli, neurons]")
        if not isinstance(self.metadata, dict):
            raise DataError(f"metadata must be a dict, got {type(self.metadata).__name__}")
        if self.ids_are_row_numbers is None:
            self.ids_are_row_numbers = self.stimulus_ids is None
        self.ids_are_row_numbers = bool(self.ids_are_row_numbers)
        self.stimulus_ids = as_ids(self.stimulus_ids, n_stim, "stimulus_ids")
        self.neuron_ids = as_ids(self.neuron_ids, n_neurons, "neuron_ids")
        if self.tuning is not None:
            if not isinstance(self.tuning, Tuning):
                raise DataError(f"tuning must be a faceit.neural.Tuning or None, got {type(self.tuning).__name__}")
            if self.tuning.n_neurons != n_neurons:
                raise DataError(f"tuning describes {self.tuning.n_neurons} neurons but rates has {n_neurons}")

    # ----------------------------------------------------------------------------- construction
    @classmethod
    def from_trials(cls, trials, **kwargs) -> "Responses":
        """Responses whose rates are the mean over recorded trials of ``trials`` float [S, N, T]."""
        trials = check_trials(trials)
        return cls(rates=np.nanmean(trials, axis=2, dtype=np.float64), trials=trials, **kwargs)

    @classmethod
    def from_presentations(cls, values, stimulus_ids, **kwargs) -> "Responses":
        """Group single presentations into trials and average them.

        values: float [P, N], one row per presentation; stimulus_ids: [P], the stimulus shown in
        each (repeats expected). Stimuli keep the order of their first presentation; trials are
        NaN-padded to the largest number of repeats.
        """
        values = as_matrix(values, "values")
        shown = as_ids(stimulus_ids, values.shape[0], "stimulus_ids", unique=False)
        _, first, which = np.unique(shown, return_index=True, return_inverse=True)
        order = np.argsort(first)  # unique ids sorted -> order of first appearance
        stimulus_of = np.argsort(order)[which.ravel()]  # presentation -> stimulus row
        by_stimulus = np.argsort(stimulus_of, kind="stable")
        counts = np.bincount(stimulus_of, minlength=order.size)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        repeat = np.empty(values.shape[0], dtype=np.int64)
        repeat[by_stimulus] = np.arange(values.shape[0]) - np.repeat(starts, counts)
        trials = np.full((order.size, values.shape[1], counts.max()), np.nan)
        trials[stimulus_of, :, repeat] = values
        return cls.from_trials(trials, stimulus_ids=shown[first[order]], **kwargs)

    # ----------------------------------------------------------------------------- shape
    @property
    def n_stimuli(self) -> int:
        return self.rates.shape[0]

    @property
    def n_neurons(self) -> int:
        return self.rates.shape[1]

    @property
    def n_trials(self) -> int:
        """Trial slots per stimulus (0 without trials); some may be NaN where repeats differ."""
        return 0 if self.trials is None else self.trials.shape[2]

    def __repr__(self) -> str:
        source = self.metadata.get("source")
        return (f"Responses(n_stimuli={self.n_stimuli}, n_neurons={self.n_neurons}, n_trials={self.n_trials}"
                f"{', tuning=' + repr(self.tuning.kind) if self.tuning is not None else ''}"
                f"{', source=' + repr(source) if source else ''})")

    # ----------------------------------------------------------------------------- selection
    def subset(self, stimulus_ids=None, neuron_ids=None) -> "Responses":
        """The responses to the given stimuli and/or neurons, in the order given (None keeps all).

        Raises DataError naming the ids that are not present, or ids requested twice.
        """
        rows = slice(None) if stimulus_ids is None else index_of(self.stimulus_ids, stimulus_ids, "stimulus")
        cols = slice(None) if neuron_ids is None else index_of(self.neuron_ids, neuron_ids, "neuron")
        return self._take(rows, cols)

    @property
    def has_stimulus_ids(self) -> bool:
        """False when the stimulus ids are only row numbers (a file or array that named no stimuli)."""
        return not self.ids_are_row_numbers

    def rows_for(self, stimuli, name: str = "responses", *, named: bool = True) -> "Responses":
        """The responses to ``stimuli`` (a Stimuli, or a list of ids), row for row, under their ids.

        By stimulus id (:meth:`align_to`; "000005" and 5 are one id) when both sides name their
        stimuli. When either side only numbers its rows (responses read or made without stimulus
        ids, images given without names: a Stimuli knows, a list of ids says so with ``named``),
        row numbers from two sources cannot be trusted to agree, so rows pair by position: the
        counts must agree, and the rows take the stimuli's ids, so that later selections by id
        hold. The one rule faceit's entry points use to pair responses with stimuli.
        """
        ids = as_ids(getattr(stimuli, "ids", stimuli), None, f"{name}: the stimuli's ids")
        stimuli_named = getattr(stimuli, "has_ids", named)
        if self.has_stimulus_ids and stimuli_named:
            return self.align_to(ids)
        if ids.size != self.n_stimuli:
            raise DataError(f"{name}: {'these responses' if not self.has_stimulus_ids else 'the stimuli'} have no "
                            f"ids of their own, so rows pair by position, but there are {self.n_stimuli} responses "
                            f"for {ids.size} stimuli; select the same stimuli on both sides, or give both ids")
        return replace(self, stimulus_ids=ids, ids_are_row_numbers=not stimuli_named)

    def align_to(self, stimuli) -> "Responses":
        """Reorder (and subset) rows to match ``stimuli``: a list of stimulus ids, or anything with ``.ids``.

        Use it to line responses up with the images they answer: every image needs a response
        (DataError naming the missing ids otherwise); responses to other stimuli are dropped.
        """
        ids = getattr(stimuli, "ids", stimuli)
        try:
            return self.subset(stimulus_ids=ids)
        except DataError as exc:
            raise DataError(f"cannot align the responses to the stimuli: {exc}") from None

    def _take(self, rows, cols) -> "Responses":
        trials = None if self.trials is None else self.trials[rows][:, cols]
        tuning = None
        if self.tuning is not None:
            tuning = self.tuning if isinstance(cols, slice) else self.tuning.subset(cols)
        return Responses(self.rates[rows][:, cols], trials, self.stimulus_ids[rows], self.neuron_ids[cols], tuning,
                         dict(self.metadata), ids_are_row_numbers=self.ids_are_row_numbers)

    # ----------------------------------------------------------------------------- transforms
    def zscore(self) -> "Responses":
        """Rates z-scored per neuron over stimuli; trials mapped by the same affine transform.

        Neurons that respond identically to every stimulus are dropped with a warning.
        """
        z, kept = zscore_columns(self.rates, "rates")
        mean, std = self.rates[:, kept].mean(axis=0), self.rates[:, kept].std(axis=0)
        trials = None if self.trials is None else (self.trials[:, kept] - mean[:, None]) / std[:, None]
        tuning = None if self.tuning is None else self.tuning.subset(kept)
        return replace(self, rates=z, trials=trials, neuron_ids=self.neuron_ids[kept], tuning=tuning,
                       metadata={**self.metadata, "units": "z-score"})

    def noise_ceiling(self, n_splits: int = 100, seed: int = 0) -> np.ndarray:
        """Per-neuron split-half reliability float [N] (see :func:`faceit.neural.noise_ceiling`)."""
        if self.trials is None:
            raise DataError("these responses have no single trials; a noise ceiling needs trials [S, N, T]")
        return noise_ceiling(self.trials, n_splits=n_splits, seed=seed)

    # ----------------------------------------------------------------------------- persistence
    def save(self, path) -> Path:
        """Write an .npz archive atomically (read it back with :func:`faceit.neural.load_responses`)."""
        path = Path(path)
        if path.suffix != ".npz":
            raise ConfigError(f"Responses.save: path {str(path)!r} must end in .npz")
        try:
            metadata_json = json.dumps(self.metadata, default=_json_default)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"Responses.save: metadata cannot be written as JSON ({exc})") from None
        arrays = {"faceit_responses_version": np.asarray(FORMAT_VERSION), "rates": self.rates,
                  "stimulus_ids": self.stimulus_ids, "neuron_ids": self.neuron_ids,
                  "metadata_json": np.asarray(metadata_json),
                  "stimulus_ids_are_row_numbers": np.asarray(self.ids_are_row_numbers)}
        if self.trials is not None:
            arrays["trials"] = self.trials
        if self.tuning is not None:
            arrays.update(self.tuning.to_arrays())
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        return path


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (np.ndarray, tuple)):
        return np.asarray(value).tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
