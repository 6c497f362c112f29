"""Tile sizes for the linear layers' GEMM kernel, measured against cuBLAS on the β-VAE's layers.

    python benchmarks/tune_linear.py [--batch 64 256]

The fused step spends more GPU time than eager in its linear layers (profile_step.py): with the
default 64x64x32 tiles a batch of 64 is one row of tiles, so `1024 -> 256` runs on 4 programs.
For each of the 64x64 β-VAE's four linear layers and each of the three GEMMs of LinearAct
(forward with bias + ReLU; dx = dpre W with the ReLU mask; dW = dpre^T x with the bias
gradient as row sums) this times ``linear_act.gemm`` over a grid of (BLOCK_M, BLOCK_N,
BLOCK_K) and the PyTorch expression of the same GEMM (cuBLAS, float32 like the fused path's
default), checks each output against PyTorch, and prints one JSON line per GEMM with the
default tiles' time, the best tiles and their time, and every tile's time (``all_ms``). CUDA only.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from _common import emit  # noqa: E402

from faceit.models import ops  # noqa: E402

LAYERS = ((1024, 256), (256, 20), (10, 256), (256, 1024))  # (in, out) of the 64x64 β-VAE, 10 latents
TILES = list(itertools.product((16, 32, 64), (32, 64, 128), (16, 32, 64)))  # BLOCK_M, BLOCK_N, BLOCK_K
DEFAULT = (64, 64, 32)  # what linear_act.gemm picks on a GPU


def gemms(batch: int, n_in: int, n_out: int, device):
    """(name, run(blocks) -> output, reference() -> output) for LinearAct's three GEMMs."""
    lin = ops._kernel("linear_act")
    x = torch.randn(batch, n_in, device=device)
    w = 0.1 * torch.randn(n_out, n_in, device=device)
    b = torch.randn(n_out, device=device)
    y = torch.relu(x @ w.t() + b)  # the saved output whose mask the backward applies
    dy = torch.randn(batch, n_out, device=device)
    dpre = dy * (y > 0)
    db = torch.empty(n_out, device=device)

    def fwd(blocks):
        return lin.gemm(x, w.t(), torch.empty(batch, n_out, device=device), bias=b, activation=1,
                        precision="ieee", blocks=blocks)

    def dx(blocks):
        return lin.gemm(dy, w, torch.empty(batch, n_in, device=device), relu_mask_a=y, precision="ieee",
                        blocks=blocks)

    def dw(blocks):
        return lin.gemm(dy.t(), x, torch.empty(n_out, n_in, device=device), relu_mask_a=y.t(), rowsum=db,
                        precision="ieee", blocks=blocks)

    return [("forward", fwd, lambda: torch.relu(torch.nn.functional.linear(x, w, b))),
            ("dx", dx, lambda: dpre @ w),
            ("dW", dw, lambda: dpre.t() @ x)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[64, 256])
    args = parser.parse_args()
    if not torch.cuda.is_available() or not ops.triton_available():
        emit("tune_linear", skipped="needs a CUDA GPU and Triton")
        return
    from triton.testing import do_bench

    torch.backends.cuda.matmul.allow_tf32 = False  # the fused path's default precision ("ieee")
    for batch in args.batch:
        for n_in, n_out in LAYERS:
            for name, run, reference in gemms(batch, n_in, n_out, "cuda"):
                ref = reference()
                times = {}
                for tiles in TILES:
                    out = run(tiles)
                    err = ((out - ref).norm() / ref.norm().clamp_min(1e-12)).item()
                    if not err < 1e-4:  # NaN fails too
                        times[tiles] = f"wrong (relative error {err:.2g})"
                        continue
                    times[tiles] = do_bench(lambda tiles=tiles: run(tiles), warmup=5, rep=20, return_mode="median")
                timed = {t: v for t, v in times.items() if isinstance(v, float)}
                best = min(timed, key=timed.get)
                torch_ms = do_bench(reference, warmup=5, rep=20, return_mode="median")
                emit("tune_linear", layer=f"linear_{n_in}->{n_out}", gemm=name, batch=batch,
                     default_ms=timed.get(DEFAULT), best=list(best), best_ms=timed[best], torch_ms=torch_ms,
                     best_vs_torch=torch_ms / timed[best],
                     all_ms={",".join(map(str, t)): round(v, 4) for t, v in timed.items()},
                     failed={",".join(map(str, t)): v for t, v in times.items() if not isinstance(v, float)},
                     device=torch.cuda.get_device_name())


if __name__ == "__main__":
    main()
