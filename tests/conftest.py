"""Test configuration shared by every test module.

TRITON_INTERPRET=1 must be set before any Triton kernel module is imported, so that
the kernels run on the CPU through Triton's interpreter; it is set here, at the top of
the first file pytest imports.
"""

import os

os.environ.setdefault("TRITON_INTERPRET", "1")
# Keep the BLAS libraries from oversubscribing the two cores that CI has.
os.environ.setdefault("OMP_NUM_THREADS", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def rng():
    """A fresh, seeded generator per test."""
    return np.random.default_rng(12345)
