"""The Representation container: what any model (β-VAE, PCA, AAM, ...) says about a set of stimuli."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._validation import as_matrix, as_real_array, check_finite
from .errors import DataError

#: A unit is informative when its KL divergence from the prior exceeds this many nats (design 4).
INFORMATIVE_KL = 0.01


@dataclass
class Representation:
    """Model units for a set of stimuli.

    units: float [N_stimuli, K], posterior means (or features for non-probabilistic models).
    kl: float [K] | None, mean KL per unit in nats, for models that have one.
    informative: bool [K], ``kl > 0.01`` when kl is known, else all True.
    name: a label for tables and figures.
    """

    units: np.ndarray
    kl: np.ndarray | None = None
    informative: np.ndarray | None = None
    name: str = "model"
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        self.units = as_matrix(self.units, f"{self.name}.units")
        k = self.units.shape[1]
        if self.kl is not None:
            self.kl = check_finite(as_real_array(self.kl, f"{self.name}.kl", ndim=1), f"{self.name}.kl")
            if self.kl.shape[0] != k:
                raise DataError(f"{self.name}.kl has {self.kl.shape[0]} entries but units has {k} columns")
        if self.informative is None:
            self.informative = (self.kl > INFORMATIVE_KL) if self.kl is not None else np.ones(k, dtype=bool)
        else:
            self.informative = np.asarray(self.informative, dtype=bool)
            if self.informative.shape != (k,):
                raise DataError(f"{self.name}.informative must have shape ({k},), got {self.informative.shape}")

    @property
    def n_units(self) -> int:
        return self.units.shape[1]

    @property
    def n_informative(self) -> int:
        return int(self.informative.sum())

    def informative_units(self) -> np.ndarray:
        """The informative columns only: float [N_stimuli, n_informative]."""
        return self.units[:, self.informative]
