"""Training-step throughput of the β-VAE: PyTorch eager, the Triton-fused path and torch.compile.

    python benchmarks/bench_train.py [--steps N] [--batch 64 256] [--image-size 64]
                                     [--device auto|cpu|cuda] [--train-call]
                                     [--paths eager fused compile eager+graph fused+graph]

One JSON line per (path, batch) with steps/s, then one summary line per batch with the ratios
of each fused path to eager and to compile, and whether design section 6's targets hold for it
(on an H100: fused >= 1.5x eager and >= 1.0x torch.compile). A full step is timed: forward,
loss, backward and the Adam update, on random images, every path in the same run.

The paths differ only in how faceit.models.ops runs: "eager" sets FACEIT_DISABLE_TRITON=1,
"fused" lets ops take the Triton kernels (CUDA only; on the CPU the line says it did not run),
"compile" wraps the eager loss in torch.compile (inductor). "eager+graph" and "fused+graph"
capture the whole step (forward, backward, Adam with capturable=True) in one CUDA graph and
replay it (faceit.models.graph_step, as train() does on a GPU), which removes the per-launch
CPU cost that dominates this small network on a GPU (CUDA only). On the CPU every line is
marked device "cpu" and no target applies. With --train-call, it also times
faceit.models.train itself (batches drawn from images, logging), with the Triton kernels on
and off and cuda_graph off and on: what a user's run gets.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
import traceback

import torch

sys.path.insert(0, os.path.dirname(__file__))
from _common import emit  # noqa: E402

from faceit.models import BetaVAE, ops, train  # noqa: E402
from faceit.models.graph_step import GraphedTrainingStep  # noqa: E402
from faceit.models.objectives import batch_loss  # noqa: E402

TARGET_VS_EAGER = 1.5
TARGET_VS_COMPILE = 1.0
PATHS = ("eager", "fused", "compile", "eager+graph", "fused+graph")


@contextlib.contextmanager
def triton_disabled(disabled: bool):
    old = os.environ.get("FACEIT_DISABLE_TRITON")
    os.environ["FACEIT_DISABLE_TRITON"] = "1" if disabled else "0"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("FACEIT_DISABLE_TRITON", None)
        else:
            os.environ["FACEIT_DISABLE_TRITON"] = old


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_step(path: str, model, x: torch.Tensor, eps: torch.Tensor):
    """A no-argument function that runs one full training step of ``path`` on (x, eps)."""
    graph = path.endswith("+graph")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, capturable=graph)
    if graph:  # the step train() replays on a GPU (faceit.models.graph_step)
        graphed = GraphedTrainingStep(model, optimizer)
        return lambda: graphed(x, eps, 1.0)

    def loss_fn(x, eps):
        return batch_loss(model, x, eps, 1.0).loss

    step_loss = torch.compile(loss_fn) if path == "compile" else loss_fn

    def step():
        loss = step_loss(x, eps)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def time_steps(path: str, batch: int, steps: int, warmup: int, image_size: int, device: torch.device) -> dict:
    """Steps per second of one path at one batch size (fresh model and optimizer, seed 0)."""
    torch.manual_seed(0)
    # the network's step alone (tc_weight=0: no TC critic), as every figure in benchmarks/README.md
    model = BetaVAE(latent_dim=10, beta=4.0, image_size=image_size, likelihood="bernoulli",
                    beta_warmup=0.0, tc_weight=0.0).to(device).train()
    gen = torch.Generator(device=device).manual_seed(0)
    x = torch.rand(batch, 3, image_size, image_size, device=device, generator=gen)
    eps = torch.randn(batch, model.latent_dim, device=device, generator=gen)
    with triton_disabled(not path.startswith("fused")):
        t0 = time.perf_counter()
        step = make_step(path, model, x, eps)
        for _ in range(warmup):  # includes compilation, autotuning and graph capture
            step()
        _sync(device)
        warm_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        _sync(device)
        elapsed = time.perf_counter() - t0
    return {"steps_per_s": steps / elapsed, "seconds": elapsed, "warmup_s": warm_s}


def time_train_call(batch: int, steps: int, image_size: int, device: torch.device, cuda_graph: bool) -> dict:
    """Steps per second of faceit.models.train (warm-up, batch sampling and logging included)."""
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (2048, image_size, image_size, 3), generator=gen, dtype=torch.uint8).numpy()
    model = BetaVAE(latent_dim=10, beta=4.0, image_size=image_size, tc_weight=0.0)
    result = train(model, images, steps, batch_size=batch, device=device, cuda_graph=cuda_graph, progress=False)
    return {"steps_per_s": result.steps_per_second, "seconds": result.seconds, "steps": steps}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=None, help="timed steps per path (default 100 GPU, 5 CPU)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps first (default 10 GPU, 2 CPU)")
    parser.add_argument("--batch", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--paths", nargs="+", default=list(PATHS), choices=PATHS)
    parser.add_argument("--train-call", action="store_true",
                        help="also time faceit.models.train: Triton kernels on and off, cuda_graph off and on "
                             "(CUDA only)")
    args = parser.parse_args(argv)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available()
                          else ("cpu" if args.device == "auto" else args.device))
    gpu = device.type == "cuda"
    steps = args.steps or (100 if gpu else 5)
    warmup = args.warmup if args.warmup is not None else (10 if gpu else 2)
    device_name = torch.cuda.get_device_name(device) if gpu else "cpu"
    common = {"device": device.type, "device_name": device_name, "image_size": args.image_size,
              "torch": torch.__version__, "timed_steps": steps}
    if gpu:
        torch.backends.cudnn.benchmark = True

    failed = []
    for batch in args.batch:
        rates = {}
        for path in args.paths:
            if path.startswith("fused") and not ops.triton_enabled(torch.empty(0, device=device)):
                reason = "needs CUDA and Triton" if not gpu else "Triton unavailable or FACEIT_DISABLE_TRITON set"
                emit("train_step", path=path, batch=batch, ran=False, reason=reason, **common)
                continue
            if path.endswith("+graph") and not gpu:
                emit("train_step", path=path, batch=batch, ran=False, reason="CUDA graphs need a CUDA device",
                     **common)
                continue
            try:
                result = time_steps(path, batch, steps, warmup, args.image_size, device)
            except Exception as exc:
                traceback.print_exc()  # to stderr: the JSON line keeps only the first line
                emit("train_step", path=path, batch=batch, ran=False,
                     reason=f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}", **common)
                if path != "compile":  # torch.compile may lack a compiler toolchain; faceit's own paths must run
                    failed.append(path)
                continue
            rates[path] = result["steps_per_s"]
            emit("train_step", path=path, batch=batch, ran=True, **result, **common)
        summary = {"batch": batch, **common}
        if "compile" in rates and "eager" in rates:
            summary["compile_vs_eager"] = rates["compile"] / rates["eager"]
        if "fused+graph" in rates and "eager+graph" in rates:
            summary["fused_graph_vs_eager_graph"] = rates["fused+graph"] / rates["eager+graph"]
        for fused in ("fused", "fused+graph"):
            for ref in ("eager", "compile"):
                if fused in rates and ref in rates:
                    summary[f"{fused}_vs_{ref}"] = rates[fused] / rates[ref]
        judged = [f for f in ("fused", "fused+graph") if f"{f}_vs_eager" in summary and f"{f}_vs_compile" in summary]
        if gpu and judged:
            summary["target"] = f"fused >= {TARGET_VS_EAGER}x eager and >= {TARGET_VS_COMPILE}x compile (H100)"
            for fused in judged:
                summary[f"target_met_{fused}"] = bool(summary[f"{fused}_vs_eager"] >= TARGET_VS_EAGER
                                                      and summary[f"{fused}_vs_compile"] >= TARGET_VS_COMPILE)
            if "fused_graph_vs_eager_graph" in summary:
                # what the Triton kernels give on their own, the CUDA graph's share taken out
                summary["target_met_by_the_kernels_alone"] = bool(
                    summary["fused_graph_vs_eager_graph"] >= TARGET_VS_EAGER)
        else:
            summary["target"] = "not applicable (no fused path ran on this device)"
        emit("train_step_summary", **summary)
        if args.train_call and gpu:
            call_rates = {}
            for kernels in ("triton", "torch"):
                for graph in (False, True):
                    with triton_disabled(kernels == "torch"):
                        result = time_train_call(batch, 10 * steps, args.image_size, device, graph)
                    call_rates[kernels, graph] = result["steps_per_s"]
                    emit("train_call", kernels=kernels, cuda_graph=graph, batch=batch, **result, **common)
            plain = call_rates["torch", False]
            emit("train_call_summary", batch=batch, **common,
                 **{f"{k}{'+graph' if g else ''}_vs_torch": r / plain for (k, g), r in call_rates.items()})
    if failed:
        sys.exit(f"bench_train: path(s) {sorted(set(failed))} failed to run (see the traceback above)")


if __name__ == "__main__":
    main()
