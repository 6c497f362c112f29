"""Permutation-test benchmark (design 6): batched matched_r null against a corrcoef + scipy loop.

    python benchmarks/bench_permutation.py [--quick] [--case default|large]

"default": 10,000 permutations, 159 neurons, 32 units, 2,100 stimuli (targets: <= 5 s on 2 cores,
>= 10x faster than a loop of np.corrcoef + scipy.optimize.linear_sum_assignment). The reference
loop is timed on a subset of the permutations and extrapolated (said so in the JSON); its values
are checked against faceit's null. Both sides run with BLAS on one thread and on all, keeping the
faster (on a shared machine two BLAS threads can be far slower than one).
"large": 1,000 permutations, 10,000 neurons, 32 units, 2,800 stimuli (targets: <= 60 s, peak RSS
<= 2 GB). Each case runs in its own process so that its peak RSS is its own.
Wall times depend on what else the machine runs: the JSON also gives CPU times (all threads) and
the 1-minute load average at the end of the case.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time

import numpy as np
import scipy.optimize

sys.path.insert(0, os.path.dirname(__file__))
from _common import emit  # noqa: E402

CASES = {  # name: (permutations, neurons, units, stimuli, reference permutations timed)
    "default": (10_000, 159, 32, 2_100, 200),
    "large": (1_000, 10_000, 32, 2_800, 5),
}
QUICK = {"default": (1_000, 159, 32, 2_100, 50), "large": (100, 10_000, 32, 2_800, 2)}


def make_data(n_neurons: int, n_units: int, n_stimuli: int, seed: int = 0):
    """Units and correlated responses with a weak link to the units (a realistic null-ish case)."""
    rng = np.random.default_rng(seed)
    units = rng.standard_normal((n_stimuli, n_units))
    rates = 0.2 * units @ rng.standard_normal((n_units, n_neurons))
    rates += rng.standard_normal((n_stimuli, 20)) @ rng.standard_normal((20, n_neurons))
    rates += rng.standard_normal((n_stimuli, n_neurons))
    return units, rates


def reference_loop(units, rates, perms) -> np.ndarray:
    """matched_r under each permutation the plain way: np.corrcoef, then scipy's assignment."""
    k = units.shape[1]
    out = np.empty(len(perms))
    for b, perm in enumerate(perms):
        c = np.abs(np.corrcoef(units.T, rates[perm].T)[:k, k:])
        rows, cols = scipy.optimize.linear_sum_assignment(c, maximize=True)
        out[b] = c[rows, cols].mean()
    return out


def best_of_blas_threads(loop, scale: float = 1.0):
    """Time ``loop()`` with BLAS on 1 thread and on all threads and keep the faster: on a busy
    machine small products can run many times slower on two threads than on one, so each side of
    a comparison gets its better setting. Returns (wall s, CPU s, BLAS threads, the loop's result),
    times multiplied by ``scale`` (for a loop timed on a subset)."""
    from threadpoolctl import threadpool_limits

    best = None
    for threads in (1, None):
        with threadpool_limits(limits=threads, user_api="blas"):
            t0, c0 = time.perf_counter(), time.process_time()
            out = loop()
            wall, cpu = (time.perf_counter() - t0) * scale, (time.process_time() - c0) * scale
        if best is None or wall < best[0]:
            best = (wall, cpu, threads or "all", out)
    return best


def run_case(name: str, quick: bool) -> None:
    from faceit.stats import get_backend, permutation_test, shuffles

    n_perm, n_neurons, n_units, n_stimuli, n_ref = (QUICK if quick else CASES)[name]
    units, rates = make_data(n_neurons, n_units, n_stimuli)
    backend = get_backend("auto").NAME
    permutation_test(units, rates, n_permutations=8, backend=backend, progress=False)  # compile / warm up
    timings, cpu, threads, results = {}, {}, {}, {}
    for dtype in ("float64", "float32"):
        timings[dtype], cpu[dtype], threads[dtype], results[dtype] = best_of_blas_threads(
            lambda: permutation_test(units, rates, n_permutations=n_perm, backend=backend, dtype=dtype,
                                     progress=False))
    t0 = time.perf_counter()
    permutation_test(units, rates, n_permutations=max(n_perm // 10, 1), backend="numpy", progress=False)
    numpy_s = (time.perf_counter() - t0) * n_perm / max(n_perm // 10, 1)

    # faceit's peak, data included; read before the reference, whose corrcoef of all columns is large
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    perms = shuffles.permutations(0, n_stimuli, 0, n_ref)
    ref_s, ref_cpu_s, ref_threads, ref_null = best_of_blas_threads(lambda: reference_loop(units, rates, perms),
                                                             n_perm / n_ref)
    emit(f"permutation_{name}", workload=f"matched_r, {n_perm} permutations, {n_neurons} neurons, {n_units} units, "
                                         f"{n_stimuli} stimuli", backend=backend,
         faceit_s=timings["float64"], faceit_float32_s=timings["float32"],
         faceit_numpy_backend_s_extrapolated=numpy_s,
         reference="loop of np.corrcoef + scipy.optimize.linear_sum_assignment",
         faceit_cpu_s=cpu["float64"], faceit_float32_cpu_s=cpu["float32"], faceit_blas_threads=threads["float64"],
         reference_s=ref_s, reference_cpu_s=ref_cpu_s, reference_blas_threads=ref_threads,
         reference_extrapolated_from_permutations=n_ref,
         speedup_vs_reference=ref_s / timings["float64"], speedup_float32_vs_reference=ref_s / timings["float32"],
         max_abs_diff_vs_reference=float(np.abs(results["float64"].null[:n_ref] - ref_null).max()),
         max_abs_diff_float32_vs_float64=float(np.abs(results["float32"].null - results["float64"].null).max()),
         p_value=results["float64"].p_value, peak_rss_mb_before_reference=peak_rss_mb,
         load_average_1min=os.getloadavg()[0], quick=quick)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the permutations (a smoke run)")
    parser.add_argument("--case", choices=sorted(CASES), help="run one case in this process")
    args = parser.parse_args()
    if args.case:
        run_case(args.case, args.quick)
        return
    for name in CASES:  # one process per case: peak RSS is per case
        cmd = [sys.executable, __file__, "--case", name] + (["--quick"] if args.quick else [])
        subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
