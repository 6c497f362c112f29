"""Per-kernel benchmark: the Triton-fused ops against PyTorch eager (and torch.compile), GPU only.

    python benchmarks/bench_kernels.py [--batch 64 256] [--no-compile] [--quick]

For each fused piece of the 64x64 β-VAE (its four convolutions, four transposed
convolutions, four linear layers, the reparameterisation + KL and the reconstruction loss)
it times forward + backward through ``faceit.models.ops`` with the Triton path on and
off (FACEIT_DISABLE_TRITON), and through ``torch.compile`` of the PyTorch expression, in
the same run, and prints one JSON line each with the times, the ratios and the largest
difference between the fused and eager outputs. Prints one skip line without a GPU.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from _common import emit  # noqa: E402

from faceit.models import ops  # noqa: E402

IMAGE, CHANNELS, LATENT, HIDDEN = 64, 3, 10, 256
ENC = (3, 32, 32, 64, 64)


def workloads(batch: int, dev):
    """(name, function of tensors, input tensors) for every fused piece of the 64x64 β-VAE."""
    def t(*shape, scale=0.1):
        return (torch.randn(*shape, device=dev) * scale).requires_grad_()

    out = []
    size = IMAGE
    for i in range(4):
        c, o = ENC[i], ENC[i + 1]
        out.append((f"conv2d_{c}x{size}x{size}->{o}",
                    lambda x, w, b: ops.conv2d(x, w, b, 2, 1, activation="relu"),
                    (t(batch, c, size, size, scale=1.0), t(o, c, 4, 4), t(o))))
        size //= 2
    for i in range(4):
        c, o = ENC[4 - i], ENC[3 - i]
        act = "relu" if i < 3 else "none"
        out.append((f"conv_transpose2d_{c}x{size}x{size}->{o}_{act}",
                    lambda x, w, b, act=act: ops.conv_transpose2d(x, w, b, 2, 1, activation=act),
                    (t(batch, c, size, size, scale=1.0), t(c, o, 4, 4), t(o))))
        size *= 2
    feat = ENC[-1] * (IMAGE // 16) ** 2
    for n_in, n_out, act in ((feat, HIDDEN, "relu"), (HIDDEN, 2 * LATENT, "none"), (LATENT, HIDDEN, "relu"),
                             (HIDDEN, feat, "relu")):
        out.append((f"linear_{n_in}->{n_out}_{act}", lambda x, w, b, act=act: ops.linear(x, w, b, activation=act),
                    (t(batch, n_in, scale=1.0), t(n_out, n_in), t(n_out))))
    out.append(("reparameterize_kl", ops.reparameterize_kl,
                (t(batch, LATENT, scale=1.0), t(batch, LATENT), torch.randn(batch, LATENT, device=dev))))
    target = torch.rand(batch, CHANNELS, IMAGE, IMAGE, device=dev)
    for lik in ("bernoulli", "gaussian"):
        out.append((f"reconstruction_nll_{lik}", lambda o, lik=lik: ops.reconstruction_nll(o, target, lik, 0.1),
                    (t(batch, CHANNELS, IMAGE, IMAGE, scale=1.0),)))
    return out


def time_fwd_bwd(fn, inputs, iters: int) -> tuple[float, tuple]:
    """Median milliseconds of forward + backward, and the last outputs."""
    def step():
        outs = fn(*inputs)
        outs = outs if isinstance(outs, tuple) else (outs,)
        torch.autograd.backward(outs, [torch.ones_like(o) for o in outs])
        return outs

    for _ in range(5):
        step()
    times = []
    for _ in range(iters):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        outs = step()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times), outs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile reference")
    parser.add_argument("--quick", action="store_true", help="fewer timed iterations")
    args = parser.parse_args()
    if not torch.cuda.is_available() or not ops.triton_available():
        emit("kernels", skipped="needs a CUDA GPU and Triton", cuda=torch.cuda.is_available(),
             triton=ops.triton_available())
        return
    dev = torch.device("cuda")
    iters = 10 if args.quick else 50
    for batch in args.batch:
        for name, fn, inputs in workloads(batch, dev):
            os.environ.pop("FACEIT_DISABLE_TRITON", None)
            assert ops.triton_enabled(inputs[0])
            t_fused, fused = time_fwd_bwd(fn, inputs, iters)
            os.environ["FACEIT_DISABLE_TRITON"] = "1"
            t_eager, eager = time_fwd_bwd(fn, inputs, iters)
            fields = {"batch": batch, "fused_ms": t_fused, "eager_ms": t_eager, "speedup_vs_eager": t_eager / t_fused,
                      "max_abs_diff": max((a - b).abs().max().item() for a, b in zip(fused, eager)),
                      "tf32_conv": torch.backends.cudnn.allow_tf32,
                      "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
                      "device": torch.cuda.get_device_name()}
            if not args.no_compile:
                try:
                    t_comp, _ = time_fwd_bwd(torch.compile(fn), inputs, iters)  # the PyTorch path, compiled
                    fields.update(compile_ms=t_comp, speedup_vs_compile=t_comp / t_fused)
                except Exception as exc:  # a compiler failure is reported, not fatal
                    fields.update(compile_error=f"{type(exc).__name__}: {exc}"[:200])
            os.environ.pop("FACEIT_DISABLE_TRITON", None)
            emit(f"kernel_{name}", **fields)


if __name__ == "__main__":
    main()
