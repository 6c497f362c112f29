"""Train the autoencoders that `faceit demo` ships with, and export them into faceit/data/demo_models/.

    python scripts/train_demo_models.py [--work runs/demo-models] [--workers 2]

Uses exactly the demo's configuration (faceit.pipeline.demo.DEMO): the same synthetic training
images, β values, seeds, steps and latent size. Training is resumable (rerun after an interrupt).
Each exported model folder holds the final weights only (no optimizer state), its training log
and checkpoint.json with checksums; MANIFEST.json records the configuration, the MIG of every
model on fresh synthetic faces, timings and the faceit version.

``--workers N`` trains in N processes of one thread each, models dealt out in turn (on a 2-core
machine two one-thread processes are about twice as fast as one two-thread process); the
shipped models were made with ``--workers 2``: 12 models of 9,000 steps (batch 16) in 16.5 minutes.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import shutil
import subprocess
import time
from pathlib import Path

from faceit import __version__
from faceit._io import atomic_write_text
from faceit.compare import mig
from faceit.models import encode, load_model, save_checkpoint
from faceit.models.checkpoint import read_checkpoint_info
from faceit.pipeline.demo import DEMO, demo_config
from faceit.pipeline.stages import (BUILTIN_CHECKPOINTS, sweep_model_kwargs, synthetic_training_images,
                                    train_autoencoders)
from faceit.stimuli import synthetic_faces


def git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def _train_share(work: str, worker: int, n_workers: int) -> None:
    """Train every n_workers-th model of the demo's sweep (one torch thread), into ``work``."""
    from faceit.models import sweep

    config = demo_config(retrain=True)
    m = config.models
    images = synthetic_training_images(config)
    jobs = [("beta_vae", beta, seed) for beta in m.betas for seed in m.seeds]
    jobs += [("ae", 1.0, seed) for seed in m.seeds] if m.ae else []
    for family, beta, seed in jobs[worker::n_workers]:
        sweep(images, work, betas=[beta], seeds=[seed], steps=m.steps, family=family,
              model_kwargs=sweep_model_kwargs(m, family, beta), train_kwargs={"num_threads": 1}, progress=False)
        print(f"worker {worker}: {family} beta={beta:g} seed={seed} done", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="runs/demo-models", help="training folder (resumable)")
    parser.add_argument("--dest", default=str(BUILTIN_CHECKPOINTS), help="export folder")
    parser.add_argument("--workers", type=int, default=1, help="training processes (one thread each)")
    args = parser.parse_args()

    config = demo_config(retrain=True)
    started = time.perf_counter()
    if args.workers > 1:
        procs = [multiprocessing.get_context("spawn").Process(target=_train_share, args=(args.work, w, args.workers))
                 for w in range(args.workers)]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join()
            if proc.exitcode != 0:
                raise SystemExit(f"a training worker failed (exit code {proc.exitcode}); rerun to resume")
    # Trains whatever is left (everything with --workers 1), then lists the finished models.
    folders = train_autoencoders(config, synthetic_training_images(config), Path(args.work))
    trained_s = time.perf_counter() - started

    probe = synthetic_faces(2000, seed=99, size=config.stimuli.size, world=config.stimuli.world)
    dest = Path(args.dest)
    if dest.exists():
        shutil.rmtree(dest)
    models = {}
    for folder in folders:
        model = load_model(folder)
        info = read_checkpoint_info(folder)
        out = dest / folder.name
        save_checkpoint(out, model, info["step"], training=info.get("training", {}))
        shutil.copy2(folder / "log.jsonl", out / "log.jsonl")
        rep = encode(model, probe.images)
        score = float(mig(rep.units[:, rep.informative], probe.factors)) if rep.n_informative else 0.0
        models[folder.name] = {"config": model.config, "step": info["step"], "n_informative": rep.n_informative,
                               "mig_on_fresh_faces": round(score, 4)}
        print(f"{folder.name}: MIG {score:.3f}, {rep.n_informative} informative units")
    manifest = {"made_by": "scripts/train_demo_models.py", "faceit_version": __version__, "git_commit": git_commit(),
                "demo_config": DEMO, "training_seconds": round(trained_s, 1), "workers": args.workers,
                "machine": platform.platform(),
                "models": models}
    atomic_write_text(dest / "MANIFEST.json", json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main()
