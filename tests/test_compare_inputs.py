"""Input preparation shared by the comparisons: containers, z-scoring, and errors naming the argument."""

import numpy as np
import pytest

from faceit.compare._inputs import paired
from faceit.errors import DataError
from faceit.representation import Representation


def test_zscores_and_maps_columns(rng):
    units = rng.standard_normal((30, 3)) * 5 + 2
    rates = np.c_[rng.standard_normal((30, 2)), np.full(30, 4.0)]
    with pytest.warns(UserWarning, match=r"rates: dropped 1 constant column\(s\) \[2\]"):
        data = paired(Representation(units, kl=np.array([1.0, 0.0, 1.0])), rates)
    np.testing.assert_array_equal(data.unit_index, [0, 2])
    np.testing.assert_array_equal(data.neuron_index, [0, 1])
    np.testing.assert_allclose(data.units, (units[:, [0, 2]] - units[:, [0, 2]].mean(0)) / units[:, [0, 2]].std(0))
    np.testing.assert_allclose(data.rates.std(0), 1.0)


@pytest.mark.parametrize("units, rates, message", [
    (np.ones((5, 2)) * np.arange(5)[:, None], np.zeros((5, 2)), "rates: every column is constant"),
    (np.zeros((5, 2)), np.eye(5), "units: every column is constant"),
    (np.eye(5)[:, :2], "abc", "rates: expected real numbers"),
    (np.eye(5)[:, :2], np.ones(5), "rates: expected a 2-D array"),
    (np.eye(5)[:1, :1], np.eye(5)[:1], "units: need at least 2 stimuli"),
    (np.array([[1.0, np.inf], [0, 1], [2, 3]]), np.eye(3), r"units: contains inf at index \(0, 1\)"),
])
def test_errors_name_the_argument(units, rates, message):
    with pytest.raises(DataError, match=message):
        paired(units, rates)
