"""Stimulus permutations for permutation nulls, reproducible whatever the chunking.

Permutation ``b`` of a run depends only on ``(seed, b)``: permutations are drawn in fixed
blocks of :data:`BLOCK` from generators seeded by ``SeedSequence(seed, spawn_key=(block,))``.
Any chunk ``[start, stop)`` can therefore be generated on its own, so chunk size, backend,
resumption and distribution over machines never change which permutations are used.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

#: Number of permutations drawn from one generator (fixed: changing it changes every null).
BLOCK = 256


@lru_cache(maxsize=2)  # consecutive chunks that split a block reuse it
def _block(seed: int, block: int, n_stimuli: int) -> np.ndarray:
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(block,))))
    out = np.empty((BLOCK, n_stimuli), dtype=np.intp)
    for i in range(BLOCK):
        out[i] = rng.permutation(n_stimuli)
    out.flags.writeable = False
    return out


def permutations(seed: int, n_stimuli: int, start: int, stop: int) -> np.ndarray:
    """Permutations ``start .. stop-1`` of the run ``seed``: int [stop - start, n_stimuli].

    Row ``i`` is a permutation ``perm`` of ``range(n_stimuli)``; the shuffled responses are
    ``rates[perm]`` (all neurons with the same permutation).
    """
    if not 0 <= start <= stop:
        raise ValueError(f"need 0 <= start <= stop, got start={start}, stop={stop}")
    parts = []
    for block in range(start // BLOCK, -(-stop // BLOCK)):
        lo = max(start, block * BLOCK) - block * BLOCK
        hi = min(stop, (block + 1) * BLOCK) - block * BLOCK
        parts.append(_block(seed, block, n_stimuli)[lo:hi])
    if not parts:
        return np.empty((0, n_stimuli), dtype=np.intp)
    return np.concatenate(parts)


def inverse(perms: np.ndarray) -> np.ndarray:
    """Inverse of each row of ``perms`` [B, n]: ``inv[b, perms[b, i]] = i``.

    ``U.T @ Y[perm] == U[inv].T @ Y``, which lets a null gather rows of the (narrow) units
    instead of copying the (wide) responses.
    """
    inv = np.empty_like(perms)
    np.put_along_axis(inv, perms, np.broadcast_to(np.arange(perms.shape[1]), perms.shape), axis=1)
    return inv
