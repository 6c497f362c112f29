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
import torch  # noqa: E402


@pytest.fixture
def rng():
    """A fresh, seeded generator per test."""
    return np.random.default_rng(12345)


@pytest.fixture(autouse=True)
def exact_float32():
    """IEEE float32 on a GPU too: the tests compare with float64 at ~1e-5, which TF32 (~1e-3) would fail.

    The kernels follow torch's TF32 flags (faceit.kernels._triton.dot_precision); on the CPU
    the flags change nothing.
    """
    old = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old
