"""Ground-truth tuning of a simulated population: ramp-shaped tuning along one axis in factor space.

Chang & Tsao (2017) found that face-patch neurons ramp along one axis of face space and are
flat orthogonal to it. Each simulated neuron ``n`` fires (spikes/s)::

    rate_n(f) = baseline_n + gain_n * softplus(slope_n * (axes_n · f - offset_n))

where ``f`` is a stimulus's factor vector and ``axes_n`` a unit vector. Moving ``f`` orthogonally
to ``axes_n`` leaves the rate unchanged; along it the rate rises smoothly from ``baseline_n``
and becomes linear (a ramp) past ``offset_n``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import as_matrix, as_real_array, check_finite
from ..errors import DataError

#: Kinds of simulated tuning: one factor per neuron, 2-3 factors, or dense random axes.
TUNING_KINDS = ("axis", "sparse", "mixed")


@dataclass(eq=False)
class Tuning:
    """Ground truth of a simulated population of ``N`` neurons over ``F`` factors.

    kind: "axis" | "sparse" | "mixed".
    axes: float [N, F], unit-norm tuning axis per neuron.
    baseline: float [N], spikes/s far on the flat side of the ramp.
    gain: float [N], spikes/s per unit of softplus (lognormal across neurons: heavy-tailed rates).
    slope: float [N], steepness of the ramp per unit of projection.
    offset: float [N], projection value where the ramp bends.
    uses: bool [N, F], which factors each neuron's axis involves.
    window_s: counting window of one trial in seconds (0.25 s).
    """

    kind: str
    axes: np.ndarray
    baseline: np.ndarray
    gain: np.ndarray
    slope: np.ndarray
    offset: np.ndarray
    uses: np.ndarray
    window_s: float = 0.25

    def __post_init__(self):
        if self.kind not in TUNING_KINDS:
            raise DataError(f"tuning.kind={self.kind!r} is not one of {list(TUNING_KINDS)}")
        self.axes = as_matrix(self.axes, "tuning.axes")
        n, f = self.axes.shape
        for name in ("baseline", "gain", "slope", "offset"):
            value = check_finite(as_real_array(getattr(self, name), f"tuning.{name}", ndim=1), f"tuning.{name}")
            if value.shape != (n,):
                raise DataError(f"tuning.{name} must have shape ({n},) like tuning.axes' rows, got {value.shape}")
            setattr(self, name, value)
        self.uses = np.asarray(self.uses, dtype=bool)
        if self.uses.shape != (n, f):
            raise DataError(f"tuning.uses must have shape {(n, f)}, got {self.uses.shape}")
        self.window_s = float(self.window_s)
        if not self.window_s > 0:
            raise DataError(f"tuning.window_s must be > 0 seconds, got {self.window_s}")

    @property
    def n_neurons(self) -> int:
        return self.axes.shape[0]

    @property
    def n_factors(self) -> int:
        return self.axes.shape[1]

    @property
    def primary_factor(self) -> np.ndarray:
        """int [N]: the factor with the largest absolute weight on each neuron's axis."""
        return np.argmax(np.abs(self.axes), axis=1)

    def rates(self, factors) -> np.ndarray:
        """Noise-free firing rates, float [S, N] in spikes/s, for ``factors`` float [S, F]."""
        factors = as_matrix(factors, "factors")
        if factors.shape[1] != self.n_factors:
            raise DataError(f"factors has {factors.shape[1]} columns but the tuning was drawn for "
                            f"{self.n_factors} factors")
        drive = self.slope * (factors @ self.axes.T - self.offset)
        return self.baseline + self.gain * np.logaddexp(0.0, drive)

    def subset(self, neuron_index) -> "Tuning":
        """The tuning of the neurons at ``neuron_index`` (int array), in that order."""
        idx = np.asarray(neuron_index)
        return Tuning(self.kind, self.axes[idx], self.baseline[idx], self.gain[idx], self.slope[idx],
                      self.offset[idx], self.uses[idx], self.window_s)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Flat arrays for an .npz archive (see :meth:`from_arrays`)."""
        return {"tuning_kind": np.asarray(self.kind), "tuning_axes": self.axes, "tuning_baseline": self.baseline,
                "tuning_gain": self.gain, "tuning_slope": self.slope, "tuning_offset": self.offset,
                "tuning_uses": self.uses, "tuning_window_s": np.asarray(self.window_s)}

    @classmethod
    def from_arrays(cls, arrays) -> "Tuning":
        return cls(kind=str(arrays["tuning_kind"]), axes=arrays["tuning_axes"], baseline=arrays["tuning_baseline"],
                   gain=arrays["tuning_gain"], slope=arrays["tuning_slope"], offset=arrays["tuning_offset"],
                   uses=arrays["tuning_uses"], window_s=float(arrays["tuning_window_s"]))

    def __repr__(self) -> str:
        return f"Tuning(kind={self.kind!r}, n_neurons={self.n_neurons}, n_factors={self.n_factors})"
