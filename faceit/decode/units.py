"""Decoding model units from their matched neurons: unit_k ~ a_k + b_k * rate_{neuron(k)}."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import as_matrix, check_same_rows
from ..compare import Matching, match_units
from ..compare._inputs import rate_matrix
from ..errors import DataError
from ..representation import Representation


def _units_array(units, name: str) -> np.ndarray:
    return as_matrix(units.units if isinstance(units, Representation) else units, name)


@dataclass(frozen=True)
class LinearDecoder:
    """Per-pair least-squares fits, one neuron per unit.

    unit_index [P], neuron_index [P]: the matched pairs; intercept [P], slope [P]: the fit of
    each unit on its neuron over the training stimuli; n_units: K, columns of the output.
    Units without a neuron decode to the prior mean 0.
    """

    unit_index: np.ndarray
    neuron_index: np.ndarray
    intercept: np.ndarray
    slope: np.ndarray
    n_units: int

    @classmethod
    def fit(cls, units_train, rates_train, matching: Matching) -> LinearDecoder:
        units = _units_array(units_train, "units_train")
        rates = rate_matrix(rates_train, "rates_train")
        check_same_rows(units, "units_train", rates, "rates_train")
        u_idx = np.asarray(matching.unit_index, dtype=np.int64)
        n_idx = np.asarray(matching.neuron_index, dtype=np.int64)
        if u_idx.size and (u_idx.max() >= units.shape[1] or n_idx.max() >= rates.shape[1]):
            raise DataError(f"matching: refers to unit {u_idx.max()} / neuron {n_idx.max()}, but units_train has "
                            f"{units.shape[1]} columns and rates_train {rates.shape[1]}")
        if len(set(u_idx.tolist())) != u_idx.size or len(set(n_idx.tolist())) != n_idx.size:
            raise DataError("matching: each unit and each neuron may appear in at most one pair")
        y = units[:, u_idx]
        x = rates[:, n_idx]
        xc = x - x.mean(axis=0)
        var = (xc * xc).sum(axis=0)
        if np.any(var == 0):
            bad = n_idx[var == 0][0]
            raise DataError(f"rates_train: matched neuron {bad} is constant over the training stimuli")
        slope = (xc * (y - y.mean(axis=0))).sum(axis=0) / var
        intercept = y.mean(axis=0) - slope * x.mean(axis=0)
        return cls(u_idx, n_idx, intercept, slope, units.shape[1])

    def predict(self, rates) -> np.ndarray:
        """Decoded units [N, K] from rates [N, N_neurons] (only the matched neurons are read)."""
        rates = rate_matrix(rates, "rates_test")
        if self.neuron_index.size and self.neuron_index.max() >= rates.shape[1]:
            raise DataError(f"rates_test: has {rates.shape[1]} neurons, the decoder reads neuron "
                            f"{self.neuron_index.max()}")
        out = np.zeros((rates.shape[0], self.n_units))
        out[:, self.unit_index] = self.intercept + self.slope * rates[:, self.neuron_index]
        return out


def decode_units(units_train, rates_train, rates_test, matching: Matching | None = None) -> np.ndarray:
    """Decode every unit for held-out stimuli from its one matched neuron.

    units_train [N_train, K] (or a Representation: the matching then uses informative units only),
    rates_train [N_train, M], rates_test [N_test, M]. matching: pairs to use; by default
    :func:`faceit.compare.match_units` on the training data (never on the test data).
    Returns decoded units [N_test, K]; units without a neuron get the prior mean 0.
    """
    if matching is None:
        check_same_rows(_units_array(units_train, "units_train"), "units_train",
                        rate_matrix(rates_train, "rates_train"), "rates_train")
        matching = match_units(units_train, rates_train)
    return LinearDecoder.fit(units_train, rates_train, matching).predict(rates_test)
