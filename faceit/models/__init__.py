"""Generative models of face images: the β-VAE and its AE / VAE baselines, training, checkpoints, sweeps.

    model = BetaVAE(image_size=32)                  # the recipe's defaults (docs/recipe.md)
    run = train(model, stimuli, checkpoint_dir="runs/b")
    rep = encode(model, stimuli)                     # Representation: posterior means, KL per unit

``faceit.models.baselines`` (PCA, ICA, AAM, classifier) is imported on first use.
"""

from importlib import import_module

from .checkpoint import load_checkpoint, load_model, save_checkpoint
from .encode import decode, encode, save_traversals, traversals
from .objectives import Objective
from .sweep import SweepEntry, sweep
from .train import TrainResult, train
from .vae import AE, VAE, BetaVAE

_LAZY = {"baselines", "ops"}


def __getattr__(name):
    if name in _LAZY:
        return import_module(f".{name}", __name__)
    raise AttributeError(f"module 'faceit.models' has no attribute {name!r}")


__all__ = ["AE", "VAE", "BetaVAE", "Objective", "SweepEntry", "TrainResult", "baselines", "decode", "encode",
           "load_checkpoint", "load_model", "save_checkpoint", "save_traversals", "sweep",
           "train", "traversals"]
