"""Where a training step's GPU time goes: the kernels of one step, PyTorch eager against the Triton path.

    python benchmarks/profile_step.py [--batch 64 256] [--image-size 64] [--steps 10]

For each path and batch it profiles plain (not graphed) steps with torch.profiler and prints
one JSON line with the GPU time of all kernels per step (the floor a CUDA-graph replay can
reach), the number of kernel launches per step, and the top kernels by GPU time. CUDA only.
"""

from __future__ import annotations

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from _common import emit  # noqa: E402
from bench_train import make_step, triton_disabled  # noqa: E402

from faceit.models import BetaVAE  # noqa: E402


def kernel_times(prof, steps: int) -> tuple[float, float, list]:
    """(GPU microseconds per step, launches per step, top kernels) from a finished profiler."""
    kernels = []
    for evt in prof.key_averages():
        if "CUDA" not in str(getattr(evt, "device_type", "")):
            continue
        us = getattr(evt, "self_device_time_total", None)
        if us is None:
            us = getattr(evt, "self_cuda_time_total", 0.0)
        kernels.append((evt.key, us / steps, evt.count / steps))
    kernels.sort(key=lambda k: -k[1])
    total = sum(k[1] for k in kernels)
    launches = sum(k[2] for k in kernels)
    top = [{"kernel": name[:80], "us_per_step": round(us, 1), "per_step": round(n, 1)} for name, us, n in kernels[:12]]
    return total, launches, top


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        emit("profile_step", skipped="needs a CUDA GPU")
        return
    dev = torch.device("cuda")
    for batch in args.batch:
        for path in ("eager", "fused"):
            torch.manual_seed(0)
            model = BetaVAE(latent_dim=10, beta=4.0, image_size=args.image_size, beta_warmup=0.0, tc_weight=0.0).to(dev)
            x = torch.rand(batch, 3, args.image_size, args.image_size, device=dev)
            eps = torch.randn(batch, 10, device=dev)
            with triton_disabled(path != "fused"):
                step = make_step(path, model, x, eps)
                for _ in range(5):
                    step()
                torch.cuda.synchronize()
                with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
                    for _ in range(args.steps):
                        step()
                    torch.cuda.synchronize()
            total, launches, top = kernel_times(prof, args.steps)
            emit("profile_step", path=path, batch=batch, image_size=args.image_size,
                 gpu_us_per_step=round(total, 1), kernel_launches_per_step=round(launches, 1), top=top,
                 device=torch.cuda.get_device_name())


if __name__ == "__main__":
    main()
