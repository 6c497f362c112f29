"""The Active Appearance Model as Chang & Tsao (2017) used it: shape and appearance coordinates.

Shape: landmarks [N, L, 2] (pixel (x, y)) are Procrustes-aligned (translation, scale and
rotation removed) and reduced by PCA to ``n_shape`` coordinates. Appearance: each image is
warped piecewise-affinely onto the mean shape (shape-free texture, the whole frame) and the
textures are reduced by PCA to ``n_appearance`` coordinates. The units are both blocks side
by side, each divided by the square root of its total variance on the training stimuli, so
shape and appearance weigh the same (unit total variance per block).

Synthesis (inverse_transform): coordinates -> aligned shape, placed at the mean pose
(mean centroid and size of the training faces) -> texture -> warped from the mean shape onto
that shape. The landmarks come with the stimuli (synthetic faces have them; give real
images theirs through ``landmarks=``); the model does not search for them.

Textures are sampled in a frame ``texture_scale`` times finer than the images (default 3 for
faces up to 48 px, else 1), so fitting holds N x (scale*H) x (scale*W) x 3 float32 textures:
about 110 kB per 32 px face at the default; pass ``texture_scale=1`` to fit very many faces.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..._validation import as_real_array, check_finite, check_positive_int
from ...errors import DataError
from .base import Baseline, missing_state
from .pca import fit_pca
from .procrustes import align, generalized_procrustes, normalise
from .warp import PiecewiseAffineWarp

# Images warped per chunk (one progress-bar step).
_WARP_CHUNK = 256


def landmarks_of(stimuli, landmarks, n_images: int) -> np.ndarray:
    """Landmarks float64 [N, L, 2] from the ``landmarks`` argument, else from ``stimuli.landmarks``."""
    source = "landmarks"
    if landmarks is None:
        landmarks = getattr(stimuli, "landmarks", None)
        source = "stimuli.landmarks"
    if landmarks is None:
        raise DataError("AAM needs facial landmarks [N, L, 2] (pixel x, y) for every image, and these stimuli "
                        "have none: use stimuli that carry landmarks (faceit.stimuli.synthetic_faces does) "
                        "or pass landmarks=... with the images")
    arr = check_finite(as_real_array(landmarks, source, ndim=3), source)
    if arr.shape[0] != n_images or arr.shape[2] != 2:
        raise DataError(f"{source}: expected shape [{n_images}, L, 2] (one (x, y) per landmark per image), "
                        f"got {arr.shape}")
    if arr.shape[1] < 3:
        raise DataError(f"{source}: an AAM needs at least 3 landmarks per face, got {arr.shape[1]}")
    return arr


class AAM(Baseline):
    """Active Appearance Model features: ``n_shape`` shape plus ``n_appearance`` appearance units.

    units [N, n_shape + n_appearance]: shape coordinates first. ``fit``/``transform`` take the
    landmarks from ``stimuli.landmarks`` or from ``landmarks=`` [N, L, 2] (pixel x, y).
    """

    family = "aam"
    has_decoder = True

    def __init__(self, n_shape: int = 25, n_appearance: int = 25, texture_scale: int | None = None, seed: int = 0,
                 progress: bool | None = None, name: str | None = None):
        super().__init__(name)
        self.n_shape = check_positive_int(n_shape, "n_shape")
        self.n_appearance = check_positive_int(n_appearance, "n_appearance")
        self.texture_scale = None if texture_scale is None else check_positive_int(texture_scale, "texture_scale")
        self.seed = check_positive_int(seed, "seed", minimum=0)
        self.progress = progress
        self.warp_: PiecewiseAffineWarp | None = None

    @property
    def n_units_(self) -> int:
        return self.n_shape + self.n_appearance

    def get_config(self) -> dict:
        return {"n_shape": self.n_shape, "n_appearance": self.n_appearance, "texture_scale": self.texture_scale,
                "seed": self.seed}

    # ------------------------------------------------------------------ fit / transform
    def _fit(self, stimuli, images, landmarks=None):
        n, h, w, _ = images.shape
        shapes = landmarks_of(stimuli, landmarks, n)
        n_points = shapes.shape[1]
        self._check_n_units(self.n_shape, "n_shape", n, 2 * n_points, "landmark coordinates")

        self.shape_target_ = generalized_procrustes(shapes)                      # [L, 2], unit norm
        aligned = align(shapes, self.shape_target_).reshape(n, -1)
        self.shape_mean_, self.shape_components_, shape_var = fit_pca(aligned, self.n_shape, self.seed)
        _, centroid, size = normalise(shapes)
        self.pose_ = np.array([*centroid.mean(axis=0), size.mean()])            # cx, cy, centroid size
        self._build_warp(h, w)

        textures = self._textures(images, shapes)
        self._check_n_units(self.n_appearance, "n_appearance", n, textures.shape[1], "texture values")
        self.appearance_mean_, self.appearance_components_, app_var = fit_pca(textures, self.n_appearance, self.seed)
        self.block_scale_ = np.sqrt([shape_var.sum(), app_var.sum()])
        self.block_scale_ = np.maximum(self.block_scale_, np.finfo(np.float64).tiny)

    def _transform(self, stimuli, images, landmarks=None):
        shapes = landmarks_of(stimuli, landmarks, len(images))
        if shapes.shape[1] != self.warp_.n_landmarks:
            raise DataError(f"landmarks: {self.name} was fitted with {self.warp_.n_landmarks} landmarks per face, "
                            f"got {shapes.shape[1]}")
        aligned = align(shapes, self.shape_target_).reshape(len(shapes), -1)
        b_shape = (aligned - self.shape_mean_) @ self.shape_components_.T / self.block_scale_[0]
        textures = self._textures(images, shapes)
        b_app = (textures - self.appearance_mean_) @ self.appearance_components_.T / self.block_scale_[1]
        return np.concatenate([b_shape, b_app], axis=1).astype(np.float64)

    def _inverse_transform(self, units):
        n = len(units)
        shapes = self.synthesize_shapes(units[:, :self.n_shape])
        b_app = units[:, self.n_shape:] * self.block_scale_[1]
        textures = (b_app @ self.appearance_components_ + self.appearance_mean_).astype(np.float32)
        textures = textures.reshape(n, self.warp_.texture_height, self.warp_.texture_width, -1)
        return self.warp_.from_reference(textures, shapes)

    def synthesize_shapes(self, shape_units: np.ndarray) -> np.ndarray:
        """Landmarks [N, L, 2] in pixels, at the mean pose, from shape units [N, n_shape]."""
        aligned = shape_units * self.block_scale_[0] @ self.shape_components_ + self.shape_mean_
        return self._to_pixels(aligned.reshape(len(shape_units), -1, 2))

    # ------------------------------------------------------------------ helpers
    def _to_pixels(self, aligned: np.ndarray) -> np.ndarray:
        return aligned * self.pose_[2] + self.pose_[:2]

    def _build_warp(self, h: int, w: int):
        reference = self._to_pixels(self.shape_mean_.reshape(1, -1, 2))[0]
        self.warp_ = PiecewiseAffineWarp(reference, h, w, scale=self.texture_scale_for(h, w))

    def texture_scale_for(self, h: int, w: int) -> int:
        """Magnification of the texture frame: ``texture_scale``, or by default 3 for faces up to 48 px, else 1.

        Warping a small face into the mean shape and back blurs it (13% of the pixel variance
        at 32 px in the synthetic world); a 3x texture frame, whose pixel centres include the
        image's, brings that to 2% at nine times the texture size.
        """
        if self.texture_scale is not None:
            return self.texture_scale
        return 3 if max(h, w) <= 48 else 1

    def _textures(self, images: np.ndarray, shapes: np.ndarray) -> np.ndarray:
        """Shape-free textures, flattened: float32 [N, (scale*H)*(scale*W)*C]."""
        w = self.warp_
        out = np.empty((len(images), w.texture_height * w.texture_width * images.shape[-1]), np.float32)
        starts = range(0, len(images), _WARP_CHUNK)
        for start in tqdm(starts, desc="AAM warp", unit="chunk", disable=self._quiet(len(starts))):
            sl = slice(start, start + _WARP_CHUNK)
            out[sl] = self.warp_.to_reference(images[sl], shapes[sl]).reshape(len(images[sl]), -1)
        return out

    def _quiet(self, n_chunks: int):
        """tqdm's ``disable``: progress=None shows a bar for long jobs on a terminal only."""
        if self.progress is None:
            return True if n_chunks < 4 else None
        return not self.progress

    _STATE = ("shape_target", "shape_mean", "shape_components", "appearance_mean", "appearance_components",
              "block_scale", "pose")

    def _get_state(self):
        return {key: getattr(self, f"{key}_") for key in self._STATE}

    def _set_state(self, arrays, path: Path, meta: dict):
        missing_state(path, arrays, self._STATE)
        for key in self._STATE:
            setattr(self, f"{key}_", arrays[key])
        self._build_warp(*self.image_shape_[:2])
