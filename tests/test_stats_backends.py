"""Backends and permutations: gather-and-product against an explicit float64 loop."""

import numpy as np
import pytest

from faceit.errors import BackendUnavailableError, ConfigError
from faceit.stats import available_backends, get_backend
from faceit.stats import shuffles
from faceit.stats.backends import cupy_backend

CPU_BACKENDS = ["numpy", "numba"]
GPU = cupy_backend.is_available()
ALL_BACKENDS = CPU_BACKENDS + [pytest.param("cupy", marks=pytest.mark.skipif(
    not GPU, reason="cupy backend needs cupy and a CUDA GPU (cupy.cuda.is_available() is False here)"))]


@pytest.mark.parametrize("name", ALL_BACKENDS)
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-4)])
def test_gather_products_match_a_loop_over_shuffled_rows(rng, name, dtype, tol):
    n, k, m, c = 50, 3, 7, 6
    units, rates = rng.standard_normal((n, k)), rng.standard_normal((n, m))
    perms = np.stack([rng.permutation(n) for _ in range(c)])
    backend = get_backend(name)
    got = backend.gather_products(backend.to_device(units.T.astype(dtype)), backend.to_device(rates.T.astype(dtype)),
                                  shuffles.inverse(perms))
    expected = np.stack([units.T @ rates[p] for p in perms])
    assert got.shape == (c, k, m)
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol * n)


@pytest.mark.parametrize("name", ALL_BACKENDS)
def test_gather_products_accept_a_selection_of_columns(rng, name):
    """index may pick fewer columns than left_t has (the per-fold test rows of ridge)."""
    left, right = rng.standard_normal((4, 30)), rng.standard_normal((2, 9))
    index = np.stack([rng.choice(30, 9, replace=False) for _ in range(5)])
    backend = get_backend(name)
    got = backend.gather_products(backend.to_device(left), backend.to_device(right), index)
    np.testing.assert_allclose(got, np.stack([left[:, i] @ right.T for i in index]), rtol=1e-12, atol=1e-12)


def test_registry():
    assert available_backends()[-1] == "numpy"
    assert get_backend("auto").NAME == available_backends()[0]
    assert get_backend("auto").NAME == ("cupy" if GPU else "numba")
    with pytest.raises(ConfigError, match="backend='torch' is not one of"):
        get_backend("torch")


@pytest.mark.skipif(GPU, reason="a usable GPU is present, so cupy is available")
def test_cupy_without_gpu_is_a_clear_error():
    with pytest.raises(BackendUnavailableError, match="backend='cupy' is unavailable"):
        get_backend("cupy")


def test_permutations_do_not_depend_on_chunking():
    whole = shuffles.permutations(7, 40, 0, 700)
    for step in (1, 33, 256, 300):
        pieces = np.concatenate([shuffles.permutations(7, 40, a, min(a + step, 700)) for a in range(0, 700, step)])
        np.testing.assert_array_equal(whole, pieces)
    np.testing.assert_array_equal(whole[250:260], shuffles.permutations(7, 40, 250, 260))
    assert not np.array_equal(whole, shuffles.permutations(8, 40, 0, 700))
    np.testing.assert_array_equal(np.sort(whole, axis=1), np.broadcast_to(np.arange(40), whole.shape))


def test_permutations_are_uniform():
    """Each stimulus lands in each position equally often (chi-square over 4,000 permutations of 5)."""
    from scipy import stats

    perms = shuffles.permutations(0, 5, 0, 4000)
    counts = np.stack([(perms == v).sum(axis=0) for v in range(5)])  # [value, position]
    assert stats.chisquare(counts.ravel()).pvalue > 1e-3
    # and all 120 orders occur about equally often
    codes = perms @ (5 ** np.arange(5))
    assert stats.chisquare(np.unique(codes, return_counts=True)[1]).pvalue > 1e-3
    assert np.unique(codes).size == 120


def test_inverse(rng):
    perms = np.stack([rng.permutation(20) for _ in range(4)])
    inv = shuffles.inverse(perms)
    for p, q in zip(perms, inv):
        np.testing.assert_array_equal(q, np.argsort(p))


@pytest.mark.parametrize("threshold", [0, 1 << 40])
def test_numba_parallel_and_serial_gathers_agree(rng, monkeypatch, threshold):
    from faceit.stats.backends import numba_backend

    monkeypatch.setattr(numba_backend, "PARALLEL_MIN_ELEMENTS", threshold)
    left, right = rng.standard_normal((5, 40)), rng.standard_normal((3, 40))
    index = np.stack([rng.permutation(40) for _ in range(7)])
    got = numba_backend.gather_products(left, right, index)
    np.testing.assert_allclose(got, np.stack([left[:, i] @ right.T for i in index]), rtol=1e-12, atol=1e-12)


def test_cupy_backend_code_path_on_a_numpy_stand_in(rng, monkeypatch):
    """Without a GPU, run the cupy backend's code against numpy posing as cupy (same array API)."""
    import types

    fake = types.SimpleNamespace(asarray=np.asarray, ascontiguousarray=np.ascontiguousarray, take=np.take,
                                 asnumpy=np.asarray, cuda=types.SimpleNamespace(is_available=lambda: True))
    monkeypatch.setattr(cupy_backend, "cupy", fake)
    assert cupy_backend.is_available()
    assert get_backend("auto").NAME == "cupy"
    units, rates = rng.standard_normal((30, 3)), rng.standard_normal((30, 5))
    perms = np.stack([rng.permutation(30) for _ in range(4)])
    got = cupy_backend.gather_products(cupy_backend.to_device(units.T), cupy_backend.to_device(rates.T),
                                       shuffles.inverse(perms))
    np.testing.assert_allclose(got, np.stack([units.T @ rates[p] for p in perms]), rtol=1e-12)
