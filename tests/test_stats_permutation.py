"""permutation_test: nulls against independent references, reproducibility, resumption, errors."""

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment as scipy_lsa

from faceit.compare import alignment_score, explained_variance
from faceit.errors import CheckpointError, ConfigError, DataError
from faceit.representation import Representation
from faceit.stats import permutation_test, shuffles
from faceit.stats import permutation as permutation_module
from faceit.stats.backends import cupy_backend

BACKENDS = ["numpy", "numba"] + (["cupy"] if cupy_backend.is_available() else [])


@pytest.fixture
def data(rng):
    n, k, m = 90, 4, 9
    units = rng.standard_normal((n, k))
    rates = 0.5 * units @ rng.standard_normal((k, m)) + rng.standard_normal((n, m))
    return units, rates


def matched_r_reference(units, rates):
    """np.corrcoef + scipy's assignment: the loop the batched null replaces."""
    k = units.shape[1]
    c = np.abs(np.corrcoef(units.T, rates.T)[:k, k:])
    rows, cols = scipy_lsa(c, maximize=True)
    return c[rows, cols]


def test_matched_r_null_equals_corrcoef_and_scipy_on_shuffled_rates(data):
    units, rates = data
    result = permutation_test(units, rates, "matched_r", n_permutations=25, seed=3, progress=False)
    perms = shuffles.permutations(3, units.shape[0], 0, 25)
    reference = [matched_r_reference(units, rates[p]) for p in perms]
    np.testing.assert_allclose(result.null, [r.mean() for r in reference], rtol=1e-12)
    np.testing.assert_allclose(result.details["null_max"], [r.max() for r in reference], rtol=1e-12)
    assert result.observed == pytest.approx(matched_r_reference(units, rates).mean(), rel=1e-12)
    expected_p = (1 + np.sum(result.null >= result.observed)) / 26
    assert result.p_value == expected_p
    assert (result.statistic, result.n_permutations, result.seed) == ("matched_r", 25, 3)


def test_pair_p_values_are_max_statistic_family_wise(data):
    units, rates = data
    result = permutation_test(units, rates, "matched_r", n_permutations=60, seed=1, progress=False)
    null_max = result.details["null_max"]
    for r, p in zip(result.pair_r, result.pair_p_values):
        assert p == (1 + np.sum(null_max >= abs(r))) / 61
    # the pairs are the observed matching, in the caller's column numbers
    c = np.abs(np.corrcoef(units.T, rates.T)[:4, 4:])
    rows, cols = scipy_lsa(c, maximize=True)
    np.testing.assert_array_equal(result.pair_unit_index, rows)
    np.testing.assert_array_equal(result.pair_neuron_index, cols)
    np.testing.assert_allclose(np.abs(result.pair_r), c[rows, cols], rtol=1e-12)


@pytest.mark.parametrize("statistic, reference", [
    ("alignment", lambda u, y: alignment_score(u, y, n_rotations=0).score),
    ("explained_variance", lambda u, y: explained_variance(u, y, cv=4).r2.mean()),
])
def test_null_equals_the_compare_statistic_on_shuffled_rates(data, statistic, reference):
    units, rates = data
    options = {"cv": 4} if statistic == "explained_variance" else {}
    result = permutation_test(units, rates, statistic, n_permutations=12, seed=5, progress=False, chunk_size=5,
                              **options)
    perms = shuffles.permutations(5, units.shape[0], 0, 12)
    np.testing.assert_allclose(result.null, [reference(units, rates[p]) for p in perms], rtol=1e-9, atol=1e-12)
    assert result.observed == pytest.approx(reference(units, rates), rel=1e-12)
    assert result.pair_p_values is None


@pytest.mark.parametrize("statistic", ["matched_r", "alignment", "explained_variance"])
def test_same_numbers_whatever_chunk_size_and_backend(data, statistic):
    units, rates = data
    runs = [permutation_test(units, rates, statistic, n_permutations=40, seed=2, backend=backend,
                             chunk_size=chunk, progress=False)
            for backend in BACKENDS for chunk in (1, 7, None)]
    for run in runs[1:]:
        np.testing.assert_allclose(run.null, runs[0].null, rtol=1e-10, atol=1e-13)
        assert run.p_value == runs[0].p_value
        assert run.observed == runs[0].observed


def test_float32_agrees_with_float64(data):
    units, rates = data
    r64 = permutation_test(units, rates, n_permutations=30, progress=False)
    r32 = permutation_test(units, rates, n_permutations=30, progress=False, dtype="float32")
    np.testing.assert_allclose(r32.null, r64.null, atol=1e-5)


def test_checkpoint_resumes_after_an_interruption(data, tmp_path, monkeypatch):
    units, rates = data
    path = tmp_path / "null.npz"
    full = permutation_test(units, rates, n_permutations=50, seed=4, chunk_size=10, progress=False)

    real = shuffles.permutations
    calls = []

    def interrupted(seed, n, start, stop):
        calls.append(start)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(seed, n, start, stop)

    monkeypatch.setattr(permutation_module.shuffles, "permutations", interrupted)
    with pytest.raises(KeyboardInterrupt):
        permutation_test(units, rates, n_permutations=50, seed=4, chunk_size=10, checkpoint=path, progress=False)
    monkeypatch.setattr(permutation_module.shuffles, "permutations", real)
    with np.load(path) as saved:
        assert int(saved["n_done"]) == 20

    calls.clear()
    monkeypatch.setattr(permutation_module.shuffles, "permutations",
                        lambda *a: calls.append(a[2]) or real(*a))
    resumed = permutation_test(units, rates, n_permutations=50, seed=4, chunk_size=15, checkpoint=path,
                               progress=False)
    assert calls == [20, 35]  # finished chunks are not redone, and the chunk size may change
    np.testing.assert_allclose(resumed.null, full.null, rtol=1e-12)
    assert resumed.p_value == full.p_value

    with pytest.raises(CheckpointError, match="belongs to another run"):
        permutation_test(units, rates, n_permutations=50, seed=5, checkpoint=path, progress=False)
    path.write_bytes(b"not an npz")
    with pytest.raises(CheckpointError, match="cannot be read"):
        permutation_test(units, rates, n_permutations=50, seed=4, checkpoint=path, progress=False)


def test_representation_uses_informative_units_only(data):
    units, rates = data
    rep = Representation(np.column_stack([units, np.random.default_rng(0).standard_normal(90)]),
                         kl=np.array([1.0, 1.0, 1.0, 1.0, 0.0]))
    a = permutation_test(rep, rates, n_permutations=20, progress=False)
    b = permutation_test(units, rates, n_permutations=20, progress=False)
    np.testing.assert_allclose(a.null, b.null, rtol=1e-12)


def test_bad_input_gets_clear_errors(data):
    units, rates = data
    with pytest.raises(DataError, match="units has 90 stimuli .* rates has 80"):
        permutation_test(units, rates[:80], progress=False)
    bad = rates.copy()
    bad[3, 2] = np.nan
    with pytest.raises(DataError, match="rates: contains nan"):
        permutation_test(units, bad, progress=False)
    with pytest.raises(ConfigError, match="statistic='r2'"):
        permutation_test(units, rates, "r2", progress=False)
    with pytest.raises(ConfigError, match="n_permutations must be an integer >= 1"):
        permutation_test(units, rates, n_permutations=0, progress=False)
    with pytest.raises(ConfigError, match="seed must be an integer >= 0"):
        permutation_test(units, rates, seed=-1, progress=False)
    with pytest.raises(ConfigError, match=r"does not take option\(s\) \['alpha'\]"):
        permutation_test(units, rates, "matched_r", alpha=0.1, progress=False)
    with pytest.raises(ConfigError, match="alpha must be a finite number > 0"):
        permutation_test(units, rates, "alignment", alpha=-1.0, progress=False)
    with pytest.raises(ConfigError, match="dtype"):
        permutation_test(units, rates, dtype="float16", progress=False)
    with pytest.raises(ConfigError, match="chunk_size"):
        permutation_test(units, rates, chunk_size=0, progress=False)


def test_more_units_than_neurons(rng):
    """Rectangular the other way: every neuron gets a distinct unit, the pairs are the neurons' count."""
    units, rates = rng.standard_normal((60, 6)), rng.standard_normal((60, 3))
    result = permutation_test(units, rates, n_permutations=15, seed=9, progress=False)
    perms = shuffles.permutations(9, 60, 0, 15)
    np.testing.assert_allclose(result.null, [matched_r_reference(units, rates[p]).mean() for p in perms], rtol=1e-12)
    assert result.pair_p_values.shape == (3,)


def test_ridge_null_with_collinear_units(rng):
    """V_f is recovered through pinv(units); a unit that is a sum of two others must not break it."""
    base = rng.standard_normal((80, 3))
    units = np.column_stack([base, base[:, 0] + base[:, 1]])
    rates = base[:, :2] @ rng.standard_normal((2, 5)) + rng.standard_normal((80, 5))
    result = permutation_test(units, rates, "explained_variance", n_permutations=6, seed=2, cv=4, progress=False)
    perms = shuffles.permutations(2, 80, 0, 6)
    expected = [explained_variance(units, rates[p], cv=4).r2.mean() for p in perms]
    np.testing.assert_allclose(result.null, expected, rtol=1e-9, atol=1e-12)


def test_a_checkpoint_is_bound_to_every_option_value_not_its_printed_form(data, tmp_path):
    """Two fold-label arrays that numpy prints alike (over 1,000 entries, the middle is elided) are two runs."""
    rng = np.random.default_rng(0)
    n = 1200
    units, rates = rng.standard_normal((n, 3)), rng.standard_normal((n, 4))
    labels_a = np.arange(n) % 3
    labels_b = labels_a.copy()
    labels_b[[600, 601, 602]] = labels_b[[601, 602, 600]]
    assert str(labels_a) == str(labels_b)
    path = tmp_path / "ev.npz"
    permutation_test(units, rates, "explained_variance", n_permutations=4, checkpoint=path, progress=False,
                     cv=labels_a)
    with pytest.raises(CheckpointError, match="belongs to another run"):
        permutation_test(units, rates, "explained_variance", n_permutations=4, checkpoint=path, progress=False,
                         cv=labels_b)


def test_spelling_out_the_default_options_resumes_the_same_run(data, tmp_path):
    units, rates = data
    path = tmp_path / "align.npz"
    first = permutation_test(units, rates, "alignment", n_permutations=6, checkpoint=path, progress=False)
    again = permutation_test(units, rates, "alignment", n_permutations=6, checkpoint=path, progress=False,
                             method="entropy", alpha=0.01, max_iter=1000, tol=1e-4)
    np.testing.assert_array_equal(again.null, first.null)


def test_a_checkpoint_path_that_is_not_a_checkpoint_is_named_as_such(data, tmp_path):
    units, rates = data
    with pytest.raises(CheckpointError, match="is not a file"):
        permutation_test(units, rates, n_permutations=5, checkpoint=tmp_path, progress=False)
    np.savez(tmp_path / "my_data.npz", rates=rates)
    with pytest.raises(CheckpointError, match="not a faceit permutation checkpoint"):
        permutation_test(units, rates, n_permutations=5, checkpoint=tmp_path / "my_data.npz", progress=False)
