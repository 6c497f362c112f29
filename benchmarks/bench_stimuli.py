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
from faceit.stimuli.reference import render_faces_pil


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


def bench(world: str, size: int, n: int, n_reference: int) -> dict:
    w = WORLDS[world]
    factors = w.sample(n, np.random.default_rng(0))
    render_faces(factors[:256], size=size, world=world)  # warm-up
    fast_wall, fast_cpu = _timed(lambda: render_faces(factors, size=size, world=world, progress=False), n, 2.0)

    few = factors[:n_reference]
    loop_wall, _ = _timed(lambda: [render_faces(few[i:i + 1], size=size, world=world) for i in range(len(few))],
                          len(few), 1.0)

    pil_wall, _ = _timed(lambda: render_faces_pil(few, size=size, world=world), len(few), 1.0)

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
