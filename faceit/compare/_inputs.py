"""Input preparation shared by the comparisons: containers in, z-scored float64 matrices out.

Units may be a plain array [N_stimuli, K] or a :class:`~faceit.representation.Representation`
(then only its informative units take part); rates may be a plain array [N_stimuli, N_neurons]
or anything with a ``.rates`` attribute (a faceit.neural.Responses). Columns are z-scored over
stimuli and constant columns are dropped with a warning; the ``*_index`` arrays map the kept
columns back to the caller's column numbers.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .._validation import as_matrix, check_same_rows, zscore_columns
from ..errors import DataError
from ..representation import Representation


def unit_matrix(units, name: str = "units") -> tuple[np.ndarray, np.ndarray]:
    """Raw units [N, K_informative] and their column numbers in the caller's array."""
    if isinstance(units, Representation):
        index = np.flatnonzero(units.informative)
        if index.size == 0:
            raise DataError(f"{name}: representation {units.name!r} has no informative unit (KL > 0.01)")
        return units.units[:, index], index
    arr = as_matrix(units, name)
    return arr, np.arange(arr.shape[1])


def rate_matrix(rates, name: str = "rates") -> np.ndarray:
    """Raw rates [N_stimuli, N_neurons] from an array or an object with a ``.rates`` attribute."""
    if hasattr(rates, "rates"):
        rates = rates.rates
    return as_matrix(rates, name)


def standardized(x: np.ndarray, index: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Z-score the columns of ``x``, drop constant ones; return (z, kept column numbers)."""
    if x.shape[0] < 2:
        raise DataError(f"{name}: need at least 2 stimuli (rows) to standardise, got {x.shape[0]}")
    z, kept = zscore_columns(x, name, warn=False)
    if kept.size == 0:
        raise DataError(f"{name}: every column is constant over the stimuli; nothing to compare")
    if kept.size < x.shape[1]:
        dropped = np.setdiff1d(np.arange(x.shape[1]), kept)
        warnings.warn(f"{name}: dropped {dropped.size} constant column(s) {dropped[:10].tolist()}"
                      f"{'...' if dropped.size > 10 else ''}", stacklevel=3)
    return z, index[kept]


@dataclass(frozen=True)
class Paired:
    """Z-scored units and rates over the same stimuli.

    units: [N, K] and rates: [N, M], each column mean 0 and variance 1 (population formula);
    unit_index [K] and neuron_index [M]: the caller's column numbers of the kept columns.
    """

    units: np.ndarray
    rates: np.ndarray
    unit_index: np.ndarray
    neuron_index: np.ndarray

    @property
    def n_stimuli(self) -> int:
        return self.units.shape[0]


def paired(units, rates, *, units_name: str = "units", rates_name: str = "rates") -> Paired:
    """Validate, standardise and pair units with rates (see the module docstring)."""
    raw_units, unit_index = unit_matrix(units, units_name)
    raw_rates = rate_matrix(rates, rates_name)
    check_same_rows(raw_units, units_name, raw_rates, rates_name)
    if raw_units.shape[0] < raw_units.shape[1]:
        raise DataError(f"{units_name}: {raw_units.shape[0]} stimuli is fewer than its {raw_units.shape[1]} "
                        "units; need at least as many stimuli as units")
    zu, unit_index = standardized(raw_units, unit_index, units_name)
    zr, neuron_index = standardized(raw_rates, np.arange(raw_rates.shape[1]), rates_name)
    return Paired(zu, zr, unit_index, neuron_index)
