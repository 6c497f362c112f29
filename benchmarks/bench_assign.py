"""Assignment solver benchmarks: faceit.assign against scipy and lap.lapjv, timed in the same run.

    python benchmarks/bench_assign.py [--quick]

Prints one JSON line per workload (design section 6): a 160x160 single solve against scipy and
lap.lapjv, 10,000 problems of 159x32 (and of 32x159, units x neurons as the permutation test
solves them) batched against a scipy loop, a 1000x1000 single solve.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import scipy.optimize

sys.path.insert(0, os.path.dirname(__file__))
from _common import emit, median_time, wall_time  # noqa: E402

from faceit.assign import linear_sum_assignment, linear_sum_assignment_batch  # noqa: E402

try:
    import lap
except ImportError:  # lap is a test extra; the comparison is skipped without it
    lap = None


def bench_single(n: int, n_problems: int, rng) -> None:
    costs = [rng.random((n, n)) for _ in range(n_problems)]
    t_faceit = median_time(linear_sum_assignment, costs, repeat=3)
    t_scipy = median_time(scipy.optimize.linear_sum_assignment, costs, repeat=3)
    fields = {"workload": f"{n}x{n} float64 uniform, single solve", "faceit_s": t_faceit, "scipy_s": t_scipy,
              "speedup_vs_scipy": t_scipy / t_faceit}
    if lap is not None:
        t_lap = median_time(lambda c: lap.lapjv(c), costs, repeat=3)
        fields.update(lapjv_s=t_lap, speedup_vs_lapjv=t_lap / t_faceit)
    emit(f"assign_single_{n}", **fields)


def bench_batch(n_problems: int, rng, shape=(159, 32)) -> None:
    costs = rng.random((n_problems, *shape))
    t_faceit = min(wall_time(lambda: linear_sum_assignment_batch(costs)) for _ in range(3))
    t_faceit_1 = min(wall_time(lambda: linear_sum_assignment_batch(costs, n_threads=1)) for _ in range(3))

    def scipy_loop():
        for c in costs:
            scipy.optimize.linear_sum_assignment(c)

    t_scipy = min(wall_time(scipy_loop) for _ in range(2))
    emit("assign_batch", workload=f"{n_problems} problems {shape[0]}x{shape[1]} float64", faceit_s=t_faceit,
         faceit_one_thread_s=t_faceit_1, scipy_loop_s=t_scipy, speedup_vs_scipy_loop=t_scipy / t_faceit,
         threads=len(os.sched_getaffinity(0)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer problems (a smoke run)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    bench_single(160, 10 if args.quick else 50, rng)
    bench_batch(1000 if args.quick else 10_000, rng)
    bench_batch(1000 if args.quick else 10_000, rng, shape=(32, 159))  # the permutation test's orientation
    bench_single(1000, 1 if args.quick else 3, rng)


if __name__ == "__main__":
    main()
