"""The paper's comparison models behind one interface: ``fit(stimuli)``, ``transform(stimuli) -> Representation``.

    from faceit.models.baselines import PCA, ICA, AAM, IdentityClassifier, Autoencoder, load_baseline
    rep = PCA(n_units=50).fit(train_stimuli).transform(test_stimuli)   # units [N, 50]
    model.save("pca.safetensors"); model = load_baseline("pca.safetensors")

Every baseline is deterministic for its ``seed``, saves to one checksummed safetensors file,
and (PCA, ICA, AAM, Autoencoder) renders images from units with ``inverse_transform``.
"""

from .aam import AAM
from .autoencoder import Autoencoder
from .base import Baseline, load_baseline
from .classifier import IdentityClassifier, IdentityCNN
from .ica import ICA
from .pca import PCA

__all__ = ["AAM", "Autoencoder", "Baseline", "ICA", "IdentityCNN", "IdentityClassifier", "PCA", "load_baseline"]
