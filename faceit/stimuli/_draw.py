"""Batch painting of anti-aliased flat-colour shapes with signed-distance fields.

Coordinates are normalised: the image spans [0, 1] in x (right) and y (down), and the
centre of pixel (row i, column j) of a ``size`` image is ((j + 0.5) / size, (i + 0.5) / size).
A shape covers a pixel by ``clip(0.5 - d * size, 0, 1)`` where ``d`` is the signed distance
from the pixel centre to the shape's edge (negative inside): a one-pixel linear ramp, so
pixel values are continuous, piecewise-linear functions of every shape parameter.

Shape parameters are arrays [M] with M = N (one per face) or M = 1 (the same for all).
Every shape is evaluated only inside a box of pixels that bounds it for all faces, which is
what makes the batch cheap: eyes and ears cost a few hundred pixels per face, not all of them.
"""

from __future__ import annotations

import numpy as np

_TINY = np.float32(1e-12)


def _col(x) -> np.ndarray:
    """A parameter as float32 [M, 1, 1] for broadcasting against [h, w] pixel grids."""
    return np.asarray(x, dtype=np.float32).reshape(-1, 1, 1)


class Canvas:
    """A batch of float32 RGB images in [0, 1], painted back to front.

    Layers whose coverage is the same for every face (shape [1, h, w]) and that come before any
    per-face shape are not blended one by one: their combined effect is one weight map per layer,
    and the images are a matrix product of per-face colours [N, L] with those weights [L, pixels]
    for each channel. Pixels are stored channels-first while painting; :meth:`images` returns
    the usual [N, size, size, 3] view.
    """

    def __init__(self, n: int, size: int, background, out: np.ndarray | None = None):
        self.n = n
        self.size = size
        shape = (n, 3, size, size)
        if out is not None and (out.shape[1:] != shape[1:] or out.shape[0] < n or out.dtype != np.float32):
            raise ValueError(f"Canvas: out buffer of shape {out.shape} cannot hold {shape}")
        # Reusing a buffer across batches saves the page faults of a fresh allocation each time.
        self.pixels = np.empty(shape, dtype=np.float32) if out is None else out[:n]
        self._centres = ((np.arange(size, dtype=np.float32) + 0.5) / size)
        self._pending = [(np.ones((size, size), dtype=np.float32), self._colours(background))]

    def _colours(self, colour) -> np.ndarray:
        return np.asarray(colour, dtype=np.float32).reshape(-1, 3)

    def box(self, x0: float, x1: float, y0: float, y1: float) -> tuple[slice, slice]:
        """Row and column slices of the pixels whose centres lie within one pixel of [x0, x1] x [y0, y1]."""
        s = self.size
        cols = slice(max(0, int(np.floor(x0 * s - 1.5))), min(s, int(np.ceil(x1 * s + 1.5))))
        rows = slice(max(0, int(np.floor(y0 * s - 1.5))), min(s, int(np.ceil(y1 * s + 1.5))))
        return rows, cols

    def grid(self, rows: slice, cols: slice) -> tuple[np.ndarray, np.ndarray]:
        """Pixel-centre coordinates of a box: x [1, 1, w] and y [1, h, 1]."""
        return self._centres[cols].reshape(1, 1, -1), self._centres[rows].reshape(1, -1, 1)

    def coverage(self, signed_distance: np.ndarray) -> np.ndarray:
        """Anti-aliased coverage in [0, 1] from a signed distance in normalised units."""
        cov = np.float32(0.5) - signed_distance * np.float32(self.size)
        return np.clip(cov, 0.0, 1.0, out=cov)

    def paint(self, coverage: np.ndarray, colour, rows: slice, cols: slice) -> None:
        """Blend ``colour`` [M, 3] over the box with alpha = ``coverage`` [M, h, w] (M = N or 1)."""
        colour = self._colours(colour)
        if self._pending is not None and coverage.shape[0] == 1:
            full = np.zeros((self.size, self.size), dtype=np.float32)
            full[rows, cols] = coverage[0]
            self._pending.append((full, colour))
            return
        self._flush()
        region = self.pixels[:, :, rows, cols]
        region += coverage[:, None] * (colour[:, :, None, None] - region)

    def _flush(self) -> None:
        """Composite the pending shared-shape layers: pixels[n, c] = sum_l colour[n, l, c] * weight[l]."""
        if self._pending is None:
            return
        alphas = [a.reshape(-1) for a, _ in self._pending]
        weights = np.empty((len(alphas), alphas[0].size), dtype=np.float32)
        transmit = np.ones(alphas[0].size, dtype=np.float32)  # how much of layer l survives those above it
        for l in range(len(alphas) - 1, -1, -1):
            weights[l] = alphas[l] * transmit
            transmit *= 1 - alphas[l]
        colours = np.stack([np.broadcast_to(c, (self.n, 3)) for _, c in self._pending], axis=2)  # [N, 3, L]
        np.matmul(colours.reshape(self.n * 3, -1), weights, out=self.pixels.reshape(self.n * 3, -1))
        self._pending = None

    def images(self) -> np.ndarray:
        """The painted images, float32 [N, size, size, 3] (a view)."""
        self._flush()
        return self.pixels.transpose(0, 2, 3, 1)


def ellipse_distance(x, y, cx, cy, rx, ry) -> np.ndarray:
    """Approximate signed distance to an axis-aligned ellipse, exact on its edge to first order.

    x [1, 1, w], y [1, h, 1]; cx, cy, rx, ry [M]. Returns [M, h, w] in normalised units.
    Uses d = (g - 1) / |grad g| with g = sqrt((dx/rx)^2 + (dy/ry)^2).
    """
    rx, ry = _col(rx), _col(ry)
    dx = (x - _col(cx)) / rx
    dy = (y - _col(cy)) / ry
    g = np.sqrt(dx * dx + dy * dy)
    grad = np.sqrt((dx / rx) ** 2 + (dy / ry) ** 2)
    # g * (g - 1) / (g |grad g|); the centre itself (g = 0) gets a large negative distance.
    return (g - 1) * np.maximum(g, np.float32(1e-6)) / np.maximum(grad, _TINY)


def capsule_distance(x, y, ax, ay, bx, by, radius) -> np.ndarray:
    """Exact signed distance to a segment (ax, ay)-(bx, by) thickened by ``radius``: [M, h, w]."""
    ax, ay, bx, by = _col(ax), _col(ay), _col(bx), _col(by)
    px, py = x - ax, y - ay
    ux, uy = bx - ax, by - ay
    t = np.clip((px * ux + py * uy) / np.maximum(ux * ux + uy * uy, _TINY), 0.0, 1.0)
    return np.sqrt((px - t * ux) ** 2 + (py - t * uy) ** 2) - _col(radius)


def polyline_distance(x, y, xs, ys, radius) -> np.ndarray:
    """Signed distance to a polyline through points (xs[:, k], ys[:, k]) thickened by ``radius``.

    xs, ys: [M, K] with K >= 2 points. Returns [M, h, w], the minimum over its K - 1 capsules.
    """
    xs = np.asarray(xs, dtype=np.float32)
    ys = np.asarray(ys, dtype=np.float32)
    d = capsule_distance(x, y, xs[:, 0], ys[:, 0], xs[:, 1], ys[:, 1], radius)
    for k in range(1, xs.shape[1] - 1):
        np.minimum(d, capsule_distance(x, y, xs[:, k], ys[:, k], xs[:, k + 1], ys[:, k + 1], radius), out=d)
    return d
