"""Procrustes alignment of landmark shapes [N, L, 2] (similarity: translation, scale, rotation)."""

from __future__ import annotations

import numpy as np


def normalise(shapes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre each shape and scale it to unit Frobenius norm.

    Returns (normalised [N, L, 2], centroid [N, 2], centroid size [N]).
    """
    centroid = shapes.mean(axis=1)
    centred = shapes - centroid[:, None, :]
    size = np.sqrt((centred**2).sum(axis=(1, 2)))
    return centred / np.maximum(size, 1e-12)[:, None, None], centroid, size


def rotate_onto(shapes: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Rotate centred shapes [N, L, 2] to best match ``target`` [L, 2] (least squares, no reflection)."""
    m = np.einsum("nli,lj->nij", shapes, target)                 # [N, 2, 2]
    u, _, vt = np.linalg.svd(m)
    d = np.sign(np.linalg.det(u @ vt))
    d[d == 0] = 1.0
    u[:, :, 1] *= d[:, None]                                      # forbid reflections
    return shapes @ (u @ vt)


def align(shapes: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Shapes [N, L, 2] with translation, scale and rotation removed, in the frame of ``target`` [L, 2]."""
    normed, _, _ = normalise(shapes)
    return rotate_onto(normed, target)


def generalized_procrustes(shapes: np.ndarray, max_iter: int = 50, tol: float = 1e-10) -> np.ndarray:
    """Iterated alignment of all shapes to their mean; returns the mean shape [L, 2] (centred, unit norm).

    The mean's orientation is that of the plain average of the centred, normalised shapes, so an
    upright set of faces keeps an upright mean.
    """
    normed, _, _ = normalise(shapes)
    anchor = normed.mean(axis=0)
    anchor /= np.linalg.norm(anchor)
    mean = anchor
    for _ in range(max_iter):
        new = rotate_onto(normed, mean).mean(axis=0)
        new = rotate_onto(new[None], anchor)[0]
        new /= np.linalg.norm(new)
        done = np.sum((new - mean) ** 2) < tol
        mean = new
        if done:
            break
    return mean
