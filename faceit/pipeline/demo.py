"""The embedded default run behind ``faceit demo``: the synthetic world, an axis-tuned population of
159 neurons and a mixed-tuning control on the same stimuli, a β sweep over several seeds, AE, VAE,
PCA, ICA, AAM and the identity classifier, 62 held-out faces for reconstruction.

The autoencoders come from small checkpoints shipped with faceit (faceit/data/demo_models), made
by scripts/train_demo_models.py with this very configuration; ``retrain=True`` trains them anew.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from .config import RunConfig, config_from_dict
from .run import run_pipeline

#: The demo's configuration; scripts/train_demo_models.py trains its autoencoders.
DEMO = {
    "stimuli": {"source": "synthetic", "world": "pairs8", "size": 32, "n_train_images": 10_000,
                "n_stimuli": 1_062, "n_test": 62, "seed": 0},
    "responses": {"source": "simulated", "populations": ["axis", "mixed"], "n_neurons": 159, "n_trials": 10,
                  "seed": 0},
    "models": {"checkpoints": "builtin", "betas": [1.0, 4.0, 8.0, 12.0, 16.0], "seeds": [0, 1], "steps": 9000,
               "latent_dim": 10, "ae": True, "baselines": ["pca", "ica", "aam", "classifier"],
               "baseline_units": 10, "baseline_train_images": 3000, "classifier_epochs": 6},
    "analysis": {"alpha": 0.01, "n_rotations": 10, "n_permutations": 1000, "subset_repeats": 20,
                 "mixed_repeats": 10, "cv": 5, "backend": "auto", "seed": 0},
}


def demo_config(retrain: bool = False) -> RunConfig:
    data = {section: dict(values) for section, values in DEMO.items()}
    if retrain:
        data["models"]["checkpoints"] = "train"
    return config_from_dict(data)


def run_demo(out="faceit-demo", retrain: bool = False) -> Path:
    """Run the demo into ``out``; returns the path of report.html.

    Without the shipped checkpoints (a source tree in which scripts/train_demo_models.py has not
    run yet) the demo trains its autoencoders itself, and the report says so.
    """
    from .stages import BUILTIN_CHECKPOINTS

    if not retrain and not any(BUILTIN_CHECKPOINTS.glob("*/checkpoint.json")):
        warnings.warn(f"no demo checkpoints in {BUILTIN_CHECKPOINTS}: training the autoencoders in this run "
                      "(slow on a CPU)", stacklevel=2)
        retrain = True
    config = demo_config(retrain)
    notes = [
        "Images are 32x32 px (the paper used 64x64) so that the whole demo runs on 2 CPU cores in minutes.",
        "β-VAEs, the VAE (β = 1) and the AE were " + (
            f"trained from scratch in this run ({config.models.steps:,} steps each)." if retrain else
            f"loaded from the small checkpoints shipped with faceit, made by scripts/train_demo_models.py "
            f"with this configuration ({config.models.steps:,} steps each; run `faceit demo --retrain` to "
            "train them anew).") + " That is far shorter training than the paper's, on a synthetic world "
        f"({config.stimuli.world!r}) instead of photographs.",
        f"{len(config.models.betas)} β values x {len(config.models.seeds)} seeds instead of the paper's "
        "40 x 10; the neurons are simulated (ground truth known), not recorded.",
    ]
    return run_pipeline(config, out, notes=notes)
