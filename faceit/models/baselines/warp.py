"""Piecewise-affine warping between landmark shapes and one reference shape, vectorised over images.

Coordinates are pixel coordinates (x, y) = (column, row), pixel centres at integers.
The reference shape, plus eight anchor points on the image border, is triangulated once
(Delaunay). Every triangle maps affinely between the reference and another shape with the
same vertices, so a whole image, face and background, is warped. Textures live in a frame
``scale`` times finer than the images (the reference magnified), which keeps small faces sharp.

- :meth:`PiecewiseAffineWarp.to_reference` (image -> shape-free texture): each texture pixel
  has a precomputed triangle and barycentric coordinates; the same barycentric combination of
  a shape's vertices gives where to sample that image (bilinear).
- :meth:`PiecewiseAffineWarp.from_reference` (texture -> image with a given shape): each image
  pixel is located in the shape's mesh (first among the triangles near it in the reference
  mesh, then among all), and the texture is sampled at the same barycentric position in the
  reference mesh.

Both run as parallel numba loops over images and pixels, with no per-image Python work.
"""

from __future__ import annotations

import numba
import numpy as np
from scipy.spatial import Delaunay

from ...errors import DataError

# Triangles tried first for each pixel when locating it in a deformed mesh (the rest only if it is in none).
_CANDIDATES = 6


@numba.njit(cache=True, nogil=True, inline="always")
def _sample(image, x, y, out):
    """Bilinear sample of image [H, W, C] at (x, y), clamped to the image, into out [C]."""
    h, w, c = image.shape
    x = min(max(x, 0.0), w - 1.0)
    y = min(max(y, 0.0), h - 1.0)
    x0 = min(int(x), max(w - 2, 0))
    y0 = min(int(y), max(h - 2, 0))
    x1 = min(x0 + 1, w - 1)
    y1 = min(y0 + 1, h - 1)
    fx = x - x0
    fy = y - y0
    for k in range(c):
        top = image[y0, x0, k] + (image[y0, x1, k] - image[y0, x0, k]) * fx
        bottom = image[y1, x0, k] + (image[y1, x1, k] - image[y1, x0, k]) * fx
        out[k] = top + (bottom - top) * fy


@numba.njit(parallel=True, cache=True, nogil=True)
def _bilinear_kernel(images, x, y, out):
    for i in numba.prange(images.shape[0]):
        for p in range(x.shape[1]):
            _sample(images[i], x[i, p], y[i, p], out[i, p])


@numba.njit(parallel=True, cache=True, nogil=True)
def _to_reference_kernel(images, vertices, corners, bary, out):
    """out[i, p] = images[i] sampled at sum_k bary[p, k] * vertices[i, corners[p, k]]."""
    for i in numba.prange(images.shape[0]):
        verts = vertices[i]
        for p in range(corners.shape[0]):
            x = 0.0
            y = 0.0
            for k in range(3):
                x += bary[p, k] * verts[corners[p, k], 0]
                y += bary[p, k] * verts[corners[p, k], 1]
            _sample(images[i], x, y, out[i, p])


@numba.njit(cache=True, nogil=True, inline="always")
def _worst_coordinate(px, py, verts, tri, bary):
    """Barycentric coordinates of (px, py) in triangle ``tri`` [3] of ``verts``, into bary [3]; their minimum."""
    ax, ay = verts[tri[0], 0], verts[tri[0], 1]
    e1x, e1y = verts[tri[1], 0] - ax, verts[tri[1], 1] - ay
    e2x, e2y = verts[tri[2], 0] - ax, verts[tri[2], 1] - ay
    det = e1x * e2y - e1y * e2x
    if abs(det) < 1e-9:
        return -np.inf
    dx, dy = px - ax, py - ay
    bary[1] = (dx * e2y - dy * e2x) / det
    bary[2] = (e1x * dy - e1y * dx) / det
    bary[0] = 1.0 - bary[1] - bary[2]
    return min(bary[0], min(bary[1], bary[2]))


@numba.njit(parallel=True, cache=True, nogil=True)
def _from_reference_kernel(textures, vertices, reference, triangles, pixels, candidates, out):
    """out[i, p]: pixel p of image i located in mesh vertices[i], sampled from textures[i] via ``reference``."""
    n_tri = triangles.shape[0]
    for i in numba.prange(textures.shape[0]):
        verts = vertices[i]
        bary = np.empty(3)
        best_bary = np.empty(3)
        for p in range(pixels.shape[0]):
            px, py = pixels[p, 0], pixels[p, 1]
            best, best_worst = -1, -np.inf
            for j in range(candidates.shape[1]):
                t = candidates[p, j]
                worst = _worst_coordinate(px, py, verts, triangles[t], bary)
                if worst > best_worst:
                    best, best_worst = t, worst
                    best_bary[:] = bary
            if best_worst < -1e-9:  # in none of the nearby triangles: search them all
                for t in range(n_tri):
                    worst = _worst_coordinate(px, py, verts, triangles[t], bary)
                    if worst > best_worst:
                        best, best_worst = t, worst
                        best_bary[:] = bary
            x = 0.0
            y = 0.0
            for k in range(3):
                x += best_bary[k] * reference[triangles[best, k], 0]
                y += best_bary[k] * reference[triangles[best, k], 1]
            _sample(textures[i], x, y, out[i, p])


def bilinear_sample(images: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Sample images [n, H, W, C] at positions x, y [n, P] (pixels; clamped to the image) -> [n, P, C]."""
    images = np.ascontiguousarray(images)
    out = np.empty((images.shape[0], x.shape[1], images.shape[-1]), images.dtype)
    _bilinear_kernel(images, np.ascontiguousarray(x, np.float64), np.ascontiguousarray(y, np.float64), out)
    return out


def border_anchors(height: int, width: int) -> np.ndarray:
    """Eight fixed points [8, 2] on the outer edge of the pixel grid: corners and edge midpoints."""
    x0, y0, x1, y1 = -0.5, -0.5, width - 0.5, height - 0.5
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
    return np.array([[x0, y0], [xm, y0], [x1, y0], [x1, ym], [x1, y1], [xm, y1], [x0, y1], [x0, ym]])


def _barycentric_in(points: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Barycentric coordinates [..., 3] of points [..., 2] in triangles given by corners [..., 3, 2]."""
    a = corners[..., 0, :]
    e1, e2 = corners[..., 1, :] - a, corners[..., 2, :] - a
    d = points - a
    det = e1[..., 0] * e2[..., 1] - e1[..., 1] * e2[..., 0]
    l1 = (d[..., 0] * e2[..., 1] - d[..., 1] * e2[..., 0]) / det
    l2 = (e1[..., 0] * d[..., 1] - e1[..., 1] * d[..., 0]) / det
    return np.stack([1.0 - l1 - l2, l1, l2], axis=-1)


def barycentric(points: np.ndarray, vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Barycentric coordinates [P, T, 3] of every point [P, 2] in every triangle [T, 3] of one mesh [V, 2]."""
    return _barycentric_in(points[:, None, :], vertices[triangles][None])


class PiecewiseAffineWarp:
    """Warps images [N, H, W, C] between per-image landmark shapes [N, L, 2] and ``reference`` [L, 2].

    Textures are [N, scale*H, scale*W, C]: the reference frame magnified ``scale`` times.
    """

    def __init__(self, reference: np.ndarray, height: int, width: int, scale: int = 1):
        reference = np.asarray(reference, dtype=np.float64)
        if reference.ndim != 2 or reference.shape[1] != 2 or reference.shape[0] < 3:
            raise DataError(f"reference shape: expected [L >= 3, 2] landmarks, got {reference.shape}")
        self.height, self.width, self.scale = int(height), int(width), int(scale)
        self.texture_height, self.texture_width = self.scale * self.height, self.scale * self.width
        self.n_landmarks = reference.shape[0]
        self.anchors = border_anchors(self.height, self.width)
        # Texture-frame vertices: the reference (image pixels) magnified ``scale`` times.
        self.vertices = np.concatenate([self.to_texture_frame(reference),
                                        border_anchors(self.texture_height, self.texture_width)])  # [V, 2]
        mesh = Delaunay(self.vertices)
        self.triangles = mesh.simplices.astype(np.int64)                           # [T, 3]
        ys, xs = np.mgrid[0:self.texture_height, 0:self.texture_width]
        self.pixels = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64)  # texture frame [P, 2]
        ys, xs = np.mgrid[0:self.height, 0:self.width]
        self.image_pixels = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64)

        # Precomputed once: triangle and barycentric coordinates of every texture pixel.
        simplex = mesh.find_simplex(self.pixels)
        if (simplex < 0).any():  # only landmarks outside the frame leave pixels uncovered: nearest triangle
            worst = barycentric(self.pixels[simplex < 0], self.vertices, self.triangles).min(axis=-1)
            simplex[simplex < 0] = np.argmax(worst, axis=1)
        self.pixel_triangle = simplex.astype(np.int64)
        corners = self.vertices[self.triangles[self.pixel_triangle]]                # [P, 3, 2]
        self.pixel_bary = _barycentric_in(self.pixels, corners)                     # [P, 3]

        # The triangles nearest each image pixel in the reference mesh (image frame): tried first
        # when locating that pixel in a deformed mesh.
        reference_image = np.concatenate([reference, self.anchors])
        worst = barycentric(self.image_pixels, reference_image, self.triangles).min(axis=-1)   # [P_image, T]
        k = min(_CANDIDATES, len(self.triangles))
        self.pixel_candidates = np.ascontiguousarray(np.argsort(-worst, axis=1, kind="stable")[:, :k])

    def to_texture_frame(self, points: np.ndarray) -> np.ndarray:
        """Image-frame pixel coordinates -> texture-frame coordinates (pixel edges stay edges)."""
        return (points + 0.5) * self.scale - 0.5

    def _with_anchors(self, shapes: np.ndarray) -> np.ndarray:
        shapes = np.asarray(shapes, dtype=np.float64)
        if shapes.ndim != 3 or shapes.shape[1:] != (self.n_landmarks, 2):
            raise DataError(f"landmarks: expected shape [N, {self.n_landmarks}, 2], got {shapes.shape}")
        anchors = np.broadcast_to(self.anchors, (shapes.shape[0], *self.anchors.shape))
        return np.ascontiguousarray(np.concatenate([shapes, anchors], axis=1))

    def to_reference(self, images: np.ndarray, shapes: np.ndarray) -> np.ndarray:
        """Shape-free textures [N, scale*H, scale*W, C]: each image's content moved onto the reference shape."""
        images = np.ascontiguousarray(images)
        verts = self._with_anchors(shapes)
        out = np.empty((len(images), len(self.pixels), images.shape[-1]), images.dtype)
        _to_reference_kernel(images, verts, self.triangles[self.pixel_triangle], self.pixel_bary, out)
        return out.reshape(len(images), self.texture_height, self.texture_width, -1)

    def from_reference(self, textures: np.ndarray, shapes: np.ndarray) -> np.ndarray:
        """Images [N, H, W, C] with the given shapes, rendered from reference-frame textures."""
        textures = np.ascontiguousarray(textures)
        verts = self._with_anchors(shapes)
        out = np.empty((len(textures), len(self.image_pixels), textures.shape[-1]), textures.dtype)
        _from_reference_kernel(textures, verts, self.vertices, self.triangles, self.image_pixels,
                               self.pixel_candidates, out)
        return out.reshape(len(textures), self.height, self.width, -1)
