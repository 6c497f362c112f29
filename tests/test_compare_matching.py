"""One-to-one matching (design 4.2) against scipy's assignment solver and a planted ground truth."""

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment as scipy_lsa

from faceit.compare import match_correlations, match_units
from faceit.errors import DataError
from faceit.representation import Representation


def _reference(units, rates):
    r = np.corrcoef(units.T, rates.T)[: units.shape[1], units.shape[1]:]
    rows, cols = scipy_lsa(np.abs(r), maximize=True)
    return rows, cols, r[rows, cols]


@pytest.mark.parametrize("shape", [(6, 15), (9, 4)])
def test_matches_scipy_on_pearson_r(rng, shape):
    k, m = shape
    units = rng.standard_normal((200, k))
    rates = units @ rng.standard_normal((k, m)) + 3 * rng.standard_normal((200, m))
    got = match_units(units, rates)
    rows, cols, r = _reference(units, rates)
    np.testing.assert_array_equal(got.unit_index, rows)
    np.testing.assert_array_equal(got.neuron_index, cols)
    np.testing.assert_allclose(got.r, r, atol=1e-12)
    assert len(got) == min(k, m)
    assert got.mean_abs_r == pytest.approx(np.abs(r).mean())


def test_recovers_planted_pairs_and_signs(rng):
    units = rng.standard_normal((300, 5))
    neuron_of_unit = np.array([7, 2, 9, 0, 4])
    sign = np.array([1, -1, 1, -1, 1])
    rates = rng.standard_normal((300, 10))
    rates[:, neuron_of_unit] = units * sign * 2.0 + 0.5 * rng.standard_normal((300, 5)) + 20
    got = match_units(units, rates)
    np.testing.assert_array_equal(got.neuron_index, neuron_of_unit)
    assert np.all(np.sign(got.r) == sign) and np.all(np.abs(got.r) > 0.9)


def test_batched_correlations_match_one_by_one(rng):
    r = np.tanh(rng.standard_normal((2, 3, 4, 7)))
    rows, cols, values = match_correlations(r)
    assert rows.shape == cols.shape == values.shape == (2, 3, 4)
    for idx in np.ndindex(2, 3):
        ref_rows, ref_cols = scipy_lsa(np.abs(r[idx]), maximize=True)
        np.testing.assert_array_equal(rows[idx], ref_rows)
        np.testing.assert_array_equal(cols[idx], ref_cols)
        np.testing.assert_array_equal(values[idx], r[idx][ref_rows, ref_cols])


def test_indices_refer_to_the_callers_columns(rng):
    units = rng.standard_normal((120, 4))
    rates = np.hstack([np.full((120, 1), 3.0), units[:, ::-1] + 0.1 * rng.standard_normal((120, 4))])
    rep = Representation(np.hstack([rng.standard_normal((120, 1)), units]), kl=np.array([0.0, 1, 1, 1, 1]))
    with pytest.warns(UserWarning, match="constant"):
        got = match_units(rep, rates)
    np.testing.assert_array_equal(got.unit_index, [1, 2, 3, 4])       # unit 0 is not informative
    np.testing.assert_array_equal(got.neuron_index, [4, 3, 2, 1])     # neuron 0 is constant


def test_bad_input(rng):
    with pytest.raises(DataError, match="rates has 9"):
        match_units(rng.standard_normal((10, 2)), rng.standard_normal((9, 3)))
    with pytest.raises(DataError, match="r: contains"):
        match_correlations(np.array([[np.nan, 0.1]]))
