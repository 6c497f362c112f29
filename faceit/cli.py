"""The ``faceit`` command: the demo, a configured run, and one subcommand per stage.

Every FaceitError becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

import numpy as np

from .errors import DataError, FaceitError

EXAMPLES = """examples:
  faceit demo                                  # synthetic world, simulated neurons, report in ./faceit-demo
  faceit run examples/run.toml --out runs/mine # the same pipeline on your configuration
  faceit sweep --images synthetic:10000 --betas 1 4 12 16 --seeds 0 1 --out runs/sweep
  faceit encode --model runs/sweep/beta_vae-beta12-seed0 --images faces/ --out units.npz
  faceit align --units units.npz --responses rates.mat
  faceit permtest --units units.npz --responses rates.mat --statistic matched_r -n 10000
"""


# --------------------------------------------------------------------------- inputs

IMAGES_HELP = "image folder, CelebA root, .npz, or synthetic:N[:SEED[:WORLD]]"
SCHEDULER_HELP = ("address of a dask.distributed scheduler (e.g. tcp://host:8786) whose workers do the work "
                  "(needs the [distributed] extra)")


def _images(spec: str, size: int):
    """Stimuli from a path load_images reads, or ``synthetic:N[:SEED[:WORLD]]`` for a synthetic world
    (default: the "default" world; the recipe was found on "pairs8")."""
    from .stimuli import load_images, synthetic_faces

    if spec.startswith("synthetic:"):
        parts = spec.split(":")
        try:
            n = int(parts[1])
            seed = int(parts[2]) if len(parts) > 2 else 0
            world = parts[3] if len(parts) > 3 else "default"
        except (IndexError, ValueError):
            raise DataError(f"--images {spec!r}: expected synthetic:N, synthetic:N:SEED or "
                            "synthetic:N:SEED:WORLD") from None
        return synthetic_faces(n, seed=seed, size=size, world=world)
    return load_images(spec, size=size)


def _units(path: str):
    """A Representation from a file written by ``faceit encode`` (or a plain .npy [N, K] array)."""
    from .representation import Representation

    p = Path(path)
    if not p.is_file():
        raise DataError(f"--units {p}: no such file")
    try:
        if p.suffix == ".npy":
            return Representation(np.load(p, allow_pickle=False), name=p.stem)
        with np.load(p, allow_pickle=False) as data:
            if "units" not in data.files:
                raise DataError(f"--units {p}: no 'units' array (found {data.files})")
            return Representation(data["units"], kl=data["kl"] if "kl" in data.files else None,
                                  informative=data["informative"] if "informative" in data.files else None,
                                  name=p.stem, meta={"ids": data["ids"]} if "ids" in data.files else {})
    except (OSError, ValueError) as exc:
        raise DataError(f"--units {p}: unreadable ({exc})") from None


def _responses(path: str, units):
    """The responses to the units' stimuli (Responses.rows_for): by stimulus id when the units file
    has ids (``faceit encode`` saves the images' names) and the responses file names its stimuli,
    else row by row."""
    from .neural import load_responses

    named = "ids" in units.meta
    ids = units.meta["ids"] if named else np.arange(units.units.shape[0])
    try:
        return load_responses(path).rows_for(ids, f"--responses {path}", named=named)
    except DataError as exc:
        raise DataError(f"{exc}" + (" (the ids are those saved in --units)" if named else "")) from None


@contextlib.contextmanager
def _client(address: str | None):
    """A dask.distributed Client for --scheduler ADDRESS (closed afterwards), or None to work in this process."""
    if address is None:
        yield None
        return
    from ._dask import connect

    with connect(address) as client:
        yield client


def _print(record: dict) -> None:
    print(json.dumps(record, indent=1, default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v)))


# --------------------------------------------------------------------------- commands

def cmd_demo(args) -> None:
    from .pipeline.demo import run_demo

    report = run_demo(args.out, retrain=args.retrain)
    print(f"report: {report}\nresults: {Path(args.out) / 'results' / 'summary.csv'}")


def cmd_run(args) -> None:
    from .pipeline import load_config, run_pipeline

    out = run_pipeline(load_config(args.config), args.out, report=not args.no_report, notes=[])
    print(f"{'results' if args.no_report else 'report'}: {out}")


def cmd_report(args) -> None:
    from .pipeline import config_from_dict, run_pipeline

    saved = Path(args.run) / "config.json"
    if not saved.is_file():
        raise DataError(f"{args.run}: not a faceit run folder (no config.json)")
    print(f"report: {run_pipeline(config_from_dict(json.loads(saved.read_text())), args.run)}")


def _recipe_overrides(args) -> dict:
    """The train() arguments given on the command line; the others keep the recipe's defaults."""
    return {name: value for name, value in (("steps", args.steps), ("batch_size", args.batch_size))
            if value is not None}


def cmd_train(args) -> None:
    from .models import BetaVAE, train

    stimuli = _images(args.images, args.size)
    beta = {} if args.beta is None else {"beta": args.beta}
    model = BetaVAE(latent_dim=args.latent_dim, image_size=args.size, family=args.family,
                    tc_weight=args.tc_weight, **beta)
    result = train(model, stimuli, seed=args.seed, checkpoint_dir=args.out, **_recipe_overrides(args))
    print(f"trained {result.step} steps into {args.out}")


def cmd_sweep(args) -> None:
    from .models import sweep

    stimuli = _images(args.images, args.size)
    overrides = _recipe_overrides(args)
    steps = {"steps": overrides.pop("steps")} if "steps" in overrides else {}
    with _client(args.scheduler) as client:
        entries = sweep(stimuli, args.out, betas=args.betas, seeds=args.seeds, family=args.family,
                        model_kwargs={"latent_dim": args.latent_dim, "tc_weight": args.tc_weight},
                        train_kwargs=overrides, client=client, **steps)
    for e in entries:
        print(f"{e.path}: {e.status} at step {e.step}")


def cmd_encode(args) -> None:
    from ._io import atomic_path
    from .models.baselines import load_baseline

    model = load_baseline(args.model)
    stimuli = _images(args.images, model.image_shape_[0])
    rep = model.transform(stimuli)
    arrays = {"units": rep.units, "informative": rep.informative}
    if stimuli.has_ids:  # what align and permtest pair the responses by
        arrays["ids"] = np.asarray(stimuli.ids)
    if rep.kl is not None:
        arrays["kl"] = rep.kl
    with atomic_path(args.out, suffix=".npz") as tmp:
        np.savez(tmp, **arrays)
    print(f"{rep.units.shape[1]} units ({rep.n_informative} informative) for {rep.units.shape[0]} stimuli -> {args.out}")


def cmd_align(args) -> None:
    from .compare import alignment_score, explained_variance, match_units

    units = _units(args.units)
    responses = _responses(args.responses, units)
    res = alignment_score(units, responses.rates, method=args.method, alpha=args.alpha, n_rotations=args.rotations)
    matching = match_units(units, responses.rates)
    ev = explained_variance(units, responses)
    _print({"alignment": res.score, "rotation_control": res.rotation_control, "matched_r": matching.mean_abs_r,
            "explained_variance": float(np.nanmean(ev.r2)),
            "pairs": [{"unit": int(u), "neuron": int(n), "r": float(r)}
                      for u, n, r in zip(matching.unit_index, matching.neuron_index, matching.r)]})


def cmd_permtest(args) -> None:
    from .stats import permutation_test

    units = _units(args.units)
    responses = _responses(args.responses, units)
    with _client(args.scheduler) as client:
        res = permutation_test(units, responses.rates, statistic=args.statistic,
                               n_permutations=args.n_permutations, seed=args.seed, backend=args.backend,
                               checkpoint=args.checkpoint, client=client)
    record = {"statistic": args.statistic, "observed": res.observed, "p_value": res.p_value,
              "n_permutations": args.n_permutations, "backend": res.backend}
    if res.pair_p_values is not None:
        record["pair_p_values"] = res.pair_p_values
    _print(record)


def cmd_reconstruct(args) -> None:
    from .decode import reconstruct, save_reconstruction_grid
    from .models.baselines import load_baseline
    from .neural import load_responses

    model = load_baseline(args.model)
    stimuli = _images(args.images, model.image_shape_[0])
    responses = load_responses(args.responses).rows_for(stimuli, f"--responses {args.responses}")
    n = len(stimuli)
    if not 2 <= args.n_test < n - 2:
        raise DataError(f"--n-test {args.n_test}: must be between 2 and {n - 3} for {n} stimuli")
    test = np.zeros(n, dtype=bool)
    test[np.random.default_rng(args.seed).choice(n, args.n_test, replace=False)] = True
    train_idx, test_idx = np.flatnonzero(~test), np.flatnonzero(test)
    rec = reconstruct(model, stimuli.subset(train_idx), responses.rates[train_idx], stimuli.subset(test_idx),
                      responses.rates[test_idx])
    out = Path(args.out)
    if rec.images is not None:
        save_reconstruction_grid(out / "reconstruction.png", stimuli.subset(test_idx), {model.name: rec})
    _print({"median_cosine_distance": rec.median_cosine_distance, "identification": rec.identification_accuracy,
            "pixel_mse": rec.pixel_mse, "n_neurons": rec.n_neurons})


# --------------------------------------------------------------------------- parser

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faceit", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EXAMPLES,
        description="Do the units of a disentangling generative model match single face-patch neurons "
                    "one-to-one? (Higgins et al. 2021)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name, fn, help_text):
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(fn=fn)
        return p

    p = add("demo", cmd_demo, "Run the whole analysis on the built-in synthetic world and simulated neurons; "
            "writes figures, tables and report.html.")
    p.add_argument("--out", default="faceit-demo", help="run folder (default: ./faceit-demo; reruns reuse it)")
    p.add_argument("--retrain", action="store_true", help="train every autoencoder from scratch instead of "
                   "loading the checkpoints shipped with faceit (slow on a CPU)")

    p = add("run", cmd_run, "Run the pipeline on a TOML configuration (see examples/run.toml).")
    p.add_argument("config", help="the TOML configuration file")
    p.add_argument("--out", default="faceit-run", help="run folder (finished stages are reused)")
    p.add_argument("--no-report", action="store_true", help="stop after the summary tables")

    p = add("report", cmd_report, "Rebuild the tables, figures and report.html of an existing run folder.")
    p.add_argument("run", help="a run folder written by faceit demo or faceit run")

    for name, fn, text in (("train", cmd_train, "Train one β-VAE (or AE / VAE) with checkpoints; "
                            "an interrupted run resumes."),
                           ("sweep", cmd_sweep, "Train β values x seeds, one folder per model; finished "
                            "models are skipped, interrupted ones resume.")):
        p = add(name, fn, text)
        p.add_argument("--images", required=True, help=IMAGES_HELP)
        p.add_argument("--out", required=True, help="output folder")
        p.add_argument("--size", type=int, default=32, help="image size in pixels (32, 64 or 128)")
        p.add_argument("--steps", type=int, default=None,
                       help="optimizer steps per model (default: the recipe's, docs/recipe.md)")
        p.add_argument("--batch-size", type=int, default=None,
                       help="images per step (default: the recipe's, docs/recipe.md)")
        p.add_argument("--latent-dim", type=int, default=10, help="latent units")
        p.add_argument("--family", default="beta_vae", choices=["beta_vae", "vae", "ae"], help="objective")
        p.add_argument("--tc-weight", type=float, default=None,
                       help="weight of FactorVAE's total-correlation penalty (default: the recipe's 40 for "
                            "beta_vae, 0 otherwise; 0 = the plain β-VAE)")
        if name == "train":
            p.add_argument("--beta", type=float, default=None, help="β (KL weight; default: the recipe's)")
            p.add_argument("--seed", type=int, default=0, help="random seed")
        else:
            p.add_argument("--betas", type=float, nargs="+", default=[1.0, 4.0, 8.0, 16.0], help="β values")
            p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds")
            p.add_argument("--scheduler", default=None, help=SCHEDULER_HELP + "; --out must be on a file "
                           "system every worker sees")

    p = add("encode", cmd_encode, "Encode images with a trained model or saved baseline into units.npz "
            "(posterior means, KL per unit, informative mask, and the images' ids where they have names).")
    p.add_argument("--model", required=True, help="a training folder or a saved baseline (.safetensors)")
    p.add_argument("--images", required=True, help=IMAGES_HELP)
    p.add_argument("--out", required=True, help="output .npz")

    p = add("align", cmd_align, "Alignment score (with its rotation control), one-to-one matching and "
            "explained variance of units against neural responses.")
    p.add_argument("--units", required=True, help="units.npz from faceit encode, or a .npy [stimuli, units]")
    p.add_argument("--responses", required=True, help="responses in any format load_responses reads")
    p.add_argument("--method", default="entropy", choices=["entropy", "max_fraction"])
    p.add_argument("--alpha", type=float, default=0.01, help="lasso penalty")
    p.add_argument("--rotations", type=int, default=10, help="random rotations for the chance level")

    p = add("permtest", cmd_permtest, "Permutation test (stimulus order shuffled for all neurons together) "
            "with family-wise p-values per matched pair.")
    p.add_argument("--units", required=True, help="units.npz from faceit encode, or a .npy [stimuli, units]")
    p.add_argument("--responses", required=True, help="responses in any format load_responses reads")
    p.add_argument("--statistic", default="matched_r", choices=["matched_r", "alignment", "explained_variance"])
    p.add_argument("-n", "--n-permutations", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backend", default="auto", choices=["auto", "numpy", "numba", "cupy"])
    p.add_argument("--checkpoint", default=None, help="file to save progress to; a rerun resumes from it")
    p.add_argument("--scheduler", default=None, help=SCHEDULER_HELP)

    p = add("reconstruct", cmd_reconstruct, "Reconstruct held-out faces from one matched neuron per unit (Fig 7).")
    p.add_argument("--model", required=True, help="a training folder or a saved baseline (.safetensors)")
    p.add_argument("--images", required=True, help=IMAGES_HELP)
    p.add_argument("--responses", required=True,
                   help="responses: paired with the images by id where both name them, else by row")
    p.add_argument("--n-test", type=int, default=62, help="held-out stimuli")
    p.add_argument("--seed", type=int, default=0, help="seed of the held-out split")
    p.add_argument("--out", default=".", help="folder for reconstruction.png")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.fn(args)
    except FaceitError as exc:
        print(f"faceit: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("faceit: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
