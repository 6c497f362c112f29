"""Train the recipe on revisions of the pairs8 world and report which factors each model encodes.

    python scripts/world_variants.py --variant hue-shows [--beta 12] [--seeds 0 1 2 3] [--steps 12000]
                                     [--threads 1]

The experiment behind docs/recipe.md's "Revising the world": 10,000 training faces (seed 11) and
2,000 held-out faces (seed 12) at 32x32, the recipe otherwise. Variants:
  pairs8         the world as it is;
  hue-shows      irises of radius 1.9-4.0 px (not 0.8-4.0) so that the hue always shows, the iris colour
                 circle recentred (0.34, 0.31, 0.34) with radius 0.27 (not 0.31) to keep the factors'
                 image variance equal (faceit.stimuli.factor_variance);
  loud-backdrop  the backdrop's colour circle of radius 0.11 (not 0.084): its variance 1.7x the others';
  hue-shows+loud-backdrop  both.
Prints one JSON line per seed: MIG, informative units, max |r| of the informative units with each
factor, training seconds. The docs' tables used one thread per run, two runs side by side.
"""

from __future__ import annotations

import argparse
import json
import warnings
from dataclasses import replace

import numpy as np

from faceit.compare import mig
from faceit.models import BetaVAE, encode, train
from faceit.stimuli import synthetic_faces
from faceit.stimuli import worlds as W

HUE_SHOWS = {"radius": 0.0925, "radius_per_unit": 0.0325, "centre": (0.34, 0.31, 0.34), "colour_radius": 0.27}
LOUD_BACKDROP_RADIUS = 0.11


def variant_world(name: str) -> W.World:
    """pairs8 with the named revisions applied (same factors, same ranges); "pairs8" is the world itself."""
    base = W.get_world("pairs8")
    if name == "pairs8":
        return base
    hue_shows, loud = "hue-shows" in name, "loud-backdrop" in name

    def to_params(f):
        p = base.to_params(f)
        if hue_shows:
            iris = HUE_SHOWS
            p.eye_r_left = iris["radius"] + iris["radius_per_unit"] * f["eye_size_left"]
            p.eye_r_right = iris["radius"] + iris["radius_per_unit"] * f["eye_size_right"]
            for side in ("left", "right"):
                setattr(p, f"eye_{side}", W.colour_arc(iris["centre"], W.HUE_PLANE, iris["colour_radius"],
                                                       f[f"eye_colour_{side}"], W.PAIRS8_ARC_DEGREES))
        if loud:
            for side in ("left", "right"):
                setattr(p, f"background_{side}", W.colour_arc(W.BACKDROP_CENTRE, W.HUE_PLANE, LOUD_BACKDROP_RADIUS,
                                                              f[f"background_{side}"], W.PAIRS8_ARC_DEGREES))
        return p

    return replace(base, name=f"pairs8:{name}", to_params=to_params)


VARIANTS = ("pairs8", "hue-shows", "loud-backdrop", "hue-shows+loud-backdrop")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=VARIANTS, default="hue-shows")
    parser.add_argument("--beta", type=float, default=None, help="default: the recipe's")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--steps", type=int, default=None, help="default: the recipe's")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=UserWarning)

    world = variant_world(args.variant)
    faces = synthetic_faces(10000, seed=11, size=32, world=world, progress=False)
    held = synthetic_faces(2000, seed=12, size=32, world=world, progress=False)
    factors = np.asarray(held.factors, dtype=np.float64)
    for seed in args.seeds:
        model = BetaVAE(image_size=32, **({} if args.beta is None else {"beta": args.beta}))
        result = train(model, faces, **({} if args.steps is None else {"steps": args.steps}), seed=seed,
                       num_threads=args.threads, progress=True)
        rep = encode(model, held)
        units = rep.units[:, rep.informative]
        max_r = [0.0] * factors.shape[1]
        if units.shape[1]:
            r = np.corrcoef(units.T, factors.T)[:units.shape[1], units.shape[1]:]
            max_r = np.abs(r).max(axis=0).round(2).tolist()
        print(json.dumps({"variant": args.variant, "beta": model.beta, "seed": seed,
                          "mig": round(float(mig(rep, held.factors)), 3), "informative": int(rep.n_informative),
                          "max_abs_r": dict(zip(world.factor_names, max_r)),
                          "seconds": round(result.seconds)}), flush=True)


if __name__ == "__main__":
    main()
