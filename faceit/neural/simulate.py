"""A simulated IT population with known tuning, for checking every metric against ground truth.

Tuning follows Chang & Tsao (2017): each neuron ramps along one axis of factor space and is
flat orthogonal to it (see :mod:`faceit.neural.tuning`). Spike counts are Poisson in a 0.25 s
window per trial; rates are counts / window averaged over trials (spikes/s).

Parameter distributions (per neuron, independent):
  baseline ~ lognormal(median 4 spikes/s, sigma 0.5);
  gain     ~ lognormal(median 6 spikes/s, sigma 0.6): heavy-tailed across neurons;
  slope    ~ uniform(2, 4) per unit of projection; offset ~ uniform(-0.5, 0.5).
For factors uniform in [-1, 1] this gives peak rates from about 10 to about 100 spikes/s
(median about 25) over a baseline of a few spikes/s.
"""

from __future__ import annotations

import hashlib

import numpy as np
from tqdm.auto import tqdm

from .._validation import as_matrix, check_choice, check_positive_int
from ..errors import ConfigError, DataError
from .responses import Responses
from .tuning import TUNING_KINDS, Tuning

DEFAULT_N_NEURONS = 159  # the AM population of Higgins et al. (2021)

#: Poisson draws per block of stimuli: bounds peak memory for large populations.
_DRAWS_PER_BLOCK = 2**22


def draw_tuning(kind: str, n_neurons: int, n_factors: int, seed=0, window_s: float = 0.25) -> Tuning:
    """Draw a population's tuning (see the module docstring for the distributions).

    kind "axis": each axis is one factor, factors dealt in turn so each gets n_neurons // F neurons,
    and the n_neurons mod F left over go to as many different factors drawn at random (random
    order and sign); "sparse": 2-3 random factors, weights of magnitude uniform(0.5, 1)
    with random signs, normalised; "mixed": dense Gaussian axes, normalised.
    """
    check_choice(kind, "tuning", TUNING_KINDS)
    n_neurons = check_positive_int(n_neurons, "n_neurons")
    n_factors = check_positive_int(n_factors, "number of factors")
    if kind == "sparse" and n_factors < 2:
        raise ConfigError(f"tuning='sparse' mixes 2-3 factors but factors has {n_factors} column(s)")
    if isinstance(seed, np.random.Generator):  # a caller's stream: the spare factors are drawn from it too
        rng, spare_rng = seed, seed
    else:
        seeds = (seed if isinstance(seed, np.random.SeedSequence)
                 else np.random.SeedSequence(check_positive_int(seed, "seed", minimum=0)))
        # the left-over neurons' factors come from a child stream: the other draws stay the same
        rng, spare_rng = np.random.default_rng(seeds), np.random.default_rng(seeds.spawn(1)[0])
    axes = np.zeros((n_neurons, n_factors))
    if kind == "axis":
        spare = spare_rng.choice(n_factors, n_neurons % n_factors, replace=False)
        dealt = np.concatenate([np.tile(np.arange(n_factors), n_neurons // n_factors), np.sort(spare)])
        factor_of = rng.permutation(dealt)
        axes[np.arange(n_neurons), factor_of] = rng.choice([-1.0, 1.0], size=n_neurons)
    elif kind == "sparse":
        n_used = rng.integers(2, min(3, n_factors) + 1, size=n_neurons)
        ranked = np.argsort(rng.random((n_neurons, n_factors)), axis=1)  # a random factor order per neuron
        used = np.argsort(ranked, axis=1) < n_used[:, None]
        weights = rng.uniform(0.5, 1.0, size=axes.shape) * rng.choice([-1.0, 1.0], size=axes.shape)
        axes = np.where(used, weights, 0.0)
    else:
        axes = rng.standard_normal((n_neurons, n_factors))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    return Tuning(kind=kind, axes=axes,
                  baseline=rng.lognormal(np.log(4.0), 0.5, size=n_neurons),
                  gain=rng.lognormal(np.log(6.0), 0.6, size=n_neurons),
                  slope=rng.uniform(2.0, 4.0, size=n_neurons),
                  offset=rng.uniform(-0.5, 0.5, size=n_neurons),
                  uses=axes != 0.0, window_s=window_s)


def simulate_population(factors, n_neurons: int | None = None, tuning: str | Tuning = "axis", n_trials: int = 10,
                        seed: int = 0, *, window_s: float = 0.25, stimulus_ids=None, keep_trials: bool = True,
                        progress: bool | None = None) -> Responses:
    """Simulate Poisson responses of a ramp-tuned population to stimuli with known factors.

    factors: float [S, F], the generative factors of each stimulus (the synthetic world's are
        uniform in [-1, 1]; the tuning is a fixed function of them, so keep them on that scale),
        or a Stimuli with known factors (its ids then become the stimulus ids).
    n_neurons: population size (default 159); with a Tuning it defaults to (and must equal) its size.
    tuning: "axis" | "sparse" | "mixed", or a :class:`Tuning` to reuse a population on new stimuli
        (for example held-out images). Trial noise depends on the seed and the factors, so other
        stimuli get independent noise even with the same seed.
    n_trials: repeats per stimulus; window_s: counting window per trial in seconds.
    keep_trials: keep trials [S, N, T] (float32 spikes/s), or draw only their sum (one Poisson draw per
        stimulus and neuron: T times faster, the same distribution of rates, other random numbers).
    Returns Responses with rates float [S, N] in spikes/s and the ground truth on ``.tuning``.
    The tuning is drawn from ``seed`` alone, so the same seed gives the same neurons on any stimuli.
    """
    if hasattr(factors, "factors"):  # a faceit.stimuli.Stimuli: its factors, and its ids unless given
        if factors.factors is None:
            raise DataError("these stimuli have no known factors; simulate_population needs factors [S, F]")
        if stimulus_ids is None and getattr(factors, "has_ids", True):  # unnamed images: no names to pass on
            stimulus_ids = factors.ids
        factors = factors.factors
    factors = as_matrix(factors, "factors")
    seed = check_positive_int(seed, "seed", minimum=0)
    n_trials = check_positive_int(n_trials, "n_trials")
    window_s = float(window_s)
    if not window_s > 0:
        raise ConfigError(f"window_s must be > 0 seconds, got {window_s}")
    root = np.random.SeedSequence(seed)
    tuning_seed = root.spawn(1)[0]
    # Trial noise depends on the seed and on the stimuli: the same neurons (a reused Tuning) on other
    # stimuli get independent noise even with the same seed.
    digest = int.from_bytes(hashlib.blake2b(factors.tobytes(), digest_size=8).digest(), "little")
    noise_seed = np.random.SeedSequence([root.entropy, digest])
    if isinstance(tuning, Tuning):
        if n_neurons is not None and n_neurons != tuning.n_neurons:
            raise ConfigError(f"n_neurons={n_neurons} but the given tuning has {tuning.n_neurons} neurons")
        if tuning.n_factors != factors.shape[1]:
            raise DataError(f"factors has {factors.shape[1]} columns but the given tuning expects {tuning.n_factors}")
        if tuning.window_s != window_s:
            raise ConfigError(f"window_s={window_s} but the given tuning was drawn for {tuning.window_s} s windows")
    else:
        tuning = draw_tuning(tuning, DEFAULT_N_NEURONS if n_neurons is None else n_neurons, factors.shape[1],
                             seed=tuning_seed, window_s=window_s)
    expected = tuning.rates(factors)  # [S, N] spikes/s
    n_stim, n_neurons = expected.shape

    rng = np.random.default_rng(noise_seed)
    rates = np.empty((n_stim, n_neurons))
    trials = np.empty((n_stim, n_neurons, n_trials), dtype=np.float32) if keep_trials else None
    block = max(1, _DRAWS_PER_BLOCK // (n_neurons * (n_trials if keep_trials else 1)))
    show = (n_stim > 4 * block) if progress is None else progress
    with tqdm(total=n_stim, desc="simulating trials", unit="stimuli", disable=not show, leave=False) as bar:
        for start in range(0, n_stim, block):
            stop = min(start + block, n_stim)
            if keep_trials:
                counts = rng.poisson(expected[start:stop, :, None] * window_s, size=(stop - start, n_neurons, n_trials))
                rates[start:stop] = counts.mean(axis=2) / window_s
                trials[start:stop] = counts / window_s  # multiples of 4 for 0.25 s: exact in float32
            else:  # a sum of T Poisson(mu) counts is Poisson(T mu): one draw instead of T
                total = rng.poisson(expected[start:stop] * (window_s * n_trials))
                rates[start:stop] = total / (window_s * n_trials)
            bar.update(stop - start)
    metadata = {"source": "faceit.neural.simulate_population", "tuning": tuning.kind, "seed": seed,
                "n_trials": n_trials, "window_s": window_s, "units": "spikes/s"}
    return Responses(rates=rates, trials=trials, stimulus_ids=stimulus_ids, tuning=tuning, metadata=metadata)
