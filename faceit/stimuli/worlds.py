"""Named synthetic face worlds: which factors exist, their ranges and kinds, and how they shape a face.

Every factor is uniform in [-1, 1], drawn independently of the others. A factor is either an
"identity" factor (who the face is: eye size, ear size, hair colour, skin tone, nose) or a
"view" factor (how that face looks right now: expression, the backdrop). An identity classifier is trained
on fixed draws of the identity factors shown under varying view factors.

The worlds follow design section 5: factors come in mirror pairs or groups whose pixel effects
fall on separate regions, have comparable salience (summed squared pixel change per unit factor,
see :func:`faceit.stimuli.factor_salience`), never saturate, and are several pixels big at 32x32.
In "default", "pairs6" and "rich" each factor moves pixels along a nearly straight line, which is
ICA's own model; in "pairs8", the demo's world, colours run around circles and an iris's size and
hue move the same pixels, nonlinear as real face variation is (docs/stimuli.md). "pairs8" is
balanced on image variance (:func:`faceit.stimuli.factor_variance`) as well as salience.
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


def colour_arc(centre, plane, radius: float, f: np.ndarray, arc_degrees: float = 300.0) -> np.ndarray:
    """Colours [N, 3] on an arc of a circle in a plane of RGB space, for factor values [N] in [-1, 1].

    colour = centre + radius (cos t u + sin t v) with (u, v) = ``plane`` (orthonormal) and
    t = f * arc_degrees / 2: factor 0 is the arc's middle, and equal factor steps are equal colour steps.
    """
    u, v = (np.asarray(a, dtype=np.float64) for a in plane)
    t = np.deg2rad(arc_degrees / 2) * np.clip(np.asarray(f, dtype=np.float64), -1, 1)
    out = np.asarray(centre, dtype=np.float64) + radius * (np.cos(t)[:, None] * u + np.sin(t)[:, None] * v)
    return out.astype(np.float32)


def _orthonormal_plane(a, b) -> tuple[np.ndarray, np.ndarray]:
    """An orthonormal basis (u, v) of the plane spanned by RGB directions a and b, u along a."""
    u = np.asarray(a, dtype=np.float64) / np.linalg.norm(a)
    v = np.asarray(b, dtype=np.float64) - (u @ np.asarray(b, dtype=np.float64)) * u
    return u, v / np.linalg.norm(v)


_GREY = np.ones(3) / np.sqrt(3)
#: The colour wheel: the plane through a grey orthogonal to the grey axis (red at t = 0).
HUE_PLANE = _orthonormal_plane((2.0, -1.0, -1.0), (0.0, 1.0, -1.0))
#: Hair shades: lightness (grey axis) against a red-brown direction.
HAIR_PLANE = _orthonormal_plane(_GREY, (1.0, 0.3, -0.5))

# The pairs8 world. Every colour factor runs 300 degrees around a circle, so its ends nearly meet
# and no single direction in pixel space tracks it; the iris's colour and size act on the same
# pixels (how much a hue change moves them depends on the size, and the reverse), which no linear
# method can unmix. Radii and amplitudes are calibrated so that every factor moves the image by
# the same variance (docs/stimuli.md).
PAIRS8_ARC_DEGREES = 300.0
# Eyes set wider apart than in the other worlds (0.14 against 0.11) on a wider face (0.29 against
# 0.26), so that irises of radius 0.8-4.0 px at 32x32 never touch each other or the face's outline.
# The smallest iris nearly hides its hue: how much the hue shows depends on the size.
PAIRS8_EYE_DX, PAIRS8_FACE_RX = 0.14, 0.29
PAIRS8_EYE_RADIUS, PAIRS8_EYE_RADIUS_PER_UNIT = 0.075, 0.05
IRIS_CENTRE, IRIS_RADIUS = (0.45, 0.42, 0.45), 0.31
BACKDROP_CENTRE, BACKDROP_RADIUS = (0.40, 0.40, 0.40), 0.084
HAIR_CENTRE, HAIR_RADIUS = (0.50, 0.38, 0.30), 0.174


def _pairs8(f: dict[str, np.ndarray]) -> FaceParams:
    def arc(centre, plane, radius, values):
        return colour_arc(centre, plane, radius, values, PAIRS8_ARC_DEGREES)

    return FaceParams(
        face_rx=PAIRS8_FACE_RX, eye_dx=PAIRS8_EYE_DX,
        eye_r_left=PAIRS8_EYE_RADIUS + PAIRS8_EYE_RADIUS_PER_UNIT * f["eye_size_left"],
        eye_r_right=PAIRS8_EYE_RADIUS + PAIRS8_EYE_RADIUS_PER_UNIT * f["eye_size_right"],
        eye_left=arc(IRIS_CENTRE, HUE_PLANE, IRIS_RADIUS, f["eye_colour_left"]),
        eye_right=arc(IRIS_CENTRE, HUE_PLANE, IRIS_RADIUS, f["eye_colour_right"]),
        background_left=arc(BACKDROP_CENTRE, HUE_PLANE, BACKDROP_RADIUS, f["background_left"]),
        background_right=arc(BACKDROP_CENTRE, HUE_PLANE, BACKDROP_RADIUS, f["background_right"]),
        hair_left=arc(HAIR_CENTRE, HAIR_PLANE, HAIR_RADIUS, f["hair_colour_left"]),
        hair_right=arc(HAIR_CENTRE, HAIR_PLANE, HAIR_RADIUS, f["hair_colour_right"]),
    )


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
    p.brow_dy_left = p.brow_dy_right = -BROW_DY_PER_UNIT * f["brow_raise"]
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

_PAIRS8 = (
    Factor("eye_size_left", IDENTITY, "radius of the image-left iris"),
    Factor("eye_size_right", IDENTITY, "radius of the image-right iris"),
    Factor("eye_colour_left", IDENTITY, "hue of the image-left iris, 300 degrees around the colour wheel"),
    Factor("eye_colour_right", IDENTITY, "hue of the image-right iris, 300 degrees around the colour wheel"),
    Factor("background_left", VIEW, "hue of the backdrop's left half (the scene, not the face)"),
    Factor("background_right", VIEW, "hue of the backdrop's right half"),
    Factor("hair_colour_left", IDENTITY, "left half of the hair: a loop of shades, light, red-brown, dark"),
    Factor("hair_colour_right", IDENTITY, "right half of the hair: a loop of shades, light, red-brown, dark"),
)

WORLDS: dict[str, World] = {
    w.name: w
    for w in (
        World("pairs6", "Prototype 2 of design section 5: three mirror pairs (eye size, ear size, hair colour "
                        "halves), all identity factors.", _PAIRS6, _pairs6),
        World("default", "The CPU demo world: the three mirror pairs plus two expression (view) factors, "
                         "mouth opening and brow raise.", _PAIRS6 + _EXPRESSION, _default),
        World("pairs8", "The demo world: four mirror pairs, iris size and iris hue on the same eye, backdrop "
                        "halves and hair halves, colours running around circles. Nonlinear in pixels: PCA "
                        "and ICA cannot single its factors out.", _PAIRS8, _pairs8),
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
