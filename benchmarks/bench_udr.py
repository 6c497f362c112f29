"""UDR benchmark: faceit.compare.udr (all model pairs in one batched Gram-form lasso) against the
reference, one sklearn Lasso fit per ordered model pair, timed in the same run.

    python benchmarks/bench_udr.py [--models 10] [--samples 10000] [--units 32] [--quick]

Prints one JSON line for the lasso workload of design section 6 (target: >= 5x faster), one
for Spearman (one rank-correlation matrix against scipy.stats.spearmanr per pair), and one for
the same lasso core in alignment_score (159 neurons, 32 units, 2,100 stimuli) against a loop of
sklearn Lasso fits over neurons. Each line reports the largest difference from the reference.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
from scipy.stats import spearmanr
from sklearn.linear_model import Lasso

sys.path.insert(0, os.path.dirname(__file__))
from _common import emit, wall_time  # noqa: E402

from faceit.compare import alignment_from_weights, alignment_score, udr, udr_from_similarity  # noqa: E402
from faceit.compare.alignment import random_rotations  # noqa: E402


def make_models(n_models: int, n_samples: int, n_units: int, seed: int = 0) -> list[np.ndarray]:
    """Posterior means of models that share latent factors: half are noisy, permuted, sign-flipped
    copies of the factors (disentangled), half see them through a random rotation (entangled)."""
    rng = np.random.default_rng(seed)
    factors = rng.standard_normal((n_samples, n_units))
    rotations = random_rotations(n_units, n_models, seed=seed + 1)
    models = []
    for m in range(n_models):
        z = factors[:, rng.permutation(n_units)] * rng.choice([-1.0, 1.0], n_units)
        if m % 2:
            z = z @ rotations[m]
        models.append(z + 0.3 * rng.standard_normal((n_samples, n_units)))
    return models


def serial_lasso_udr(models: list[np.ndarray], alpha: float = 0.1) -> np.ndarray:
    """The reference: one sklearn Lasso per ordered pair (disentanglement_lib's loop), paper aggregate."""
    z = [(m - m.mean(0)) / m.std(0) for m in models]
    pair = np.full((len(z), len(z)), np.nan)
    for a in range(len(z)):
        for b in range(len(z)):
            if a != b:
                pair[a, b] = udr_from_similarity(np.abs(Lasso(alpha=alpha).fit(z[a], z[b]).coef_.T))
    return np.nanmedian(pair, axis=0)


def serial_spearman_udr(models: list[np.ndarray]) -> np.ndarray:
    k = [m.shape[1] for m in models]
    pair = np.full((len(models), len(models)), np.nan)
    for a in range(len(models)):
        for b in range(len(models)):
            if a != b:
                rho = spearmanr(models[a], models[b])[0][:k[a], k[a]:]
                pair[a, b] = udr_from_similarity(np.abs(rho))
    return np.nanmedian(pair, axis=0)


def bench_alignment(n_stimuli: int = 2100, n_units: int = 32, n_neurons: int = 159, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    units = rng.standard_normal((n_stimuli, n_units))
    rates = units @ (rng.standard_normal((n_units, n_neurons)) * (rng.random((n_units, n_neurons)) < 0.2)) \
        + rng.standard_normal((n_stimuli, n_neurons))
    zu = (units - units.mean(0)) / units.std(0)
    zr = (rates - rates.mean(0)) / rates.std(0)
    got = {}
    t_faceit = wall_time(lambda: got.update(r=alignment_score(units, rates, n_rotations=0)))

    def loop():
        w = np.stack([Lasso(alpha=0.01, fit_intercept=False).fit(zu, zr[:, i]).coef_ for i in range(n_neurons)], 1)
        got.update(ref=float(alignment_from_weights(w)[0]))

    t_ref = wall_time(loop)
    emit("alignment_lasso", stimuli=n_stimuli, units=n_units, neurons=n_neurons, faceit_s=round(t_faceit, 4),
         sklearn_loop_s=round(t_ref, 4), speedup=round(t_ref / t_faceit, 2),
         abs_score_diff=abs(got["r"].score - got["ref"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--units", type=int, default=32)
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.models, args.samples, args.units = 4, 2000, 8
    models = make_models(args.models, args.samples, args.units)
    shape = {"models": args.models, "samples": args.samples, "units": args.units}

    udr(models[:2], "lasso")  # compile (or load) the numba kernel outside the timing
    result = {}
    t_faceit = wall_time(lambda: result.update(lasso=udr(models, "lasso")))
    ref = {}
    t_ref = wall_time(lambda: ref.update(lasso=serial_lasso_udr(models)))
    emit("udr_lasso", **shape, faceit_s=round(t_faceit, 4), sklearn_serial_s=round(t_ref, 4),
         speedup=round(t_ref / t_faceit, 2), target_speedup=5.0,
         max_abs_score_diff=float(np.abs(result["lasso"].scores - ref["lasso"]).max()))

    t_faceit = wall_time(lambda: result.update(spearman=udr(models, "spearman")))
    t_ref = wall_time(lambda: ref.update(spearman=serial_spearman_udr(models)))
    emit("udr_spearman", **shape, faceit_s=round(t_faceit, 4), scipy_serial_s=round(t_ref, 4),
         speedup=round(t_ref / t_faceit, 2),
         max_abs_score_diff=float(np.abs(result["spearman"].scores - ref["spearman"]).max()))
    bench_alignment(*((500, 8, 40) if args.quick else ()))


if __name__ == "__main__":
    main()
