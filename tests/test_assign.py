"""faceit.assign against scipy.optimize.linear_sum_assignment, the reference."""

import numpy as np
import pytest
import scipy.optimize
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from faceit.assign import linear_sum_assignment, linear_sum_assignment_batch
from faceit.errors import ConfigError, DataError, FaceitError, InfeasibleError


def assert_optimal(cost, maximize=False):
    """Same optimal total as scipy, a valid assignment, rows sorted."""
    rows, cols = linear_sum_assignment(cost, maximize=maximize)
    ref_rows, ref_cols = scipy.optimize.linear_sum_assignment(cost, maximize=maximize)
    cost = np.asarray(cost, dtype=np.float64)
    k = min(cost.shape)
    assert rows.shape == cols.shape == (k,)
    assert np.all(np.diff(rows) > 0), "rows must be sorted and distinct"
    assert len(set(cols.tolist())) == k, "columns must be distinct"
    total, ref_total = cost[rows, cols].sum(), cost[ref_rows, ref_cols].sum()
    assert np.isfinite(total)
    assert total == pytest.approx(ref_total, rel=1e-12, abs=1e-9 * max(1.0, np.abs(cost[np.isfinite(cost)]).max(initial=0)))
    return rows, cols


def test_random_uniform_square_and_rectangular(rng):
    for _ in range(400):
        n, m = rng.integers(1, 40, size=2)
        assert_optimal(rng.random((n, m)))


def test_integer_costs_with_many_ties(rng):
    for _ in range(400):
        n, m = rng.integers(1, 25, size=2)
        assert_optimal(rng.integers(0, 4, size=(n, m)))


def test_maximize_and_negative_costs(rng):
    for _ in range(300):
        n, m = rng.integers(1, 30, size=2)
        cost = rng.normal(size=(n, m)) * 10
        assert_optimal(cost, maximize=bool(rng.integers(2)))


def test_huge_magnitudes(rng):
    for scale in (1e-300, 1e-8, 1e8, 1e150):
        for _ in range(20):
            n, m = rng.integers(1, 20, size=2)
            assert_optimal(rng.random((n, m)) * scale)


def test_forbidden_pairs(rng):
    for _ in range(300):
        n, m = rng.integers(1, 20, size=2)
        cost = rng.random((n, m))
        cost[rng.random((n, m)) < 0.3] = np.inf
        try:
            scipy.optimize.linear_sum_assignment(cost)
        except ValueError:
            with pytest.raises(InfeasibleError, match="infeasible"):
                linear_sum_assignment(cost)
            continue
        rows, cols = assert_optimal(cost)
        assert np.isfinite(cost[rows, cols]).all()


def test_forbidden_pairs_when_maximizing():
    cost = np.array([[-np.inf, 1.0], [2.0, 5.0]])
    rows, cols = linear_sum_assignment(cost, maximize=True)
    assert cols.tolist() == [1, 0]


@pytest.mark.parametrize("shape", [(0, 0), (0, 3), (3, 0)])
def test_empty_in_empty_out(shape):
    rows, cols = linear_sum_assignment(np.zeros(shape))
    assert rows.shape == cols.shape == (0,)


def test_one_by_n_and_n_by_one():
    cost = np.array([[3.0, 1.0, 2.0]])
    assert linear_sum_assignment(cost)[1].tolist() == [1]
    rows, cols = linear_sum_assignment(cost.T)
    assert rows.tolist() == [1] and cols.tolist() == [0]
    assert linear_sum_assignment([[7.0]])[1].tolist() == [0]


def test_any_dtype_and_layout(rng):
    base = rng.random((12, 17))
    ref = scipy.optimize.linear_sum_assignment(base)
    variants = [base.astype(np.float32), np.asfortranarray(base), base[:, ::-1][:, ::-1],
                base.T.copy().T, (base * 100).astype(np.int32), base.astype(">f8"), base.astype(np.float16)]
    for variant in variants:
        cost = np.asarray(variant, dtype=np.float64)
        rows, cols = linear_sum_assignment(variant)
        ref_rows, ref_cols = scipy.optimize.linear_sum_assignment(cost)
        assert cost[rows, cols].sum() == pytest.approx(cost[ref_rows, ref_cols].sum())
    strided = np.repeat(base, 2, axis=1)[:, ::2]
    assert linear_sum_assignment(strided)[1].tolist() == ref[1].tolist()
    assert linear_sum_assignment(base.tolist())[1].tolist() == ref[1].tolist()
    assert linear_sum_assignment(base > 0.5)[0].shape == (12,)


@pytest.mark.parametrize("shape, order, dtype", [
    ((150, 40), "C", np.float64),   # tall: solved transposed, read in place (under 256 KB)
    ((150, 40), "F", np.float32),
    ((40, 150), "F", np.float64),   # wide with strided rows, in place
    ((400, 100), "C", np.float64),  # tall, 320 KB: through the contiguous working copy
    ((220, 220), "F", np.float64),  # strided rows, 387 KB: the working copy
])
def test_strided_and_transposed_problems_in_place_or_copied(rng, shape, order, dtype):
    cost = np.asarray(rng.random(shape), dtype=dtype, order=order)
    ref_rows, ref_cols = scipy.optimize.linear_sum_assignment(cost.astype(np.float64))
    rows, cols = linear_sum_assignment(cost)
    assert rows.tolist() == ref_rows.tolist() and cols.tolist() == ref_cols.tolist()


@settings(max_examples=300, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=0, max_side=12),
                  elements=st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)),
       st.booleans())
def test_property_same_total_as_scipy(cost, maximize):
    assert_optimal(cost, maximize=maximize)


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=8),
                  elements=st.sampled_from([0.0, 1.0, 2.0, -3.5, np.inf])))
def test_property_infinite_entries(cost):
    try:
        ref_rows, ref_cols = scipy.optimize.linear_sum_assignment(cost)
    except ValueError:
        with pytest.raises(InfeasibleError):
            linear_sum_assignment(cost)
        return
    rows, cols = linear_sum_assignment(cost)
    assert cost[rows, cols].sum() == cost[ref_rows, ref_cols].sum()


def test_batch_equals_per_problem_solves(rng):
    for n, m in [(159, 32), (32, 159), (10, 10), (1, 5)]:
        costs = rng.random((64, n, m))
        for maximize in (False, True):
            rows, cols = linear_sum_assignment_batch(costs, maximize=maximize, n_threads=2)
            assert rows.shape == cols.shape == (64, min(n, m))
            for b in range(64):
                ref_rows, ref_cols = linear_sum_assignment(costs[b], maximize=maximize)
                np.testing.assert_array_equal(rows[b], ref_rows)
                np.testing.assert_array_equal(cols[b], ref_cols)
                sc_rows, sc_cols = scipy.optimize.linear_sum_assignment(costs[b], maximize=maximize)
                assert costs[b][rows[b], cols[b]].sum() == pytest.approx(costs[b][sc_rows, sc_cols].sum())


def test_batch_thread_counts_agree_and_empty_batch(rng):
    costs = rng.random((37, 9, 6)).astype(np.float32)
    one = linear_sum_assignment_batch(costs, n_threads=1)
    many = linear_sum_assignment_batch(costs, n_threads=5)
    default = linear_sum_assignment_batch(costs)
    for a, b in zip(one, many):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(one[1], default[1])
    rows, cols = linear_sum_assignment_batch(np.zeros((0, 4, 3)))
    assert rows.shape == (0, 3)


@pytest.mark.parametrize("bad, match", [
    (np.array([[1.0, np.nan]]), "NaN"),
    (np.array([[1.0, -np.inf]]), "-inf"),
    (np.zeros(3), "2-D"),
    (np.zeros((2, 2, 2)), "2-D"),
    (np.array([[1 + 1j]]), "real"),
    (np.array([["a"]]), "real"),
])
def test_bad_input_raises_value_error(bad, match):
    with pytest.raises(ValueError, match=match) as info:
        linear_sum_assignment(bad)
    assert isinstance(info.value, (DataError, FaceitError))


def test_plus_inf_is_invalid_when_maximizing():
    with pytest.raises(ValueError, match=r"\+inf"):
        linear_sum_assignment(np.array([[1.0, np.inf]]), maximize=True)


def test_batch_errors_name_the_problem(rng):
    costs = rng.random((5, 3, 3))
    costs[3, 1, 2] = np.nan
    with pytest.raises(DataError, match=r"costs\[3\]"):
        linear_sum_assignment_batch(costs)
    costs = rng.random((4, 2, 2))
    costs[2, :, 0] = np.inf
    costs[2, :, 1] = np.inf
    with pytest.raises(InfeasibleError, match=r"costs\[2\]"):
        linear_sum_assignment_batch(costs)
    with pytest.raises(ValueError, match="3-D"):
        linear_sum_assignment_batch(rng.random((3, 3)))
    with pytest.raises(ValueError, match="n_threads"):
        linear_sum_assignment_batch(costs[:1], n_threads=0)


def test_a_ragged_cost_list_is_a_data_error():
    with pytest.raises(DataError, match="cost: not a rectangular array"):
        linear_sum_assignment([[1.0, 2.0], [3.0]])


def test_costs_whose_differences_overflow_are_refused_not_solved_wrong():
    with pytest.raises(DataError, match="beyond"):
        linear_sum_assignment([[1e308, 1e308], [-1e308, -1e308]])
    with pytest.raises(DataError, match=r"costs\[1\].*beyond"):
        linear_sum_assignment_batch(np.array([np.eye(2), [[np.finfo(float).max, 0.0], [0.0, 1.0]]]))
    big = np.array([[1e299, 2e299], [3e299, 1e299]])  # in range: solved as scipy does
    np.testing.assert_array_equal(linear_sum_assignment(big)[1], scipy.optimize.linear_sum_assignment(big)[1])


def test_n_threads_is_bounded():
    with pytest.raises(ConfigError, match="n_threads"):
        linear_sum_assignment_batch(np.zeros((2, 3, 3)), n_threads=2**40)


def test_out_of_memory_in_a_worker_thread_is_a_memory_error_not_an_abort(tmp_path):
    """Under an address-space limit (as clusters set one), a workspace that cannot be allocated in a
    worker thread must come back as MemoryError; uncaught in the thread it would end the process."""
    import subprocess
    import sys

    script = tmp_path / "oom.py"
    script.write_text(
        "import resource, numpy as np\n"
        "from faceit.assign import linear_sum_assignment_batch\n"
        "costs = np.broadcast_to(np.zeros((1, 1, 60_000_000)), (2, 1, 60_000_000))\n"
        "resource.setrlimit(resource.RLIMIT_AS, (3_000_000_000, 3_000_000_000))\n"
        "try:\n"
        "    linear_sum_assignment_batch(costs, n_threads=2)\n"
        "    print('solved')\n"
        "except MemoryError:\n"
        "    print('MemoryError')\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-500:]
    assert done.stdout.strip() in ("MemoryError", "solved")


def test_the_default_thread_count_never_exceeds_the_bound(monkeypatch):
    import faceit.assign as assign_module

    monkeypatch.setattr(assign_module.os, "sched_getaffinity", lambda pid: set(range(5000)), raising=False)
    rows, cols = linear_sum_assignment_batch(np.eye(3)[None].repeat(2, axis=0))
    assert rows.shape == (2, 3)


def test_the_second_entry_pass_tells_infinities_from_huge_costs():
    """Past 1e300 the check looks again: +inf is a forbidden pair, -inf invalid, a huge finite cost out of range."""
    forbidden = np.array([[np.inf, 1.0], [2.0, 3.0]])
    np.testing.assert_array_equal(linear_sum_assignment(forbidden)[1], [1, 0])
    with pytest.raises(DataError, match="beyond"):
        linear_sum_assignment(np.array([[np.inf, 1.0], [2e301, 3.0]]))
    with pytest.raises(DataError, match="-inf"):
        linear_sum_assignment(np.array([[np.inf, 1.0], [-np.inf, 3.0]]))
    with pytest.raises(DataError, match="NaN"):
        linear_sum_assignment(np.array([[np.nan, 1.0], [2.0, 3.0]]))
    np.testing.assert_array_equal(linear_sum_assignment(forbidden.astype(np.float32))[1], [1, 0])
