"""The pipeline's stages. Each reads what earlier stages left in the run folder and writes its own
outputs there atomically; a stage whose outputs exist for the same configuration is skipped.

stimuli -> responses -> models -> encode -> compare (UDR, alignment, matching, explained variance,
permutation tests, controls, reconstruction) -> summary tables. The report is built from these.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..errors import ConfigError, DataError
from ..representation import Representation
from .config import RunConfig
from .store import RunStore

log = logging.getLogger(__name__)

BUILTIN_CHECKPOINTS = Path(__file__).resolve().parent.parent / "data" / "demo_models"


# --------------------------------------------------------------------------- stimuli

@dataclass
class StimulusSets:
    """train_images uint8 [N_train, H, W, 3]: what the models learn from; experiment: Stimuli shown to
    the neurons; test: bool [N_stimuli], the held-out stimuli for reconstruction."""

    train_images: np.ndarray
    experiment: object
    test: np.ndarray
    train_stimuli: object = None  # Stimuli with landmarks/factors for the baselines (synthetic)


def synthetic_training_images(config: RunConfig):
    """The synthetic images the models of a run learn from (drawn apart from the experiment's stimuli)."""
    from ..stimuli import synthetic_faces

    s = config.stimuli
    return synthetic_faces(s.n_train_images, seed=s.seed + 10_000, size=s.size, world=s.world)


def make_stimuli(config: RunConfig, store: RunStore) -> StimulusSets:
    from ..stimuli import Stimuli, load_images, synthetic_faces

    s = config.stimuli
    fp = config.fingerprint("stimuli")
    cached = store.load_arrays("stimuli/experiment", fp)
    if s.source == "synthetic":
        train = synthetic_training_images(config)
        if cached is None:
            experiment = synthetic_faces(s.n_stimuli, seed=s.seed, size=s.size, world=s.world)
            store.save_arrays("stimuli/experiment", fp, {
                "images": experiment.images, "ids": experiment.ids, "factors": experiment.factors,
                "factor_names": np.asarray(experiment.factor_names), "landmarks": experiment.landmarks})
        else:
            experiment = Stimuli(images=cached["images"], ids=cached["ids"], factors=cached["factors"],
                                 factor_names=[str(x) for x in cached["factor_names"]],
                                 landmarks=cached["landmarks"], meta={"world": s.world})
        train_images = train.images
    else:
        experiment = load_images(s.source, size=s.size)
        train, train_images = experiment, experiment.images
    n = len(experiment)
    if n <= s.n_test + 10:
        raise DataError(f"stimuli: {n} stimuli leave too few for fitting beside stimuli.n_test={s.n_test}")
    test = np.zeros(n, dtype=bool)
    test[np.random.default_rng(s.seed).choice(n, s.n_test, replace=False)] = True
    if s.source != "synthetic":
        train_images = experiment.images[~test]  # held-out stimuli never train a model
        train = experiment.subset(np.flatnonzero(~test))
    return StimulusSets(train_images, experiment, test, train)


# --------------------------------------------------------------------------- responses

def make_responses(config: RunConfig, store: RunStore, stimuli: StimulusSets) -> dict:
    """population name -> Responses over the experiment's stimuli (same order)."""
    from ..neural import Responses, load_responses, simulate_population

    r = config.responses
    out = {}
    if r.source == "simulated":
        for i, kind in enumerate(r.populations):
            path = store.root / "responses" / f"{kind}.npz"
            fp = config.fingerprint("stimuli", "responses")
            if path.is_file() and store.load_json(f"responses/{kind}", fp) is not None:
                out[kind] = load_responses(path)
                continue
            responses = simulate_population(stimuli.experiment.factors, n_neurons=r.n_neurons, tuning=kind,
                                            n_trials=r.n_trials, seed=r.seed + 101 * i,
                                            stimulus_ids=stimuli.experiment.ids)
            store.forget(f"responses/{kind}")
            responses.save(store.path("responses", f"{kind}.npz"))
            store.save_json(f"responses/{kind}", fp, {"population": kind})
            out[kind] = responses
    else:
        responses = load_responses(r.source)
        out[Path(r.source).stem] = responses.rows_for(stimuli.experiment, "responses.source")
    if not out:
        raise ConfigError("responses.populations: no population to analyse")
    for name, resp in out.items():
        if not isinstance(resp, Responses):
            raise DataError(f"responses {name}: not a Responses container")
    return out


# --------------------------------------------------------------------------- models

@dataclass
class ModelEntry:
    """A fitted model and its place in the tables (family: beta_vae, vae, ae, pca, ica, aam, classifier)."""

    name: str
    family: str
    model: object
    beta: float | None = None
    seed: int | None = None


def sweep_model_kwargs(models, family: str = "beta_vae", beta: float = 1.0) -> dict:
    """The BetaVAE arguments of one model of the run's sweep (``models``: the run's ``models`` section).

    The β = 1 member is the paper's VAE baseline: the plain objective, without the recipe's
    total-correlation critic that the other β values train with.
    """
    kwargs = {"latent_dim": models.latent_dim}
    if family == "beta_vae" and beta == 1.0:
        kwargs["tc_weight"] = 0.0
    return kwargs


def train_autoencoders(config: RunConfig, images, root) -> list[Path]:
    """Train (or resume, or skip when finished) the run's β-VAE sweep and AEs into ``root``."""
    from ..models import sweep

    m = config.models
    entries = []
    for beta in m.betas:
        entries += sweep(images, root, betas=[beta], seeds=m.seeds, steps=m.steps,
                         model_kwargs=sweep_model_kwargs(m, beta=beta))
    if m.ae:
        entries += sweep(images, root, seeds=m.seeds, steps=m.steps, family="ae",
                         model_kwargs=sweep_model_kwargs(m, family="ae"))
    return [Path(e.path) for e in entries]


def trained_models_folder(config: RunConfig, store: RunStore) -> Path:
    """Where a run trains its autoencoders: one folder per training set-up (the training images and the
    models' latent size and steps), so that a model trained on other images or for other steps is never
    reused. Within it, each (β, seed) has its own folder and a rerun resumes or skips it."""
    s, m = config.stimuli, config.models
    if s.source == "synthetic":  # the training images are drawn apart from the experiment's stimuli
        key = config.fingerprint(extra=["synthetic", s.world, s.size, s.n_train_images, s.seed, m.latent_dim, m.steps])
    else:  # the experiment's own stimuli minus the held-out ones: the whole section decides
        key = config.fingerprint("stimuli", extra=[m.latent_dim, m.steps])
    return store.root / "models" / f"trained-{key}"


def _autoencoder_folders(config: RunConfig, store: RunStore, stimuli: StimulusSets) -> list[tuple[str, Path]]:
    m = config.models
    if m.checkpoints == "train":
        return [(p.name, p) for p in train_autoencoders(config, stimuli.train_images, trained_models_folder(config,
                                                                                                           store))]
    root = BUILTIN_CHECKPOINTS if m.checkpoints == "builtin" else Path(m.checkpoints)
    folders = sorted(p for p in root.iterdir() if (p / "checkpoint.json").is_file()) if root.is_dir() else []
    if not folders:
        raise ConfigError(f"models.checkpoints: no trained models found in {root}")
    return [(p.name, p) for p in folders]


def make_models(config: RunConfig, store: RunStore, stimuli: StimulusSets) -> list[ModelEntry]:
    from ..models import load_model
    from ..models.baselines import AAM, ICA, PCA, Autoencoder, IdentityClassifier, load_baseline

    m = config.models
    entries = []
    for name, folder in _autoencoder_folders(config, store, stimuli):
        model = load_model(folder)
        cfg = model.config
        if cfg["image_size"] != config.stimuli.size:
            raise ConfigError(f"models.checkpoints: {folder} was trained on {cfg['image_size']}px images but "
                              f"stimuli.size is {config.stimuli.size}")
        family = cfg["family"]
        beta = float(cfg.get("beta", 0.0))
        if family == "beta_vae" and beta == 1.0 and not cfg.get("tc_weight", 0.0):
            family = "vae"  # the paper's VAE baseline is the β = 1 member of the sweep, without the TC critic
        seed = _seed_of(name)
        entries.append(ModelEntry(name, family, Autoencoder.from_model(model, name=name),
                                  beta if family != "ae" else None, seed))

    n_fit = min(m.baseline_train_images, len(stimuli.train_images))
    fit_stimuli = stimuli.train_stimuli.subset(np.arange(n_fit)) if stimuli.train_stimuli is not None \
        else stimuli.train_images[:n_fit]
    makers = {
        "pca": lambda: PCA(n_units=m.baseline_units, name="pca"),
        "ica": lambda: ICA(n_units=m.baseline_units, name="ica"),
        "aam": lambda: AAM(n_shape=max(1, m.baseline_units // 2), n_appearance=max(1, m.baseline_units - m.baseline_units // 2),
                           name="aam"),
        "classifier": lambda: IdentityClassifier(features="pca", n_pca=m.baseline_units, epochs=m.classifier_epochs,
                                                 name="classifier"),
    }
    fp = config.fingerprint("stimuli", "models")
    for kind in tqdm(m.baselines, desc="baselines", unit="model"):
        path = store.root / "models" / f"{kind}.safetensors"
        if path.is_file() and store.load_json(f"models/{kind}", fp) is not None:
            entries.append(ModelEntry(kind, kind, load_baseline(path)))
            continue
        model = makers[kind]()
        try:
            if kind == "classifier":
                model.fit(_identity_training_set(config, stimuli))
            else:
                model.fit(fit_stimuli)
        except DataError as exc:
            if kind in ("aam", "classifier") and config.stimuli.source != "synthetic":
                warnings.warn(f"{kind}: skipped ({exc})", stacklevel=2)
                continue
            raise
        store.forget(f"models/{kind}")
        model.save(path)
        store.save_json(f"models/{kind}", fp, {"baseline": kind})
        entries.append(ModelEntry(kind, kind, model))
    return entries


def _identity_training_set(config: RunConfig, stimuli: StimulusSets):
    """Synthetic identities under varying view factors; real data have none (the classifier is skipped)."""
    from ..stimuli import synthetic_identities

    if config.stimuli.source != "synthetic":
        raise DataError("stimuli: identity labels are needed to train the classifier")
    n = config.models.baseline_train_images
    return synthetic_identities(max(10, n // 30), 30, seed=config.stimuli.seed + 20_000,
                                size=config.stimuli.size, world=config.stimuli.world)


def _seed_of(name: str) -> int | None:
    tail = name.rsplit("seed", 1)
    return int(tail[1]) if len(tail) == 2 and tail[1].isdigit() else None


# --------------------------------------------------------------------------- encode

def encode_models(config: RunConfig, store: RunStore, stimuli: StimulusSets, models) -> dict:
    """model name -> Representation of the experiment's stimuli (all of them, held-out included)."""
    fp = config.fingerprint("stimuli", "models")
    reps = {}
    for entry in tqdm(models, desc="encoding", unit="model"):
        cached = store.load_arrays(f"representations/{entry.name}", fp)
        if cached is None:
            rep = entry.model.transform(stimuli.experiment)
            arrays = {"units": rep.units, "informative": rep.informative}
            if rep.kl is not None:
                arrays["kl"] = rep.kl
            store.save_arrays(f"representations/{entry.name}", fp, arrays)
        else:
            rep = Representation(cached["units"], kl=cached.get("kl"), informative=cached["informative"],
                                 name=entry.name)
        rep.name = entry.name
        reps[entry.name] = rep
    return reps


def subset_representation(rep: Representation, rows) -> Representation:
    return Representation(rep.units[rows], kl=rep.kl, informative=rep.informative, name=rep.name, meta=rep.meta)
