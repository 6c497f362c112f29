"""Triton kernels, installed as ``faceit.kernels``.

Each fused piece of the β-VAE is a ``torch.autograd.Function`` with a Triton forward and
backward; models reach them only through :mod:`faceit.models.ops`, which picks them for
float32 CUDA tensors and falls back to PyTorch elsewhere.

    ReparamKL            reparameterised sample + per-unit KL and its batch mean   (reparam_kl)
    ReconstructionNLL    Bernoulli-with-logits or Gaussian NLL, summed per sample   (recon_loss)
    LinearAct            x @ W^T + b with a ReLU epilogue                         (linear_act)
    Conv2dAct            implicit-GEMM convolution, bias + ReLU epilogue            (conv)
    ConvTranspose2dAct   sub-pixel implicit-GEMM transposed conv, bias + ReLU/sigmoid (conv)

Kernel modules import triton on first use, so that ``import faceit`` works where triton
is absent (they raise BackendUnavailableError then). Set ``TRITON_INTERPRET=1`` before
importing them to run on the CPU. Design notes: docs/kernels.md.
"""

from importlib import import_module

_EXPORTS = {"ReparamKL": "reparam_kl", "ReconstructionNLL": "recon_loss", "LinearAct": "linear_act",
            "Conv2dAct": "conv", "ConvTranspose2dAct": "conv"}


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = sorted(_EXPORTS)
