"""One-to-one matching of model units to neurons (design 4.2, Fig 7).

C_ij = |Pearson r(unit_i, neuron_j)| from z-scored data (r = U^T Y / n); the assignment
maximising sum C gives each unit a distinct neuron (all units when K <= M, else the M best).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import as_real_array, check_finite
from ..assign import linear_sum_assignment, linear_sum_assignment_batch
from ..errors import DataError
from ._inputs import paired


@dataclass(frozen=True)
class Matching:
    """Matched pairs, sorted by unit: unit_index [P] and neuron_index [P] (the caller's column
    numbers: Representation units count all units, informative or not), r [P] their signed
    Pearson correlation over stimuli; P = min(K informative units, M neurons)."""

    unit_index: np.ndarray
    neuron_index: np.ndarray
    r: np.ndarray

    def __len__(self) -> int:
        return int(self.r.shape[0])

    @property
    def mean_abs_r(self) -> float:
        """The "matched_r" statistic: mean |r| over the matched pairs."""
        return float(np.abs(self.r).mean())


def correlations(units_z: np.ndarray, rates_z: np.ndarray) -> np.ndarray:
    """Pearson r [K, M] between the columns of z-scored units [N, K] and rates [N, M]."""
    return units_z.T @ rates_z / units_z.shape[0]


def match_correlations(r):
    """Solve the matching on correlation matrices r [..., K, M] (one batched call).

    Returns (unit_pos [..., P], neuron_pos [..., P], matched r [..., P]) in positions of r's
    rows and columns, P = min(K, M). The stats engineer calls this on permuted correlations.
    """
    r = check_finite(as_real_array(r, "r"), "r")
    if r.ndim < 2:
        raise DataError(f"r: expected a [..., K, M] correlation array, got shape {r.shape}")
    batch = r.shape[:-2]
    if not batch:
        rows, cols = linear_sum_assignment(np.abs(r), maximize=True)
        return rows, cols, r[rows, cols]
    flat = r.reshape((-1,) + r.shape[-2:])
    rows, cols = linear_sum_assignment_batch(np.abs(flat), maximize=True)
    values = np.take_along_axis(flat.reshape(flat.shape[0], -1), rows * r.shape[-1] + cols, axis=1)
    p = rows.shape[-1]
    return rows.reshape(batch + (p,)), cols.reshape(batch + (p,)), values.reshape(batch + (p,))


def match_units(units, rates) -> Matching:
    """Match units [N_stimuli, K] (or a Representation) one-to-one to neurons of rates [N_stimuli, M].

    Data are z-scored per column (constant columns dropped with a warning); the assignment
    maximises the summed |r| through faceit.assign; the signed r of each pair is kept.
    """
    data = paired(units, rates)
    rows, cols, values = match_correlations(correlations(data.units, data.rates))
    return Matching(data.unit_index[rows], data.neuron_index[cols], values)
