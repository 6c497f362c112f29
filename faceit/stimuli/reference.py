"""A slow, independent reference renderer: each face drawn with PIL's ImageDraw.

The same scene as :mod:`faceit.stimuli.face`, drawn one face at a time with PIL's polygon
rasteriser at ``supersample`` times the size and box-filtered down for anti-aliasing. Tests
compare the vectorised renderer against it; the benchmark times it.
"""

from __future__ import annotations

import numpy as np

from . import face as F
from .worlds import get_world


def render_faces_pil(factors, size: int = 64, world="default", supersample: int = 4) -> np.ndarray:
    """Reference rendering: images uint8 [N, size, size, 3] for factors [N, F]."""
    w = get_world(world)
    factors = w.check_factors(factors)
    params = w.to_params({f.name: factors[:, j].astype(np.float32) for j, f in enumerate(w.factors)})
    return np.stack([_pil_face(params, i, size, supersample) for i in range(factors.shape[0])])


def _pil_face(p: F.FaceParams, i: int, size: int, supersample: int) -> np.ndarray:
    """One face drawn with PIL's ImageDraw at ``supersample`` x the size, then downsampled."""
    from PIL import Image, ImageDraw

    s = size * supersample

    def px(v):
        return float(v) * s

    def rgb(c):  # face i's colour from a shared [3] / [1, 3] or per-face [N, 3] parameter, as floats
        c = np.asarray(c, dtype=np.float64).reshape(-1, 3)
        return c[min(i, len(c) - 1)]

    def col(c):
        return tuple(int(round(255 * v)) for v in rgb(c))

    def val(v):
        v = np.asarray(v).reshape(-1)
        return float(v[min(i, len(v) - 1)])

    def ellipse(draw, cx, cy, rx, ry, colour):
        draw.ellipse([px(cx - rx), px(cy - ry), px(cx + rx), px(cy + ry)], fill=colour)

    img = Image.new("RGB", (s, s), col(p.background_left))
    d = ImageDraw.Draw(img)
    d.rectangle([s // 2, 0, s, s], fill=col(p.background_right))
    skin = rgb(p.skin)
    d.rounded_rectangle([px(0.4), px(0.7), px(0.6), px(1.3)], radius=px(0.1), fill=col(skin * F.NECK_SHADE))
    for side, scale in ((-1, val(p.ear_scale_left)), (1, val(p.ear_scale_right))):
        ellipse(d, 0.5 + side * F.EAR_DX, F.EAR_CY, F.EAR_RX * scale, F.EAR_RY * scale, col(skin * F.EAR_SHADE))
    hair = Image.new("L", (s, s), 0)
    ellipse(ImageDraw.Draw(hair), 0.5, F.HAIR_CY, F.HAIR_RX, F.HAIR_RY, 255)
    left = Image.new("RGB", (s, s), col(p.hair_left))
    left.paste(col(p.hair_right), (s // 2, 0, s, s))
    img.paste(left, (0, 0), hair)
    ellipse(d, F.FACE_CX, F.FACE_CY, val(p.face_rx), val(p.face_ry), col(skin))
    ellipse(d, 0.5, F.NOSE_CY_TOP + val(p.nose_length) / 2, F.NOSE_RX, val(p.nose_length) / 2, col(skin * F.NOSE_SHADE))
    for side, dy in ((-1, p.brow_dy_left), (1, p.brow_dy_right)):
        by = F.BROW_CY + val(dy)
        cx = 0.5 + side * F.BROW_DX
        d.line([px(cx - F.BROW_HALF_LENGTH), px(by), px(cx + F.BROW_HALF_LENGTH), px(by)],
               fill=col(F.BROW), width=int(px(2 * F.BROW_RADIUS)))
    for side, r, colour in ((-1, val(p.eye_r_left), p.eye_left), (1, val(p.eye_r_right), p.eye_right)):
        ellipse(d, 0.5 + side * val(p.eye_dx), F.EYE_CY, r, r, col(colour))
    u = np.linspace(-1, 1, F.MOUTH_POINTS)
    pts = [(px(0.5 + F.MOUTH_HALF_WIDTH * a), px(F.MOUTH_CY - val(p.mouth_curve) * a * a)) for a in u]
    d.line(pts, fill=col(F.MOUTH), width=max(1, int(px(2 * val(p.mouth_radius)))), joint="curve")
    return np.asarray(img.resize((size, size), Image.Resampling.BOX))
