"""Neural-data benchmark: the split-half noise ceiling (all splits vectorised) against a plain
per-split numpy loop, and simulate_population at the paper's and at the large scale.

    python benchmarks/bench_neural.py [--stimuli 2100] [--neurons 159] [--trials 10] [--splits 100] [--quick]

One JSON line per workload; the noise-ceiling line reports the reference time, the speed-up and the
largest difference between the two estimates (both average 100 random splits, so they agree to
sampling error, not exactly).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import emit, wall_time  # noqa: E402

from faceit.neural import noise_ceiling, simulate_population  # noqa: E402


def reference_noise_ceiling(trials: np.ndarray, n_splits: int, seed: int) -> np.ndarray:
    """One split at a time: shuffle each stimulus's trials, average the halves, np.corrcoef per neuron."""
    rng = np.random.default_rng(seed)
    n_stim, n_neurons, n_trials = trials.shape
    half = n_trials // 2
    r = np.empty((n_splits, n_neurons))
    for b in range(n_splits):
        order = np.argsort(rng.random((n_stim, n_trials)), axis=1)
        shuffled = np.take_along_axis(trials, order[:, None, :], axis=2)
        a = shuffled[:, :, :half].mean(axis=2)
        c = shuffled[:, :, half:2 * half].mean(axis=2)
        for n in range(n_neurons):
            r[b, n] = np.corrcoef(a[:, n], c[:, n])[0, 1]
    mean_r = r.mean(axis=0)
    return 2 * mean_r / (1 + mean_r)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stimuli", type=int, default=2100)
    parser.add_argument("--neurons", type=int, default=159)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--splits", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="small shapes, for CI smoke runs")
    args = parser.parse_args()
    if args.quick:
        args.stimuli, args.neurons, args.splits = 300, 40, 20

    factors = np.random.default_rng(0).uniform(-1, 1, size=(args.stimuli, 6))
    resp = None

    def simulate():
        nonlocal resp
        resp = simulate_population(factors, n_neurons=args.neurons, n_trials=args.trials, seed=0)

    t_sim = wall_time(simulate)
    emit("simulate_population", stimuli=args.stimuli, neurons=args.neurons, trials=args.trials, seconds=t_sim)

    trials = resp.trials.astype(np.float64)
    ours = ref = None

    def run_ours():
        nonlocal ours
        ours = noise_ceiling(trials, n_splits=args.splits, seed=0)

    def run_ref():
        nonlocal ref
        ref = reference_noise_ceiling(trials, args.splits, seed=1)

    t_ours, t_ref = wall_time(run_ours), wall_time(run_ref)
    emit("noise_ceiling", stimuli=args.stimuli, neurons=args.neurons, trials=args.trials, splits=args.splits,
         seconds=t_ours, reference_seconds=t_ref, speedup=t_ref / t_ours,
         max_abs_diff=float(np.abs(ours - ref).max()), mean_abs_diff=float(np.abs(ours - ref).mean()))

    if not args.quick:  # the large population of design section 6, rates only
        big = np.random.default_rng(1).uniform(-1, 1, size=(2800, 6))
        t_big = wall_time(lambda: simulate_population(big, n_neurons=10_000, n_trials=10, seed=0,
                                                      keep_trials=False, progress=False))
        emit("simulate_population_large", stimuli=2800, neurons=10_000, trials=10, keep_trials=False,
             seconds=t_big, peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


if __name__ == "__main__":
    main()
