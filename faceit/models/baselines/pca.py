"""PCA on pixels, and the linear pixel-model machinery that ICA shares.

A linear pixel model maps flattened images x (float [D] in [0, 1], D = H*W*C) to units
u = (x - mean) @ encoder.T and back by x = u @ decoder.T + mean.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..._validation import check_positive_int
from .base import Baseline, missing_state


def fit_pca(x: np.ndarray, n_components: int, seed: int):
    """scikit-learn PCA of rows of ``x`` [N, D]: (mean [D], components [k, D], variances [k]).

    Deterministic for ``seed`` (sklearn picks the randomized solver for large inputs).
    """
    from sklearn.decomposition import PCA as _SkPCA

    pca = _SkPCA(n_components=n_components, random_state=seed).fit(x)
    return pca.mean_, pca.components_, pca.explained_variance_


class LinearPixelBaseline(Baseline):
    """Shared code of PCA and ICA: units are a linear map of the pixels, so is the inverse."""

    has_decoder = True

    def __init__(self, n_units: int = 50, seed: int = 0, name: str | None = None):
        super().__init__(name)
        self.n_units = check_positive_int(n_units, "n_units")
        self.seed = check_positive_int(seed, "seed", minimum=0)
        self.mean_ = self.encoder_ = self.decoder_ = None

    @property
    def n_units_(self) -> int:
        return self.n_units

    def get_config(self) -> dict:
        return {"n_units": self.n_units, "seed": self.seed}

    def _fit(self, stimuli, images):
        x = images.reshape(len(images), -1)
        self._check_n_units(self.n_units, "n_units", x.shape[0], x.shape[1], "pixel values")
        self.mean_, self.encoder_, self.decoder_ = self._fit_linear(x)

    def _fit_linear(self, x: np.ndarray):
        """Return (mean [D], encoder [K, D], decoder [D, K]) fitted on x [N, D]."""
        raise NotImplementedError

    def _transform(self, stimuli, images):
        x = images.reshape(len(images), -1)
        return ((x - self.mean_) @ self.encoder_.T).astype(np.float64)

    def _inverse_transform(self, units):
        x = units.astype(np.float32) @ self.decoder_.T + self.mean_
        return x.reshape((len(units), *self.image_shape_))

    def _get_state(self):
        return {"mean": self.mean_, "encoder": self.encoder_, "decoder": self.decoder_}

    def _set_state(self, arrays, path: Path, meta: dict):
        missing_state(path, arrays, ("mean", "encoder", "decoder"))
        self.mean_, self.encoder_, self.decoder_ = arrays["mean"], arrays["encoder"], arrays["decoder"]


class PCA(LinearPixelBaseline):
    """Principal components of the pixels (scikit-learn), the paper's PCA baseline.

    units [N, n_units]: projections of the mean-centred pixels (float, intensities in [0, 1])
    on the leading principal axes, largest variance first; inverse_transform renders
    u @ components + mean.
    """

    family = "pca"

    def _fit_linear(self, x):
        mean, components, _ = fit_pca(x, self.n_units, self.seed)
        return mean, components, np.ascontiguousarray(components.T)
