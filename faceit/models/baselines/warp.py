"""Piecewise-affine warping between landmark shapes and one reference shape, vectorised over images.

Coordinates are pixel coordinates (x, y) = (column, row), pixel centres at integers.
The reference shape, plus eight anchor points on the image border, is triangulated once
(Delaunay). Every triangle maps affinely between the reference and another shape with the
same vertices, so a whole image, face and background, is warped.

- :meth:`PiecewiseAffineWarp.to_reference` (image -> shape-free texture): each pixel of the
  reference frame has a precomputed triangle and barycentric coordinates; the same
  barycentric combination of a shape's vertices gives where to sample that image (bilinear).
- :meth:`PiecewiseAffineWarp.from_reference` (texture -> image with a given shape): each
  output pixel is located in the target mesh, and the texture is sampled at the same
  barycentric position in the reference mesh.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import Delaunay

from ...errors import DataError

# Images per chunk when locating pixels in per-image meshes (memory ~ chunk * triangles * pixels).
_LOCATE_CHUNK = 16


def bilinear_sample(images: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Sample images [n, H, W, C] at positions x, y [n, P] (pixels; clamped to the image) -> [n, P, C]."""
    n, h, w, c = images.shape
    x = np.clip(x, 0.0, w - 1.0)
    y = np.clip(y, 0.0, h - 1.0)
    x0 = np.minimum(x.astype(np.int64), max(w - 2, 0))          # floor: x >= 0 after clipping
    y0 = np.minimum(y.astype(np.int64), max(h - 2, 0))
    fx = (x - x0).astype(images.dtype)[..., None]
    fy = (y - y0).astype(images.dtype)[..., None]
    dx = np.minimum(x0 + 1, w - 1) - x0                           # 0 only for one-pixel-wide images
    dy = (np.minimum(y0 + 1, h - 1) - y0) * w
    flat = images.reshape(n * h * w, c)
    i00 = (np.arange(n) * (h * w))[:, None] + y0 * w + x0        # row of the top-left neighbour in ``flat``
    top = np.take(flat, i00, axis=0)                              # np.take: numpy's fastest row gather
    top += (np.take(flat, i00 + dx, axis=0) - top) * fx
    bottom = np.take(flat, i00 + dy, axis=0)
    bottom += (np.take(flat, i00 + dy + dx, axis=0) - bottom) * fx
    top += (bottom - top) * fy
    return top


def border_anchors(height: int, width: int) -> np.ndarray:
    """Eight fixed points [8, 2] on the outer edge of the pixel grid: corners and edge midpoints."""
    x0, y0, x1, y1 = -0.5, -0.5, width - 0.5, height - 0.5
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
    return np.array([[x0, y0], [xm, y0], [x1, y0], [x1, ym], [x1, y1], [xm, y1], [x0, y1], [x0, ym]])


def locate(points: np.ndarray, vertices: np.ndarray, triangles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Find, for each mesh, the triangle holding each point and its barycentric coordinates.

    points [P, 2]; vertices [n, V, 2] (n meshes sharing ``triangles`` [T, 3]).
    Returns (triangle index int [n, P], barycentric [n, P, 3]). A point inside no triangle
    (a folded mesh) gets the triangle it is least outside of, with extrapolated coordinates.
    """
    a, b, c = (vertices[:, triangles[:, k]] for k in range(3))                # [n, T, 2]
    e1, e2 = b - a, c - a
    det = e1[..., 0] * e2[..., 1] - e1[..., 1] * e2[..., 0]                   # [n, T]
    degenerate = np.abs(det) < 1e-9
    inv = 1.0 / np.where(degenerate, 1.0, det)
    d = points[None, None, :, :] - a[:, :, None, :]                            # [n, T, P, 2]
    l1 = (d[..., 0] * e2[..., None, 1] - d[..., 1] * e2[..., None, 0]) * inv[..., None]
    l2 = (e1[..., None, 0] * d[..., 1] - e1[..., None, 1] * d[..., 0]) * inv[..., None]
    l0 = 1.0 - l1 - l2
    worst = np.minimum(np.minimum(l0, l1), l2)                                 # >= 0 inside
    worst[degenerate] = -np.inf
    tri = np.argmax(worst, axis=1)                                             # [n, P]
    pick = tri[:, None, :]
    bary = np.stack([np.take_along_axis(l, pick, axis=1)[:, 0] for l in (l0, l1, l2)], axis=-1)
    return tri, bary


class PiecewiseAffineWarp:
    """Warps images [N, H, W, C] between per-image landmark shapes [N, L, 2] and ``reference`` [L, 2]."""

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
        self.triangles = mesh.simplices.astype(np.int64)                          # [T, 3]
        ys, xs = np.mgrid[0:self.texture_height, 0:self.texture_width]
        self.pixels = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64)  # texture frame [P, 2]
        ys, xs = np.mgrid[0:self.height, 0:self.width]
        self.image_pixels = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64)
        # Precomputed once: triangle and barycentric coordinates of every reference-frame pixel.
        simplex = mesh.find_simplex(self.pixels)
        if (simplex < 0).any():  # only landmarks far outside the frame can leave pixels uncovered
            tri, bary = locate(self.pixels, self.vertices[None], self.triangles)
            self.pixel_triangle, self.pixel_bary = tri[0], bary[0]
        else:
            t = mesh.transform[simplex]                                           # [P, 3, 2]
            b = np.einsum("pij,pj->pi", t[:, :2], self.pixels - t[:, 2])
            self.pixel_triangle = simplex.astype(np.int64)
            self.pixel_bary = np.concatenate([b, 1.0 - b.sum(axis=1, keepdims=True)], axis=1)

    @property
    def pixel_weights(self) -> np.ndarray:
        """[V, P] weights of the mesh vertices for each texture-frame pixel (its barycentric coordinates)."""
        if getattr(self, "_pixel_weights", None) is None:
            weights = np.zeros((len(self.vertices), len(self.pixels)))
            corners = self.triangles[self.pixel_triangle]                         # [P, 3]
            np.add.at(weights, (corners, np.arange(len(self.pixels))[:, None]), self.pixel_bary)
            self._pixel_weights = weights
        return self._pixel_weights

    def to_texture_frame(self, points: np.ndarray) -> np.ndarray:
        """Image-frame pixel coordinates -> texture-frame coordinates (pixel edges stay edges)."""
        return (points + 0.5) * self.scale - 0.5

    def _with_anchors(self, shapes: np.ndarray) -> np.ndarray:
        shapes = np.asarray(shapes, dtype=np.float64)
        if shapes.ndim != 3 or shapes.shape[1:] != (self.n_landmarks, 2):
            raise DataError(f"landmarks: expected shape [N, {self.n_landmarks}, 2], got {shapes.shape}")
        anchors = np.broadcast_to(self.anchors, (shapes.shape[0], *self.anchors.shape))
        return np.concatenate([shapes, anchors], axis=1)

    def to_reference(self, images: np.ndarray, shapes: np.ndarray) -> np.ndarray:
        """Shape-free textures [N, H, W, C]: each image's content moved onto the reference shape."""
        verts = self._with_anchors(shapes)                                        # [N, V, 2]
        src_x = verts[..., 0] @ self.pixel_weights                                # [N, P]
        src_y = verts[..., 1] @ self.pixel_weights
        out = bilinear_sample(images, src_x, src_y)
        return out.reshape(images.shape[0], self.texture_height, self.texture_width, -1)

    def from_reference(self, textures: np.ndarray, shapes: np.ndarray) -> np.ndarray:
        """Images [N, H, W, C] with the given shapes, rendered from reference-frame textures."""
        verts = self._with_anchors(shapes)
        out = np.empty((textures.shape[0], len(self.image_pixels), textures.shape[-1]), textures.dtype)
        for start in range(0, len(verts), _LOCATE_CHUNK):
            sl = slice(start, start + _LOCATE_CHUNK)
            tri, bary = locate(self.image_pixels, verts[sl], self.triangles)      # [n, P], [n, P, 3]
            corners = self.vertices[self.triangles[tri]]                          # [n, P, 3, 2]
            src = np.einsum("npk,npkd->npd", bary, corners)
            out[sl] = bilinear_sample(textures[sl], src[..., 0], src[..., 1])
        return out.reshape(textures.shape[0], self.height, self.width, -1)
