"""A deep network trained to classify face identity; its penultimate units are the representation.

These are the paper's "Classifier" rows (raw units and their PCA). Passing a pretrained
network as ``backbone=`` gives its "VGG" rows: the backbone is used frozen, as it is.

Feature-extraction hook for a backbone (any ``torch.nn.Module``): the network receives float
images [B, 3, H, W] in [0, 1] (resized to ``input_size`` and normalised by ``input_mean`` /
``input_std`` when given). The features are the output of the submodule named
``feature_layer`` (a name from ``backbone.named_modules()``, e.g. ``"classifier.4"`` for
torchvision's VGG16 fc7), flattened per image; with ``feature_layer=None`` they are the
output of ``backbone`` itself. Nothing is ever downloaded: load the weights yourself.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ..._validation import check_choice, check_positive_int
from ...errors import CheckpointError, ConfigError, DataError
from .base import Baseline, as_labels, missing_state, read_checkpoint
from .pca import fit_pca

FEATURES = ("raw", "pca")
_BATCH_EVAL = 512


class IdentityCNN(nn.Module):
    """Small convolutional identity classifier for 32x32 or 64x64 RGB faces.

    Inputs are standardised per channel (``pixel_mean`` / ``pixel_std``, buffers set from the
    training images). Three stages of 3x3 convolution, batch norm, ReLU and 2x2 max-pool
    (``width``, 2 ``width``, 4 ``width`` channels), adaptive average pooling to 4x4, a fully
    connected penultimate layer of ``hidden`` units (batch norm, ReLU: the features), and a
    linear read-out to ``n_classes`` identities.
    """

    def __init__(self, n_classes: int, hidden: int = 128, in_channels: int = 3, width: int = 16):
        super().__init__()
        self.register_buffer("pixel_mean", torch.zeros(1, in_channels, 1, 1))
        self.register_buffer("pixel_std", torch.ones(1, in_channels, 1, 1))
        layers, c = [], in_channels
        for w in (width, 2 * width, 4 * width):
            layers += [nn.Conv2d(c, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(), nn.MaxPool2d(2)]
            c = w
        self.trunk = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(4), nn.Flatten())
        self.penultimate = nn.Sequential(nn.Linear(c * 16, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU())
        self.readout = nn.Linear(hidden, n_classes)

    def set_input_statistics(self, images: torch.Tensor) -> None:
        """Per-channel mean and std of training images [N, C, H, W] for input standardisation."""
        self.pixel_mean.copy_(images.mean(dim=(0, 2, 3), keepdim=True))
        self.pixel_std.copy_(images.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-3))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate units [B, hidden] for images [B, C, H, W] in [0, 1]."""
        return self.penultimate(self.trunk((x - self.pixel_mean) / self.pixel_std))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.readout(self.features(x))


class _Stop(Exception):
    """Raised by the feature hook to skip the layers after ``feature_layer``."""


def state_fingerprint(module: nn.Module) -> str:
    """SHA-256 over a module's state_dict (names, shapes, values): identifies a backbone's weights."""
    digest = hashlib.sha256()
    for key, value in module.state_dict().items():
        value = value.detach().cpu().contiguous()
        digest.update(f"{key}|{value.dtype}|{tuple(value.shape)}".encode())
        digest.update(value.numpy().tobytes() if value.dtype != torch.bfloat16 else value.float().numpy().tobytes())
    return digest.hexdigest()


class IdentityClassifier(Baseline):
    """Identity-classifier features: ``features="raw"`` (penultimate units) or ``"pca"`` (their PCA).

    Identities come from ``fit(stimuli, labels=...)`` or ``stimuli.labels["identity"]``.
    Without ``backbone``, an :class:`IdentityCNN` with ``hidden`` penultimate units is trained
    (Adam, ``epochs`` passes, cross-entropy), deterministic for ``seed`` on the CPU. With a
    ``backbone`` nothing is trained and no labels are needed; see the module docstring for
    how features are taken from it. ``n_pca`` components are kept when ``features="pca"``.
    units [N, hidden | backbone feature size | n_pca].
    """

    family = "classifier"

    def __init__(self, features: str = "raw", hidden: int = 128, n_pca: int = 50, epochs: int = 15,
                 batch_size: int = 64, lr: float = 1e-3, weight_decay: float = 0.0, seed: int = 0,
                 backbone: nn.Module | None = None, feature_layer: str | None = None,
                 input_size: int | None = None, input_mean=None, input_std=None,
                 device: str = "cpu", progress: bool | None = None, name: str | None = None):
        check_choice(features, "features", FEATURES)
        super().__init__(name or f"{'classifier' if backbone is None else 'backbone'}-{features}")
        self.features = features
        self.hidden = check_positive_int(hidden, "hidden")
        self.n_pca = check_positive_int(n_pca, "n_pca")
        if features == "pca" and backbone is None and self.n_pca > self.hidden:
            raise ConfigError(f"n_pca={self.n_pca} is more than the {self.hidden} penultimate units (hidden) "
                              "it would summarise")
        self.epochs = check_positive_int(epochs, "epochs")
        self.batch_size = check_positive_int(batch_size, "batch_size")
        self.lr, self.weight_decay = float(lr), float(weight_decay)
        if not self.lr > 0 or self.weight_decay < 0:
            raise ConfigError(f"lr must be > 0 and weight_decay >= 0, got lr={lr!r}, weight_decay={weight_decay!r}")
        self.seed = check_positive_int(seed, "seed", minimum=0)
        if backbone is not None and not isinstance(backbone, nn.Module):
            raise ConfigError(f"backbone must be a torch.nn.Module, got {type(backbone).__name__}")
        self.backbone = backbone
        self.feature_layer = feature_layer
        if feature_layer is not None:
            if backbone is None:
                raise ConfigError("feature_layer is only used with backbone=...")
            names = dict(backbone.named_modules())
            if feature_layer not in names:
                raise ConfigError(f"feature_layer={feature_layer!r} is not a submodule of the backbone; "
                                  f"some of its names: {[n for n in names if n][:12]}")
        self.input_size = None if input_size is None else check_positive_int(input_size, "input_size")
        self.input_mean = None if input_mean is None else [float(v) for v in np.ravel(input_mean)]
        self.input_std = None if input_std is None else [float(v) for v in np.ravel(input_std)]
        self.device = device
        self.progress = progress
        self.net_: IdentityCNN | None = None
        self.classes_ = None
        self.history_: list[dict] = []
        self.pca_mean_ = self.pca_components_ = None
        self.n_features_: int | None = None

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict:
        return {"features": self.features, "hidden": self.hidden, "n_pca": self.n_pca, "epochs": self.epochs,
                "batch_size": self.batch_size, "lr": self.lr, "weight_decay": self.weight_decay, "seed": self.seed,
                "feature_layer": self.feature_layer, "input_size": self.input_size,
                "input_mean": self.input_mean, "input_std": self.input_std}

    @property
    def n_units_(self) -> int:
        return self.n_pca if self.features == "pca" else self.n_features_

    def _torch_device(self) -> torch.device:
        from ..train import resolve_device

        return resolve_device(self.device)

    # ------------------------------------------------------------------ fit / transform
    def fit(self, stimuli, labels=None) -> IdentityClassifier:
        """Train on ``stimuli`` with identity ``labels`` [N] (default: ``stimuli.labels["identity"]``)."""
        return super().fit(stimuli, labels=labels)

    def fit_transform(self, stimuli, labels=None):
        return self.fit(stimuli, labels=labels).transform(stimuli)

    def _fit(self, stimuli, images, labels=None):
        n = len(images)
        if self.features == "pca" and self.n_pca > n:
            raise DataError(f"n_pca={self.n_pca} is more than the {n} stimuli allow; lower n_pca or use more stimuli")
        if self.backbone is None:
            codes = self._identity_codes(stimuli, labels, n)
            self._train(images, codes)
        raw = self._raw_features(images)
        self.n_features_ = raw.shape[1]
        if self.features == "pca":
            self._check_n_units(self.n_pca, "n_pca", n, raw.shape[1], "penultimate units")
            self.pca_mean_, self.pca_components_, _ = fit_pca(raw, self.n_pca, self.seed)

    def _transform(self, stimuli, images):
        raw = self._raw_features(images)
        if self.features == "raw":
            return raw.astype(np.float64)
        return ((raw - self.pca_mean_) @ self.pca_components_.T).astype(np.float64)

    def predict(self, stimuli) -> np.ndarray:
        """Predicted identity label per stimulus [N] (trained classifier only)."""
        if self.backbone is not None:
            raise ConfigError("predict: a backbone has no identity read-out; only the trained classifier predicts")
        logits = self._run(self._checked_images(stimuli), self.net_.to(self._torch_device()).eval())
        return self.classes_[np.argmax(logits, axis=1)]

    def score(self, stimuli, labels=None) -> float:
        """Identity accuracy on ``stimuli`` (labels default to ``stimuli.labels["identity"]``)."""
        images = self._checked_images(stimuli)
        truth = np.asarray(self._labels_of(stimuli, labels, len(images)))
        return float(np.mean(self.predict(stimuli) == truth))

    # ------------------------------------------------------------------ internals
    @staticmethod
    def _labels_of(stimuli, labels, n: int):
        if labels is None:
            labels = (getattr(stimuli, "labels", None) or {}).get("identity")
        if labels is None:
            raise DataError("IdentityClassifier needs an identity label per stimulus: pass labels=[N] or stimuli "
                            "with labels['identity'] (several views of each identity)")
        return labels

    def _identity_codes(self, stimuli, labels, n: int) -> np.ndarray:
        codes, classes = as_labels(self._labels_of(stimuli, labels, n), n, "labels")
        if classes.size < 2:
            raise DataError(f"labels: need at least 2 identities to train a classifier, got {classes.size}")
        self.classes_ = classes
        return codes

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        if self.input_size is not None and tuple(x.shape[-2:]) != (self.input_size, self.input_size):
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False)
        if self.input_mean is not None:
            x = x - torch.tensor(self.input_mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        if self.input_std is not None:
            x = x / torch.tensor(self.input_std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        return x

    def _run(self, images: np.ndarray, fn) -> np.ndarray:
        """Apply ``fn`` to images [N, H, W, C] in batches, in eval mode without gradients: [N, D]."""
        dev = self._torch_device()
        out = []
        with torch.no_grad():
            for start in range(0, len(images), _BATCH_EVAL):
                x = torch.from_numpy(np.ascontiguousarray(images[start:start + _BATCH_EVAL])).permute(0, 3, 1, 2)
                out.append(fn(self._prepare(x.to(dev))).flatten(1).float().cpu().numpy())
        return np.concatenate(out)

    def _raw_features(self, images: np.ndarray) -> np.ndarray:
        if self.backbone is None:
            return self._run(images, self.net_.to(self._torch_device()).eval().features)
        self.backbone.to(self._torch_device()).eval()
        if self.feature_layer is None:
            return self._run(images, self.backbone)
        captured = {}

        def hook(_module, _inputs, output):
            captured["features"] = output
            raise _Stop

        def extract(x):
            handle = self.backbone.get_submodule(self.feature_layer).register_forward_hook(hook)
            try:
                self.backbone(x)
            except _Stop:
                pass
            finally:
                handle.remove()
            if "features" not in captured:
                raise ConfigError(f"feature_layer={self.feature_layer!r} was not called by the backbone's forward")
            return captured.pop("features")

        return self._run(images, extract)

    def _train(self, images: np.ndarray, codes: np.ndarray) -> None:
        dev = self._torch_device()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            net = IdentityCNN(len(self.classes_), self.hidden, images.shape[-1])
        x_all = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)
        net.set_input_statistics(x_all)
        net.to(dev, memory_format=torch.channels_last).train()   # NHWC convolutions: ~30% less CPU time
        optimizer = torch.optim.Adam(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        y_all = torch.from_numpy(codes)
        order_rng = np.random.default_rng(self.seed)
        self.history_ = []
        epochs = tqdm(range(self.epochs), desc="IdentityClassifier", unit="epoch",
                      disable=not self.progress if self.progress is not None else None)
        for epoch in epochs:
            order = torch.from_numpy(order_rng.permutation(len(codes)))
            total_loss, correct = 0.0, 0
            for start in range(0, len(order), self.batch_size):
                idx = order[start:start + self.batch_size]
                if len(idx) < 2:  # batch norm needs two images; a lone leftover waits for the next epoch
                    continue
                x = self._prepare(x_all[idx].to(dev)).contiguous(memory_format=torch.channels_last)
                y = y_all[idx].to(dev)
                logits = net(x)
                loss = F.cross_entropy(logits, y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total_loss += float(loss.detach()) * len(idx)
                correct += int((logits.argmax(1) == y).sum())
            entry = {"epoch": epoch + 1, "loss": total_loss / len(codes), "accuracy": correct / len(codes)}
            self.history_.append(entry)
            epochs.set_postfix(loss=f"{entry['loss']:.3f}", acc=f"{entry['accuracy']:.2f}")
        self.net_ = net.eval()

    # ------------------------------------------------------------------ save / load
    @classmethod
    def load(cls, path, backbone: nn.Module | None = None, **kwargs) -> IdentityClassifier:
        """Read a classifier written by :meth:`save`; one fitted on a backbone needs that backbone again."""
        kind, config, _ = read_checkpoint(path)
        meta = config.get("fitted", {}) if kind == cls.__name__ else {}
        if "backbone_sha256" in meta and backbone is None:
            raise CheckpointError(f"{path}: was fitted on a {meta['backbone']} backbone; "
                                  "pass the same network: load(path, backbone=...)")
        if backbone is not None:
            kwargs["backbone"] = backbone
        return super().load(path, **kwargs)

    def _get_state(self):
        arrays = {"n_features": np.array([self.n_features_], np.int64)}
        if self.features == "pca":
            arrays.update(pca_mean=self.pca_mean_, pca_components=self.pca_components_)
        if self.backbone is None:
            arrays.update({f"net.{k}": v.detach().cpu().numpy() for k, v in self.net_.state_dict().items()})
        return arrays

    def _get_meta(self) -> dict:
        if self.backbone is not None:
            return {"backbone": type(self.backbone).__name__, "backbone_sha256": state_fingerprint(self.backbone)}
        return {"classes": [c.item() if hasattr(c, "item") else c for c in self.classes_]}

    def _set_state(self, arrays, path: Path, meta: dict):
        pca_keys = ("pca_mean", "pca_components") if self.features == "pca" else ()
        missing_state(path, arrays, ("n_features", *pca_keys))
        self.n_features_ = int(arrays["n_features"][0])
        if self.features == "pca":
            self.pca_mean_, self.pca_components_ = arrays["pca_mean"], arrays["pca_components"]
        if "backbone_sha256" in meta:
            if state_fingerprint(self.backbone) != meta["backbone_sha256"]:
                raise CheckpointError(f"{path}: the backbone passed has different weights from the one "
                                      "it was fitted on")
            return
        self.classes_ = np.asarray(meta["classes"])
        weights = {k[4:]: torch.from_numpy(np.array(v)) for k, v in arrays.items() if k.startswith("net.")}
        net = IdentityCNN(len(self.classes_), self.hidden, self.image_shape_[-1])
        try:
            net.load_state_dict(weights)
        except RuntimeError as exc:
            raise CheckpointError(f"{path}: classifier weights do not fit its config ({exc})") from None
        self.net_ = net.eval()
