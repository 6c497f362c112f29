"""The one switch between Triton-fused kernels and plain PyTorch for the model's hot pieces.

The models call only these functions for linear layers, convolutions, transposed
convolutions, the reparameterisation with its KL, and the reconstruction loss. Each one
runs the fused Triton autograd Function from ``faceit.kernels`` when
:func:`triton_enabled` says so for its input (a CUDA tensor, Triton importable,
``FACEIT_DISABLE_TRITON`` not set) and the tensors are float32 outside autocast;
otherwise it runs the plain PyTorch expression written here. Both paths compute the same
function and give gradients for every tensor argument.

    >>> import torch
    >>> from faceit.models import ops
    >>> x = torch.randn(8, 16)
    >>> ops.linear(x, torch.randn(4, 16), torch.zeros(4), activation="relu").shape
    torch.Size([8, 4])
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

from ..errors import ConfigError, DataError

__all__ = ["triton_enabled", "triton_available", "linear", "conv2d", "conv_transpose2d",
           "reparameterize_kl", "reconstruction_nll"]

_DISABLE_VAR = "FACEIT_DISABLE_TRITON"
_TRUE = {"1", "true", "yes", "on"}
_MAX_NUMEL = 2**31  # the kernels index with int32 offsets


# -- the switch ----------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def triton_available() -> bool:
    """True when Triton can be imported here (checked once per process)."""
    try:
        import triton  # noqa: F401
        import triton.language  # noqa: F401
    except Exception:  # ImportError, or a broken install that fails while importing
        return False
    return True


def _is_cuda(t: torch.Tensor) -> bool:
    # kept separate so that tests can route CPU tensors through the kernels (TRITON_INTERPRET=1)
    return t.is_cuda


def triton_enabled(t: torch.Tensor) -> bool:
    """True when ``t`` is on a CUDA device, Triton imports, and FACEIT_DISABLE_TRITON is not set to 1."""
    return (_is_cuda(t) and os.environ.get(_DISABLE_VAR, "0").strip().lower() not in _TRUE
            and triton_available())


def _fused(*tensors) -> bool:
    """Whether this call takes the Triton path: enabled for the first tensor, every tensor float32,
    on its device and within the kernels' int32 offsets, and no autocast in force (under autocast
    PyTorch picks the dtypes)."""
    first = tensors[0]
    if not triton_enabled(first):
        return False
    if torch.is_autocast_enabled(first.device.type):
        return False
    return all(t is None or (t.dtype == torch.float32 and t.device == first.device and t.numel() < _MAX_NUMEL)
               for t in tensors)


def _kernel(module: str):
    """Import ``faceit.kernels.<module>`` (from a source checkout too, where kernels/ sits beside faceit/)."""
    try:
        return importlib.import_module(f"faceit.kernels.{module}")
    except ModuleNotFoundError as exc:
        if exc.name not in ("faceit.kernels", f"faceit.kernels.{module}") or "faceit.kernels" in sys.modules:
            raise
    root = Path(__file__).resolve().parents[2] / "kernels"
    spec = importlib.util.spec_from_file_location("faceit.kernels", root / "__init__.py",
                                                  submodule_search_locations=[str(root)])
    if spec is None or not (root / "__init__.py").exists():
        raise ModuleNotFoundError(f"faceit.kernels is not installed and {root} does not exist")
    package = importlib.util.module_from_spec(spec)
    sys.modules["faceit.kernels"] = package
    spec.loader.exec_module(package)
    return importlib.import_module(f"faceit.kernels.{module}")


# -- argument checks shared by both paths ----------------------------------------------------------

def _check_activation(activation: str, allowed: tuple[str, ...]) -> None:
    if activation not in allowed:
        raise ConfigError(f"activation={activation!r} is not one of {sorted(allowed)}")


def _check_tensor(t, name: str, ndim: int) -> None:
    if not isinstance(t, torch.Tensor):
        raise DataError(f"{name}: expected a torch.Tensor, got {type(t).__name__}")
    if t.dim() != ndim:
        raise DataError(f"{name}: expected a {ndim}-D tensor, got shape {tuple(t.shape)}")


def _square(v, name: str):
    """An int for a square stride/padding, or None when ``v`` differs between the axes."""
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ConfigError(f"{name}={v!r}: expected an int or a pair")
        return int(v[0]) if v[0] == v[1] else None
    return int(v)


def _activate(y: torch.Tensor, activation: str) -> torch.Tensor:
    if activation == "relu":
        return F.relu(y)
    if activation == "sigmoid":
        return torch.sigmoid(y)
    return y


# -- the operations ------------------------------------------------------------------------------

def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, activation: str = "relu") -> torch.Tensor:
    """act(x @ weight^T + bias): x [B, in], weight [out, in], bias [out] or None -> [B, out].

    activation: "relu" or "none".
    """
    _check_activation(activation, ("relu", "none"))
    _check_tensor(x, "x", 2)
    _check_tensor(weight, "weight", 2)
    if x.shape[1] != weight.shape[1]:
        raise DataError(f"x has {x.shape[1]} features but weight {tuple(weight.shape)} expects {weight.shape[1]}")
    if _fused(x, weight, bias):
        return _kernel("linear_act").LinearAct.apply(x, weight, bias, activation)
    return _activate(F.linear(x, weight, bias), activation)


def conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, stride=1, padding=0,
           activation: str = "relu") -> torch.Tensor:
    """act(conv2d(x, weight) + bias): x [B, C, H, W], weight [O, C, kh, kw], bias [O] -> [B, O, OH, OW].

    activation: "relu" or "none". stride, padding: ints (or pairs).
    """
    _check_activation(activation, ("relu", "none"))
    _check_tensor(x, "x", 4)
    _check_tensor(weight, "weight", 4)
    s, p = _square(stride, "stride"), _square(padding, "padding")
    if s is not None and p is not None and _fused(x, weight, bias):
        return _kernel("conv").Conv2dAct.apply(x, weight, bias, s, p, activation)
    return _activate(F.conv2d(x, weight, bias, stride, padding), activation)


def conv_transpose2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, stride=1, padding=0,
                     activation: str = "relu") -> torch.Tensor:
    """act(conv_transpose2d(x, weight) + bias): x [B, C, H, W], weight [C, O, kh, kw], bias [O]
    -> [B, O, (H-1)*stride - 2*padding + kh, (W-1)*stride - 2*padding + kw].

    activation: "relu", "none" or "sigmoid".
    """
    _check_activation(activation, ("relu", "none", "sigmoid"))
    _check_tensor(x, "x", 4)
    _check_tensor(weight, "weight", 4)
    s, p = _square(stride, "stride"), _square(padding, "padding")
    if s is not None and p is not None and _fused(x, weight, bias):
        return _kernel("conv").ConvTranspose2dAct.apply(x, weight, bias, s, p, activation)
    return _activate(F.conv_transpose2d(x, weight, bias, stride, padding), activation)


def reparameterize_kl(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Reparameterised sample and per-unit KL to the standard normal prior.

    mu, logvar, eps: [B, K]. Returns z = mu + exp(logvar / 2) * eps [B, K] and
    kl_per_unit [K] = batch mean of 0.5 * (mu^2 + exp(logvar) - 1 - logvar), in nats.
    """
    for t, name in ((mu, "mu"), (logvar, "logvar"), (eps, "eps")):
        _check_tensor(t, name, 2)
    if logvar.shape != mu.shape or eps.shape != mu.shape:
        raise DataError(f"mu {tuple(mu.shape)}, logvar {tuple(logvar.shape)} and eps {tuple(eps.shape)} "
                        "must have the same shape [B, K]")
    if _fused(mu, logvar, eps):
        return _kernel("reparam_kl").ReparamKL.apply(mu, logvar, eps)
    z = mu + torch.exp(0.5 * logvar) * eps
    kl_per_unit = (0.5 * (mu.square() + logvar.exp() - 1.0 - logvar)).mean(0)
    return z, kl_per_unit


def reconstruction_nll(output: torch.Tensor, target: torch.Tensor, likelihood: str = "bernoulli",
                       sigma: float = 0.1) -> torch.Tensor:
    """Per-sample negative log-likelihood summed over pixels, [B] nats.

    output, target: [B, C, H, W] (any [B, ...]), target in [0, 1].
    bernoulli: ``output`` are logits; binary cross-entropy with logits (stable for any logit).
    gaussian: ``output`` is the mean; sum (target - output)^2 / (2 sigma^2). The constant
    N log(sigma sqrt(2 pi)) per sample is omitted: it shifts the loss, not its gradients.
    """
    if likelihood not in ("bernoulli", "gaussian"):
        raise ConfigError(f"likelihood={likelihood!r} is not one of ['bernoulli', 'gaussian']")
    try:
        sigma = float(sigma)
    except (TypeError, ValueError):
        raise ConfigError(f"sigma must be a positive number, got {sigma!r}") from None
    if not (sigma > 0 and sigma < float("inf")):
        raise ConfigError(f"sigma must be a positive number, got {sigma!r}")
    for t, name in ((output, "output"), (target, "target")):
        if not isinstance(t, torch.Tensor):
            raise DataError(f"{name}: expected a torch.Tensor, got {type(t).__name__}")
    if output.shape != target.shape or output.dim() < 1:
        raise DataError(f"output {tuple(output.shape)} and target {tuple(target.shape)} "
                        "must have the same shape [B, ...]")
    if _fused(output, target):
        return _kernel("recon_loss").ReconstructionNLL.apply(output, target, likelihood, sigma)
    if likelihood == "bernoulli":
        per_pixel = F.binary_cross_entropy_with_logits(output, target, reduction="none")
    else:
        per_pixel = (output - target).square() / (2.0 * sigma * sigma)
    return per_pixel.reshape(output.shape[0], -1).sum(1)
