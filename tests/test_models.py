"""The β-VAE architecture, its objectives, encode/decode/traversals, and input validation.

References: the disentanglement_lib architecture rebuilt from plain torch.nn layers in float64
with the model's weights; hand-written float64 formulas for the losses; torch.distributions for
the KL divergence.
"""

import numpy as np
import pytest
import torch
from torch import nn

from faceit.errors import BackendUnavailableError, ConfigError, DataError
from faceit.models import AE, VAE, BetaVAE, decode, encode, save_traversals, train, traversals
from faceit.models.objectives import batch_loss, make_objective
from faceit.representation import Representation


def reference_networks(model):
    """The architecture written out as nn.Sequential in float64, sharing the model's weights."""
    k, size = model.latent_dim, model.image_size
    s = size // 16
    enc = nn.Sequential(
        nn.Conv2d(3, 32, 4, 2, 1), nn.ReLU(), nn.Conv2d(32, 32, 4, 2, 1), nn.ReLU(),
        nn.Conv2d(32, 64, 4, 2, 1), nn.ReLU(), nn.Conv2d(64, 64, 4, 2, 1), nn.ReLU(),
        nn.Flatten(), nn.Linear(64 * s * s, 256), nn.ReLU(), nn.Linear(256, 2 * k)).double()
    dec = nn.Sequential(
        nn.Linear(k, 256), nn.ReLU(), nn.Linear(256, 64 * s * s), nn.ReLU(), nn.Unflatten(1, (64, s, s)),
        nn.ConvTranspose2d(64, 64, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ReLU(),
        nn.ConvTranspose2d(32, 32, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(32, 3, 4, 2, 1)).double()
    mods = [*model.encoder_convs, model.encoder_fc, model.encoder_out]
    for ref, src in zip([m for m in enc if isinstance(m, (nn.Conv2d, nn.Linear))], mods):
        ref.load_state_dict({k_: v.double() for k_, v in src.state_dict().items()})
    mods = [model.decoder_fc, model.decoder_fc_out, *model.decoder_convs]
    for ref, src in zip([m for m in dec if isinstance(m, (nn.ConvTranspose2d, nn.Linear))], mods):
        ref.load_state_dict({k_: v.double() for k_, v in src.state_dict().items()})
    return enc, dec


@pytest.mark.parametrize("size", [32, 64])
def test_architecture_matches_the_disentanglement_lib_network(size):
    torch.manual_seed(0)
    model = BetaVAE(latent_dim=7, beta=4.0, image_size=size, likelihood="bernoulli")
    assert [c.out_channels for c in model.encoder_convs] == [32, 32, 64, 64]
    assert all(c.kernel_size == (4, 4) and c.stride == (2, 2) for c in model.encoder_convs)
    assert model.encoder_fc.out_features == 256
    enc, dec = reference_networks(model)
    x = torch.rand(5, 3, size, size)
    mu, logvar = model.encode(x)
    ref = enc(x.double())
    torch.testing.assert_close(mu.double(), ref[:, :7], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(logvar.double(), ref[:, 7:], rtol=1e-4, atol=1e-5)
    z = torch.randn(5, 7)
    out = model.decode(z)
    assert out.shape == (5, 3, size, size)
    torch.testing.assert_close(out.double(), dec(z.double()), rtol=1e-4, atol=1e-5)


def test_the_encoder_sees_each_pixel_standardised_with_a_floored_sd():
    """encode(x) is the reference encoder applied to (x - mean) / max(sd, 0.02), computed in float64;
    the decoder is untouched."""
    torch.manual_seed(2)
    model = BetaVAE(latent_dim=5, image_size=32)
    mean, sd = torch.rand(3, 32, 32), torch.rand(3, 32, 32) * 0.2
    sd[0, :4] = 0.0  # pixels that never changed: divided by the floor, not by zero
    model.set_input_statistics(mean, sd)
    enc, dec = reference_networks(model)
    x = torch.rand(4, 3, 32, 32)
    standardised = (x.double() - mean.double()) / sd.double().clamp_min(0.02)
    mu, logvar = model.encode(x)
    torch.testing.assert_close(torch.cat([mu, logvar], 1).double(), enc(standardised), rtol=1e-4, atol=1e-4)
    z = torch.randn(4, 5)
    torch.testing.assert_close(model.decode(z).double(), dec(z.double()), rtol=1e-4, atol=1e-5)
    with pytest.raises(ConfigError, match=r"\[3, 32, 32\]"):
        model.set_input_statistics(mean[:, :16], sd)
    with pytest.raises(ConfigError, match="standardize_input=False"):
        BetaVAE(latent_dim=5, image_size=32, standardize_input=False).set_input_statistics(mean, sd)


def test_configs_from_before_input_standardisation_rebuild_raw_pixel_models():
    config = dict(BetaVAE(latent_dim=3, image_size=32).config)
    del config["standardize_input"]
    old = BetaVAE.from_config(config)
    assert old.config["standardize_input"] is False
    assert "input_mean" not in old.state_dict()


def test_gaussian_beta_vae_loss_matches_float64_formula():
    torch.manual_seed(1)
    model = BetaVAE(latent_dim=4, beta=6.0, image_size=32, likelihood="gaussian", sigma=0.2, beta_warmup=0.5,
                    tc_weight=0.0)
    x = torch.rand(3, 3, 32, 32)
    eps = torch.randn(3, 4)
    for progress, beta_t in [(0.0, 0.0), (0.25, 3.0), (0.5, 6.0), (0.9, 6.0)]:
        terms = batch_loss(model, x, eps, progress)
        with torch.no_grad():
            mu, logvar = (t.double() for t in model.encode(x))
            z = mu + torch.exp(logvar / 2) * eps.double()
            out = model.decode(z.float()).double()
        nll = (((x.double() - out) ** 2).sum(dim=(1, 2, 3)) / (2 * 0.2 ** 2)).mean()
        q = torch.distributions.Normal(mu, torch.exp(logvar / 2))
        kl_unit = torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0)).mean(0)
        assert terms.beta == pytest.approx(beta_t)
        torch.testing.assert_close(terms.kl_per_unit.double(), kl_unit, rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(terms.nll.double(), nll, rtol=1e-4, atol=1e-3)
        torch.testing.assert_close(terms.loss.double(), nll + beta_t * kl_unit.sum(), rtol=1e-4, atol=1e-3)


def test_bernoulli_nll_is_binary_cross_entropy_of_the_sigmoid():
    torch.manual_seed(2)
    model = BetaVAE(latent_dim=3, beta=1.0, image_size=32, likelihood="bernoulli", beta_warmup=0.0, tc_weight=0.0)
    x = torch.rand(2, 3, 32, 32)
    terms = batch_loss(model, x, torch.zeros(2, 3), 1.0)
    with torch.no_grad():
        out = model.decode(model.encode(x)[0]).double()
    p = torch.sigmoid(out)
    bce = -(x.double() * torch.log(p) + (1 - x.double()) * torch.log1p(-p)).sum(dim=(1, 2, 3)).mean()
    torch.testing.assert_close(terms.nll.double(), bce, rtol=1e-5, atol=1e-3)


def test_capacity_objective_penalises_distance_from_the_capacity_schedule():
    obj = make_objective(dict(family="capacity", capacity_max=20.0, capacity_warmup=0.5, gamma=100.0,
                              beta=0.0, beta_warmup=0.0))
    nll = torch.tensor(50.0)
    kl = torch.tensor([3.0, 2.0])
    assert obj.capacity_at(0.25) == pytest.approx(10.0)
    assert obj.capacity_at(0.9) == pytest.approx(20.0)
    assert float(obj(nll, kl, 0.25)) == pytest.approx(50.0 + 100.0 * 5.0)
    assert float(obj(nll, kl, 0.0)) == pytest.approx(50.0 + 100.0 * 5.0)
    assert float(obj(nll, kl, 1.0)) == pytest.approx(50.0 + 100.0 * 15.0)


@pytest.mark.parametrize("config, expected", [
    # nll 50 and a total KL of 5 nats, by hand from the formulas in objectives.py
    (dict(family="beta_vae", beta=12.0, beta_warmup=0.2), lambda t: 50 + 12 * min(1, t / 0.2) * 5),
    (dict(family="capacity", capacity_max=20.0, capacity_warmup=0.5, gamma=100.0),
     lambda t: 50 + 100 * abs(5 - 20 * min(1, t / 0.5))),
])
@pytest.mark.parametrize("progress", [0.0, 0.05, 0.3, 0.7, 1.0])
def test_objective_takes_progress_as_a_device_scalar_too(config, expected, progress):
    # the CUDA-graphed step keeps progress in a 0-d tensor; the loss must be the one a float gives
    obj = make_objective({"beta": 0.0, "beta_warmup": 0.0, "capacity_max": 0.0, "capacity_warmup": 0.0,
                          "gamma": 0.0, **config})
    nll, kl = torch.tensor(50.0, dtype=torch.float64), torch.tensor([3.0, 2.0], dtype=torch.float64)
    as_tensor = obj(nll, kl, torch.tensor(progress, dtype=torch.float64))
    assert isinstance(as_tensor, torch.Tensor)
    assert float(as_tensor) == pytest.approx(expected(progress), rel=1e-12)
    assert float(as_tensor) == pytest.approx(float(obj(nll, kl, progress)), rel=1e-12)
    assert float(obj.beta_at(torch.tensor(progress))) == pytest.approx(obj.beta_at(progress), rel=1e-6)


def test_ae_is_deterministic_without_kl_and_vae_has_beta_one():
    torch.manual_seed(3)
    ae = AE(latent_dim=5, image_size=32)
    x = torch.rand(4, 3, 32, 32)
    a = batch_loss(ae, x, torch.randn(4, 5), 0.5)
    b = batch_loss(ae, x, torch.randn(4, 5), 0.5)
    assert torch.equal(a.loss, b.loss) and torch.equal(a.loss, a.nll)
    assert float(a.kl) == 0.0 and a.beta == 0.0
    vae = VAE(latent_dim=5, image_size=32)
    assert vae.family == "vae" and vae.beta == 1.0 and vae.objective.beta_at(0.0) == 1.0


@pytest.mark.parametrize("kwargs, match", [
    (dict(likelihood="poisson"), "likelihood"),
    (dict(image_size=40), "multiple of 16"),
    (dict(latent_dim=0), "latent_dim"),
    (dict(beta=-1.0), "beta"),
    (dict(sigma=0.0), "sigma"),
    (dict(beta_warmup=2.0), "fraction"),
    (dict(family="vqvae"), "family"),
    (dict(standardize_input=1), "standardize_input"),
])
def test_bad_model_arguments_raise_config_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        BetaVAE(**kwargs)


def test_bad_images_raise_data_errors_naming_them():
    model = BetaVAE(latent_dim=3, image_size=32)
    good = np.zeros((4, 32, 32, 3), np.uint8)
    with pytest.raises(DataError, match=r"images.*\[N, 32, 32, 3\]"):
        train(model, np.zeros((4, 64, 64, 3), np.uint8), 2, progress=False)
    with pytest.raises(DataError, match="images.*range"):
        train(model, good.astype(np.float32) + 2.0, 2, progress=False)
    with pytest.raises(DataError, match="images.*NaN"):
        train(model, np.full((4, 32, 32, 3), np.nan, np.float32), 2, progress=False)
    with pytest.raises(DataError, match="images.*no images"):
        train(model, good[:0], 2, progress=False)
    with pytest.raises(ConfigError, match="steps"):
        train(model, good, 0, progress=False)
    with pytest.raises(ConfigError, match="lr"):
        train(model, good, 2, lr=-1.0, progress=False)
    with pytest.raises(DataError, match="latents"):
        decode(model, np.zeros((2, 4)))
    if not torch.cuda.is_available():
        with pytest.raises(BackendUnavailableError, match="CUDA"):
            train(model, good, 2, device="cuda", progress=False)


def test_encode_returns_posterior_means_and_kl_per_unit(rng):
    torch.manual_seed(4)
    model = BetaVAE(latent_dim=6, beta=4.0, image_size=32).eval()
    images = rng.integers(0, 256, (9, 32, 32, 3), dtype=np.uint8)
    rep = encode(model, images, batch_size=4)
    assert isinstance(rep, Representation) and rep.units.shape == (9, 6)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    with torch.no_grad():
        mu, logvar = (t.double() for t in model.encode(x))
    np.testing.assert_allclose(rep.units, mu.numpy(), rtol=1e-5, atol=1e-6)
    q = torch.distributions.Normal(mu, torch.exp(logvar / 2))
    kl = torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0)).mean(0).numpy()
    np.testing.assert_allclose(rep.kl, kl, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(rep.informative, kl > 0.01)
    # float input in [0, 1] encodes the same as uint8 input
    np.testing.assert_allclose(encode(model, images / 255.0).units, rep.units, rtol=1e-5, atol=1e-6)
    ae_rep = encode(AE(latent_dim=6, image_size=32), images)
    assert ae_rep.kl is None and ae_rep.informative.all() and ae_rep.name == "ae"


def test_decode_and_traversals_render_the_latents_asked_for(rng, tmp_path):
    torch.manual_seed(5)
    model = BetaVAE(latent_dim=4, beta=4.0, image_size=32, likelihood="bernoulli").eval()
    z = rng.standard_normal((3, 4))
    imgs = decode(model, z)
    assert imgs.shape == (3, 32, 32, 3) and imgs.dtype == np.float32
    with torch.no_grad():
        ref = torch.sigmoid(model.decode(torch.as_tensor(z, dtype=torch.float32))).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(imgs, ref, rtol=1e-6, atol=1e-6)

    values = np.array([-2.0, 0.0, 2.0])
    trav = traversals(model, z[0], units=[1, 3], values=values)
    assert trav.shape == (2, 3, 32, 32, 3)
    z_manual = np.repeat(z[:1], 3, axis=0)
    z_manual[:, 3] = values
    np.testing.assert_allclose(trav[1], decode(model, z_manual), rtol=1e-6, atol=1e-6)
    # a base image is encoded to its posterior mean first
    image = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    mu = encode(model, image[None]).units[0]
    np.testing.assert_allclose(traversals(model, image, units=[0], values=values),
                               traversals(model, mu, units=[0], values=values), rtol=1e-5, atol=1e-5)
    with pytest.raises(DataError, match="units"):
        traversals(model, z[0], units=[4])

    path = save_traversals(model, z[0], tmp_path / "trav.png", values=values)
    import matplotlib.image as mpimg
    png = mpimg.imread(path)
    assert png.ndim == 3 and png.shape[0] > 4 * 32 and png.shape[1] > 3 * 32
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind
