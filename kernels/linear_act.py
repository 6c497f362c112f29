"""Fused linear layer: y = act(x @ W^T + b), activation "relu" or "none".

Forward: one tiled GEMM whose epilogue adds the bias and applies the activation in
registers before the single store of y.

Backward: two more launches of the same GEMM kernel, with the activation's derivative
fused into the load of the incoming gradient (the relu mask is recomputed from the saved
output, y > 0, so it agrees with the forward exactly; no pre-activation is stored):

    dpre = dy * (y > 0)
    dx   = dpre @ W                      [B, in]
    dW   = dpre^T @ x                    [out, in]
    db   = sum_b dpre                    [out]   (row sums of dpre^T, taken inside the dW GEMM)

Precision: ``tl.dot`` runs in IEEE float32 unless the tensors are on a GPU and
``torch.backends.cuda.matmul.allow_tf32`` is set (PyTorch's own policy for F.linear).
"""

from __future__ import annotations

import torch

from faceit.errors import DataError

from ._common import activation_code, check_kernel_tensor, device_guard, next_pow2
from ._triton import dot_precision, tl, triton


@triton.jit
def _gemm_kernel(a_ptr, b_ptr, c_ptr, bias_ptr, amask_ptr, rowsum_ptr, M, N, K,
                 stride_am, stride_ak, stride_bk, stride_bn, stride_cm, stride_cn,
                 HAS_BIAS: tl.constexpr, ACTIVATION: tl.constexpr, RELU_MASK_A: tl.constexpr,
                 ROWSUM: tl.constexpr, PRECISION: tl.constexpr,
                 BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
    """C[M, N] = act(A' @ B + bias[N]) with A' = A * (amask > 0) when RELU_MASK_A.

    amask shares A's strides. With ROWSUM, the programs of the first column block also
    write rowsum[m] = sum_k A'[m, k].
    """
    pid_m = tl.program_id(0)
    pid_n = tl.program_id(1)
    rm = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    rn = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    rk = tl.arange(0, BLOCK_K)
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    rsum = tl.zeros((BLOCK_M,), dtype=tl.float32)
    for k0 in range(0, K, BLOCK_K):
        ks = k0 + rk
        a_ok = (rm[:, None] < M) & (ks[None, :] < K)
        a_offs = rm[:, None] * stride_am + ks[None, :] * stride_ak
        a = tl.load(a_ptr + a_offs, mask=a_ok, other=0.0)
        if RELU_MASK_A:
            y = tl.load(amask_ptr + a_offs, mask=a_ok, other=0.0)
            a = tl.where(y > 0, a, 0.0)
        if ROWSUM:
            rsum += tl.sum(a, axis=1)
        b_ok = (ks[:, None] < K) & (rn[None, :] < N)
        b = tl.load(b_ptr + ks[:, None] * stride_bk + rn[None, :] * stride_bn, mask=b_ok, other=0.0)
        acc = tl.dot(a, b, acc, input_precision=PRECISION)
    if HAS_BIAS:
        acc += tl.load(bias_ptr + rn, mask=rn < N, other=0.0)[None, :]
    if ACTIVATION == 1:
        acc = tl.maximum(acc, 0.0)
    c_ok = (rm[:, None] < M) & (rn[None, :] < N)
    tl.store(c_ptr + rm[:, None] * stride_cm + rn[None, :] * stride_cn, acc, mask=c_ok)
    if ROWSUM:
        # Broadcast the scalar test to a vector: Triton 3.9's interpreter refuses a scalar-mixed mask.
        first_column_block = tl.full((BLOCK_M,), pid_n, dtype=tl.int32) == 0
        tl.store(rowsum_ptr + rm, rsum, mask=(rm < M) & first_column_block)


def gemm(a, b, c, *, bias=None, activation=0, relu_mask_a=None, rowsum=None,
         precision="ieee", blocks=None):
    """Launch ``_gemm_kernel`` on strided 2-D views: c = act(a' @ b + bias); returns c."""
    M, K = a.shape
    N = b.shape[1]
    if blocks is None:
        if a.is_cuda:
            blocks = (64, 64, 32)
        else:  # interpreter: as few programs as possible
            blocks = (next_pow2(M, 16, 128), next_pow2(N, 16, 128), next_pow2(K, 16, 128))
    bm, bn, bk = blocks
    grid = (triton.cdiv(M, bm), triton.cdiv(N, bn))
    dummy = c
    with device_guard(c):
        _gemm_kernel[grid](
            a, b, c, bias if bias is not None else dummy,
            relu_mask_a if relu_mask_a is not None else dummy,
            rowsum if rowsum is not None else dummy,
            M, N, K, a.stride(0), a.stride(1), b.stride(0), b.stride(1), c.stride(0), c.stride(1),
            HAS_BIAS=bias is not None, ACTIVATION=activation, RELU_MASK_A=relu_mask_a is not None,
            ROWSUM=rowsum is not None, PRECISION=precision, BLOCK_M=bm, BLOCK_N=bn, BLOCK_K=bk)
    return c


class LinearAct(torch.autograd.Function):
    """``y = LinearAct.apply(x, weight, bias, activation="relu", blocks=None)``.

    x [B, in], weight [out, in], bias [out] or None, float32; y [B, out].
    ``blocks`` = (BLOCK_M, BLOCK_N, BLOCK_K) overrides the tile sizes (all >= 16).
    """

    @staticmethod
    def forward(ctx, x, weight, bias, activation="relu", blocks=None):
        act = activation_code(activation)
        check_kernel_tensor(x, "x", 2)
        check_kernel_tensor(weight, "weight", 2)
        if x.shape[1] != weight.shape[1]:
            raise DataError(f"x has {x.shape[1]} features but weight {tuple(weight.shape)} "
                            f"expects {weight.shape[1]}")
        if bias is not None:
            check_kernel_tensor(bias, "bias", 1)
            if bias.shape[0] != weight.shape[0]:
                raise DataError(f"bias has {bias.shape[0]} entries but weight has {weight.shape[0]} outputs")
            bias = bias.contiguous()
        x, weight = x.contiguous(), weight.contiguous()
        prec = dot_precision(x, torch.backends.cuda.matmul.allow_tf32)
        y = torch.empty(x.shape[0], weight.shape[0], device=x.device, dtype=x.dtype)
        gemm(x, weight.t(), y, bias=bias, activation=act, precision=prec, blocks=blocks)
        ctx.save_for_backward(x, weight, y)
        ctx.has_bias, ctx.relu, ctx.prec, ctx.blocks = bias is not None, act == 1, prec, blocks
        return y

    @staticmethod
    def backward(ctx, dy):
        x, weight, y = ctx.saved_tensors
        dy = dy.contiguous()
        mask = y if ctx.relu else None
        dx = dw = db = None
        if ctx.needs_input_grad[0]:
            dx = gemm(dy, weight, torch.empty_like(x), relu_mask_a=mask,
                      precision=ctx.prec, blocks=ctx.blocks)
        if ctx.needs_input_grad[1] or ctx.needs_input_grad[2]:
            db = torch.empty(weight.shape[0], device=x.device, dtype=x.dtype) if ctx.has_bias else None
            dw = gemm(dy.t(), x, torch.empty_like(weight), relu_mask_a=None if mask is None else mask.t(),
                      rowsum=db, precision=ctx.prec, blocks=ctx.blocks)
        return dx, dw, db, None, None
