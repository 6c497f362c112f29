"""Convolutions as implicit GEMMs with the bias and activation fused into the epilogue.

Both kernels read NCHW float32 input, gather the im2col tile on the fly (nothing is
materialised), multiply with ``tl.dot`` and apply ``+ bias`` and the activation in
registers before the one store of the NCHW output.

conv2d, weight [O, C, KH, KW]:
    GEMM rows m = (b, oh, ow), columns n = o, reduction k = (c, i, j);
    A[m, k] = x[b, c, oh*s - p + i, ow*s - p + j] (zero outside the image).

conv_transpose2d, weight [C, O, KH, KW] (PyTorch's layout), output_padding allowed:
    y[b, o, oy, ox] = sum_{c,i,j} x[b, c, iy, ix] w[c, o, i, j] where oy = iy*s - p + i.
    The output is split into s*s parity classes (oy mod s, ox mod s); in each class only the
    taps i = (oy + p) mod s + s*t contribute, so each class is a dense GEMM over
    C * ceil(KH/s) * ceil(KW/s) taps instead of a GEMM over all C*KH*KW taps with most of
    them zero (the "sub-pixel" decomposition). The third grid axis runs over the classes.

Backward (autograd Functions below): the activation's derivative is recomputed from the
saved output (relu: y > 0, sigmoid: y (1 - y)), giving dpre; db = dpre summed over
(b, h, w); the input gradient runs through the *other* Triton kernel (the input gradient
of a convolution is a transposed convolution with the same weight, and vice versa);
the weight gradient uses ``torch.nn.grad.conv2d_weight``.

Precision: IEEE float32 unless on a GPU with ``torch.backends.cudnn.allow_tf32`` set
(PyTorch's own policy for its convolutions; it is set by default).
"""

from __future__ import annotations

import torch

from faceit.errors import ConfigError, DataError

from ._common import activation_code, activation_grad, check_kernel_tensor, device_guard, next_pow2
from ._triton import dot_precision, tl, triton


@triton.jit
def _conv2d_fwd(x_ptr, w_ptr, bias_ptr, y_ptr, B, C, H, W, O, OH, OW,
                KH: tl.constexpr, KW: tl.constexpr, STRIDE: tl.constexpr, PAD: tl.constexpr,
                HAS_BIAS: tl.constexpr, ACTIVATION: tl.constexpr, PRECISION: tl.constexpr,
                BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
    M = B * OH * OW
    K = C * KH * KW
    rm = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    rn = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
    b = rm // (OH * OW)
    r = rm % (OH * OW)
    ih0 = (r // OW) * STRIDE - PAD
    iw0 = (r % OW) * STRIDE - PAD
    m_ok = rm < M
    x_row = b.to(tl.int64) * C * H * W
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for k0 in range(0, K, BLOCK_K):
        rk = k0 + tl.arange(0, BLOCK_K)
        c = rk // (KH * KW)
        i = (rk % (KH * KW)) // KW
        j = rk % KW
        ih = ih0[:, None] + i[None, :]
        iw = iw0[:, None] + j[None, :]
        a_ok = m_ok[:, None] & (rk[None, :] < K) & (ih >= 0) & (ih < H) & (iw >= 0) & (iw < W)
        a = tl.load(x_ptr + x_row[:, None] + (c[None, :] * H + ih) * W + iw, mask=a_ok, other=0.0)
        w_ok = (rk[:, None] < K) & (rn[None, :] < O)
        wt = tl.load(w_ptr + rn[None, :] * K + rk[:, None], mask=w_ok, other=0.0)
        acc = tl.dot(a, wt, acc, input_precision=PRECISION)
    acc = _epilogue(acc, bias_ptr, rn, O, HAS_BIAS, ACTIVATION)
    y_offs = (b.to(tl.int64) * O * OH * OW + r)[:, None] + rn[None, :] * (OH * OW)
    tl.store(y_ptr + y_offs, acc, mask=m_ok[:, None] & (rn[None, :] < O))


@triton.jit
def _conv_transpose2d_fwd(x_ptr, w_ptr, bias_ptr, y_ptr, B, C, H, W, O, OH, OW,
                          KH: tl.constexpr, KW: tl.constexpr, STRIDE: tl.constexpr, PAD: tl.constexpr,
                          TH: tl.constexpr, TW: tl.constexpr,
                          HAS_BIAS: tl.constexpr, ACTIVATION: tl.constexpr, PRECISION: tl.constexpr,
                          BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
    # TH, TW = ceil(KH / STRIDE), ceil(KW / STRIDE): taps per parity class along h and w
    QH = (OH + STRIDE - 1) // STRIDE  # output rows per class (upper bound; masked)
    QW = (OW + STRIDE - 1) // STRIDE
    cls = tl.program_id(2)
    ry = cls // STRIDE
    rx = cls % STRIDE
    i0 = (ry + PAD) % STRIDE  # first tap of this class
    j0 = (rx + PAD) % STRIDE
    dy = (ry + PAD - i0) // STRIDE  # iy = qy + dy - ty
    dx = (rx + PAD - j0) // STRIDE
    M = B * QH * QW
    K = C * TH * TW
    rm = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    rn = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
    b = rm // (QH * QW)
    q = rm % (QH * QW)
    qy = q // QW
    qx = q % QW
    oy = ry + STRIDE * qy
    ox = rx + STRIDE * qx
    m_ok = (rm < M) & (oy < OH) & (ox < OW)
    x_row = b.to(tl.int64) * C * H * W
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for k0 in range(0, K, BLOCK_K):
        rk = k0 + tl.arange(0, BLOCK_K)
        c = rk // (TH * TW)
        ty = (rk % (TH * TW)) // TW
        tx = rk % TW
        i = i0 + STRIDE * ty
        j = j0 + STRIDE * tx
        k_ok = (rk < K) & (i < KH) & (j < KW)
        iy = qy[:, None] + dy - ty[None, :]
        ix = qx[:, None] + dx - tx[None, :]
        a_ok = m_ok[:, None] & k_ok[None, :] & (iy >= 0) & (iy < H) & (ix >= 0) & (ix < W)
        a = tl.load(x_ptr + x_row[:, None] + (c[None, :] * H + iy) * W + ix, mask=a_ok, other=0.0)
        w_ok = k_ok[:, None] & (rn[None, :] < O)
        w_offs = ((c[:, None] * O + rn[None, :]) * KH + i[:, None]) * KW + j[:, None]
        wt = tl.load(w_ptr + w_offs, mask=w_ok, other=0.0)
        acc = tl.dot(a, wt, acc, input_precision=PRECISION)
    acc = _epilogue(acc, bias_ptr, rn, O, HAS_BIAS, ACTIVATION)
    y_offs = (b.to(tl.int64) * O * OH * OW + oy * OW + ox)[:, None] + rn[None, :] * (OH * OW)
    tl.store(y_ptr + y_offs, acc, mask=m_ok[:, None] & (rn[None, :] < O))


@triton.jit
def _epilogue(acc, bias_ptr, rn, O, HAS_BIAS: tl.constexpr, ACTIVATION: tl.constexpr):
    if HAS_BIAS:
        acc += tl.load(bias_ptr + rn, mask=rn < O, other=0.0)[None, :]
    if ACTIVATION == 1:
        acc = tl.maximum(acc, 0.0)
    if ACTIVATION == 2:
        acc = tl.sigmoid(acc)
    return acc


def _pair(v, name):
    if isinstance(v, (tuple, list)):
        if len(v) != 2 or v[0] != v[1]:
            raise ConfigError(f"{name}={v!r}: the Triton convolutions take one {name} for both axes")
        v = v[0]
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ConfigError(f"{name} must be a non-negative integer, got {v!r}")
    return int(v)


def _blocks(x, M, O, K, blocks):
    if blocks is not None:
        return blocks
    if x.is_cuda:
        return 64, next_pow2(O, 16, 64), 32
    return next_pow2(M, 16, 256), next_pow2(O, 16, 64), next_pow2(K, 16, 128)  # interpreter: few programs


def _check(x, weight, bias, stride, padding):
    check_kernel_tensor(x, "x", 4)
    check_kernel_tensor(weight, "weight", 4)
    if bias is not None:
        check_kernel_tensor(bias, "bias", 1)
    stride, padding = _pair(stride, "stride"), _pair(padding, "padding")
    if stride < 1:
        raise ConfigError(f"stride must be >= 1, got {stride}")
    return stride, padding


def conv2d_forward(x, weight, bias, stride, padding, activation, precision, blocks=None):
    """act(conv2d(x, weight) + bias) by the implicit-GEMM kernel. x [B, C, H, W], weight [O, C, KH, KW]."""
    B, C, H, W = x.shape
    O, Cw, KH, KW = weight.shape
    if Cw != C:
        raise DataError(f"x has {C} channels but weight {tuple(weight.shape)} expects {Cw}")
    if bias is not None and bias.shape[0] != O:
        raise DataError(f"bias has {bias.shape[0]} entries but weight has {O} output channels")
    OH = (H + 2 * padding - KH) // stride + 1
    OW = (W + 2 * padding - KW) // stride + 1
    if OH < 1 or OW < 1:
        raise DataError(f"x {tuple(x.shape)} is smaller than the kernel {KH}x{KW} with padding {padding}")
    y = torch.empty(B, O, OH, OW, device=x.device, dtype=x.dtype)
    bm, bn, bk = _blocks(x, B * OH * OW, O, C * KH * KW, blocks)
    grid = (triton.cdiv(B * OH * OW, bm), triton.cdiv(O, bn))
    with device_guard(x):
        _conv2d_fwd[grid](x.contiguous(), weight.contiguous(), bias if bias is not None else y, y,
                          B, C, H, W, O, OH, OW, KH=KH, KW=KW, STRIDE=stride, PAD=padding,
                          HAS_BIAS=bias is not None, ACTIVATION=activation, PRECISION=precision,
                          BLOCK_M=bm, BLOCK_N=bn, BLOCK_K=bk)
    return y


def conv_transpose2d_forward(x, weight, bias, stride, padding, activation, precision,
                             output_padding=(0, 0), blocks=None):
    """act(conv_transpose2d(x, weight) + bias) by the sub-pixel implicit-GEMM kernel.

    x [B, C, H, W], weight [C, O, KH, KW]; output [B, O, (H-1)s - 2p + KH + output_padding[0],
    (W-1)s - 2p + KW + output_padding[1]].
    """
    B, C, H, W = x.shape
    Cw, O, KH, KW = weight.shape
    if Cw != C:
        raise DataError(f"x has {C} channels but weight {tuple(weight.shape)} expects {Cw}")
    if bias is not None and bias.shape[0] != O:
        raise DataError(f"bias has {bias.shape[0]} entries but weight has {O} output channels")
    OH = (H - 1) * stride - 2 * padding + KH + output_padding[0]
    OW = (W - 1) * stride - 2 * padding + KW + output_padding[1]
    if OH < 1 or OW < 1:
        raise DataError(f"padding {padding} leaves no output for x {tuple(x.shape)} and kernel {KH}x{KW}")
    y = torch.empty(B, O, OH, OW, device=x.device, dtype=x.dtype)
    qh, qw = triton.cdiv(OH, stride), triton.cdiv(OW, stride)
    taps = C * triton.cdiv(KH, stride) * triton.cdiv(KW, stride)
    bm, bn, bk = _blocks(x, B * qh * qw, O, taps, blocks)
    grid = (triton.cdiv(B * qh * qw, bm), triton.cdiv(O, bn), stride * stride)
    with device_guard(x):
        _conv_transpose2d_fwd[grid](x.contiguous(), weight.contiguous(), bias if bias is not None else y, y,
                                    B, C, H, W, O, OH, OW, KH=KH, KW=KW, STRIDE=stride, PAD=padding,
                                    TH=triton.cdiv(KH, stride), TW=triton.cdiv(KW, stride),
                                    HAS_BIAS=bias is not None, ACTIVATION=activation, PRECISION=precision,
                                    BLOCK_M=bm, BLOCK_N=bn, BLOCK_K=bk)
    return y


class Conv2dAct(torch.autograd.Function):
    """``y = Conv2dAct.apply(x, weight, bias, stride, padding, activation="relu", blocks=None)``.

    x [B, C, H, W], weight [O, C, KH, KW], bias [O] or None (float32); activation
    "relu" | "none"; square stride and padding. y [B, O, OH, OW].
    """

    @staticmethod
    def forward(ctx, x, weight, bias, stride=1, padding=0, activation="relu", blocks=None):
        act = activation_code(activation)
        stride, padding = _check(x, weight, bias, stride, padding)
        prec = dot_precision(x, torch.backends.cudnn.allow_tf32)
        y = conv2d_forward(x, weight, bias, stride, padding, act, prec, blocks)
        ctx.save_for_backward(x, weight, y)
        ctx.conf = (stride, padding, activation, prec, blocks, bias is not None)
        return y

    @staticmethod
    def backward(ctx, dy):
        x, weight, y = ctx.saved_tensors
        stride, padding, activation, prec, blocks, has_bias = ctx.conf
        dpre = activation_grad(dy, y, activation).contiguous()
        dx = dw = db = None
        if ctx.needs_input_grad[0]:
            # the input gradient of a convolution is the transposed convolution of dpre;
            # output_padding recovers the rows and columns a strided forward dropped
            op = tuple(x.shape[d] - ((y.shape[d] - 1) * stride - 2 * padding + weight.shape[d]) for d in (2, 3))
            dx = conv_transpose2d_forward(dpre, weight, None, stride, padding, 0, prec, op, blocks)
        if ctx.needs_input_grad[1]:
            dw = torch.nn.grad.conv2d_weight(x, weight.shape, dpre, stride, padding)
        if has_bias and ctx.needs_input_grad[2]:
            db = dpre.sum((0, 2, 3))
        return dx, dw, db, None, None, None, None


class ConvTranspose2dAct(torch.autograd.Function):
    """``y = ConvTranspose2dAct.apply(x, weight, bias, stride, padding, activation="relu", blocks=None)``.

    x [B, C, H, W], weight [C, O, KH, KW], bias [O] or None (float32); activation
    "relu" | "none" | "sigmoid"; y [B, O, (H-1)s - 2p + KH, (W-1)s - 2p + KW].
    """

    @staticmethod
    def forward(ctx, x, weight, bias, stride=1, padding=0, activation="relu", blocks=None):
        act = activation_code(activation, ("none", "relu", "sigmoid"))
        stride, padding = _check(x, weight, bias, stride, padding)
        prec = dot_precision(x, torch.backends.cudnn.allow_tf32)
        y = conv_transpose2d_forward(x, weight, bias, stride, padding, act, prec, (0, 0), blocks)
        ctx.save_for_backward(x, weight, y)
        ctx.conf = (stride, padding, activation, prec, blocks, bias is not None)
        return y

    @staticmethod
    def backward(ctx, dy):
        x, weight, y = ctx.saved_tensors
        stride, padding, activation, prec, blocks, has_bias = ctx.conf
        dpre = activation_grad(dy, y, activation).contiguous()
        dx = dw = db = None
        if ctx.needs_input_grad[0]:
            # the input gradient of a transposed convolution is a convolution of dpre with the same weight
            dx = conv2d_forward(dpre, weight, None, stride, padding, 0, prec, blocks)
        if ctx.needs_input_grad[1]:
            # y = conv2d_input-style map of x; its weight gradient is conv2d's with the roles swapped
            dw = torch.nn.grad.conv2d_weight(dpre, weight.shape, x, stride, padding)
        if has_bias and ctx.needs_input_grad[2]:
            db = dpre.sum((0, 2, 3))
        return dx, dw, db, None, None, None, None
