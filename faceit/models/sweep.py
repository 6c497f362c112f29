"""Sweeps: β values x seeds in one call, each model in its own folder, resumable.

A model whose folder holds a finished checkpoint (same config and settings) is skipped; one
that was interrupted resumes from its last checkpoint; sweep.json in the output folder lists
every model and is rewritten (atomically) after each one.
"""

from __future__ import annotations

import inspect
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .._io import atomic_write_text
from .._validation import check_choice, check_positive_int
from ..errors import ConfigError
from .checkpoint import has_checkpoint, load_model, read_checkpoint_info
from .objectives import FAMILIES
from .train import DEFAULT_STEPS, images_to_tensor, train
from .vae import BetaVAE

MANIFEST = "sweep.json"


@dataclass
class SweepEntry:
    """One model of a sweep. status: "trained" (from scratch), "resumed" or "skipped" (already finished)."""

    family: str
    beta: float
    seed: int
    path: str
    status: str
    step: int
    seconds: float
    final: dict | None

    def load_model(self, device="cpu"):
        """The trained model of this entry."""
        return load_model(self.path, device=device)


#: families whose objective has no β: a sweep over them varies only the seed
NO_BETA = ("ae", "capacity")


def model_folder(family: str, beta: float, seed: int) -> str:
    """The folder name of one sweep model, e.g. ``beta_vae-beta8-seed0`` (``ae-seed0`` for the AE, ``capacity-seed0``)."""
    if family in NO_BETA:
        return f"{family}-seed{seed}"
    return f"{family}-beta{beta:g}-seed{seed}"


def sweep(images, out_dir, betas=(1.0, 2.0, 4.0, 8.0, 16.0), seeds=(0, 1, 2), steps: int = DEFAULT_STEPS, *,
          family: str = "beta_vae", model_kwargs: dict | None = None, train_kwargs: dict | None = None,
          progress: bool = True, client=None) -> list[SweepEntry]:
    """Train one model per (β, seed) into ``out_dir/<family>-beta<β>-seed<seed>/``.

    images: as for :func:`~faceit.models.train`; the model's image_size and channels are taken
    from them unless given in ``model_kwargs`` (other BetaVAE arguments: latent_dim, likelihood,
    sigma, beta_warmup, ...). train_kwargs: further :func:`train` arguments (batch_size, lr,
    device, checkpoint_every, ...). For families "ae" and "capacity" β is unused (the capacity
    objective's weight is ``gamma`` in model_kwargs) and only the seeds count; for "vae" β is 1.
    client: a dask.distributed Client: each model trains as a task on its workers (give each
    worker one thread and torch threads to match); ``out_dir`` must be a folder every worker
    sees (a shared file system). The models and the manifest are the same as without.
    Returns one :class:`SweepEntry` per model, in order.
    """
    check_choice(family, "family", FAMILIES)
    steps = check_positive_int(steps, "steps")
    betas = [float(b) for b in np.atleast_1d(np.asarray(betas, dtype=float))]
    if family in NO_BETA or family == "vae":
        betas = [1.0 if family == "vae" else 0.0]
    if not betas or any(not math.isfinite(b) or b < 0 for b in betas):
        raise ConfigError(f"betas must be finite numbers >= 0, got {betas}")
    seeds = [check_positive_int(s, "seeds", minimum=0) for s in np.atleast_1d(seeds).tolist()]
    if not seeds:
        raise ConfigError("seeds: give at least one seed")
    model_kwargs = dict(model_kwargs or {})
    train_kwargs = dict(train_kwargs or {})
    for reserved in ("beta", "family"):
        if reserved in model_kwargs:
            raise ConfigError(f"model_kwargs must not set {reserved!r}; pass it to sweep()")
    for reserved in ("seed", "steps", "checkpoint_dir", "progress"):
        if reserved in train_kwargs:
            raise ConfigError(f"train_kwargs must not set {reserved!r}; sweep() sets it per model")
    takes = set(inspect.signature(train).parameters) - {"model", "images"}
    unknown = sorted(set(train_kwargs) - takes)
    if unknown:
        raise ConfigError(f"train_kwargs: train() takes no argument(s) {unknown}; it takes {sorted(takes)}")

    shape = np.shape(images.images if hasattr(images, "images") else images)
    if len(shape) in (3, 4):
        model_kwargs.setdefault("image_size", shape[1])
        model_kwargs.setdefault("channels", shape[3] if len(shape) == 4 else 1)
    # Validate the images once, before any model is trained.
    try:
        probe = BetaVAE(family=family, **model_kwargs)
    except TypeError as exc:
        raise ConfigError(f"model_kwargs: not BetaVAE arguments ({exc})") from None
    images_to_tensor(images, probe)

    out = Path(out_dir)
    if client is not None:  # the workers' working directories are not this one
        out = out.expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    jobs, folders = [], set()  # one job per model folder: a repeated β or seed (or two βs, one name) is one model
    for beta in betas:
        for seed in seeds:
            if model_folder(family, beta, seed) not in folders:
                folders.add(model_folder(family, beta, seed))
                jobs.append((beta, seed))
    settings = dict(family=family, steps=steps, model_kwargs=model_kwargs, train_kwargs=train_kwargs)
    if client is None:
        done = (_train_one(images, out, beta, seed, progress=progress, **settings) for beta, seed in jobs)
    else:
        done = _train_remotely(client, images, out, jobs, settings)
    entries: list[SweepEntry] = []
    for entry in tqdm(done, total=len(jobs), desc=f"sweep {family}", disable=not progress, unit="model"):
        entries.append(entry)
        _write_manifest(out, entries, jobs, family, steps, model_kwargs, train_kwargs)
    return entries


def _train_one(images, out: Path, beta: float, seed: int, *, family: str, steps: int, model_kwargs: dict,
               train_kwargs: dict, progress: bool) -> SweepEntry:
    """Train (resume, or skip when finished) one model of a sweep into its folder under ``out``."""
    folder = out / model_folder(family, beta, seed)
    model = BetaVAE(beta=beta, family=family, **model_kwargs)
    started = has_checkpoint(folder)
    prior_step = read_checkpoint_info(folder)["step"] if started else 0
    result = train(model, images, steps, seed=seed, checkpoint_dir=folder, progress=progress, **train_kwargs)
    status = "skipped" if prior_step >= steps else ("resumed" if started else "trained")
    return SweepEntry(family=family, beta=beta, seed=seed, path=str(folder), status=status, step=result.step,
                      seconds=round(result.seconds, 3), final=result.log[-1] if result.log else None)


def _train_remotely(client, images, out: Path, jobs, settings):
    """The jobs' entries, in order, each model trained as a task on a dask.distributed worker."""
    from .._dask import check_client, in_order

    check_client(client)
    shared = client.scatter(images, broadcast=True, hash=False)  # keys of its own: released with this run
    futures = [client.submit(_train_one, shared, out, beta, seed, progress=False, pure=False, **settings)
               for beta, seed in jobs]
    return in_order(client, futures)


def _write_manifest(out: Path, entries, jobs, family, steps, model_kwargs, train_kwargs) -> None:
    manifest = {"family": family, "steps": steps, "model_kwargs": model_kwargs,
                "train_kwargs": {k: str(v) if k == "device" else v for k, v in train_kwargs.items()},
                "planned": [{"beta": b, "seed": s} for b, s in jobs],
                "models": [asdict(e) for e in entries]}
    atomic_write_text(out / MANIFEST, json.dumps(manifest, indent=1) + "\n")
