"""Permutation tests of the unit-neuron statistics (design 4.6).

The null distribution is the statistic after shuffling the stimulus order of the responses,
all neurons with one permutation (keeping noise correlations). Permutations are scored in
chunks: memory stays bounded, a tqdm bar shows progress, and with ``checkpoint=`` an
interrupted run resumes after its last finished chunk. Permutation b depends only on
(seed, b) (see :mod:`faceit.stats.shuffles`), so chunk size, backend and resumption never
change the result.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .._io import atomic_path
from .._validation import check_choice, check_positive_int
from ..compare._inputs import Paired, paired
from ..compare.alignment import METHODS as ALIGNMENT_METHODS
from ..compare.alignment import _check_alpha as check_alpha
from ..compare.ridge import DEFAULT_ALPHAS
from ..errors import CheckpointError, ConfigError
from . import shuffles
from .backends import BACKENDS, get_backend
from .nulls import AlignmentNull, ExplainedVarianceNull, MatchedRNull

STATISTICS = ("matched_r", "alignment", "explained_variance")
DTYPES = {"float64": np.float64, "float32": np.float32}
#: Default memory budget of one chunk's work arrays, in bytes.
CHUNK_BYTES = 256 * 2**20


@dataclass(frozen=True)
class PermutationResult:
    """Outcome of :func:`permutation_test`.

    observed: the statistic on the data; null: float [B], the statistic under each permutation;
    p_value = (1 + #{null >= observed}) / (1 + B).
    pair_p_values: for matched_r, float [P], family-wise p-value of each observed matched pair
    (max statistic over the matched pairs of each permutation), else None; the pairs are
    ``pair_unit_index`` / ``pair_neuron_index`` (the caller's column numbers) with signed
    correlations ``pair_r``.
    details: statistic-specific extras (e.g. "null_max" [B] for matched_r).
    """

    observed: float
    null: np.ndarray
    p_value: float
    pair_p_values: np.ndarray | None
    statistic: str
    n_permutations: int
    backend: str
    seed: int
    pair_unit_index: np.ndarray | None = None
    pair_neuron_index: np.ndarray | None = None
    pair_r: np.ndarray | None = None
    details: dict = field(default_factory=dict)


def p_value(observed: float, null: np.ndarray) -> float:
    """(1 + #{null >= observed}) / (1 + B): the permutation p-value that is never 0."""
    null = np.asarray(null)
    return float((1 + np.count_nonzero(null >= observed)) / (1 + null.size))


def max_statistic_p_values(observed: np.ndarray, null_max: np.ndarray) -> np.ndarray:
    """Family-wise p_k = (1 + #{b: null_max[b] >= observed[k]}) / (1 + B) for every k."""
    sorted_max = np.sort(np.asarray(null_max))
    n_at_least = sorted_max.size - np.searchsorted(sorted_max, np.asarray(observed), side="left")
    return (1 + n_at_least) / (1 + sorted_max.size)


def _chunk_size(chunk_size, null, itemsize: int) -> int:
    if chunk_size is not None:
        return check_positive_int(chunk_size, "chunk_size")
    return int(np.clip(CHUNK_BYTES // max(null.bytes_per_permutation(itemsize), 1), 1, 4096))


def _fingerprint(data, statistic: str, seed: int, n_permutations: int, dtype: str, options: dict) -> str:
    """A digest of everything that fixes the null: the data, the settings and every option's value
    (the defaults filled in, so that spelling a default out resumes the same run)."""
    digest = hashlib.sha256()
    for arr in (data.units, data.rates):
        _digest_value(digest, arr)
    digest.update(json.dumps([statistic, seed, n_permutations, dtype]).encode())
    cls, _ = _NULLS[statistic]
    for key, value in sorted({**_option_defaults(cls), **options}.items()):
        digest.update(key.encode())
        _digest_value(digest, DEFAULT_ALPHAS if key == "alphas" and value is None else value)
    return digest.hexdigest()


def _option_defaults(cls) -> dict:
    """The keyword-only options of a null's constructor and their defaults."""
    params = inspect.signature(cls.__init__).parameters.values()
    return {p.name: p.default for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}


def _digest_value(digest, value) -> None:
    """Feed a value's full content to ``digest``: numbers and arrays by dtype, shape and bytes, others by repr."""
    arr = np.asarray(value) if not isinstance(value, str) else None
    if arr is not None and arr.dtype.kind in "biuf":
        # a scalar by its value (alpha=1 and alpha=1.0 are one setting), an array by its exact content
        arr = np.ascontiguousarray(arr, dtype=np.float64 if arr.ndim == 0 else None)
        digest.update(f"{arr.dtype.str}{arr.shape}".encode())
        digest.update(arr.tobytes())
    else:
        digest.update(repr(value).encode())


def _load_checkpoint(path: Path, fingerprint: str, keys) -> tuple[int, dict]:
    try:
        with np.load(path, allow_pickle=False) as saved:
            if "fingerprint" not in saved:
                raise CheckpointError(f"checkpoint {path}: is not a faceit permutation checkpoint (it holds "
                                      f"{sorted(saved.files)[:5]}); choose another path")
            stored = str(saved["fingerprint"])
            done = int(saved["n_done"])
            arrays = {key: saved[key].copy() for key in keys}
    except CheckpointError:
        raise
    except Exception as exc:
        if not path.is_file():
            raise CheckpointError(f"checkpoint {path}: is not a file; give the path of a .npz file") from None
        raise CheckpointError(f"checkpoint {path}: cannot be read as a faceit permutation checkpoint ({exc}); "
                              "if it is one, it is damaged: delete it to start over") from None
    if stored != fingerprint:
        raise CheckpointError(f"checkpoint {path}: belongs to another run (different data, statistic, seed, "
                              "n_permutations, dtype or options); delete it or choose another path")
    return done, arrays


def _save_checkpoint(path: Path, fingerprint: str, done: int, arrays: dict) -> None:
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, fingerprint=np.array(fingerprint), n_done=np.array(done),
                 **{k: v[:done] for k, v in arrays.items()})


_NULLS = {"matched_r": (MatchedRNull, ()),
          "alignment": (AlignmentNull, ("method", "alpha", "max_iter", "tol")),
          "explained_variance": (ExplainedVarianceNull, ("cv", "alphas", "cv_seed"))}


def _make_null(statistic, data, backend, dtype, options):
    cls, allowed = _NULLS[statistic]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ConfigError(f"statistic={statistic!r} does not take option(s) {unknown}; "
                          f"it takes {list(allowed) or 'none'}")
    if statistic == "alignment":
        check_choice(options.get("method", "entropy"), "method", ALIGNMENT_METHODS)
        if "alpha" in options:
            options = {**options, "alpha": check_alpha(options["alpha"])}
    return cls(data.units, data.rates, backend, dtype, **options)


def _score_chunk(null, seed: int, n: int, start: int, stop: int) -> dict:
    """The null's values for permutations start..stop-1 of ``seed`` (n stimuli)."""
    perms = shuffles.permutations(seed, n, start, stop)
    return null(perms, shuffles.inverse(perms))


def _remote_chunks(client, statistic, data, backend, dtype, options, seed, ranges, backends_used: set):
    """The chunks' values, in order, scored on the workers of a dask.distributed ``client``; the
    backend each worker resolved ``backend`` to is added to ``backends_used``."""
    from .._dask import check_client, in_order

    check_client(client)
    units, rates = client.scatter([data.units, data.rates], broadcast=True, hash=False)  # keys of its own
    futures = [client.submit(_score_chunk_on_worker, statistic, units, rates, backend, dtype, options, seed,
                             start, stop, pure=False) for start, stop in ranges]
    for name, values in in_order(client, futures):
        backends_used.add(name)
        yield values


def _score_chunk_on_worker(statistic, units, rates, backend, dtype, options, seed, start, stop) -> tuple:
    """One chunk on a dask worker: (the backend used, the values), the null rebuilt from the z-scored data."""
    data = Paired(units, rates, np.arange(units.shape[1]), np.arange(rates.shape[1]))
    engine = get_backend(backend)
    null = _make_null(statistic, data, engine, DTYPES[dtype], options)
    return engine.NAME, _score_chunk(null, seed, units.shape[0], start, stop)


def permutation_test(units, rates, statistic: str = "matched_r", n_permutations: int = 10_000, seed: int = 0,
                     backend: str = "auto", *, chunk_size: int | None = None, dtype: str = "float64",
                     checkpoint=None, progress: bool = True, client=None, **options) -> PermutationResult:
    """Permutation test of units [N_stimuli, K] (or a Representation) against rates [N_stimuli, M].

    statistic: "matched_r" (mean |r| over one-to-one matched pairs, re-solved per permutation),
        "alignment" (lasso alignment score; options ``method``, ``alpha``, ``max_iter``, ``tol``) or
        "explained_variance" (mean cross-validated ridge R^2 over neurons; options ``cv``, ``alphas``,
        ``cv_seed``: the fold split, fixed across permutations).
    n_permutations: B; seed: a non-negative integer fixing the permutations.
    backend: "auto" (cupy with a GPU, else numba, else numpy), "numpy", "numba" or "cupy".
    chunk_size: permutations per batch (default: what fits a 256 MiB working set).
    dtype: "float64", or "float32" for about twice the speed with |r| errors near 1e-6 in the null.
    checkpoint: a .npz path; finished chunks are saved there atomically and a rerun resumes.
    client: a dask.distributed Client: the chunks run on its workers (the data are sent once, each
    worker scores its chunks with ``backend`` resolved there, and ``backend`` of the result names
    what they used) and come back in order, checkpointed as they arrive; the null is the one a
    single process computes with that backend.
    """
    check_choice(statistic, "statistic", STATISTICS)
    check_choice(dtype, "dtype", tuple(DTYPES))
    n_permutations = check_positive_int(n_permutations, "n_permutations")
    seed = check_positive_int(seed, "seed", minimum=0)
    # with a client the workers resolve ``backend``; here only the observed value is computed
    check_choice(backend, "backend", ("auto", *BACKENDS))
    engine = get_backend(backend if client is None else "numpy")
    data = paired(units, rates)
    null = _make_null(statistic, data, engine, DTYPES[dtype], options)
    n = data.n_stimuli
    step = _chunk_size(chunk_size, null, np.dtype(DTYPES[dtype]).itemsize)

    keys = null.keys
    arrays = {key: np.empty(n_permutations) for key in keys}
    done = 0
    path = fingerprint = None
    if checkpoint is not None:
        path = Path(checkpoint)
        fingerprint = _fingerprint(data, statistic, seed, n_permutations, dtype, options)
        if path.exists():
            done, saved = _load_checkpoint(path, fingerprint, keys)
            for key in keys:
                arrays[key][:done] = saved[key]

    ranges = [(start, min(start + step, n_permutations)) for start in range(done, n_permutations, step)]
    backends_used: set = set()
    if client is None:
        chunks = (_score_chunk(null, seed, n, start, stop) for start, stop in ranges)
    else:
        chunks = _remote_chunks(client, statistic, data, backend, dtype, options, seed, ranges, backends_used)
    with tqdm(total=n_permutations, initial=done, unit="perm", desc=f"permutation test ({statistic})",
              disable=not progress) as bar:
        for (start, stop), values in zip(ranges, chunks):
            for key, chunk in values.items():
                arrays[key][start:stop] = chunk
            done = stop
            if path is not None:
                _save_checkpoint(path, fingerprint, done, arrays)
            bar.update(stop - bar.n)

    result = dict(observed=null.observed, null=arrays["null"], p_value=p_value(null.observed, arrays["null"]),
                  pair_p_values=None, statistic=statistic, n_permutations=n_permutations,
                  backend=engine.NAME if client is None else "+".join(sorted(backends_used)) or "none (resumed)",
                  seed=seed)
    if statistic == "matched_r":
        unit_pos, neuron_pos, r = null.observed_pairs
        result.update(pair_p_values=max_statistic_p_values(np.abs(r), arrays["null_max"]),
                      pair_unit_index=data.unit_index[unit_pos], pair_neuron_index=data.neuron_index[neuron_pos],
                      pair_r=r, details={"null_max": arrays["null_max"]})
    elif statistic == "explained_variance":
        result.update(details={"observed_per_neuron": null.observed_per_neuron})
    return PermutationResult(**result)
