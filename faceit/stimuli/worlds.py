"""Named synthetic face worlds: which factors exist, their ranges and kinds, and how they shape a face.

Every factor is uniform in [-1, 1], drawn independently of the others. A factor is either an
"identity" factor (who the face is: eye size, ear size, hair colour, skin tone, nose) or a
"view" factor (how that face looks right now: expression). An identity classifier is trained
on fixed draws of the identity factors shown under varying view factors.

The worlds follow design section 5: factors come in mirror pairs or groups whose pixel effects
fall on separate regions, have comparable salience (summed squared pixel change per unit factor,
see :func:`faceit.stimuli.factor_salience`), never saturate, and are several pixels big at 32x32.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .._validation import as_matrix, check_positive_int
from ..errors import ConfigError, DataError
from .face import LANDMARK_NAMES, SKIN, FaceParams, draw_faces

IDENTITY = "identity"
VIEW = "view"

# Hair colour path, blond -> orange -> dark, piecewise linear in the factor.
_HAIR_PATH = np.array([(0.98, 0.88, 0.50), (0.88, 0.46, 0.13), (0.24, 0.14, 0.09)], dtype=np.float32)
# Skin tone: the default skin (at 0) lighter (-1) or darker (+1) along this unit direction in RGB.
_SKIN_DARK = np.array([-0.57, -0.60, -0.57], dtype=np.float32)

# Amplitudes per unit factor, tuned so that salience is comparable (docs/stimuli.md).
EYE_RADIUS, EYE_RADIUS_PER_UNIT = 0.062, 0.028
EAR_SCALE_PER_UNIT = 0.65
HAIR_CONTRAST = 0.587  # the path blond -> dark shrunk towards orange
MOUTH_RADIUS, MOUTH_RADIUS_PER_UNIT = 0.036, 0.031
BROW_DY_PER_UNIT = 0.030
SKIN_PER_UNIT = 0.21
SMILE_PER_UNIT = 0.06


@dataclass(frozen=True)
class Factor:
    """One generative factor, uniform on [low, high]."""

    name: str
    kind: str  # IDENTITY or VIEW
    description: str
    low: float = -1.0
    high: float = 1.0


@dataclass(frozen=True)
class World:
    """A named synthetic face world: its factors and the map from factor values to a face."""

    name: str
    description: str
    factors: tuple[Factor, ...]
    to_params: Callable[[dict[str, np.ndarray]], FaceParams]
    demo_size: int = 32

    @property
    def factor_names(self) -> list[str]:
        return [f.name for f in self.factors]

    @property
    def n_factors(self) -> int:
        return len(self.factors)

    @property
    def ranges(self) -> np.ndarray:
        """float [F, 2]: (low, high) per factor."""
        return np.array([(f.low, f.high) for f in self.factors], dtype=np.float64)

    @property
    def identity_factors(self) -> list[str]:
        return [f.name for f in self.factors if f.kind == IDENTITY]

    @property
    def view_factors(self) -> list[str]:
        return [f.name for f in self.factors if f.kind == VIEW]

    @property
    def landmark_names(self) -> tuple[str, ...]:
        return LANDMARK_NAMES

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n independent draws of every factor: float64 [n, F]."""
        lo, hi = self.ranges.T
        return lo + (hi - lo) * rng.random((n, self.n_factors))

    def check_factors(self, factors, name: str = "factors") -> np.ndarray:
        """Validate factor values [N, F] (finite, within range): float64 [N, F]."""
        arr = as_matrix(factors, name)
        if arr.shape[1] != self.n_factors:
            raise DataError(f"{name}: world {self.name!r} has {self.n_factors} factors {self.factor_names}, "
                            f"got {arr.shape[1]} columns")
        lo, hi = self.ranges.T
        tol = 1e-9
        bad = (arr < lo - tol) | (arr > hi + tol)
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise DataError(f"{name}: value {arr[i, j]:.4g} at row {i} for factor {self.factor_names[j]!r} "
                            f"is outside its range [{lo[j]:g}, {hi[j]:g}]")
        return np.clip(arr, lo, hi)

    def render_float(self, factors: np.ndarray, size: int, out: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Paint validated factors [N, F]: float32 images [N, size, size, 3] in [0, 1] and landmarks [N, L, 2].

        ``out``: a reusable float32 buffer [>= N, 3, size, size]; the images are a view of it.
        """
        named = {f.name: factors[:, j].astype(np.float32) for j, f in enumerate(self.factors)}
        return draw_faces(self.to_params(named), factors.shape[0], size, out=out)


def hair_colour(f: np.ndarray) -> np.ndarray:
    """Hair colour [N, 3] for factor values [N] in [-1, 1]: blond at -1, orange at 0, dark at +1."""
    t = np.clip(np.asarray(f, dtype=np.float32), -1, 1)
    lo = np.where(t < 0, 0, 1)
    w = (t - (lo - 1))[:, None]  # position within the segment, in [0, 1]
    path = _HAIR_PATH[1] + HAIR_CONTRAST * (_HAIR_PATH - _HAIR_PATH[1])
    return path[lo] * (1 - w) + path[lo + 1] * w


def _pairs6(f: dict[str, np.ndarray]) -> FaceParams:
    return FaceParams(
        eye_r_left=EYE_RADIUS + EYE_RADIUS_PER_UNIT * f["eye_size_left"],
        eye_r_right=EYE_RADIUS + EYE_RADIUS_PER_UNIT * f["eye_size_right"],
        ear_scale_left=1.0 + EAR_SCALE_PER_UNIT * f["ear_size_left"],
        ear_scale_right=1.0 + EAR_SCALE_PER_UNIT * f["ear_size_right"],
        hair_left=hair_colour(f["hair_colour_left"]),
        hair_right=hair_colour(f["hair_colour_right"]),
    )


def _default(f: dict[str, np.ndarray]) -> FaceParams:
    p = _pairs6(f)
    p.mouth_radius = MOUTH_RADIUS + MOUTH_RADIUS_PER_UNIT * f["mouth_open"]
    p.brow_dy = -BROW_DY_PER_UNIT * f["brow_raise"]
    return p


def _rich(f: dict[str, np.ndarray]) -> FaceParams:
    p = _default(f)
    p.skin = np.asarray(SKIN, dtype=np.float32) + SKIN_PER_UNIT * f["skin_tone"][:, None] * _SKIN_DARK
    p.mouth_curve = SMILE_PER_UNIT * f["smile"]
    return p


_PAIRS6 = (
    Factor("eye_size_left", IDENTITY, "radius of the image-left eye"),
    Factor("eye_size_right", IDENTITY, "radius of the image-right eye"),
    Factor("ear_size_left", IDENTITY, "size of the image-left ear"),
    Factor("ear_size_right", IDENTITY, "size of the image-right ear"),
    Factor("hair_colour_left", IDENTITY, "left half of the hair: blond (-1), orange (0), dark (+1)"),
    Factor("hair_colour_right", IDENTITY, "right half of the hair: blond (-1), orange (0), dark (+1)"),
)
_EXPRESSION = (
    Factor("mouth_open", VIEW, "thickness of the open mouth"),
    Factor("brow_raise", VIEW, "both brows raised (+1) or lowered (-1)"),
)
_RICH_EXTRA = (
    Factor("skin_tone", IDENTITY, "skin from light (-1) to dark (+1)"),
    Factor("smile", VIEW, "mouth corners raised (+1, smile) or lowered (-1, frown)"),
)

WORLDS: dict[str, World] = {
    w.name: w
    for w in (
        World("pairs6", "Prototype 2 of design section 5: three mirror pairs (eye size, ear size, hair colour "
                        "halves), all identity factors.", _PAIRS6, _pairs6),
        World("default", "The CPU demo world: the three mirror pairs plus two expression (view) factors, "
                         "mouth opening and brow raise.", _PAIRS6 + _EXPRESSION, _default),
        World("rich", "The default world plus skin tone and smile: 10 factors, best at 64x64.",
              _PAIRS6 + _EXPRESSION + _RICH_EXTRA, _rich, demo_size=64),
    )
}


def get_world(world) -> World:
    """A World from its name in WORLDS (or a World, returned as is)."""
    if isinstance(world, World):
        return world
    if not isinstance(world, str) or world not in WORLDS:
        raise ConfigError(f"world={world!r} is not one of {sorted(WORLDS)}")
    return WORLDS[world]


def check_size(size) -> int:
    """The image side in pixels: an integer >= 16 (features vanish below that)."""
    return check_positive_int(size, "size", minimum=16)
