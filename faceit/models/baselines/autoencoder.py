"""The AE, VAE and β-VAE behind the baseline interface, so the pipeline treats every model alike.

A thin adapter over :class:`faceit.models.BetaVAE` configurations and
:func:`faceit.models.train` / :func:`~faceit.models.encode` / :func:`~faceit.models.decode`:
``fit`` trains, ``transform`` encodes (posterior means, with per-unit KL for the VAEs),
``inverse_transform`` decodes. Wrap an already trained model with :meth:`Autoencoder.from_model`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..._validation import check_choice, check_number, check_positive_int
from ...errors import CheckpointError, ConfigError, DataError
from ...representation import Representation
from .base import Baseline

FAMILIES = ("ae", "vae", "beta_vae", "capacity")


class Autoencoder(Baseline):
    """A trained AE / VAE / β-VAE as a baseline. units [N, latent_dim]: posterior means.

    ``model_kwargs`` go to :class:`faceit.models.BetaVAE` (e.g. ``beta``, ``likelihood``,
    ``sigma``; the family's defaults otherwise, the recipe's for "beta_vae"); ``steps``,
    ``batch_size``, ``lr``, ``seed``, ``device`` to :func:`faceit.models.train` (None: train's
    defaults, the recipe's). The image size is taken from the stimuli at ``fit``.
    """

    has_decoder = True

    def __init__(self, family: str = "ae", latent_dim: int = 10, steps: int | None = None,
                 batch_size: int | None = None, lr: float | None = None, seed: int = 0, device: str = "auto", model_kwargs: dict | None = None,
                 progress: bool = True, name: str | None = None):
        check_choice(family, "family", FAMILIES)
        self.family = family
        super().__init__(name or family)
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        from ..train import DEFAULT_BATCH_SIZE, DEFAULT_LR, DEFAULT_STEPS

        self.steps = check_positive_int(DEFAULT_STEPS if steps is None else steps, "steps")
        self.batch_size = check_positive_int(DEFAULT_BATCH_SIZE if batch_size is None else batch_size, "batch_size")
        self.lr = check_number(DEFAULT_LR if lr is None else lr, "lr", positive=True)
        self.seed = check_positive_int(seed, "seed", minimum=0)
        self.device = device
        self.model_kwargs = dict(model_kwargs or {})
        for key in ("family", "latent_dim", "image_size", "channels"):
            if key in self.model_kwargs:
                raise ConfigError(f"model_kwargs must not set {key!r}: it is an argument of Autoencoder or "
                                  "comes from the stimuli")
        self.progress = progress
        self.model_ = None

    @classmethod
    def from_model(cls, model, name: str | None = None, **kwargs) -> Autoencoder:
        """Wrap a trained :class:`faceit.models.BetaVAE` (e.g. from ``faceit.models.load_model``)."""
        config = getattr(model, "config", None)
        if not isinstance(config, dict) or "latent_dim" not in config:
            raise ConfigError("from_model: expected a faceit.models.BetaVAE (or AE / VAE)")
        extra = {k: v for k, v in config.items() if k not in ("family", "latent_dim", "image_size", "channels")}
        wrapper = cls(family=config["family"], latent_dim=config["latent_dim"], model_kwargs=extra, name=name,
                      **kwargs)
        wrapper.model_ = model.eval()
        wrapper.image_shape_ = (config["image_size"], config["image_size"], config["channels"])
        return wrapper

    @property
    def n_units_(self) -> int:
        return self.latent_dim

    def get_config(self) -> dict:
        return {"family": self.family, "latent_dim": self.latent_dim, "steps": self.steps,
                "batch_size": self.batch_size, "lr": self.lr, "seed": self.seed, "model_kwargs": self.model_kwargs}

    def _build(self, image_shape) -> torch.nn.Module:
        from ..vae import BetaVAE

        h, w, c = image_shape
        if h != w:
            raise DataError(f"stimuli: the {self.family} takes square images, got {h}x{w}")
        # the family's own defaults (BetaVAE's recipe for "beta_vae"), except that the AE has no β
        kwargs = {"beta": 0.0, **self.model_kwargs} if self.family == "ae" else dict(self.model_kwargs)
        return BetaVAE(self.latent_dim, image_size=h, family=self.family, channels=c, **kwargs)

    def _fit(self, stimuli, images):
        from ..train import train

        self.model_ = self._build(images.shape[1:])
        train(self.model_, images, steps=self.steps, batch_size=self.batch_size, seed=self.seed, device=self.device,
              lr=self.lr, progress=self.progress)
        self.model_.eval()

    def transform(self, stimuli) -> Representation:
        """Posterior means [N, latent_dim] with per-unit KL (None for the AE)."""
        from ..encode import encode

        rep = encode(self.model_, self._checked_images(stimuli), name=self.name)
        rep.meta["family"] = self.family
        return rep

    def _transform(self, stimuli, images):  # pragma: no cover - transform is overridden
        return self.transform(images).units

    def _inverse_transform(self, units):
        from ..encode import decode

        return decode(self.model_, units)

    def _get_state(self):
        return {f"model.{k}": v.detach().cpu().numpy() for k, v in self.model_.state_dict().items()}

    def _get_meta(self) -> dict:
        return {"model_config": dict(self.model_.config)}

    def _set_state(self, arrays, path: Path, meta: dict):
        from ..vae import BetaVAE

        if "model_config" not in meta:
            raise CheckpointError(f"{path}: checkpoint lacks the model config")
        model = BetaVAE.from_config(meta["model_config"])
        weights = {k[6:]: torch.from_numpy(np.array(v)) for k, v in arrays.items() if k.startswith("model.")}
        try:
            model.load_state_dict(weights)
        except RuntimeError as exc:
            raise CheckpointError(f"{path}: weights do not fit the stored model config ({exc})") from None
        self.model_ = model.eval()

