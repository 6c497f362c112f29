"""Reconstruction negative log-likelihood fused with its output nonlinearity and the per-sample sum.

``output`` and ``target`` [B, ...] are viewed as [B, N] (N pixels per sample, float32).

bernoulli: ``output`` holds logits; the sigmoid is folded into binary cross-entropy,
    l = max(x, 0) - x * t + log(1 + exp(-|x|))   (stable for any x);
    dl/dx = sigmoid(x) - t,  dl/dt = -x.
gaussian: ``output`` holds the mean; l = (x - t)^2 / (2 sigma^2) (the constant
    N * log(sigma * sqrt(2 pi)) is omitted: it has no gradient);
    dl/dx = (x - t) / sigma^2,  dl/dt = -dl/dx.

Forward: one program per sample walks its N pixels in BLOCK_N chunks and writes one
number, so the reduction is deterministic and needs no atomics. Backward: one
elementwise pass over [B, N] tiles scaled by the incoming per-sample gradient.
"""

from __future__ import annotations

import torch

from faceit.errors import ConfigError, DataError

from ._common import check_kernel_tensor, device_guard, next_pow2
from ._triton import tl, triton

LIKELIHOODS = {"bernoulli": 0, "gaussian": 1}


@triton.jit
def _softplus_neg_abs(x):
    # log(1 + exp(-|x|)); below 1e-4 the series e - e^2/2 is exact to float32 where log(1 + e) is not
    e = tl.exp(-tl.abs(x))
    return tl.where(e < 1e-4, e * (1.0 - 0.5 * e), tl.log(1.0 + e))


@triton.jit
def _recon_nll_fwd(x_ptr, t_ptr, out_ptr, N, inv_two_var,
                   LIKELIHOOD: tl.constexpr, BLOCK_N: tl.constexpr):
    row = tl.program_id(0)
    base = row.to(tl.int64) * N
    acc = tl.zeros((BLOCK_N,), dtype=tl.float32)
    for n0 in range(0, N, BLOCK_N):
        cols = n0 + tl.arange(0, BLOCK_N)
        ok = cols < N
        x = tl.load(x_ptr + base + cols, mask=ok, other=0.0)
        t = tl.load(t_ptr + base + cols, mask=ok, other=0.0)
        if LIKELIHOOD == 0:
            loss = tl.maximum(x, 0.0) - x * t + _softplus_neg_abs(x)
        else:
            d = x - t
            loss = d * d * inv_two_var
        acc += tl.where(ok, loss, 0.0)
    tl.store(out_ptr + row, tl.sum(acc, axis=0))


@triton.jit
def _recon_nll_bwd(x_ptr, t_ptr, g_ptr, dx_ptr, dt_ptr, B, N, inv_var,
                   LIKELIHOOD: tl.constexpr, WANT_DT: tl.constexpr,
                   BLOCK_B: tl.constexpr, BLOCK_N: tl.constexpr):
    rows = tl.program_id(0) * BLOCK_B + tl.arange(0, BLOCK_B)
    cols = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
    ok = (rows[:, None] < B) & (cols[None, :] < N)
    offs = rows.to(tl.int64)[:, None] * N + cols[None, :]
    x = tl.load(x_ptr + offs, mask=ok, other=0.0)
    t = tl.load(t_ptr + offs, mask=ok, other=0.0)
    g = tl.load(g_ptr + rows, mask=rows < B, other=0.0)[:, None]
    if LIKELIHOOD == 0:
        dx = (tl.sigmoid(x) - t) * g
        dt = -x * g
    else:
        dx = (x - t) * inv_var * g
        dt = -dx
    tl.store(dx_ptr + offs, dx, mask=ok)
    if WANT_DT:
        tl.store(dt_ptr + offs, dt, mask=ok)


class ReconstructionNLL(torch.autograd.Function):
    """``nll = ReconstructionNLL.apply(output, target, likelihood, sigma, block_n=None)`` -> [B].

    output, target: [B, ...] float32, same shape; likelihood "bernoulli" (output = logits)
    or "gaussian" (output = mean, fixed ``sigma``). Gradients flow to both tensors.
    """

    @staticmethod
    def forward(ctx, output, target, likelihood="bernoulli", sigma=0.1, block_n=None):
        if likelihood not in LIKELIHOODS:
            raise ConfigError(f"likelihood={likelihood!r} is not one of {sorted(LIKELIHOODS)}")
        if not sigma > 0:
            raise ConfigError(f"sigma must be > 0, got {sigma!r}")
        if output.shape != target.shape:
            raise DataError(f"output {tuple(output.shape)} and target {tuple(target.shape)} must have the same shape")
        x = output.reshape(output.shape[0], -1).contiguous()
        t = target.reshape(target.shape[0], -1).contiguous()
        check_kernel_tensor(x, "output", 2)
        check_kernel_tensor(t, "target", 2)
        B, N = x.shape
        bn = block_n or (1024 if x.is_cuda else next_pow2(N, 16, 1 << 14))
        nll = torch.empty(B, device=x.device, dtype=x.dtype)
        with device_guard(x):
            _recon_nll_fwd[(B,)](x, t, nll, N, 1.0 / (2.0 * sigma * sigma),
                                 LIKELIHOOD=LIKELIHOODS[likelihood], BLOCK_N=bn)
        ctx.save_for_backward(x, t)
        ctx.shape, ctx.likelihood, ctx.sigma, ctx.block_n = output.shape, likelihood, sigma, bn
        return nll

    @staticmethod
    def backward(ctx, grad):
        x, t = ctx.saved_tensors
        B, N = x.shape
        want_dt = ctx.needs_input_grad[1]
        dx = torch.empty_like(x)
        dt = torch.empty_like(t) if want_dt else dx  # dummy pointer when unused
        if x.is_cuda:
            bb, bn = 1, 1024
        else:
            bb, bn = next_pow2(B, 1, 64), min(ctx.block_n, 4096)
        grid = (triton.cdiv(B, bb), triton.cdiv(N, bn))
        with device_guard(x):
            _recon_nll_bwd[grid](x, t, grad.contiguous(), dx, dt, B, N, 1.0 / (ctx.sigma * ctx.sigma),
                                 LIKELIHOOD=LIKELIHOODS[ctx.likelihood], WANT_DT=want_dt,
                                 BLOCK_B=bb, BLOCK_N=bn)
        return (dx.view(ctx.shape), dt.view(ctx.shape) if want_dt else None, None, None, None)
