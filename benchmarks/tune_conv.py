"""Tile sizes for the implicit-GEMM convolution kernels, measured against cuDNN on the β-VAE's layers.

    python benchmarks/tune_conv.py [--batch 256] [--image-size 64]

For each of the 64x64 β-VAE's four convolutions and four transposed convolutions (the
decoder's; the encoder's input gradients run the same kernels on these shapes) it times
the Triton forward kernel alone (bias + ReLU fused, TF32 like cuDNN's default) over a grid
of (BLOCK_M, BLOCK_K, num_warps) and prints one JSON line per layer: the default
tiles' time, the best tiles and their time, and cuDNN's conv + bias + ReLU, each the median
of triton.testing.do_bench. The output is checked against cuDNN for every configuration
timed; ``all_ms`` gives every configuration's time ("BLOCK_M,BLOCK_K,num_warps"). CUDA only.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from _common import emit  # noqa: E402

from faceit.models import ops  # noqa: E402

ENC = (3, 32, 32, 64, 64)
CONFIGS = list(itertools.product((32, 64, 128), (16, 32, 64), (4, 8)))  # BLOCK_M, BLOCK_K, num_warps
DEFAULT = (64, 32, 4)  # what conv._blocks picks on a GPU, with Triton's default num_warps


def layers(batch: int, image: int, device="cuda"):
    """(name, transposed, x, weight, bias) for each convolution of the β-VAE at this batch size."""
    out, size = [], image
    for i in range(4):
        c, o = ENC[i], ENC[i + 1]
        out.append((f"conv2d_{c}x{size}->{o}", False, torch.randn(batch, c, size, size, device=device),
                    0.1 * torch.randn(o, c, 4, 4, device=device), torch.randn(o, device=device)))
        size //= 2
    for i in range(4):
        c, o = ENC[4 - i], ENC[3 - i]
        out.append((f"conv_transpose2d_{c}x{size}->{o}", True, torch.randn(batch, c, size, size, device=device),
                    0.1 * torch.randn(c, o, 4, 4, device=device), torch.randn(o, device=device)))
        size *= 2
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[256])
    parser.add_argument("--image-size", type=int, default=64)
    args = parser.parse_args()
    if not torch.cuda.is_available() or not ops.triton_available():
        emit("tune_conv", skipped="needs a CUDA GPU and Triton")
        return
    import triton
    from triton.testing import do_bench

    conv = ops._kernel("conv")
    torch.backends.cudnn.allow_tf32 = True
    for batch in args.batch:
        for name, transposed, x, w, b in layers(batch, args.image_size):
            batch_size, channels, size = x.shape[0], x.shape[1], x.shape[2]
            if transposed:
                reference = lambda: torch.relu(F.conv_transpose2d(x, w, b, 2, 1))  # noqa: E731
                n_out, out_size = w.shape[1], 2 * size
                rows = batch_size * (out_size // 2) ** 2  # GEMM rows per parity class
                kernel, grid_z, extra = conv._conv_transpose2d_fwd, 4, {"TH": 2, "TW": 2}
            else:
                reference = lambda: torch.relu(F.conv2d(x, w, b, 2, 1))  # noqa: E731
                n_out, out_size = w.shape[0], size // 2
                rows = batch_size * out_size ** 2
                kernel, grid_z, extra = conv._conv2d_fwd, 1, {}
            ref = reference()
            bn = conv.next_pow2(n_out, 16, 64)
            y = torch.empty_like(ref)

            def run(bm, bk, warps):
                grid = (triton.cdiv(rows, bm), triton.cdiv(n_out, bn), grid_z)
                kernel[grid](x, w, b, y, batch_size, channels, size, size, n_out, out_size, out_size,
                             KH=4, KW=4, STRIDE=2, PAD=1, **extra,
                             HAS_BIAS=True, ACTIVATION=1, PRECISION="tf32", BLOCK_M=bm, BLOCK_N=bn, BLOCK_K=bk,
                             num_warps=warps)

            times = {}
            for cfg in CONFIGS:
                y.fill_(float("nan"))
                try:
                    run(*cfg)
                except Exception as exc:  # a tile that does not fit shared memory, say
                    times[cfg] = f"{type(exc).__name__}"
                    continue
                err = ((y - ref).norm() / ref.norm()).item()
                if not err < 2e-3:  # NaN (an unwritten output) fails too
                    times[cfg] = f"wrong (relative error {err:.2g})"
                    continue
                times[cfg] = do_bench(lambda cfg=cfg: run(*cfg), warmup=5, rep=20, return_mode="median")
            timed = {c: t for c, t in times.items() if isinstance(t, float)}
            best = min(timed, key=timed.get)
            cudnn_ms = do_bench(reference, warmup=5, rep=20, return_mode="median")
            emit("tune_conv", layer=name, batch=batch, default_ms=timed.get(DEFAULT), best=list(best),
                 best_ms=timed[best], cudnn_ms=cudnn_ms, best_vs_cudnn=cudnn_ms / timed[best],
                 all_ms={",".join(map(str, c)): round(t, 4) for c, t in timed.items()},
                 failed={",".join(map(str, c)): t for c, t in times.items() if not isinstance(t, float)},
                 device=torch.cuda.get_device_name())


if __name__ == "__main__":
    main()
