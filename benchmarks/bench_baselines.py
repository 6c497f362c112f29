"""Speed of the baselines: the AAM's vectorised piecewise-affine warp against per-image scipy /
matplotlib references timed in the same run, and fit / transform times of every baseline.

    python benchmarks/bench_baselines.py [--n 2000] [--size 64] [--n-reference 40] [--skip-models]

JSON lines:
- "aam_warp_to_reference": images/s of PiecewiseAffineWarp.to_reference (image -> mean-shape
  texture) vs a loop of scipy LinearNDInterpolator (the same piecewise-linear map on the same
  Delaunay mesh) + scipy.ndimage.map_coordinates, per image; ratio = ours / reference.
- "aam_warp_from_reference": images/s of from_reference (texture -> image with its own shape) vs
  a loop of matplotlib's LinearTriInterpolator (point location on the same triangles) +
  map_coordinates.
- "baseline_fit_transform": per model, seconds to fit on n faces and to transform them (wall and CPU).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from matplotlib.tri import LinearTriInterpolator, Triangulation
from scipy.interpolate import LinearNDInterpolator
from scipy.ndimage import map_coordinates
from scipy.spatial import Delaunay

from _common import emit
from faceit.models.baselines import AAM, ICA, PCA, IdentityClassifier
from faceit.models.baselines.warp import PiecewiseAffineWarp
from faceit.stimuli import synthetic_faces, synthetic_identities


def timed(fn):
    """(result, wall seconds, CPU seconds) of fn()."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def sample(image, x, y):
    return np.stack([map_coordinates(image[..., c], [y, x], order=1, mode="nearest")
                     for c in range(image.shape[-1])], axis=-1)


def reference_to_reference(warp, images, shapes):
    mesh = Delaunay(warp.vertices)
    out = []
    for image, shape in zip(images, shapes):
        src = LinearNDInterpolator(mesh, np.concatenate([shape, warp.anchors]))(warp.pixels)
        out.append(sample(image, src[:, 0], src[:, 1]))
    return np.stack(out)


def reference_from_reference(warp, textures, shapes):
    out = []
    px, py = warp.image_pixels[:, 0], warp.image_pixels[:, 1]
    for texture, shape in zip(textures, shapes):
        verts = np.concatenate([shape, warp.anchors])
        mesh = Triangulation(verts[:, 0], verts[:, 1], triangles=warp.triangles)
        sx = np.asarray(LinearTriInterpolator(mesh, warp.vertices[:, 0])(px, py))
        sy = np.asarray(LinearTriInterpolator(mesh, warp.vertices[:, 1])(px, py))
        out.append(sample(texture, sx, sy))
    return np.stack(out)


def bench_warp(n: int, size: int, n_reference: int) -> None:
    faces = synthetic_faces(n, seed=0, size=size)
    images, shapes = faces.as_float(), faces.landmarks
    warp = PiecewiseAffineWarp(shapes.mean(axis=0), size, size, scale=1)
    # Warm-up: numba compilation (or its cache load) and scipy/matplotlib first calls are not timed.
    warp.from_reference(warp.to_reference(images[:2], shapes[:2]), shapes[:2])
    reference_from_reference(warp, reference_to_reference(warp, images[:2], shapes[:2]).reshape(2, size, size, -1),
                             shapes[:2])
    textures, wall, cpu = timed(lambda: warp.to_reference(images, shapes))
    ref, ref_wall, _ = timed(lambda: reference_to_reference(warp, images[:n_reference], shapes[:n_reference]))
    err = float(np.abs(ref.reshape(textures[:n_reference].shape) - textures[:n_reference]).max())
    emit("aam_warp_to_reference", n=n, size=size, images_per_s=n / wall, images_per_cpu_s=n / max(cpu, 1e-9),
         reference="scipy LinearNDInterpolator + map_coordinates, per image",
         reference_images_per_s=n_reference / ref_wall, ratio=(n / wall) / (n_reference / ref_wall),
         max_abs_difference=err)

    back, wall, cpu = timed(lambda: warp.from_reference(textures, shapes))
    ref, ref_wall, _ = timed(lambda: reference_from_reference(warp, textures[:n_reference], shapes[:n_reference]))
    err = float(np.abs(ref.reshape(back[:n_reference].shape) - back[:n_reference]).max())
    emit("aam_warp_from_reference", n=n, size=size, images_per_s=n / wall, images_per_cpu_s=n / max(cpu, 1e-9),
         reference="matplotlib LinearTriInterpolator + map_coordinates, per image",
         reference_images_per_s=n_reference / ref_wall, ratio=(n / wall) / (n_reference / ref_wall),
         max_abs_difference=err)


def bench_models(n: int, size: int) -> None:
    faces = synthetic_faces(n, seed=0, size=size)
    ids = synthetic_identities(max(2, n // 20), 20, seed=0, size=size)
    models = [("pca", PCA(50), faces), ("ica", ICA(50), faces), ("aam", AAM(25, 25, progress=False), faces),
              ("classifier", IdentityClassifier(epochs=10, progress=False), ids)]
    for name, model, stimuli in models:
        _, fit_wall, fit_cpu = timed(lambda: model.fit(stimuli))
        rep, tr_wall, tr_cpu = timed(lambda: model.transform(stimuli))
        emit("baseline_fit_transform", model=name, n=len(stimuli), size=size, n_units=rep.n_units,
             fit_s=fit_wall, fit_cpu_s=fit_cpu, transform_s=tr_wall, transform_cpu_s=tr_cpu)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--n-reference", type=int, default=40)
    parser.add_argument("--model-size", type=int, default=32, help="image size for the fit/transform timings")
    parser.add_argument("--skip-models", action="store_true")
    args = parser.parse_args()
    bench_warp(args.n, args.size, args.n_reference)
    if not args.skip_models:
        bench_models(args.n, args.model_size)


if __name__ == "__main__":
    main()
