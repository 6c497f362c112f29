"""Small helpers shared by the kernel wrappers: argument checks and launch sizes."""

from __future__ import annotations

import contextlib

import torch

from faceit.errors import ConfigError, DataError

SUPPORTED_DTYPES = (torch.float32,)
ACTIVATIONS = {"none": 0, "relu": 1, "sigmoid": 2}


def check_kernel_tensor(t: torch.Tensor, name: str, ndim: int) -> None:
    """Refuse a tensor that the kernels cannot take (wrong rank or dtype, or too large for int32 offsets)."""
    if not isinstance(t, torch.Tensor):
        raise DataError(f"{name}: expected a torch.Tensor, got {type(t).__name__}")
    if t.dim() != ndim:
        raise DataError(f"{name}: expected a {ndim}-D tensor, got shape {tuple(t.shape)}")
    if t.dtype not in SUPPORTED_DTYPES:
        raise DataError(f"{name}: the Triton kernels take float32 tensors, got {t.dtype}")
    if t.numel() >= 2**31:
        raise DataError(f"{name}: {t.numel()} elements exceed the kernels' int32 offsets")


def activation_code(activation: str, allowed=("none", "relu")) -> int:
    """The integer code a kernel's ACTIVATION constexpr takes for ``activation``."""
    if activation not in allowed:
        raise ConfigError(f"activation={activation!r} is not one of {sorted(allowed)}")
    return ACTIVATIONS[activation]


def activation_grad(grad_out: torch.Tensor, out: torch.Tensor, activation: str) -> torch.Tensor:
    """dL/d(pre-activation) from dL/d(output) and the saved output.

    The mask and the derivative are recomputed from the fused forward's own output
    (relu: out > 0; sigmoid: out * (1 - out)), so they agree with what the kernel computed.
    """
    if activation == "relu":
        return grad_out * (out > 0).to(grad_out.dtype)
    if activation == "sigmoid":
        return grad_out * out * (1.0 - out)
    return grad_out


def next_pow2(n: int, lo: int = 16, hi: int | None = None) -> int:
    """Smallest power of two >= n, clamped to [lo, hi]."""
    p = lo
    while p < n and (hi is None or p < hi):
        p *= 2
    return p


def device_guard(t: torch.Tensor):
    """Make ``t``'s GPU the current one while launching (Triton launches on the current device)."""
    return torch.cuda.device(t.device) if t.is_cuda else contextlib.nullcontext()
