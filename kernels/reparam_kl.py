"""Reparameterised sampling fused with the per-unit KL and its batch reduction.

Forward, one pass over ``mu``, ``logvar``, ``eps`` [B, K] (float32, contiguous):

    z[b, k]        = mu[b, k] + exp(logvar[b, k] / 2) * eps[b, k]
    kl_per_unit[k] = (1/B) sum_b 0.5 * (mu^2 + exp(logvar) - 1 - logvar)      (nats)

Each program owns a block of BLOCK_K units and walks the batch in BLOCK_B rows, so the
KL reduction needs no atomics and is deterministic.

Backward, one elementwise pass, given dz [B, K] and dkl [K]:

    dmu     = dz + dkl[k] * mu / B
    dlogvar = dz * 0.5 * exp(logvar / 2) * eps + dkl[k] * 0.5 * (exp(logvar) - 1) / B
    deps    = dz * exp(logvar / 2)
"""

from __future__ import annotations

import torch

from faceit.errors import DataError

from ._common import check_kernel_tensor, device_guard, next_pow2
from ._triton import tl, triton


@triton.jit
def _reparam_kl_fwd(mu_ptr, logvar_ptr, eps_ptr, z_ptr, kl_ptr, B, K, inv_b,
                    BLOCK_B: tl.constexpr, BLOCK_K: tl.constexpr):
    pid = tl.program_id(0)
    cols = pid * BLOCK_K + tl.arange(0, BLOCK_K)
    col_ok = cols < K
    acc = tl.zeros((BLOCK_K,), dtype=tl.float32)
    for b0 in range(0, B, BLOCK_B):
        rows = b0 + tl.arange(0, BLOCK_B)
        offs = rows[:, None] * K + cols[None, :]
        ok = (rows[:, None] < B) & col_ok[None, :]
        mu = tl.load(mu_ptr + offs, mask=ok, other=0.0)
        lv = tl.load(logvar_ptr + offs, mask=ok, other=0.0)
        eps = tl.load(eps_ptr + offs, mask=ok, other=0.0)
        std = tl.exp(0.5 * lv)
        tl.store(z_ptr + offs, mu + std * eps, mask=ok)
        # masked entries give mu=0, lv=0: 0 + 1 - 1 - 0 = 0, so they add nothing
        acc += tl.sum(0.5 * (mu * mu + std * std - 1.0 - lv), axis=0)
    tl.store(kl_ptr + cols, acc * inv_b, mask=col_ok)


@triton.jit
def _reparam_kl_bwd(mu_ptr, logvar_ptr, eps_ptr, dz_ptr, dkl_ptr, dmu_ptr, dlogvar_ptr, deps_ptr,
                    B, K, inv_b, BLOCK_B: tl.constexpr, BLOCK_K: tl.constexpr):
    rows = tl.program_id(0) * BLOCK_B + tl.arange(0, BLOCK_B)
    cols = tl.program_id(1) * BLOCK_K + tl.arange(0, BLOCK_K)
    ok = (rows[:, None] < B) & (cols[None, :] < K)
    offs = rows[:, None] * K + cols[None, :]
    mu = tl.load(mu_ptr + offs, mask=ok, other=0.0)
    lv = tl.load(logvar_ptr + offs, mask=ok, other=0.0)
    eps = tl.load(eps_ptr + offs, mask=ok, other=0.0)
    dz = tl.load(dz_ptr + offs, mask=ok, other=0.0)
    dkl = tl.load(dkl_ptr + cols, mask=cols < K, other=0.0)[None, :] * inv_b
    std = tl.exp(0.5 * lv)
    tl.store(dmu_ptr + offs, dz + dkl * mu, mask=ok)
    tl.store(dlogvar_ptr + offs, dz * 0.5 * std * eps + dkl * 0.5 * (std * std - 1.0), mask=ok)
    tl.store(deps_ptr + offs, dz * std, mask=ok)


class ReparamKL(torch.autograd.Function):
    """``(z, kl_per_unit) = ReparamKL.apply(mu, logvar, eps, block_b=None, block_k=None)``.

    mu, logvar, eps: [B, K] float32 on one device; z: [B, K]; kl_per_unit: [K] nats.
    Block sizes default to 32 x 32 on a GPU and to one block under the interpreter.
    """

    @staticmethod
    def forward(ctx, mu, logvar, eps, block_b=None, block_k=None):
        for t, name in ((mu, "mu"), (logvar, "logvar"), (eps, "eps")):
            check_kernel_tensor(t, name, 2)
        if logvar.shape != mu.shape or eps.shape != mu.shape:
            raise DataError(f"mu {tuple(mu.shape)}, logvar {tuple(logvar.shape)} and eps "
                             f"{tuple(eps.shape)} must have the same shape")
        mu, logvar, eps = mu.contiguous(), logvar.contiguous(), eps.contiguous()
        B, K = mu.shape
        bb, bk = _blocks(mu, B, K, block_b, block_k)
        z = torch.empty_like(mu)
        kl = torch.empty(K, device=mu.device, dtype=mu.dtype)
        with device_guard(mu):
            _reparam_kl_fwd[(triton.cdiv(K, bk),)](mu, logvar, eps, z, kl, B, K, 1.0 / B,
                                                   BLOCK_B=bb, BLOCK_K=bk)
        ctx.save_for_backward(mu, logvar, eps)
        ctx.blocks = (bb, bk)
        return z, kl

    @staticmethod
    def backward(ctx, dz, dkl):
        mu, logvar, eps = ctx.saved_tensors
        B, K = mu.shape
        dz = torch.zeros_like(mu) if dz is None else dz.contiguous()
        dkl = torch.zeros(K, device=mu.device, dtype=mu.dtype) if dkl is None else dkl.contiguous()
        dmu, dlogvar, deps = torch.empty_like(mu), torch.empty_like(mu), torch.empty_like(mu)
        bb, bk = ctx.blocks
        grid = (triton.cdiv(B, bb), triton.cdiv(K, bk))
        with device_guard(mu):
            _reparam_kl_bwd[grid](mu, logvar, eps, dz, dkl, dmu, dlogvar, deps, B, K, 1.0 / B,
                                  BLOCK_B=bb, BLOCK_K=bk)
        return dmu, dlogvar, deps, None, None


def _blocks(t, B, K, block_b, block_k):
    if t.is_cuda:
        return block_b or 32, block_k or next_pow2(K, 16, 64)
    # interpreter: few programs is what keeps it fast
    return block_b or next_pow2(B, 16, 256), block_k or next_pow2(K, 16, 256)
