"""The interface every comparison model shares: fit, transform, inverse_transform, save, load.

A baseline is fitted on stimuli (a :class:`faceit.stimuli.Stimuli`, or a plain image array
uint8/float [N, H, W, 3]) and turns stimuli into a :class:`~faceit.representation.Representation`
(units float [N, K], ``kl=None``, every unit informative), so the pipeline treats PCA, ICA, AAM,
the identity classifier and the trained autoencoders alike.

Saved baselines are one safetensors file: the fitted arrays, plus in its header the class,
the constructor config (JSON) and a SHA-256 checksum over both, verified on load.
"""

from __future__ import annotations

import abc
import hashlib
import json
from pathlib import Path
from typing import ClassVar

import numpy as np

from ..._io import atomic_write_bytes
from ..._validation import as_real_array, check_finite
from ...errors import CheckpointError, ConfigError, DataError
from ...representation import Representation

FORMAT_VERSION = 1

#: class name -> class, filled by Baseline.__init_subclass__, used by load_baseline.
_REGISTRY: dict[str, type[Baseline]] = {}


# --------------------------------------------------------------------------- inputs

def as_images(stimuli, name: str = "stimuli") -> np.ndarray:
    """Images of ``stimuli`` as float32 [N, H, W, C] in [0, 1].

    ``stimuli`` is anything with an ``images`` attribute (faceit's Stimuli) or an array:
    uint8 [N, H, W, C] / [N, H, W] in 0..255, or float in [0, 1].
    """
    images = getattr(stimuli, "images", stimuli)
    label = f"{name}.images" if images is not stimuli else name
    arr = as_real_array(images, label, ndim=(3, 4), dtype=None)
    if arr.ndim == 3:
        arr = arr[..., None]
    if arr.shape[0] == 0 or min(arr.shape[1:]) == 0:
        raise DataError(f"{label}: empty image array of shape {arr.shape}")
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / np.float32(255.0)
    arr = check_finite(arr.astype(np.float32, copy=False), label)
    lo, hi = float(arr.min()), float(arr.max())
    if lo < 0.0 or hi > 1.0:
        raise DataError(f"{label}: float images must lie in [0, 1], found values in [{lo:.3g}, {hi:.3g}]; "
                        "pass uint8 images or rescale")
    return arr


def as_labels(labels, n: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Class labels of any hashable kind -> (codes int64 [n], classes [n_classes])."""
    arr = np.asarray(labels)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise DataError(f"{name}: expected one label per stimulus ({n}), got shape {arr.shape}")
    classes, codes = np.unique(arr, return_inverse=True)
    return codes.astype(np.int64), classes


# --------------------------------------------------------------------------- checkpoint file

def _checksum(arrays: dict[str, np.ndarray], header: dict) -> str:
    digest = hashlib.sha256(json.dumps(header, sort_keys=True).encode())
    for key in sorted(arrays):
        arr = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}|{arr.dtype.str}|{arr.shape}".encode())
        digest.update(arr.tobytes())
    return digest.hexdigest()


def write_checkpoint(path, kind: str, config: dict, arrays: dict[str, np.ndarray]) -> Path:
    """Write ``arrays`` and ``config`` atomically to one safetensors file with a checksum."""
    from safetensors.numpy import save

    path = Path(path)
    header = {"faceit_format": FORMAT_VERSION, "kind": kind, "config": config}
    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    metadata = {"faceit": json.dumps(header, sort_keys=True), "sha256": _checksum(arrays, header)}
    atomic_write_bytes(path, save(arrays, metadata=metadata))
    return path


def read_checkpoint(path) -> tuple[str, dict, dict[str, np.ndarray]]:
    """Read a file written by :func:`write_checkpoint`; returns (kind, config, arrays).

    Raises CheckpointError naming the file when it is missing, unreadable, not a faceit
    baseline, or fails its checksum.
    """
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        with safe_open(str(path), framework="numpy") as fh:
            metadata = fh.metadata() or {}
            arrays = {key: fh.get_tensor(key) for key in fh.keys()}
    except Exception as exc:  # safetensors raises its own types for truncated/garbled files
        raise CheckpointError(f"{path}: unreadable checkpoint ({exc})") from None
    if "faceit" not in metadata or "sha256" not in metadata:
        raise CheckpointError(f"{path}: not a faceit baseline checkpoint (no faceit header)")
    try:
        header = json.loads(metadata["faceit"])
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: corrupt header ({exc})") from None
    if _checksum(arrays, header) != metadata["sha256"]:
        raise CheckpointError(f"{path}: checksum mismatch, the file is corrupt or was modified")
    if header.get("faceit_format") != FORMAT_VERSION:
        raise CheckpointError(f"{path}: format version {header.get('faceit_format')} is not supported "
                              f"(this faceit reads version {FORMAT_VERSION})")
    return header["kind"], header["config"], arrays


def load_baseline(path, **kwargs) -> Baseline:
    """Load any saved baseline; the file says which class it is. ``kwargs`` go to that class's load.

    A folder holding a faceit.models training checkpoint (checkpoint.json) loads as an
    :class:`~faceit.models.baselines.Autoencoder`.
    """
    if Path(path).is_dir():
        from ..checkpoint import load_model
        from .autoencoder import Autoencoder

        return Autoencoder.from_model(load_model(path), **kwargs)
    kind, _, _ = read_checkpoint(path)
    if kind not in _REGISTRY:
        raise CheckpointError(f"{path}: unknown baseline kind {kind!r} (known: {sorted(_REGISTRY)})")
    return _REGISTRY[kind].load(path, **kwargs)


# --------------------------------------------------------------------------- interface

class Baseline(abc.ABC):
    """A comparison model: ``fit(stimuli)``, then ``transform(stimuli) -> Representation``.

    Subclasses implement ``_fit``, ``_transform`` (float64 [N, K] units), ``get_config``,
    ``n_units_``, ``_get_state`` / ``_set_state`` (the fitted arrays; ``_get_meta`` for JSON
    extras), and, when they can render images, ``_inverse_transform``.
    """

    #: the ``family`` column of results/summary.csv
    family: ClassVar[str] = "baseline"
    #: whether inverse_transform can render images from units
    has_decoder: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not getattr(cls, "__abstractmethods__", None):
            _REGISTRY[cls.__name__] = cls

    def __init__(self, name: str | None = None):
        self.name = name or self.family
        self.image_shape_: tuple[int, int, int] | None = None  # (H, W, C) seen by fit

    # ---- public
    def fit(self, stimuli, **kwargs) -> Baseline:
        """Fit on ``stimuli`` (Stimuli or images [N, H, W, C]); returns self."""
        images = as_images(stimuli)
        self.image_shape_ = None                      # a failed fit leaves the model unfitted
        self._fit(stimuli, images, **kwargs)
        self.image_shape_ = tuple(int(s) for s in images.shape[1:])
        return self

    def transform(self, stimuli, **kwargs) -> Representation:
        """Units for ``stimuli``: a Representation with units float64 [N, n_units], kl None."""
        images = self._checked_images(stimuli)
        units = self._transform(stimuli, images, **kwargs)
        return Representation(units=units, kl=None, name=self.name,
                              meta={"family": self.family, "config": self.get_config()})

    def fit_transform(self, stimuli, **kwargs) -> Representation:
        return self.fit(stimuli, **kwargs).transform(stimuli, **kwargs)

    def inverse_transform(self, units) -> np.ndarray:
        """Render images float32 [N, H, W, C] in [0, 1] from units [N, n_units] (or the Representation
        that ``transform`` returns)."""
        if not self.has_decoder:
            raise ConfigError(f"{type(self).__name__} has no decoder: it cannot render images from units")
        self._require_fitted()
        if isinstance(units, Representation):
            units = units.units
        units = as_real_array(units, "units", ndim=(1, 2))
        units = check_finite(units[None, :] if units.ndim == 1 else units, "units")
        if units.shape[1] != self.n_units_:
            raise DataError(f"units: {self.name} has {self.n_units_} units, got {units.shape[1]} columns")
        images = self._inverse_transform(units)
        return np.clip(images, 0.0, 1.0).astype(np.float32, copy=False)

    @property
    def is_fitted(self) -> bool:
        return self.image_shape_ is not None

    @property
    @abc.abstractmethod
    def n_units_(self) -> int:
        """Number of units K that transform returns (after fit)."""

    def save(self, path) -> Path:
        """Write the fitted model to ``path`` (one safetensors file, atomic, checksummed)."""
        self._require_fitted()
        config = {"init": self.get_config(), "name": self.name, "image_shape": list(self.image_shape_),
                  "fitted": self._get_meta()}
        return write_checkpoint(path, type(self).__name__, config, self._get_state())

    @classmethod
    def load(cls, path, **kwargs) -> Baseline:
        """Read a model written by :meth:`save`; kwargs are passed to the constructor."""
        kind, config, arrays = read_checkpoint(path)
        if kind != cls.__name__:
            raise CheckpointError(f"{path}: holds a {kind}, not a {cls.__name__}")
        model = cls(**{**config["init"], **kwargs})
        model.name = config["name"]
        model.image_shape_ = tuple(config["image_shape"])
        model._set_state(arrays, Path(path), config.get("fitted", {}))
        return model

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    # ---- for subclasses
    @abc.abstractmethod
    def get_config(self) -> dict:
        """Constructor arguments (JSON-serialisable) that rebuild an unfitted copy."""

    @abc.abstractmethod
    def _fit(self, stimuli, images: np.ndarray, **kwargs) -> None: ...

    @abc.abstractmethod
    def _transform(self, stimuli, images: np.ndarray, **kwargs) -> np.ndarray: ...

    def _inverse_transform(self, units: np.ndarray) -> np.ndarray:  # pragma: no cover - has_decoder False
        raise NotImplementedError

    @abc.abstractmethod
    def _get_state(self) -> dict[str, np.ndarray]: ...

    @abc.abstractmethod
    def _set_state(self, arrays: dict[str, np.ndarray], path: Path, meta: dict) -> None:
        """Restore the fitted state from a checkpoint's arrays and its JSON ``meta`` (from _get_meta)."""

    def _get_meta(self) -> dict:
        """JSON-serialisable fitted state saved beside the arrays (e.g. class labels)."""
        return {}

    def _require_fitted(self):
        if not self.is_fitted:
            raise ConfigError(f"{type(self).__name__} is not fitted yet: call fit(stimuli) first")

    def _checked_images(self, stimuli) -> np.ndarray:
        self._require_fitted()
        images = as_images(stimuli)
        if tuple(images.shape[1:]) != self.image_shape_:
            raise DataError(f"stimuli: images have shape {tuple(images.shape[1:])} (H, W, C) but "
                            f"{self.name} was fitted on {self.image_shape_}")
        return images

    def _check_n_units(self, requested: int, arg: str, n_stimuli: int, n_features: int, what: str):
        """Raise DataError when ``requested`` components cannot be estimated from the data."""
        limit = min(n_stimuli, n_features)
        if requested > limit:
            raise DataError(f"{arg}={requested} is more than the {limit} components that {n_stimuli} stimuli "
                            f"with {n_features} {what} allow; lower {arg} or use more stimuli")


def missing_state(path: Path, arrays: dict, keys) -> None:
    """Raise CheckpointError if any of ``keys`` is absent from a loaded checkpoint."""
    absent = [k for k in keys if k not in arrays]
    if absent:
        raise CheckpointError(f"{path}: checkpoint lacks arrays {absent}")
