"""ICA on pixels: scikit-learn's FastICA on the PCA-whitened images, the paper's ICA baseline."""

from __future__ import annotations

import numpy as np

from ..._validation import check_number, check_positive_int
from .pca import LinearPixelBaseline, fit_pca


class ICA(LinearPixelBaseline):
    """Independent components of the pixels.

    The images are first reduced to ``n_units`` whitened principal components (what FastICA's
    own whitening does, but through a randomized SVD that scales to many pixels), then
    FastICA finds the unmixing rotation. units [N, n_units]: the sources, unit variance on
    the training stimuli, each signed to have positive skewness there. inverse_transform
    maps sources back through the mixing matrix. When ``n_units`` exceeds the number of
    non-Gaussian directions in the images, FastICA may stop at ``max_iter`` with scikit-learn's
    ConvergenceWarning; the extra sources are then as arbitrary as any rotation of Gaussian ones.
    """

    family = "ica"

    def __init__(self, n_units: int = 50, seed: int = 0, max_iter: int = 300, tol: float = 1e-4,
                 name: str | None = None):
        super().__init__(n_units=n_units, seed=seed, name=name)
        self.max_iter = check_positive_int(max_iter, "max_iter")
        self.tol = check_number(tol, "tol", positive=True)

    def get_config(self) -> dict:
        return {**super().get_config(), "max_iter": self.max_iter, "tol": self.tol}

    def _fit_linear(self, x):
        from sklearn.decomposition import FastICA

        mean, components, variances = fit_pca(x, self.n_units, self.seed)
        scale = np.sqrt(np.maximum(variances, np.finfo(np.float64).tiny))
        whiten = components / scale[:, None].astype(components.dtype)            # [K, D]
        z = (x - mean) @ whiten.T                                                # [N, K], identity covariance
        ica = FastICA(whiten=False, random_state=self.seed, max_iter=self.max_iter, tol=self.tol)
        sources = ica.fit_transform(z.astype(np.float64))
        unmixing = ica.components_                                               # [K, K]
        skew = np.mean(sources**3, axis=0)
        unmixing = unmixing * np.where(skew < 0, -1.0, 1.0)[:, None]             # sign convention
        encoder = (unmixing @ whiten).astype(x.dtype)
        decoder = ((components.T * scale) @ np.linalg.pinv(unmixing)).astype(x.dtype)  # [D, K]
        return mean, encoder, decoder
