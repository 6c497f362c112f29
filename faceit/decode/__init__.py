"""Reconstruction of faces from a handful of neurons (design 4.7, Fig 7).

decode_units: one univariate regression per matched (unit, neuron) pair.
reconstruct:  decoded units through a model's decoder, with latent and pixel scores.
compare_models: one-sided t-tests between model classes, over their models; save_reconstruction_grid: the figure.
"""

from .reconstruct import Reconstruction, compare_models, reconstruct, save_reconstruction_grid
from .units import LinearDecoder, decode_units

__all__ = ["LinearDecoder", "Reconstruction", "compare_models", "decode_units", "reconstruct",
           "save_reconstruction_grid"]
