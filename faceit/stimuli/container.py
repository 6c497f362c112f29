"""The Stimuli container: images plus whatever is known about them (ids, factors, landmarks)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._io import atomic_path
from .._validation import as_matrix, as_real_array, check_finite
from ..errors import ConfigError, DataError


@dataclass
class Stimuli:
    """A set of face images and what is known about them.

    images: uint8 [N, H, W, 3], RGB.
    ids: str [N], unique; ``None`` numbers the images ``"000000"``, ``"000001"``, ...
    factors: float64 [N, F] | None, the generative factors (synthetic faces) or attributes (CelebA).
    factor_names: list of F names, one per factor column (empty when ``factors`` is None).
    landmarks: float64 [N, L, 2] | None, (x, y) in pixel coordinates, the centre of pixel
        (row i, column j) being (x=j, y=i).
    labels: per-image arrays [N] by name, e.g. ``"identity"`` or CelebA's ``"partition"``.
    meta: anything else (the world's name, its identity and view factors, the source path).
    ids_are_row_numbers: whether the ids only number the images (None: exactly when ``ids`` is
        None); :meth:`faceit.neural.Responses.rows_for` then pairs responses by position.
    """

    images: np.ndarray
    ids: np.ndarray | None = None
    factors: np.ndarray | None = None
    factor_names: list[str] = field(default_factory=list)
    landmarks: np.ndarray | None = None
    labels: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    #: True when the ids are row numbers, not names (None: True exactly when no ids were given);
    #: subsets, copies and files keep it
    ids_are_row_numbers: bool | None = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        images = np.asarray(self.images)
        if images.dtype != np.uint8:
            raise DataError(f"Stimuli.images: expected dtype uint8 (0-255), got {images.dtype}; "
                            "convert with (np.clip(x, 0, 1) * 255).round().astype(np.uint8)")
        if images.ndim != 4 or images.shape[-1] != 3:
            raise DataError(f"Stimuli.images: expected shape [N, H, W, 3] (RGB), got {images.shape}")
        n = images.shape[0]
        if n == 0 or images.shape[1] == 0 or images.shape[2] == 0:
            raise DataError(f"Stimuli.images: no pixels (shape {images.shape})")
        self.images = images

        if self.ids_are_row_numbers is None:
            self.ids_are_row_numbers = self.ids is None
        self.ids_are_row_numbers = bool(self.ids_are_row_numbers)
        if self.ids is None:
            self.ids = np.array([f"{i:06d}" for i in range(n)])
        ids = np.asarray(self.ids)
        if ids.ndim != 1 or ids.shape[0] != n:
            raise DataError(f"Stimuli.ids: expected {n} ids (one per image), got shape {ids.shape}")
        self.ids = ids.astype(str)
        uniq, counts = np.unique(self.ids, return_counts=True)
        if uniq.size < n:
            dup = uniq[counts > 1]
            raise DataError(f"Stimuli.ids: {dup.size} duplicate id(s), e.g. {dup[:5].tolist()}; ids must be unique")

        self.factor_names = [str(name) for name in self.factor_names]
        if self.factors is None:
            if self.factor_names:
                raise DataError("Stimuli.factor_names given without factors")
        else:
            self.factors = as_matrix(self.factors, "Stimuli.factors")
            if self.factors.shape[0] != n:
                raise DataError(f"Stimuli.factors has {self.factors.shape[0]} rows but there are {n} images")
            f = self.factors.shape[1]
            if not self.factor_names:
                self.factor_names = [f"factor{j}" for j in range(f)]
            if len(self.factor_names) != f:
                raise DataError(f"Stimuli.factor_names has {len(self.factor_names)} names "
                                f"but factors has {f} columns")
            if len(set(self.factor_names)) != f:
                raise DataError(f"Stimuli.factor_names must be unique, got {self.factor_names}")

        if self.landmarks is not None:
            lm = check_finite(as_real_array(self.landmarks, "Stimuli.landmarks", ndim=3), "Stimuli.landmarks")
            if lm.shape[0] != n or lm.shape[2] != 2:
                raise DataError(f"Stimuli.landmarks: expected shape [{n}, L, 2], got {lm.shape}")
            self.landmarks = lm

        labels = {}
        for name, values in dict(self.labels).items():
            values = np.asarray(values)
            if values.ndim != 1 or values.shape[0] != n:
                raise DataError(f"Stimuli.labels[{name!r}]: expected shape [{n}], got {values.shape}")
            labels[str(name)] = values
        self.labels = labels

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def image_size(self) -> tuple[int, int]:
        """(height, width) in pixels."""
        return self.images.shape[1], self.images.shape[2]

    def as_float(self) -> np.ndarray:
        """The images as float32 [N, H, W, 3] in [0, 1]."""
        return self.images.astype(np.float32) / np.float32(255.0)

    def factor(self, name: str) -> np.ndarray:
        """One factor column by name: float [N]."""
        if self.factors is None or name not in self.factor_names:
            raise DataError(f"Stimuli has no factor {name!r}; factors are {self.factor_names}")
        return self.factors[:, self.factor_names.index(name)]

    @property
    def has_ids(self) -> bool:
        """False when the ids are only row numbers (images given without names)."""
        return not self.ids_are_row_numbers

    def save(self, path) -> Path:
        """Write an .npz archive (atomically) that :func:`faceit.stimuli.load_images` reads back:
        images, ids, and factors, factor_names, landmarks, labels (as ``label_<name>``) when present,
        and ``meta`` (JSON, without its ``source``)."""
        arrays = {"images": self.images, "ids": self.ids}
        if self.factors is not None:
            arrays["factors"] = self.factors
            arrays["factor_names"] = np.array(self.factor_names)
        if self.landmarks is not None:
            arrays["landmarks"] = self.landmarks
        for name, values in self.labels.items():
            arrays[f"label_{name}"] = values
        kept = {k: v for k, v in self.meta.items() if k != "source"}  # where it came from is the archive now
        arrays["meta_json"] = np.asarray(json.dumps(kept, default=str))
        arrays["ids_are_row_numbers"] = np.asarray(self.ids_are_row_numbers)
        path = Path(path)
        if path.suffix != ".npz":
            raise ConfigError(f"Stimuli.save: path {str(path)!r} must end in .npz (load_images reads it by that name)")
        with atomic_path(path, suffix=".npz") as tmp:
            np.savez_compressed(tmp, **arrays)
        return path

    def subset(self, index) -> "Stimuli":
        """The stimuli picked by an integer index array, a boolean mask or a slice, in that order."""
        index = np.arange(len(self))[index] if isinstance(index, slice) else np.asarray(index)
        if index.dtype == bool:
            if index.shape != (len(self),):
                raise DataError(f"subset: boolean mask needs shape ({len(self)},), got {index.shape}")
            index = np.flatnonzero(index)
        if index.ndim != 1 or index.dtype.kind not in "iu":
            raise DataError(f"subset: expected a 1-D integer index, boolean mask or slice, got {index.dtype} "
                            f"of shape {index.shape}")
        if index.size and (index.min() < -len(self) or index.max() >= len(self)):
            raise DataError(f"subset: index out of range for {len(self)} stimuli")
        return Stimuli(
            images=self.images[index],
            ids=self.ids[index],
            factors=None if self.factors is None else self.factors[index],
            factor_names=list(self.factor_names),
            landmarks=None if self.landmarks is None else self.landmarks[index],
            labels={k: v[index] for k, v in self.labels.items()},
            meta=dict(self.meta),
            ids_are_row_numbers=self.ids_are_row_numbers,
        )
