"""Rendering speed of the synthetic face world, against two references timed in the same run.

    python benchmarks/bench_stimuli.py [--n 20000] [--sizes 32 64] [--worlds default rich]

Prints one JSON line per (world, size): images/s of the vectorised renderer (wall clock and per
CPU-second), of the same renderer called one face at a time (the naive loop), and of a per-face
PIL drawing of the same face (4x supersampled, then downsampled for anti-aliasing), and the ratios.
Target (design section 6): >= 5,000 images/s at 64x64 on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

from faceit.stimuli import WORLDS, render_faces
from faceit.stimuli import face as F


def _timed(fn, n_items: int, min_seconds: float = 0.0) -> tuple[float, float]:
    """(items per wall second, items per CPU second) of fn(), repeated until min_seconds passed."""
    reps, wall, cpu = 0, 0.0, 0.0
    while reps == 0 or wall < min_seconds:
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall += time.perf_counter() - t0
        cpu += time.process_time() - c0
        reps += 1
    return reps * n_items / wall, reps * n_items / max(cpu, 1e-9)


def _pil_face(p: F.FaceParams, i: int, size: int, supersample: int = 4):
    """One face drawn with PIL's ImageDraw at ``supersample`` x the size, then downsampled."""
    from PIL import Image, ImageDraw

    s = size * supersample

    def px(v):
        return float(v) * s

    def col(c):
        c = np.asarray(c, dtype=np.float64).reshape(-1, 3)
        return tuple(int(round(255 * v)) for v in c[min(i, len(c) - 1)])

    def val(v):
        v = np.asarray(v).reshape(-1)
        return float(v[min(i, len(v) - 1)])

    def ellipse(draw, cx, cy, rx, ry, colour):
        draw.ellipse([px(cx - rx), px(cy - ry), px(cx + rx), px(cy + ry)], fill=colour)

    img = Image.new("RGB", (s, s), col(F.BACKGROUND))
    d = ImageDraw.Draw(img)
    skin = np.asarray(p.skin, dtype=np.float64).reshape(-1, 3)[min(i, len(np.asarray(p.skin).reshape(-1, 3)) - 1)]
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
    by = F.BROW_CY + val(p.brow_dy)
    for side in (-1, 1):
        cx = 0.5 + side * F.BROW_DX
        d.line([px(cx - F.BROW_HALF_LENGTH), px(by), px(cx + F.BROW_HALF_LENGTH), px(by)],
               fill=col(F.BROW), width=int(px(2 * F.BROW_RADIUS)))
    for side, r in ((-1, val(p.eye_r_left)), (1, val(p.eye_r_right))):
        ellipse(d, 0.5 + side * F.EYE_DX, F.EYE_CY, r, r, col(F.EYE))
    u = np.linspace(-1, 1, F.MOUTH_POINTS)
    pts = [(px(0.5 + F.MOUTH_HALF_WIDTH * a), px(F.MOUTH_CY - val(p.mouth_curve) * a * a)) for a in u]
    d.line(pts, fill=col(F.MOUTH), width=max(1, int(px(2 * val(p.mouth_radius)))), joint="curve")
    return np.asarray(img.resize((size, size), Image.Resampling.BOX))


def bench(world: str, size: int, n: int, n_reference: int) -> dict:
    w = WORLDS[world]
    factors = w.sample(n, np.random.default_rng(0))
    render_faces(factors[:256], size=size, world=world)  # warm-up
    fast_wall, fast_cpu = _timed(lambda: render_faces(factors, size=size, world=world, progress=False), n, 2.0)

    few = factors[:n_reference]
    loop_wall, _ = _timed(lambda: [render_faces(few[i:i + 1], size=size, world=world) for i in range(len(few))],
                          len(few), 1.0)

    named = {f.name: few[:, j].astype(np.float32) for j, f in enumerate(w.factors)}
    params = w.to_params(named)
    pil_wall, _ = _timed(lambda: [_pil_face(params, i, size) for i in range(len(few))], len(few), 1.0)

    return {
        "benchmark": "stimuli.render_faces", "world": world, "size": size, "n": n,
        "images_per_s": round(fast_wall), "images_per_cpu_s": round(fast_cpu),
        "loop_images_per_s": round(loop_wall), "pil_images_per_s": round(pil_wall),
        "ratio_vs_loop": round(fast_wall / loop_wall, 1), "ratio_vs_pil": round(fast_wall / pil_wall, 1),
        "target_images_per_s": 5000 if size == 64 else None,
        "cpus": os.cpu_count(), "load_avg_1min": round(os.getloadavg()[0], 2), "machine": platform.machine(),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000, help="faces per timed call of the vectorised renderer")
    ap.add_argument("--n-reference", type=int, default=200, help="faces for the per-face references")
    ap.add_argument("--sizes", type=int, nargs="+", default=[32, 64])
    ap.add_argument("--worlds", nargs="+", default=["default", "rich"], choices=sorted(WORLDS))
    args = ap.parse_args(argv)
    for world in args.worlds:
        for size in args.sizes:
            print(json.dumps(bench(world, size, args.n, args.n_reference)), flush=True)


if __name__ == "__main__":
    main()
