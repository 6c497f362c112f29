"""The AAM's geometry: bilinear sampling, the piecewise-affine warp and Procrustes alignment,
each checked against an independent scipy reference."""

import numpy as np
import pytest
from matplotlib.tri import LinearTriInterpolator, Triangulation
from scipy.interpolate import LinearNDInterpolator
from scipy.ndimage import map_coordinates
from scipy.spatial import Delaunay, procrustes

from faceit.errors import DataError
from faceit.models.baselines.procrustes import align, generalized_procrustes, normalise
from faceit.models.baselines.warp import PiecewiseAffineWarp, bilinear_sample, border_anchors

H, W = 20, 24


def smooth_images(n, rng):
    """Images [n, H, W, 3] of low-frequency random patterns (so bilinear resampling is nearly exact)."""
    ys, xs = np.mgrid[0:H, 0:W]
    out = np.empty((n, H, W, 3), np.float64)
    for i in range(n):
        for c in range(3):
            fx, fy, ph = rng.uniform(0.05, 0.2), rng.uniform(0.05, 0.2), rng.uniform(0, 6)
            out[i, :, :, c] = 0.5 + 0.4 * np.sin(fx * xs + fy * ys + ph)
    return out


def reference_shape(rng, n_points=9):
    """Landmarks well inside the frame, in general position."""
    return np.column_stack([rng.uniform(5, W - 6, n_points), rng.uniform(4, H - 5, n_points)])


def map_coordinates_sample(images, x, y):
    """scipy's linear interpolation with edge clamping, per image and channel: [n, P, C]."""
    return np.stack([np.stack([map_coordinates(img[..., c], [yy, xx], order=1, mode="nearest")
                               for c in range(img.shape[-1])], axis=-1)
                     for img, xx, yy in zip(images, x, y)])


def test_bilinear_sample_matches_scipy(rng):
    images = rng.random((3, H, W, 2))
    x = rng.uniform(-2, W + 1, (3, 50))   # includes positions outside the image: clamped
    y = rng.uniform(-2, H + 1, (3, 50))
    ours = bilinear_sample(images, x, y)
    ref = map_coordinates_sample(images, np.clip(x, 0, W - 1), np.clip(y, 0, H - 1))
    np.testing.assert_allclose(ours, ref, atol=1e-12)


def test_warp_to_reference_is_identity_on_the_reference_shape(rng):
    ref = reference_shape(rng)
    warp = PiecewiseAffineWarp(ref, H, W)
    images = rng.random((2, H, W, 3))
    np.testing.assert_allclose(warp.to_reference(images, np.stack([ref, ref])), images, atol=1e-12)


def test_warp_to_reference_matches_scipy_piecewise_linear_map(rng):
    ref = reference_shape(rng)
    warp = PiecewiseAffineWarp(ref, H, W)
    shapes = ref + rng.normal(0, 1.0, (4, *ref.shape))
    images = rng.random((4, H, W, 3))
    ours = warp.to_reference(images, shapes)
    # Independent map: linear interpolation of the shape's vertices over scipy's Delaunay mesh of the reference.
    mesh = Delaunay(warp.vertices)
    grid = warp.pixels
    expected = []
    for img, shape in zip(images, shapes):
        verts = np.concatenate([shape, border_anchors(H, W)])
        src = LinearNDInterpolator(mesh, verts)(grid)
        expected.append(map_coordinates_sample(img[None], src[None, :, 0], src[None, :, 1])[0])
    np.testing.assert_allclose(ours.reshape(4, -1, 3), np.stack(expected), atol=1e-9)


def test_warp_from_reference_matches_matplotlib_inverse_map(rng):
    ref = reference_shape(rng)
    warp = PiecewiseAffineWarp(ref, H, W)
    shapes = ref + rng.normal(0, 0.4, (3, *ref.shape))
    textures = rng.random((3, H, W, 3))
    ours = warp.from_reference(textures, shapes)
    for texture, shape, out in zip(textures, shapes, ours):
        # Independent map: matplotlib's point location and linear interpolation on the same triangles.
        verts = np.concatenate([shape, border_anchors(H, W)])
        mesh = Triangulation(verts[:, 0], verts[:, 1], triangles=warp.triangles)
        px, py = warp.pixels[:, 0], warp.pixels[:, 1]
        src_x = LinearTriInterpolator(mesh, warp.vertices[:, 0])(px, py)
        src_y = LinearTriInterpolator(mesh, warp.vertices[:, 1])(px, py)
        assert not np.ma.is_masked(src_x)
        expected = map_coordinates_sample(texture[None], np.asarray(src_x)[None], np.asarray(src_y)[None])[0]
        np.testing.assert_allclose(out.reshape(-1, 3), expected, atol=1e-9)


def test_warp_round_trip_recovers_smooth_images(rng):
    ref = reference_shape(rng)
    warp = PiecewiseAffineWarp(ref, H, W)
    shapes = ref + rng.normal(0, 0.8, (5, *ref.shape))
    images = smooth_images(5, rng)
    back = warp.from_reference(warp.to_reference(images, shapes), shapes)
    assert np.abs(back - images).mean() < 0.01


def test_warp_rejects_wrong_landmark_count(rng):
    warp = PiecewiseAffineWarp(reference_shape(rng), H, W)
    with pytest.raises(DataError, match="landmarks"):
        warp.to_reference(rng.random((2, H, W, 3)), rng.random((2, 5, 2)))


def random_similarities(base, n, rng):
    """``n`` copies of ``base`` [L, 2], each rotated, scaled and translated at random."""
    theta = rng.uniform(-0.6, 0.6, n)
    rot = np.stack([np.stack([np.cos(theta), -np.sin(theta)], -1), np.stack([np.sin(theta), np.cos(theta)], -1)], -2)
    scale = rng.uniform(0.5, 2.0, n)
    shift = rng.uniform(-10, 10, (n, 2))
    return np.einsum("lj,nij->nli", base, rot) * scale[:, None, None] + shift[:, None, :]


def test_procrustes_removes_similarity_transforms(rng):
    base = rng.normal(size=(12, 2))
    shapes = random_similarities(base, 6, rng)
    target, _, _ = normalise(base[None])
    aligned = align(shapes, target[0])
    np.testing.assert_allclose(aligned, np.broadcast_to(target, aligned.shape), atol=1e-10)
    # scipy's Procrustes agrees that any two of them are the same shape.
    assert procrustes(shapes[0], shapes[3])[2] < 1e-20


def test_generalized_procrustes_mean_minimises_scipy_disparity(rng):
    base = rng.normal(size=(10, 2))
    shapes = random_similarities(base, 30, rng) + rng.normal(0, 0.05, (30, 10, 2))
    mean = generalized_procrustes(shapes)
    assert abs(np.linalg.norm(mean) - 1) < 1e-12 and np.allclose(mean.mean(axis=0), 0)
    assert procrustes(mean, base)[2] < 1e-3                  # the mean is the underlying shape
    aligned = align(shapes, mean)
    resid = ((aligned - mean) ** 2).sum(axis=(1, 2))
    np.testing.assert_allclose(resid, [procrustes(mean, s)[2] for s in shapes], rtol=0.05, atol=1e-6)
