"""Split-half noise ceiling with the Spearman-Brown correction (design 4.4).

For each random split, every stimulus's recorded trials are shuffled and dealt into two
halves of equal size ``h = n_recorded // 2`` (an odd trial out is left out of that split);
the half-means of each neuron are correlated over stimuli (Pearson r). The mean r over
splits is corrected to the reliability of the mean over all ``n_recorded`` trials,
``r_sb = k r / (1 + (k - 1) r)`` with ``k = n_recorded / h``: ``2r / (1 + r)`` for an even
number of trials (design 4.4), ``3r / (1 + 2r)`` for three. That is the fraction of the variance
of the trial-averaged rates that is stimulus-driven, and so the ceiling on any model's R^2 for
that neuron.
"""

from __future__ import annotations

import warnings

import numpy as np

from .._validation import check_positive_int
from ..errors import DataError
from ._checks import check_trials

#: Bytes the two half-mean blocks of one chunk of splits may take.
_CHUNK_BYTES = 64 * 2**20


def spearman_brown(r, factor: float = 2.0):
    """Reliability of a test ``factor`` times as long: ``factor*r / (1 + (factor-1)*r)``.

    ``r`` is a correlation (scalar or array) in (-1, 1]; with the default factor 2 this turns
    a split-half correlation into the reliability of the full mean: ``2r / (1 + r)``.
    """
    r = np.asarray(r, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = factor * r / (1.0 + (factor - 1.0) * r)
    return out if out.ndim else float(out)


def split_half_correlations(trials, n_splits: int = 100, seed: int = 0) -> np.ndarray:
    """Pearson r between the two half-means of each neuron, for each random split.

    trials: float [S, N, T], single-trial responses; NaN marks repeats that were not recorded
    (each stimulus-neuron pair needs at least 2 recorded trials). Returns float [n_splits, N];
    NaN where a half-mean is constant over stimuli. Splits are vectorised in chunks; neurons that
    share a pattern of recorded trials share one batched product per chunk.
    """
    trials = check_trials(trials)
    n_splits = check_positive_int(n_splits, "n_splits")
    n_stim, n_neurons, n_trials = trials.shape
    if n_stim < 3:
        raise DataError(f"trials: need at least 3 stimuli to correlate half-means, got {n_stim}")
    recorded = np.isfinite(trials)
    n_recorded = recorded.sum(axis=2)
    if n_recorded.min() < 2:
        s, n = (int(i) for i in np.argwhere(n_recorded < 2)[0])
        raise DataError(f"trials: stimulus {s}, neuron {n} has {int(n_recorded[s, n])} recorded trial(s); "
                        "a split-half noise ceiling needs at least 2 per stimulus and neuron")
    # float32 trials (large simulated populations) stay float32 in the products; r is float64
    groups = [(neurons, recorded[:, neurons[0], :],
               np.ascontiguousarray(np.where(recorded[:, neurons, :], trials[:, neurons, :], 0)
                                    .transpose(0, 2, 1), dtype=trials.dtype))  # [S, T, n]
              for neurons in _same_pattern_groups(recorded)]

    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_splits, _CHUNK_BYTES // (16 * n_stim * n_neurons)))
    out = np.empty((n_splits, n_neurons))
    for start in range(0, n_splits, chunk):
        b = min(chunk, n_splits - start)
        # Split-major draws, shared by all groups: a neuron's splits depend only on the seed and its own
        # recorded-trial pattern, not on the chunk size or on the other neurons.
        keys = rng.random((b, n_stim, n_trials)).transpose(1, 0, 2)
        for neurons, mask, data in groups:
            weight_a, weight_b = (w.astype(data.dtype) for w in _half_weights(keys, mask))
            half_a = (weight_a @ data).astype(np.float64, copy=False)  # [S, b, n] half-means
            half_b = (weight_b @ data).astype(np.float64, copy=False)
            out[start:start + b, neurons] = _pearson_over_stimuli(half_a, half_b)
    return out


def _same_pattern_groups(recorded: np.ndarray) -> list[np.ndarray]:
    """Indices of the neurons that share each pattern of recorded trials (recorded: bool [S, N, T])."""
    n_neurons = recorded.shape[1]
    if recorded.all():
        return [np.arange(n_neurons)]
    packed = np.packbits(recorded.transpose(1, 0, 2).reshape(n_neurons, -1), axis=1)
    groups: dict[bytes, list[int]] = {}
    for neuron, row in enumerate(packed):
        groups.setdefault(row.tobytes(), []).append(neuron)
    return [np.asarray(g) for g in groups.values()]


def _half_weights(keys: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Averaging weights [S, b, T] of the two halves, from random keys [S, b, T] and recorded mask [S, T]."""
    keys = np.where(mask[:, None, :], keys, 2.0)  # unrecorded slots sort last
    rank = np.argsort(np.argsort(keys, axis=2), axis=2)
    half = (mask.sum(axis=1) // 2)[:, None, None]
    in_a = rank < half
    in_b = (rank >= half) & (rank < 2 * half)
    return in_a / half, in_b / half


def _pearson_over_stimuli(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r over axis 0 of a, b [S, B, N] -> [B, N] (centres a and b in place); NaN where either is constant."""
    a -= a.mean(axis=0)
    b -= b.mean(axis=0)
    ab = np.einsum("sbn,sbn->bn", a, b)
    aa = np.einsum("sbn,sbn->bn", a, a)
    bb = np.einsum("sbn,sbn->bn", b, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = ab / np.sqrt(aa * bb)
    return np.clip(r, -1.0, 1.0)


def noise_ceiling(trials, n_splits: int = 100, seed: int = 0) -> np.ndarray:
    """Per-neuron split-half reliability ``r_sb`` float [N], Spearman-Brown corrected.

    trials: float [S, N, T] (NaN = repeat not recorded, at least 2 recorded per stimulus and
    neuron). ``r_sb = k r / (1 + (k - 1) r)`` with ``r`` the mean split-half Pearson r over
    ``n_splits`` random splits (see :func:`split_half_correlations`) and ``k`` the number of
    recorded trials over the number in a half (2 for an even count; averaged over stimuli where
    counts differ). Values near 1: reliable neuron; near or below 0: no stimulus-driven signal.
    Neurons whose half-means are constant get NaN and a warning.
    """
    trials = check_trials(trials)
    r = split_half_correlations(trials, n_splits=n_splits, seed=seed)
    undefined = np.isnan(r).all(axis=0)
    if undefined.any():
        warnings.warn(f"noise_ceiling: {int(undefined.sum())} neuron(s) {np.flatnonzero(undefined)[:10].tolist()} "
                      "respond identically to every stimulus; their noise ceiling is NaN", stacklevel=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean_r = np.nanmean(r, axis=0)
    n_recorded = np.isfinite(trials).sum(axis=2)
    return spearman_brown(mean_r, factor=(n_recorded / (n_recorded // 2)).mean(axis=0))
