"""The baselines (PCA, ICA, AAM, identity classifier, AE/VAE adapter) behind one interface.

References: numpy eigendecompositions (PCA), known independent sources (ICA), the synthetic
world's ground-truth factors and identities, held-out ridge probes (scikit-learn).
"""

import numpy as np
import pytest
import torch
from sklearn.linear_model import RidgeCV

from faceit.errors import CheckpointError, ConfigError, DataError
from faceit.models.baselines import (AAM, ICA, PCA, Autoencoder, IdentityClassifier, load_baseline)
from faceit.representation import Representation
from faceit.stimuli import Stimuli, synthetic_faces, synthetic_identities

SIZE = 32


@pytest.fixture(scope="module")
def faces():
    """Training and held-out synthetic faces with landmarks and ground-truth factors."""
    return synthetic_faces(500, seed=1, size=SIZE), synthetic_faces(250, seed=2, size=SIZE)


@pytest.fixture(scope="module")
def identities():
    """20 identities x 12 views; views 0-7 train the classifier, 8-11 are held out."""
    s = synthetic_identities(20, 12, seed=3, size=SIZE)
    view = np.arange(len(s)) % 12
    return s.subset(view < 8), s.subset(view >= 8)


def probe_r2(train_units, train_y, test_units, test_y):
    """Held-out R^2 per target of a ridge probe (alpha by generalised CV on the training set)."""
    mu, sd = train_units.mean(0), train_units.std(0) + 1e-12
    ridge = RidgeCV(alphas=np.logspace(-3, 3, 13)).fit((train_units - mu) / sd, train_y)
    pred = ridge.predict((test_units - mu) / sd)
    return 1 - ((test_y - pred) ** 2).sum(0) / ((test_y - test_y.mean(0)) ** 2).sum(0)


# ---------------------------------------------------------------- PCA / ICA

def test_pca_units_are_the_principal_components(faces):
    train, _ = faces
    model = PCA(n_units=8).fit(train)
    rep = model.transform(train)
    assert isinstance(rep, Representation) and rep.units.shape == (500, 8) and rep.kl is None
    assert rep.informative.all() and rep.meta["family"] == "pca"
    x = train.as_float().reshape(500, -1).astype(np.float64)
    gram = (x - x.mean(0)) @ (x - x.mean(0)).T / (len(x) - 1)   # same nonzero spectrum as the covariance
    top = np.linalg.eigvalsh(gram)[::-1][:8]
    cov = np.cov(rep.units, rowvar=False)
    np.testing.assert_allclose(np.diag(cov), top, rtol=1e-3)
    assert np.abs(cov - np.diag(np.diag(cov))).max() < 1e-3 * top[0]


def test_pca_inverse_transform_is_the_projection(faces):
    train, test = faces
    model = PCA(n_units=10).fit(train)
    recon = model.inverse_transform(model.transform(test).units)
    assert recon.shape == (250, SIZE, SIZE, 3) and recon.dtype == np.float32
    x = test.as_float().reshape(250, -1).astype(np.float64)
    xt = train.as_float().reshape(500, -1).astype(np.float64)
    mean = xt.mean(0)
    evals, evecs = np.linalg.eigh((xt - mean) @ (xt - mean).T)          # Gram matrix: the same principal axes
    top = evecs[:, ::-1][:, :10]
    basis = (xt - mean).T @ top / np.sqrt(evals[::-1][:10])            # [D, 10], orthonormal columns
    projection = np.clip((x - mean) @ basis @ basis.T + mean, 0, 1)
    np.testing.assert_allclose(recon.reshape(250, -1), projection, atol=2e-4)


def test_ica_recovers_independent_sources(rng):
    n, k = 2000, 3
    sources = np.column_stack([rng.uniform(-1, 1, n), rng.laplace(size=n), rng.uniform(-1, 1, n) ** 3])
    mixing = rng.normal(size=(k, 6 * 6 * 3))
    pixels = sources @ mixing
    pixels = 0.5 + 0.4 * pixels / np.abs(pixels).max()
    images = pixels.reshape(n, 6, 6, 3)
    model = ICA(n_units=k, seed=0).fit(images)
    units = model.transform(images).units
    corr = np.abs(np.corrcoef(units.T, sources.T)[:k, k:])
    assert (corr.max(axis=1) > 0.98).all() and sorted(corr.argmax(axis=1)) == [0, 1, 2]
    np.testing.assert_allclose(np.std(units, axis=0, ddof=1), 1.0, rtol=1e-4)
    np.testing.assert_allclose(model.inverse_transform(units), images, atol=1e-4)


@pytest.mark.parametrize("make", [lambda: PCA(n_units=12), lambda: ICA(n_units=12),
                                  lambda: AAM(n_shape=10, n_appearance=12, texture_scale=1)], ids=["pca", "ica", "aam"])
def test_linear_baselines_carry_the_synthetic_factors(faces, make):
    train, test = faces
    model = make().fit(train)
    r2 = probe_r2(model.transform(train).units, train.factors, model.transform(test).units, test.factors)
    assert r2.shape == (train.factors.shape[1],)
    # Chance is R^2 <= 0; every factor of the world changes the image, so each is well above it.
    assert r2.min() > 0.5, dict(zip(train.factor_names, np.round(r2, 2)))


@pytest.mark.parametrize("make", [lambda: PCA(n_units=6, seed=4), lambda: ICA(n_units=6, seed=4),
                                  lambda: AAM(n_shape=5, n_appearance=6, texture_scale=1, seed=4)],
                         ids=["pca", "ica", "aam"])
def test_deterministic_and_saved(faces, make, tmp_path):
    train, test = faces
    a = make().fit(train.subset(slice(0, 200)))
    b = make().fit(train.subset(slice(0, 200)))
    np.testing.assert_array_equal(a.transform(test).units, b.transform(test).units)
    path = a.save(tmp_path / "model.safetensors")
    loaded = load_baseline(path)
    assert type(loaded) is type(a) and loaded.get_config() == a.get_config()
    np.testing.assert_array_equal(loaded.transform(test).units, a.transform(test).units)
    units = a.transform(test).units[:5]
    np.testing.assert_array_equal(loaded.inverse_transform(units), a.inverse_transform(units))


def test_too_many_units_is_a_clear_error(faces):
    train, _ = faces
    small = train.subset(slice(0, 20))
    model = PCA(n_units=50)
    with pytest.raises(DataError, match="n_units=50.*20 stimuli"):
        model.fit(small)
    with pytest.raises(ConfigError, match="not fitted"):   # a failed fit leaves nothing half-fitted
        model.transform(small)
    with pytest.raises(DataError, match="n_units"):
        ICA(n_units=50).fit(small)
    with pytest.raises(DataError, match="n_shape"):
        AAM(n_shape=100, n_appearance=5).fit(train)   # 2 x landmarks coordinates at most
    with pytest.raises(ConfigError, match="n_units"):
        PCA(n_units=0)


def test_bad_inputs_name_the_argument(faces):
    train, test = faces
    model = PCA(n_units=4)
    with pytest.raises(ConfigError, match="not fitted"):
        model.transform(test)
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        model.fit(train.as_float() * 2)
    with pytest.raises(DataError, match="NaN|nan"):
        model.fit(np.full((5, 8, 8, 3), np.nan, np.float32))
    model.fit(train)
    with pytest.raises(DataError, match="fitted on"):
        model.transform(synthetic_faces(3, size=16))
    with pytest.raises(DataError, match="4 units"):
        model.inverse_transform(np.zeros((2, 5)))


# ---------------------------------------------------------------- AAM

def test_aam_reconstructs_faces_from_its_coordinates(faces, tmp_path):
    train, test = faces
    model = AAM(n_shape=10, n_appearance=40).fit(train)
    units = model.transform(test).units
    assert units.shape == (250, 50)
    recon = model.inverse_transform(units)
    truth = test.as_float()
    mse = np.mean((recon - truth) ** 2)
    baseline = np.mean((truth - truth.mean(0)) ** 2)       # error of the mean face
    assert mse < 0.1 * baseline, (mse, baseline)
    # Shape synthesis puts the landmarks back where they were (the world keeps faces centred and upright).
    shapes = model.synthesize_shapes(units[:, :10])
    assert np.abs(shapes - test.landmarks).mean() < 0.25     # pixels
    loaded = load_baseline(model.save(tmp_path / "aam.safetensors"))
    assert loaded.warp_.scale == model.warp_.scale == 3       # the default texture frame for 32 px faces
    np.testing.assert_array_equal(loaded.inverse_transform(units[:4]), recon[:4])


def test_aam_blocks_have_unit_total_variance(faces):
    train, _ = faces
    model = AAM(n_shape=8, n_appearance=10, texture_scale=1).fit(train)
    units = model.transform(train).units
    var = units.var(axis=0, ddof=1)
    np.testing.assert_allclose([var[:8].sum(), var[8:].sum()], [1.0, 1.0], rtol=1e-4)


def test_aam_needs_landmarks(faces):
    train, _ = faces
    bare = Stimuli(images=train.images[:50])
    with pytest.raises(DataError, match="landmarks"):
        AAM(5, 5).fit(bare)
    model = AAM(5, 5, texture_scale=1).fit(bare, landmarks=train.landmarks[:50])   # landmarks given with the images
    with pytest.raises(DataError, match="landmarks"):
        model.transform(bare)
    assert model.transform(bare, landmarks=train.landmarks[:50]).units.shape == (50, 10)
    with pytest.raises(DataError, match="landmarks"):
        model.transform(bare, landmarks=train.landmarks[:50, :5])


# ---------------------------------------------------------------- identity classifier

@pytest.fixture(scope="module")
def classifier(identities):
    train, _ = identities
    return IdentityClassifier(hidden=32, epochs=8, seed=0, progress=False).fit(train)


def test_classifier_identifies_held_out_views(classifier, identities):
    _, test = identities
    accuracy = classifier.score(test)
    assert accuracy > 0.8, accuracy                             # chance: 1 / 20
    rep = classifier.transform(test)
    assert rep.units.shape == (len(test), 32) and rep.name == "classifier-raw"


def test_classifier_units_carry_identity_factors(classifier, identities):
    train, test = identities
    keep = [train.factor_names.index(name) for name in train.meta["identity_factors"]]
    r2 = probe_r2(classifier.transform(train).units, train.factors[:, keep],
                  classifier.transform(test).units, test.factors[:, keep])
    assert np.median(r2) > 0.3, np.round(r2, 2)


def test_classifier_is_deterministic_and_round_trips(classifier, identities, tmp_path):
    train, test = identities
    again = IdentityClassifier(hidden=32, epochs=8, seed=0, progress=False).fit(train)
    np.testing.assert_array_equal(again.transform(test).units, classifier.transform(test).units)
    loaded = load_baseline(classifier.save(tmp_path / "clf.safetensors"))
    np.testing.assert_array_equal(loaded.transform(test).units, classifier.transform(test).units)
    np.testing.assert_array_equal(loaded.predict(test), classifier.predict(test))


def test_classifier_pca_features(identities):
    train, test = identities
    model = IdentityClassifier(features="pca", hidden=32, n_pca=10, epochs=2, progress=False).fit(train)
    raw = IdentityClassifier(hidden=32, epochs=2, progress=False).fit(train)
    units = model.transform(test).units
    assert units.shape == (len(test), 10)
    # The same network (same seed and settings), so the pca units are a projection of the raw ones.
    raw_train, raw_test = raw.transform(train).units, raw.transform(test).units
    centred = raw_test - raw_train.mean(0)
    basis = np.linalg.svd(raw_train - raw_train.mean(0), full_matrices=False)[2][:10]
    np.testing.assert_allclose(np.abs(units), np.abs(centred @ basis.T), atol=1e-3)


def test_classifier_needs_identities(faces):
    train, _ = faces
    with pytest.raises(DataError, match="identity"):
        IdentityClassifier(epochs=1).fit(train)
    with pytest.raises(ConfigError, match="no decoder"):
        IdentityClassifier(epochs=1, progress=False).fit(train.subset(slice(0, 40)), labels=np.arange(40) % 3
                                                          ).inverse_transform(np.zeros((1, 128)))


class TinyBackbone(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, stride=2), torch.nn.ReLU(), torch.nn.Flatten())
        self.head = torch.nn.Linear(4 * 7 * 7, 5)

    def forward(self, x):
        return self.head(self.body(x))


def test_backbone_features_from_a_named_layer(identities, tmp_path):
    train, test = identities
    torch.manual_seed(0)
    net = TinyBackbone()
    model = IdentityClassifier(backbone=net, feature_layer="body", input_size=16,
                               input_mean=[0.5, 0.5, 0.5], input_std=[0.25, 0.25, 0.25]).fit(train)
    units = model.transform(test).units
    x = torch.from_numpy(test.as_float()).permute(0, 3, 1, 2)
    x = (torch.nn.functional.interpolate(x, size=(16, 16), mode="bilinear", align_corners=False) - 0.5) / 0.25
    with torch.no_grad():
        expected = net.body(x).numpy()
    np.testing.assert_allclose(units, expected, atol=1e-5)
    assert model.transform(test).units.shape == (len(test), 4 * 7 * 7)

    path = model.save(tmp_path / "backbone.safetensors")
    with pytest.raises(CheckpointError, match="backbone"):
        IdentityClassifier.load(path)
    other = TinyBackbone()
    with pytest.raises(CheckpointError, match="different weights"):
        IdentityClassifier.load(path, backbone=other)
    np.testing.assert_array_equal(IdentityClassifier.load(path, backbone=net).transform(test).units, units)
    with pytest.raises(ConfigError, match="feature_layer"):
        IdentityClassifier(backbone=net, feature_layer="nope")


# ---------------------------------------------------------------- checkpoints

def test_corrupt_or_foreign_checkpoints_are_refused(faces, tmp_path):
    train, _ = faces
    path = PCA(n_units=3).fit(train).save(tmp_path / "pca.safetensors")
    with pytest.raises(CheckpointError, match="holds a PCA"):
        ICA.load(path)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF                                       # flip bits inside the stored arrays
    (tmp_path / "bad.safetensors").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="checksum"):
        load_baseline(tmp_path / "bad.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="junk"):
        load_baseline(tmp_path / "junk.safetensors")
    with pytest.raises(CheckpointError, match="no such"):
        load_baseline(tmp_path / "missing.safetensors")


# ---------------------------------------------------------------- AE / VAE adapter

def test_autoencoder_adapter_matches_the_models_api(faces, tmp_path):
    from faceit.models import encode, load_model, save_checkpoint

    train, test = faces
    model = Autoencoder(family="vae", latent_dim=4, steps=5, batch_size=16, device="cpu", progress=False).fit(train)
    rep = model.transform(test)
    assert rep.units.shape == (250, 4) and rep.kl is not None and rep.meta["family"] == "vae"
    direct = encode(model.model_, test)
    np.testing.assert_array_equal(rep.units, direct.units)
    assert model.inverse_transform(rep.units[:3]).shape == (3, SIZE, SIZE, 3)

    loaded = load_baseline(model.save(tmp_path / "vae.safetensors"))
    np.testing.assert_array_equal(loaded.transform(test).units, rep.units)
    save_checkpoint(tmp_path / "run", model.model_, step=5)  # a models-API training folder loads too
    from_folder = load_baseline(tmp_path / "run")
    np.testing.assert_array_equal(from_folder.transform(test).units, rep.units)
    assert Autoencoder.from_model(load_model(tmp_path / "run")).family == "vae"
