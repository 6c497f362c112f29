"""Controls for the alignment and matching statistics (design 4.6, Fig 3b/c).

- Neuron-subset ceiling (Fig 3b): K randomly chosen real neurons act as the "model units" and
  the other neurons are the targets. Real neurons are as one-to-one with real neurons as any
  model can be, so these scores are the ceiling a model's score is compared with (Welch t-test).
- Mixed responses (Fig 3c): the same statistic against artificial responses made by mixing
  the real neurons with a random Gaussian matrix. Mixing destroys single-neuron axes, so a
  model's alignment must drop.

Both take z-scored data through faceit.compare's cores, so each score is exactly what
faceit.compare reports for that choice of units and targets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import check_choice, check_positive_int
from ..compare._inputs import paired, rate_matrix, standardized
from ..compare.alignment import DEFAULT_ALPHA, alignment_from_weights
from ..compare.lasso import lasso_gram
from ..compare.matching import match_correlations
from ..compare.ridge import DEFAULT_ALPHAS, RidgeFolds
from ..errors import ConfigError

STATISTICS = ("alignment", "matched_r", "explained_variance")


@dataclass(frozen=True)
class ControlScores:
    """scores [R]: the statistic in each repeat; unit_neurons [R, K] | None: for the neuron-subset
    ceiling, the columns of rates that acted as units in each repeat (the rest were targets)."""

    statistic: str
    scores: np.ndarray
    unit_neurons: np.ndarray | None = None

    @property
    def mean(self) -> float:
        return float(self.scores.mean())


def _scores(units_z: np.ndarray, targets_z: np.ndarray, statistic: str, options: dict) -> np.ndarray:
    """The statistic for a batch of unit sets units_z [R, n, K] against targets_z [R, n, M]: float [R]."""
    n = units_z.shape[1]
    xty = np.swapaxes(units_z, 1, 2) @ targets_z  # [R, K, M]
    if statistic == "matched_r":
        return np.abs(match_correlations(xty / n)[2]).mean(axis=-1)
    if statistic == "alignment":
        gram = np.swapaxes(units_z, 1, 2) @ units_z
        w = lasso_gram(gram, xty, options.get("alpha", DEFAULT_ALPHA), n,
                       max_iter=options.get("max_iter", 1000), tol=options.get("tol", 1e-4))
        return alignment_from_weights(w, options.get("method", "entropy"))[0]
    out = np.empty(units_z.shape[0])
    for i, (u, y) in enumerate(zip(units_z, targets_z)):  # one SVD per fold and unit set
        folds = RidgeFolds.fit(u, cv=options.get("cv", 5), alphas=options.get("alphas", DEFAULT_ALPHAS),
                               seed=options.get("cv_seed", 0))
        out[i] = folds.score(folds.products(y)).r2.mean()
    return out


def _check_options(statistic: str, options: dict) -> None:
    allowed = {"alignment": {"method", "alpha", "max_iter", "tol"}, "matched_r": set(),
               "explained_variance": {"cv", "alphas", "cv_seed"}}[statistic]
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ConfigError(f"statistic={statistic!r} does not take option(s) {unknown}; it takes {sorted(allowed)}")


def neuron_subset_ceiling(rates, n_units: int, n_repeats: int = 20, seed: int = 0, statistic: str = "alignment",
                          **options) -> ControlScores:
    """Scores [n_repeats] of random subsets of ``n_units`` real neurons used as model units (Fig 3b).

    rates: [N_stimuli, M] (or Responses). In each repeat ``n_units`` distinct neurons, drawn
    with ``seed``, are the units and the other M - n_units neurons the targets. statistic:
    "alignment" (options method, alpha, max_iter, tol), "matched_r" or "explained_variance"
    (options cv, alphas, cv_seed). Compare a model's score with these by ``welch_ttest``.
    """
    check_choice(statistic, "statistic", STATISTICS)
    _check_options(statistic, options)
    raw = rate_matrix(rates)
    z, kept = standardized(raw, np.arange(raw.shape[1]), "rates")
    n_neurons = z.shape[1]
    n_units = check_positive_int(n_units, "n_units")
    n_repeats = check_positive_int(n_repeats, "n_repeats")
    if n_units >= n_neurons:
        raise ConfigError(f"n_units={n_units} must be smaller than the {n_neurons} usable neurons of rates, "
                          "so that some neurons are left as targets")
    rng = np.random.default_rng(seed)
    order = np.stack([rng.permutation(n_neurons) for _ in range(n_repeats)])
    units = np.stack([z[:, o[:n_units]] for o in order])     # [R, n, K]
    targets = np.stack([z[:, o[n_units:]] for o in order])   # [R, n, M - K]
    return ControlScores(statistic, _scores(units, targets, statistic, options), kept[order[:, :n_units]])


def mix_responses(rates, n_mixed: int | None = None, seed=0) -> np.ndarray:
    """Artificial responses [N_stimuli, n_mixed]: rates @ G with G [M, n_mixed] i.i.d. standard normal.

    n_mixed defaults to the number of neurons M; seed: anything np.random.default_rng takes.
    Every mixed response is a dense random linear combination of all neurons (Fig 3c's control).
    """
    x = rate_matrix(rates)
    n_mixed = x.shape[1] if n_mixed is None else check_positive_int(n_mixed, "n_mixed")
    return x @ np.random.default_rng(seed).standard_normal((x.shape[1], n_mixed))


def mixed_responses_control(units, rates, n_repeats: int = 10, seed: int = 0, statistic: str = "alignment",
                            **options) -> ControlScores:
    """Scores [n_repeats] of units against mixed responses (Fig 3c), one mixing matrix per repeat.

    units: [N_stimuli, K] (or a Representation); rates: [N_stimuli, M] (or Responses). Each repeat
    mixes the z-scored rates (so that every neuron weighs alike) by ``mix_responses`` with seed
    ``(seed, repeat)`` and scores the statistic (see ``neuron_subset_ceiling``) of the units
    against them.
    """
    check_choice(statistic, "statistic", STATISTICS)
    _check_options(statistic, options)
    n_repeats = check_positive_int(n_repeats, "n_repeats")
    data = paired(units, rates)
    mixed = [standardized(mix_responses(data.rates, seed=(seed, i)), np.arange(data.rates.shape[1]),
                          "mixed responses")[0] for i in range(n_repeats)]
    units_z = np.broadcast_to(data.units, (n_repeats,) + data.units.shape)
    return ControlScores(statistic, _scores(units_z, np.stack(mixed), statistic, options))
