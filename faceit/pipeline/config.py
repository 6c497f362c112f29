"""Run configuration: one TOML file, validated with errors that name the key.

Sections and their keys are the fields of the dataclasses below; see examples/run.toml for a
documented example. Unknown sections or keys, and values of the wrong type, raise ConfigError
naming ``section.key``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


@dataclass
class StimuliConfig:
    """Images: the synthetic world (``source = "synthetic"``) or a path that load_images reads."""

    source: str = "synthetic"
    world: str = "default"
    size: int = 32
    n_train_images: int = 10_000   # images the models are trained on (synthetic source)
    n_stimuli: int = 1_000         # stimuli shown to the neurons, held-out ones included
    n_test: int = 62               # held-out stimuli for reconstruction (Fig 7)
    seed: int = 0


@dataclass
class ResponsesConfig:
    """Neural responses: simulated populations on the synthetic stimuli, or a file load_responses reads."""

    source: str = "simulated"
    populations: list = field(default_factory=lambda: ["axis", "mixed"])
    n_neurons: int = 159
    n_trials: int = 10
    seed: int = 0


@dataclass
class ModelsConfig:
    """Which models take part and where trained autoencoders come from.

    checkpoints: "train" (train them in the run folder, resuming), "builtin" (the small
    checkpoints shipped with faceit for the demo's world), or a folder of a previous sweep.
    """

    checkpoints: str = "train"
    betas: list = field(default_factory=lambda: [1.0, 4.0, 12.0])
    seeds: list = field(default_factory=lambda: [0, 1, 2])
    # = faceit.models.train.DEFAULT_STEPS; not imported, so that loading a config never imports torch
    # (tests/test_pipeline.py checks the two agree)
    steps: int = 9000
    latent_dim: int = 10
    ae: bool = True
    baselines: list = field(default_factory=lambda: ["pca", "ica", "aam", "classifier"])
    baseline_units: int = 10
    baseline_train_images: int = 3000  # images the pixel baselines and the classifier are fitted on
    classifier_epochs: int = 6


@dataclass
class AnalysisConfig:
    """The comparisons and their statistics (design section 4)."""

    alpha: float = 0.01
    n_rotations: int = 10
    n_permutations: int = 1000
    subset_repeats: int = 20
    mixed_repeats: int = 10
    cv: int = 5
    backend: str = "auto"
    seed: int = 0


@dataclass
class RunConfig:
    stimuli: StimuliConfig = field(default_factory=StimuliConfig)
    responses: ResponsesConfig = field(default_factory=ResponsesConfig)
    models: ModelsConfig = field(default_factory=ModelsConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def fingerprint(self, *sections: str, extra=None) -> str:
        """A short hash of the named sections (and of ``extra``, any JSON-able value): a cached stage is
        reused only while it matches. A section that reads a file or folder (``source``) includes that
        file's size and modification time, so a recording replaced at the same path is read anew."""
        data = {s: dataclasses.asdict(getattr(self, s)) for s in sections}
        for section, values in data.items():
            if values.get("source") not in (None, "synthetic", "simulated"):
                values["source_identity"] = _file_identity(Path(values["source"]))
        if extra is not None:
            data["extra"] = extra
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _file_identity(path: Path) -> list:
    """[relative name, size, mtime_ns] of the file, or of every file under the folder."""
    if not path.is_dir():
        stat = path.stat() if path.exists() else None
        return [[path.name, stat.st_size, stat.st_mtime_ns]] if stat else []
    out = []
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        stat = file.stat()
        out.append([str(file.relative_to(path)), stat.st_size, stat.st_mtime_ns])
    return out


_SECTIONS = {f.name: f.type for f in dataclasses.fields(RunConfig)}
_CLASSES = {"stimuli": StimuliConfig, "responses": ResponsesConfig, "models": ModelsConfig,
            "analysis": AnalysisConfig}


def _coerce(section: str, key: str, value, default):
    where = f"{section}.{key}"
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
    elif isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        if value < 0:
            raise ConfigError(f"{where}: must be >= 0, got {value}")
    elif isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        value = float(value)
    elif isinstance(default, str):
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
    elif isinstance(default, list):
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
    return value


def config_from_dict(data: dict, base: RunConfig | None = None) -> RunConfig:
    """Overlay ``data`` (parsed TOML) on ``base`` (default: RunConfig()), validating every key."""
    config = base or RunConfig()
    for section, values in data.items():
        if section not in _CLASSES:
            raise ConfigError(f"unknown section [{section}]; known: {sorted(_CLASSES)}")
        if not isinstance(values, dict):
            raise ConfigError(f"[{section}] must be a table of keys")
        target = getattr(config, section)
        known = {f.name for f in dataclasses.fields(target)}
        for key, value in values.items():
            if key not in known:
                raise ConfigError(f"{section}.{key}: unknown key; known keys: {sorted(known)}")
            setattr(target, key, _coerce(section, key, value, getattr(target, key)))
    _absolute_paths(config)
    validate(config)
    return config


def _absolute_paths(config: RunConfig) -> None:
    """Data paths made absolute (against the working directory), so that the config.json a run saves
    still finds them when ``faceit report`` rebuilds the run from elsewhere."""
    for section, key, keywords in (("stimuli", "source", ("synthetic",)), ("responses", "source", ("simulated",)),
                                   ("models", "checkpoints", ("train", "builtin"))):
        target = getattr(config, section)
        value = getattr(target, key)
        if value not in keywords:
            setattr(target, key, str(Path(value).expanduser().resolve()))


def load_config(path) -> RunConfig:
    """Read and validate a run configuration from a TOML file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration file ({exc.strerror or exc})") from None
    return config_from_dict(data)


def validate(config: RunConfig) -> None:
    """Cross-key checks, each naming the key at fault."""
    s, r, m, a = config.stimuli, config.responses, config.models, config.analysis
    if s.size not in (32, 64, 128):
        raise ConfigError(f"stimuli.size: must be 32, 64 or 128, got {s.size}")
    if s.n_test < 2:
        raise ConfigError(f"stimuli.n_test: need at least 2 held-out stimuli, got {s.n_test}")
    if s.source == "synthetic" and s.n_stimuli <= s.n_test + 10:
        raise ConfigError(f"stimuli.n_stimuli: must exceed stimuli.n_test + 10, got {s.n_stimuli}")
    if r.source == "simulated":
        if s.source != "synthetic":
            raise ConfigError("responses.source: simulated responses need stimuli.source = \"synthetic\" "
                              "(their tuning is a function of the known factors)")
        bad = [p for p in r.populations if p not in ("axis", "sparse", "mixed")]
        if bad or not r.populations:
            raise ConfigError(f"responses.populations: each must be axis, sparse or mixed, got {r.populations}")
    if m.checkpoints not in ("train", "builtin") and not Path(m.checkpoints).is_dir():
        raise ConfigError(f"models.checkpoints: must be \"train\", \"builtin\" or an existing folder, "
                          f"got {m.checkpoints!r}")
    bad = [b for b in m.baselines if b not in ("pca", "ica", "aam", "classifier")]
    if bad:
        raise ConfigError(f"models.baselines: unknown baseline(s) {bad}; known: pca, ica, aam, classifier")
    if not m.betas or any(not isinstance(b, (int, float)) or b < 0 for b in m.betas):
        raise ConfigError(f"models.betas: expected a non-empty list of numbers >= 0, got {m.betas}")
    if not m.seeds or any(not isinstance(x, int) or x < 0 for x in m.seeds):
        raise ConfigError(f"models.seeds: expected a non-empty list of integers >= 0, got {m.seeds}")
    for section, keys in (("stimuli", ("n_train_images", "n_stimuli")), ("responses", ("n_neurons",)),
                          ("models", ("steps", "latent_dim", "baseline_units", "baseline_train_images",
                                      "classifier_epochs")),
                          ("analysis", ("n_permutations", "subset_repeats", "mixed_repeats"))):
        for key in keys:
            if getattr(getattr(config, section), key) < 1:
                raise ConfigError(f"{section}.{key}: must be >= 1, got {getattr(getattr(config, section), key)}")
    if a.backend not in ("auto", "numpy", "numba", "cupy"):
        raise ConfigError(f"analysis.backend: must be auto, numpy, numba or cupy, got {a.backend!r}")
    if a.cv < 2:
        raise ConfigError(f"analysis.cv: need at least 2 folds, got {a.cv}")
    if not a.alpha > 0:
        raise ConfigError(f"analysis.alpha: must be > 0, got {a.alpha}")
