"""The recipe at its time budget: MIG of the default β-VAE, an AE and PCA on the pairs8 world.

    python benchmarks/bench_recipe.py [--steps N] [--seeds 0 1 2] [--threads 2] [--no-ae] [--device cpu]
                                      [--tc-weight G]

Issue 4's target: with the defaults of BetaVAE and train, at 32x32 and within 2 minutes of training
on 2 CPU cores, the median of 3 seeds reaches MIG >= 0.3 and the best seed >= 0.4, while an AE
trained the same way and PCA stay below 0.1. This script trains the seeds one after another (each
with ``--threads`` torch threads), times each training call, and scores posterior means of held-out
faces with faceit.compare.mig, with each factor's term beside it for the β-VAEs (which factors a
seed found). One JSON line per model, then a summary line with the median, the best, the longest
training time and whether each part of the target holds on this machine.

Data: 10,000 training faces (seed 11) and 2,000 held-out faces (seed 12) of the pairs8 world at
32x32 (docs/recipe.md). Run it on an otherwise idle machine: the time part of the target is wall time.
The target is for the CPU, so ``--device`` defaults to cpu; ``--device cuda`` (benchmarks/gpu_check.sh
with GPU_CHECK_RECIPE=1) measures what many more steps per second buy; every training line names its
device. ``--tc-weight 0`` trains the plain β-VAE (the recipe without its total-correlation critic),
the reference the critic is measured against (docs/recipe.md).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import warnings

sys.path.insert(0, os.path.dirname(__file__))
from _common import emit  # noqa: E402

from faceit.compare import mig, mig_per_factor  # noqa: E402
from faceit.models import AE, BetaVAE, encode, train  # noqa: E402
from faceit.models.baselines import PCA  # noqa: E402
from faceit.models.train import DEFAULT_STEPS  # noqa: E402
from faceit.stimuli import synthetic_faces  # noqa: E402

BUDGET_SECONDS = 120.0
TARGET_MEDIAN, TARGET_BEST, TARGET_BASELINE = 0.3, 0.4, 0.1


def _score(model, train_faces, held_out, steps, seed, threads, device):
    """Train, encode the held-out faces: (MIG, {factor: its MIG term}, informative units, seconds)."""
    result = train(model, train_faces, steps, seed=seed, progress=False, num_threads=threads, device=device)
    rep = encode(model, held_out)
    terms = mig_per_factor(rep, held_out.factors)          # MIG is their mean
    per_factor = {name: round(float(v), 2) for name, v in zip(held_out.factor_names, terms)}
    return float(terms.mean()), per_factor, rep.n_informative, result.seconds


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, help="training steps (default: the recipe's)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=2, help="torch threads per training run")
    parser.add_argument("--no-ae", action="store_true", help="skip the AE trained the same way")
    parser.add_argument("--device", default="cpu", help="cpu (the target's) or cuda")
    parser.add_argument("--tc-weight", type=float, default=None,
                        help="the β-VAE's total-correlation weight (default: the recipe's; 0: plain β-VAE)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=UserWarning)

    faces = synthetic_faces(10000, seed=11, size=32, world="pairs8", progress=False)
    held_out = synthetic_faces(2000, seed=12, size=32, world="pairs8", progress=False)

    scores, seconds = [], []
    for seed in args.seeds:
        model = BetaVAE(image_size=32, tc_weight=args.tc_weight)
        score, per_factor, informative, secs = _score(model, faces, held_out, args.steps, seed,
                                                      args.threads, args.device)
        scores.append(score)
        seconds.append(secs)
        emit("recipe", model="beta_vae", seed=seed, steps=args.steps, threads=args.threads, device=args.device,
             tc_weight=model.config["tc_weight"], mig=round(score, 3), informative_units=informative,
             train_seconds=round(secs, 1),
             steps_per_s=round(args.steps / secs, 1), mig_per_factor=per_factor)
    ae_score = None
    if not args.no_ae:
        ae_score, _, informative, secs = _score(AE(image_size=32), faces, held_out, args.steps, args.seeds[0],
                                                args.threads, args.device)
        emit("recipe", model="ae", seed=args.seeds[0], steps=args.steps, threads=args.threads, device=args.device,
             mig=round(ae_score, 3), informative_units=informative, train_seconds=round(secs, 1),
             steps_per_s=round(args.steps / secs, 1))  # no critic: the host's speed for the plain step
    pca_score = mig(PCA(n_units=10).fit(faces).transform(held_out), held_out.factors)
    emit("recipe", model="pca", components=10, mig=round(pca_score, 3))

    median, best = statistics.median(scores), max(scores)
    emit("recipe_summary", steps=args.steps, threads=args.threads, device=args.device, seeds=args.seeds,
         median_mig=round(median, 3), best_mig=round(best, 3), ae_mig=None if ae_score is None else round(ae_score, 3),
         pca_mig=round(pca_score, 3), max_train_seconds=round(max(seconds), 1),
         within_budget=max(seconds) <= BUDGET_SECONDS, median_met=median >= TARGET_MEDIAN,
         best_met=best >= TARGET_BEST,
         baselines_met=pca_score < TARGET_BASELINE and (ae_score is None or ae_score < TARGET_BASELINE))


if __name__ == "__main__":
    main()
