"""The cartoon face: its parts, their parameters, how they are painted, and their landmarks.

A world (see :mod:`faceit.stimuli.worlds`) maps its factors to :class:`FaceParams`; this module
turns FaceParams into images and landmarks. Geometry is in normalised image units (x right,
y down, both in [0, 1]); "left" means the image's left (x < 0.5). Parameters left at their
defaults are the same for every face and are painted once per batch, not once per face.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from ._draw import Canvas, capsule_distance, ellipse_distance, polyline_distance

BACKGROUND = (0.26, 0.31, 0.40)
SKIN = (0.83, 0.65, 0.52)
EYE = (0.13, 0.09, 0.07)
BROW = (0.36, 0.23, 0.15)
MOUTH = (0.58, 0.12, 0.16)
NOSE_SHADE = 0.78   # nose colour = skin * this
EAR_SHADE = 0.92    # ear colour = skin * this
NECK_SHADE = 0.90   # neck colour = skin * this

# Fixed geometry (normalised units).
FACE_CX, FACE_CY = 0.5, 0.56
HAIR_CY, HAIR_RX, HAIR_RY = 0.38, 0.34, 0.30
EAR_DX, EAR_CY, EAR_RX, EAR_RY = 0.265, 0.65, 0.07, 0.10
EYE_DX, EYE_CY = 0.11, 0.545
BROW_DX, BROW_CY, BROW_HALF_LENGTH, BROW_RADIUS = 0.115, 0.37, 0.055, 0.028
NOSE_CY_TOP, NOSE_RX = 0.61, 0.032
MOUTH_CY, MOUTH_HALF_WIDTH = 0.78, 0.11
MOUTH_POINTS = 7  # the mouth is a polyline so that it can bend into a smile

LANDMARK_NAMES = (
    *[f"jaw_{k}" for k in range(9)],
    "brow_left_outer", "brow_left_inner", "brow_right_inner", "brow_right_outer",
    "eye_left_outer", "eye_left_inner", "eye_left_top", "eye_left_bottom",
    "eye_right_inner", "eye_right_outer", "eye_right_top", "eye_right_bottom",
    "nose_tip", "nose_left", "nose_right",
    "mouth_left", "mouth_right", "mouth_top", "mouth_bottom",
    "ear_left_outer", "ear_right_outer",
)


@dataclass
class FaceParams:
    """What varies between faces. Each entry is a scalar (the same for all faces) or an array
    [N] ([N, 3] for colours). Lengths are normalised image units."""

    skin: object = SKIN
    background_left: object = BACKGROUND
    background_right: object = BACKGROUND
    hair_left: object = (0.55, 0.33, 0.15)
    hair_right: object = (0.55, 0.33, 0.15)
    face_rx: object = 0.26
    face_ry: object = 0.32
    ear_scale_left: object = 1.0
    ear_scale_right: object = 1.0
    eye_r_left: object = 0.062
    eye_r_right: object = 0.062
    eye_dx: object = EYE_DX         # each eye's centre sits this far left or right of the midline
    brow_dy_left: object = 0.0      # negative raises the brow
    brow_dy_right: object = 0.0
    eye_left: object = EYE          # iris colours
    eye_right: object = EYE
    nose_length: object = 0.09
    mouth_radius: object = 0.025    # half the thickness of the lips
    mouth_curve: object = 0.0       # corners raised by this much (a smile); negative: a frown

    def batch(self, n: int) -> "FaceParams":
        """Check every entry against ``n`` faces; scalars stay scalars (shape [1] or [1, 3])."""
        out = {}
        for f in fields(self):
            value = np.asarray(getattr(self, f.name), dtype=np.float32)
            colour = f.name in ("skin", "hair_left", "hair_right", "eye_left", "eye_right", "background_left",
                               "background_right")
            value = value.reshape(-1, 3) if colour else value.reshape(-1)
            if value.shape[0] not in (1, n):
                raise ValueError(f"FaceParams.{f.name}: {value.shape[0]} values for {n} faces")
            out[f.name] = value
        return FaceParams(**out)


def draw_faces(params: FaceParams, n: int, size: int, out: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Paint ``n`` faces: float32 images [n, size, size, 3] in [0, 1] and landmarks float64 [n, L, 2]
    in pixel coordinates (the centre of pixel (row i, column j) is (x=j, y=i)).

    The images are a channels-last view of a channels-first buffer (``out`` [>= n, 3, size, size]
    float32 if given, reused).
    """
    p = params.batch(n)
    # The backdrop: its left colour everywhere, then its right half (the same colour in most worlds).
    cv = Canvas(n, size, p.background_left, out=out)
    cv.paint(np.ones((1, size, size - size // 2), dtype=np.float32), p.background_right,
             slice(0, size), slice(size // 2, size))
    skin = p.skin

    # Large parts first (shared shapes are composited in one matrix product, see Canvas).
    rows, cols = cv.box(0.38, 0.62, 0.75, 1.0)
    x, y = cv.grid(rows, cols)
    cv.paint(cv.coverage(capsule_distance(x, y, 0.5, 0.80, 0.5, 1.2, 0.10)), skin * NECK_SHADE, rows, cols)

    rows, cols = cv.box(0.5 - HAIR_RX, 0.5 + HAIR_RX, HAIR_CY - HAIR_RY, HAIR_CY + HAIR_RY)
    x, y = cv.grid(rows, cols)
    hair = cv.coverage(ellipse_distance(x, y, 0.5, HAIR_CY, HAIR_RX, HAIR_RY))
    # A sharp seam at the midline: columns left of size // 2 take the left colour.
    split = size // 2 - cols.start
    cv.paint(hair[:, :, :split], p.hair_left, rows, slice(cols.start, size // 2))
    cv.paint(hair[:, :, split:], p.hair_right, rows, slice(size // 2, cols.stop))

    rx_max, ry_max = float(p.face_rx.max()), float(p.face_ry.max())
    rows, cols = cv.box(0.5 - rx_max, 0.5 + rx_max, FACE_CY - ry_max, FACE_CY + ry_max)
    x, y = cv.grid(rows, cols)
    cv.paint(cv.coverage(ellipse_distance(x, y, FACE_CX, FACE_CY, p.face_rx, p.face_ry)), skin, rows, cols)

    nose_ry = p.nose_length / 2
    nose_cy = NOSE_CY_TOP + nose_ry
    rows, cols = cv.box(0.5 - NOSE_RX, 0.5 + NOSE_RX, NOSE_CY_TOP, NOSE_CY_TOP + float(p.nose_length.max()))
    x, y = cv.grid(rows, cols)
    cv.paint(cv.coverage(ellipse_distance(x, y, 0.5, nose_cy, NOSE_RX, nose_ry)), skin * NOSE_SHADE, rows, cols)

    # Ears sit behind the face: painted after it, but only where the face does not cover them.
    for side, scale in ((-1, p.ear_scale_left), (1, p.ear_scale_right)):
        smax = float(scale.max())
        cx = 0.5 + side * EAR_DX
        rows, cols = cv.box(cx - EAR_RX * smax, cx + EAR_RX * smax, EAR_CY - EAR_RY * smax, EAR_CY + EAR_RY * smax)
        x, y = cv.grid(rows, cols)
        ear = cv.coverage(ellipse_distance(x, y, cx, EAR_CY, EAR_RX * scale, EAR_RY * scale))
        ear *= 1 - cv.coverage(ellipse_distance(x, y, FACE_CX, FACE_CY, p.face_rx, p.face_ry))
        cv.paint(ear, skin * EAR_SHADE, rows, cols)

    # Brows: thick bars, each raised or lowered on its own.
    brow_ys = []
    for side, dy in ((-1, p.brow_dy_left), (1, p.brow_dy_right)):
        cx = 0.5 + side * BROW_DX
        brow_y = BROW_CY + dy
        brow_ys.append(brow_y)
        rows, cols = cv.box(cx - BROW_HALF_LENGTH - BROW_RADIUS, cx + BROW_HALF_LENGTH + BROW_RADIUS,
                            float(brow_y.min()) - BROW_RADIUS, float(brow_y.max()) + BROW_RADIUS)
        x, y = cv.grid(rows, cols)
        d = capsule_distance(x, y, cx - BROW_HALF_LENGTH, brow_y, cx + BROW_HALF_LENGTH, brow_y, BROW_RADIUS)
        cv.paint(cv.coverage(d), BROW, rows, cols)

    for side, r, colour in ((-1, p.eye_r_left, p.eye_left), (1, p.eye_r_right, p.eye_right)):
        cx = 0.5 + side * p.eye_dx
        rmax = float(r.max())
        rows, cols = cv.box(float(cx.min()) - rmax, float(cx.max()) + rmax, EYE_CY - rmax, EYE_CY + rmax)
        x, y = cv.grid(rows, cols)
        cv.paint(cv.coverage(ellipse_distance(x, y, cx, EYE_CY, r, r)), colour, rows, cols)

    # Mouth: a thick polyline along y = MOUTH_CY - curve * (x offset / half width)^2.
    u = np.linspace(-1.0, 1.0, MOUTH_POINTS, dtype=np.float32)
    mx = np.broadcast_to(0.5 + MOUTH_HALF_WIDTH * u, (p.mouth_curve.shape[0], MOUTH_POINTS))
    my = MOUTH_CY - p.mouth_curve[:, None] * u[None, :] ** 2
    rmax = float(p.mouth_radius.max())
    rows, cols = cv.box(0.5 - MOUTH_HALF_WIDTH - rmax, 0.5 + MOUTH_HALF_WIDTH + rmax,
                        float(my.min()) - rmax, float(my.max()) + rmax)
    x, y = cv.grid(rows, cols)
    cv.paint(cv.coverage(polyline_distance(x, y, mx, my, p.mouth_radius)), MOUTH, rows, cols)

    return cv.images(), _landmarks(p, n, size, brow_ys, nose_cy, nose_ry, my)


def _landmarks(p: FaceParams, n: int, size: int, brow_y: list, nose_cy, nose_ry, mouth_y) -> np.ndarray:
    """The landmarks named by LANDMARK_NAMES, float64 [n, L, 2], in pixel coordinates."""
    def b(v):
        return np.broadcast_to(np.asarray(v, dtype=np.float64), (n,))

    pts = []
    theta = np.deg2rad(np.linspace(160.0, 20.0, 9))
    for t in theta:  # jaw, image-left to image-right along the lower face outline
        pts.append((b(FACE_CX + p.face_rx * np.cos(t)), b(FACE_CY + p.face_ry * np.sin(t))))
    for x, by in ((0.5 - BROW_DX - BROW_HALF_LENGTH, brow_y[0]), (0.5 - BROW_DX + BROW_HALF_LENGTH, brow_y[0]),
                  (0.5 + BROW_DX - BROW_HALF_LENGTH, brow_y[1]), (0.5 + BROW_DX + BROW_HALF_LENGTH, brow_y[1])):
        pts.append((b(x), b(by)))
    for side, r in ((-1, b(p.eye_r_left)), (1, b(p.eye_r_right))):
        cx = 0.5 + side * b(p.eye_dx)
        # In x order: (outer, inner) for the left eye, (inner, outer) for the right, as named.
        pts.extend([(cx - r, b(EYE_CY)), (cx + r, b(EYE_CY)), (cx, EYE_CY - r), (cx, EYE_CY + r)])
    pts.append((b(0.5), b(nose_cy + nose_ry)))
    pts.append((b(0.5 - NOSE_RX), b(nose_cy)))
    pts.append((b(0.5 + NOSE_RX), b(nose_cy)))
    mr = b(p.mouth_radius)
    corner_y = b(mouth_y[:, 0])
    centre_y = b(mouth_y[:, mouth_y.shape[1] // 2])
    pts.append((b(0.5 - MOUTH_HALF_WIDTH), corner_y))
    pts.append((b(0.5 + MOUTH_HALF_WIDTH), corner_y))
    pts.append((b(0.5), centre_y - mr))
    pts.append((b(0.5), centre_y + mr))
    for side, scale in ((-1, b(p.ear_scale_left)), (1, b(p.ear_scale_right))):
        pts.append((0.5 + side * (EAR_DX + EAR_RX * scale), b(EAR_CY)))
    xy = np.stack([np.stack([b(px), b(py)], axis=-1) for px, py in pts], axis=1)
    return xy * size - 0.5
