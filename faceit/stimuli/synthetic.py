"""Synthetic faces with known generative factors: sampling, rendering, sweeps and salience."""

from __future__ import annotations

import os
import queue
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from .._validation import check_positive_int
from ..errors import ConfigError
from .container import Stimuli
from .worlds import World, check_size, get_world

#: Faces painted at once: 256 at 64x64 is a 12 MB float32 buffer, reused from chunk to chunk.
CHUNK = 256


def _to_uint8(pixels: np.ndarray, out: np.ndarray) -> None:
    """Round float images in [0, 1] (any layout; overwritten) into uint8 ``out`` of the same shape."""
    np.multiply(pixels, np.float32(255.0), out=pixels)
    np.add(pixels, np.float32(0.5), out=pixels)
    np.clip(pixels, 0.0, 255.0, out=pixels)
    np.copyto(out, pixels, casting="unsafe")  # truncation after +0.5: round half up


def render_faces(factors, size: int = 64, world="default", progress: bool | None = None,
                 n_threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Render faces with given factor values.

    factors: float [N, F], F = the world's number of factors, each within its range [-1, 1].
    Returns images uint8 [N, size, size, 3] and landmarks float64 [N, L, 2] (pixel x, y; the
    centre of pixel (row i, column j) is (x=j, y=i)). Chunks of faces are painted on
    ``n_threads`` threads (default: one per CPU); ``progress`` shows a bar (default: for large N).
    The result does not depend on the number of threads.
    """
    w = get_world(world)
    size = check_size(size)
    factors = w.check_factors(factors)
    n_threads = check_positive_int(n_threads if n_threads is not None else os.cpu_count() or 1, "n_threads")
    n = factors.shape[0]
    images = np.empty((n, size, size, 3), dtype=np.uint8)
    landmarks = np.empty((n, len(w.landmark_names), 2), dtype=np.float64)
    starts = list(range(0, n, CHUNK))
    n_threads = min(n_threads, len(starts))
    # One reusable float32 buffer per thread.
    buffers = queue.SimpleQueue()
    for _ in range(n_threads):
        buffers.put(np.empty((min(n, CHUNK), 3, size, size), dtype=np.float32))

    def paint(start):
        stop = min(n, start + CHUNK)
        buffer = buffers.get()
        try:
            pixels, lm = w.render_float(factors[start:stop], size, out=buffer)
            _to_uint8(pixels, images[start:stop])
            landmarks[start:stop] = lm
        finally:
            buffers.put(buffer)

    show = progress if progress is not None else len(starts) > 40
    bar = tqdm(total=n, desc=f"rendering {w.name} faces", unit="face", disable=not show)
    if n_threads == 1:
        for start in starts:
            paint(start)
            bar.update(min(n, start + CHUNK) - start)
    else:
        # The threads share the CPUs; a multi-threaded BLAS inside each would only contend.
        with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(n_threads) as pool:
            for start, _ in zip(starts, pool.map(paint, starts)):
                bar.update(min(n, start + CHUNK) - start)
    bar.close()
    return images, landmarks


def _stimuli(world: World, factors: np.ndarray, ids, size: int, progress, **extra) -> Stimuli:
    images, landmarks = render_faces(factors, size=size, world=world, progress=progress)
    return Stimuli(images=images, ids=np.asarray(ids), factors=factors, factor_names=world.factor_names,
                   landmarks=landmarks, **extra,
                   meta={"world": world.name, "identity_factors": world.identity_factors,
                         "view_factors": world.view_factors, "landmark_names": list(world.landmark_names)})


def synthetic_faces(n: int, seed: int = 0, size: int = 64, world="default",
                    progress: bool | None = None) -> Stimuli:
    """``n`` synthetic faces with independent uniform factors, deterministic for ``seed``.

    Returns Stimuli with images uint8 [n, size, size, 3], ids ``"s<seed>_<index>"``,
    factors float64 [n, F] in [-1, 1], factor_names and landmarks float64 [n, L, 2].
    """
    n = check_positive_int(n, "n")
    seed = check_positive_int(seed, "seed", minimum=0)
    w = get_world(world)
    factors = w.sample(n, np.random.default_rng(seed))
    return _stimuli(w, factors, [f"s{seed}_{i:06d}" for i in range(n)], size, progress)


def synthetic_identities(n_identities: int, views_per_identity: int, seed: int = 0, size: int = 64,
                         world="default", progress: bool | None = None) -> Stimuli:
    """Fixed draws of the identity factors, each shown under freshly drawn view factors.

    Returns Stimuli of n_identities * views_per_identity faces (grouped by identity) with
    ``labels["identity"]`` int [N] and ids ``"id<k>_v<j>"``: the training set of an identity
    classifier. A world without view factors shows every identity identically.
    """
    n_id = check_positive_int(n_identities, "n_identities")
    n_view = check_positive_int(views_per_identity, "views_per_identity")
    w = get_world(world)
    rng = np.random.default_rng(check_positive_int(seed, "seed", minimum=0))
    identity = np.repeat(np.arange(n_id), n_view)
    factors = w.sample(n_id * n_view, rng)
    is_identity = np.array([f.kind == "identity" for f in w.factors])
    factors[:, is_identity] = w.sample(n_id, rng)[identity][:, is_identity]
    ids = [f"id{k:05d}_v{j:03d}" for k in range(n_id) for j in range(n_view)]
    return _stimuli(w, factors, ids, size, progress, labels={"identity": identity})


def factor_sweeps(world="default", size: int = 32, n_steps: int = 9, base=None
                  ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Sweep each factor over its range with the others held at ``base`` (default: all 0).

    Returns images uint8 [F, n_steps, size, size, 3] (row k sweeps factor k), the swept
    values float [n_steps] (for the range [-1, 1]) and the factor names; ready for
    :func:`faceit.report.images.save_image_grid`.
    """
    w = get_world(world)
    n_steps = check_positive_int(n_steps, "n_steps", minimum=2)
    base = np.zeros(w.n_factors) if base is None else w.check_factors(np.atleast_2d(base), "base")[0]
    t = np.linspace(0.0, 1.0, n_steps)
    lo, hi = w.ranges.T
    factors = np.repeat(np.repeat(base[None, None, :], w.n_factors, 0), n_steps, 1)  # [F, S, F]
    for k in range(w.n_factors):
        factors[k, :, k] = lo[k] + (hi[k] - lo[k]) * t
    images, _ = render_faces(factors.reshape(-1, w.n_factors), size=size, world=w, progress=False)
    return images.reshape(w.n_factors, n_steps, size, size, 3), np.linspace(-1.0, 1.0, n_steps), w.factor_names


def factor_salience(world="default", size: int = 32, n: int = 256, seed: int = 0, step: float = 0.05
                    ) -> np.ndarray:
    """Per-factor pixel salience: float [F], the mean over ``n`` random faces of the summed squared
    change of all pixel values (RGB in [0, 1]) per unit factor, by central differences of ``step``.

    Design section 5 asks for salience within a factor of ~1.5 across factors, so that no factor is
    the one a β-VAE drops and PCA cannot single factors out by variance alone.
    """
    w = get_world(world)
    size = check_size(size)
    n = check_positive_int(n, "n")
    if not 0 < step < 0.5:
        raise ConfigError(f"step must be in (0, 0.5), got {step!r}")
    lo, hi = w.ranges.T
    base = w.sample(n, np.random.default_rng(check_positive_int(seed, "seed", minimum=0)))
    base = np.clip(base, lo + step, hi - step)
    out = np.empty(w.n_factors)
    for k in range(w.n_factors):
        up, down = base.copy(), base.copy()
        up[:, k] += step
        down[:, k] -= step
        img_up, _ = w.render_float(up, size)
        img_down, _ = w.render_float(down, size)
        diff = (img_up - img_down).astype(np.float64) / (2 * step)
        out[k] = (diff ** 2).sum(axis=(1, 2, 3)).mean()
    return out


def factor_variance(world="default", size: int = 32, n: int = 64, levels: int = 21, seed: int = 0) -> np.ndarray:
    """Per-factor image variance: float [F], the mean over ``n`` random faces of the summed variance
    of all pixel values (RGB in [0, 1]) while factor k alone sweeps its range in ``levels`` even steps.

    Salience (:func:`factor_salience`) is the local slope; this is how much of the image a factor
    explains over its whole range, which is what a β-VAE's reconstruction term pays for. The two
    agree for a factor that moves pixels along a straight line (variance = salience / 3 for a
    uniform factor on [-1, 1]); one that turns back has less variance for its slope.
    """
    w = get_world(world)
    size = check_size(size)
    n = check_positive_int(n, "n")
    levels = check_positive_int(levels, "levels", minimum=2)
    base = w.sample(n, np.random.default_rng(check_positive_int(seed, "seed", minimum=0)))
    out = np.empty(w.n_factors)
    for k, (lo, hi) in enumerate(w.ranges):
        factors = np.repeat(base, levels, axis=0)
        factors[:, k] = np.tile(np.linspace(lo, hi, levels), n)
        img, _ = w.render_float(factors, size)
        img = img.reshape(n, levels, -1).astype(np.float64)
        out[k] = ((img - img.mean(axis=1, keepdims=True)) ** 2).sum(axis=2).mean()
    return out
