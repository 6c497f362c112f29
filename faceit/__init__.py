"""faceit: do the units of a disentangling generative model match single face-patch neurons one-to-one?

A fast, tested reimplementation and extension of Higgins et al. (2021), Nature Communications 12:6456.
Subpackages import lazily; see the README for the API.
"""

from importlib import import_module

from .errors import FaceitError

__version__ = "0.1.0"

_SUBMODULES = {"assign", "stimuli", "neural", "models", "compare", "stats", "decode", "report", "errors", "kernels"}


def __getattr__(name):
    if name in _SUBMODULES:
        return import_module(f".{name}", __name__)
    raise AttributeError(f"module 'faceit' has no attribute {name!r}")


__all__ = ["FaceitError", "__version__", *sorted(_SUBMODULES)]
