"""Import guard for Triton.

Every kernel module does ``from ._triton import triton, tl``. Where Triton is missing,
that import raises :class:`faceit.errors.BackendUnavailableError` with a clear message,
and ``faceit.models.ops`` (which imports kernel modules only on the Triton path) keeps
working on the plain PyTorch path.
"""

from __future__ import annotations

from faceit.errors import BackendUnavailableError

try:  # pragma: no cover - exercised by the presence or absence of triton
    import triton
    import triton.language as tl
except ImportError as exc:  # pragma: no cover
    raise BackendUnavailableError(
        f"faceit.kernels needs Triton, which cannot be imported here ({exc}); "
        "install the 'gpu' extra or use the PyTorch path (ops.* fall back to it automatically)"
    ) from None

__all__ = ["triton", "tl", "dot_precision"]


def dot_precision(tensor, allow_tf32: bool) -> str:
    """The ``input_precision`` for ``tl.dot`` on ``tensor``'s device.

    Follows PyTorch's own policy so that the fused path and the eager path round the same
    way: "tf32" only on a CUDA device and only when the matching torch flag allows TF32
    (``torch.backends.cudnn.allow_tf32`` for convolutions,
    ``torch.backends.cuda.matmul.allow_tf32`` for linear layers); "ieee" otherwise,
    which the interpreter always uses, so CPU tests compare tightly with float64.
    """
    return "tf32" if (tensor.is_cuda and allow_tf32) else "ieee"
