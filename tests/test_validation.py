"""faceit._validation.check_number: the one check of real-valued settings (lr, tol, alpha)."""

import numpy as np
import pytest

from faceit._validation import check_number
from faceit.errors import ConfigError
from faceit.models.baselines import ICA


@pytest.mark.parametrize("value", [0, 0.5, np.float32(2.0), np.int64(3)])
def test_finite_numbers_at_or_above_zero_pass_as_floats(value):
    assert check_number(value, "tol") == float(value) and isinstance(check_number(value, "tol"), float)


@pytest.mark.parametrize("value", [-1e-9, np.inf, np.nan, True, "0.1", None])
def test_everything_else_is_a_config_error_naming_the_setting(value):
    with pytest.raises(ConfigError, match=r"tol must be a finite number >= 0"):
        check_number(value, "tol")


def test_positive_refuses_zero_and_reaches_the_estimators():
    with pytest.raises(ConfigError, match="lr must be a positive number, got 0"):
        check_number(0, "lr", positive=True)
    with pytest.raises(ConfigError, match="tol must be a positive number"):
        ICA(tol=-1)
    assert ICA(tol=1e-3).tol == 1e-3
