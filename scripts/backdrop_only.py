"""Train on pairs8 faces in which only some factors vary, and report which a model encodes.

    python scripts/backdrop_only.py [--vary background_left background_right] [--beta 8] [--family beta_vae]
                                    [--raw-input] [--steps 4000] [--seed 0]

The experiment behind docs/recipe.md's "Why the backdrop halves were missed before": the factors not named
in --vary are held at 0, the named ones are drawn uniformly from [-1, 1]; 10,000 training faces
(seed 11) and 2,000 held-out faces (seed 12) at 32x32; the recipe otherwise. Prints one JSON line:
informative units, the last logged reconstruction term (nats per image), max |r| between the
informative units and each varied factor, and the first logged step at which each number of units
had KL > 0.5 nats. The table in docs/recipe.md was made before the recipe standardised the encoder's
input: reproduce it with ``--raw-input --beta 8``.
"""

from __future__ import annotations

import argparse
import json
import warnings

import numpy as np

from faceit.models import BetaVAE, encode, train
from faceit.stimuli import render_faces
from faceit.stimuli.worlds import get_world


def faces_with(varied: list[int], n: int, n_factors: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 [n, 32, 32, 3] and factors [n, F] with only the ``varied`` columns nonzero."""
    factors = np.zeros((n, n_factors))
    factors[:, varied] = np.random.default_rng(seed).uniform(-1, 1, (n, len(varied)))
    return render_faces(factors, size=32, world="pairs8", progress=False)[0], factors


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vary", nargs="+", default=["background_left", "background_right"])
    parser.add_argument("--beta", type=float, default=None, help="default: the recipe's")
    parser.add_argument("--family", default="beta_vae", choices=["beta_vae", "vae", "ae"])
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--raw-input", action="store_true",
                        help="the encoder sees raw pixels (standardize_input=False), as before the recipe standardised them")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=UserWarning)

    names = [f.name for f in get_world("pairs8").factors]
    unknown = sorted(set(args.vary) - set(names))
    if unknown:
        parser.error(f"unknown factors {unknown}; pairs8 has {names}")
    varied = [names.index(v) for v in args.vary]
    images, _ = faces_with(varied, 10000, len(names), 11)
    held_images, held_factors = faces_with(varied, 2000, len(names), 12)

    model = BetaVAE(image_size=32, family=args.family, standardize_input=not args.raw_input,
                    **({} if args.beta is None else {"beta": args.beta}))
    result = train(model, images, args.steps, seed=args.seed, progress=True)
    rep = encode(model, held_images)
    units = rep.units[:, rep.informative]
    max_r = [0.0] * len(varied)
    if units.shape[1]:
        r = np.corrcoef(units.T, held_factors[:, varied].T)[:units.shape[1], units.shape[1]:]
        max_r = np.abs(r).max(axis=0).round(2).tolist()
    first_step = {}
    for entry in result.log:
        first_step.setdefault(sum(k > 0.5 for k in entry["kl_per_unit"]), entry["step"])
    print(json.dumps({"vary": args.vary, "family": args.family, "beta": model.beta,
                      "standardize_input": model.config["standardize_input"], "steps": args.steps,
                      "seed": args.seed, "informative_units": int(rep.n_informative),
                      "reconstruction_nats": round(result.log[-1]["recon"], 1),
                      "max_abs_r": dict(zip(args.vary, max_r)), "units_online_first_step": first_step}))


if __name__ == "__main__":
    main()
