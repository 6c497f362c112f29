"""Ridge under permutation (design 6): batched cross-validated R^2 null against a scikit-learn loop.

    python benchmarks/bench_ridge.py [--quick]

1,000 permutations, n = 2,000 stimuli, k = 50 units, p = 160 neurons, 5-fold CV R^2 with the
penalty chosen per neuron and fold from a grid (target: >= 10x faster than the loop). The
reference, per permutation and fold, fits sklearn's RidgeCV(alphas, gcv_mode="svd",
alpha_per_target=True) on the training stimuli and scores the held-out ones; it is timed on a
subset of the permutations and extrapolated (said so in the JSON). Both sides run with BLAS on
one thread and on all, keeping the faster.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _common import emit  # noqa: E402
from bench_permutation import best_of_blas_threads  # noqa: E402


def make_data(n: int, k: int, p: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    units = rng.standard_normal((n, k))
    rates = 0.3 * units @ rng.standard_normal((k, p)) + rng.standard_normal((n, p))
    return units, rates


def reference_loop(units, rates, perms, fold, alphas) -> np.ndarray:
    """Mean over neurons of the pooled held-out R^2, per permutation, with scikit-learn."""
    from sklearn.linear_model import RidgeCV

    out = np.empty(len(perms))
    for b, perm in enumerate(perms):
        y = rates[perm]
        sse = np.zeros(y.shape[1])
        for f in range(fold.max() + 1):
            train, test = fold != f, fold == f
            model = RidgeCV(alphas=alphas, gcv_mode="svd", alpha_per_target=True).fit(units[train], y[train])
            sse += ((y[test] - model.predict(units[test])) ** 2).sum(axis=0)
        out[b] = np.mean(1.0 - sse / ((y - y.mean(axis=0)) ** 2).sum(axis=0))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the permutations (a smoke run)")
    args = parser.parse_args()
    from faceit.compare import DEFAULT_ALPHAS, RidgeFolds
    from faceit.stats import get_backend, permutation_test, shuffles

    n_perm, n_ref = (100, 3) if args.quick else (1_000, 20)
    n, k, p, cv = 2_000, 50, 160, 5
    units, rates = make_data(n, k, p)
    z = lambda x: (x - x.mean(0)) / x.std(0)  # noqa: E731  (faceit z-scores too; the loop gets the same data)
    units, rates = z(units), z(rates)
    backend = get_backend("auto").NAME
    permutation_test(units, rates, "explained_variance", n_permutations=4, cv=cv, progress=False)  # warm up
    faceit_s, faceit_cpu_s, faceit_threads, result = best_of_blas_threads(
        lambda: permutation_test(units, rates, "explained_variance", n_permutations=n_perm, cv=cv, backend=backend,
                                 progress=False))

    fold = RidgeFolds.fit(units, cv=cv, seed=0).fold  # the split faceit used (cv_seed=0)
    perms = shuffles.permutations(0, n, 0, n_ref)
    reference_loop(units, rates, perms[:1], fold, DEFAULT_ALPHAS)  # warm up, as faceit was: imports, first calls
    ref_s, ref_cpu_s, ref_threads, ref = best_of_blas_threads(
        lambda: reference_loop(units, rates, perms, fold, DEFAULT_ALPHAS), n_perm / n_ref)
    emit("ridge_permutation", workload=f"{n_perm} permutations, n={n}, k={k}, p={p}, {cv}-fold CV R^2, "
                                       f"{len(DEFAULT_ALPHAS)} alphas per neuron and fold",
         backend=backend, faceit_s=faceit_s, faceit_cpu_s=faceit_cpu_s, faceit_blas_threads=faceit_threads,
         reference_cpu_s=ref_cpu_s,
         reference="loop of sklearn RidgeCV(gcv_mode='svd', alpha_per_target=True) per fold",
         reference_s=ref_s, reference_blas_threads=ref_threads, reference_extrapolated_from_permutations=n_ref,
         speedup_vs_reference=ref_s / faceit_s,
         mean_abs_diff_vs_reference=float(np.abs(result.null[:n_ref] - ref).mean()),
         note="faceit picks alpha by GCV, RidgeCV by exact leave-one-out: R^2 differ slightly",
         load_average_1min=os.getloadavg()[0], quick=args.quick)


if __name__ == "__main__":
    main()
