"""FactorVAE's total-correlation critic: shuffles, gradient routing, the estimate it converges to, the loss."""

import math

import numpy as np
import pytest
import torch

from faceit.errors import ConfigError
from faceit.models import AE, VAE, BetaVAE
from faceit.models.objectives import batch_loss
from faceit.models.tc_critic import TotalCorrelationCritic, critic_terms, shuffle_units


def test_shuffle_reorders_each_unit_by_the_ranks_of_its_keys():
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(9, 4, generator=gen, dtype=torch.float64)
    keys = torch.rand(9, 4, generator=gen)
    got = shuffle_units(z, keys).numpy()
    zn, kn = z.numpy(), keys.numpy()
    for j in range(4):
        np.testing.assert_array_equal(got[:, j], zn[np.argsort(kn[:, j]), j])


def test_the_penalty_moves_the_codes_and_the_critic_loss_moves_the_critic_only():
    torch.manual_seed(0)
    critic = TotalCorrelationCritic(3)
    z = torch.randn(16, 3, requires_grad=True)
    tc, critic_loss = critic_terms(critic, z, torch.rand(16, 3))
    tc.backward(retain_graph=True)
    assert z.grad is not None and z.grad.abs().sum() > 0
    assert all(p.grad is None for p in critic.parameters())
    z.grad = None
    critic_loss.backward()
    assert z.grad is None
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in critic.parameters())


@pytest.mark.parametrize("rho", [0.0, 0.9])
def test_the_critic_learns_the_total_correlation_of_a_gaussian(rho):
    # z = (a, b, c): a and b correlated rho, c independent; TC = -1/2 log(1 - rho^2) nats exactly
    gen = torch.Generator().manual_seed(1)
    torch.manual_seed(1)
    cov = torch.tensor([[1.0, rho, 0.0], [rho, 1.0, 0.0], [0.0, 0.0, 1.0]])
    chol = torch.linalg.cholesky(cov)

    def draw(n):
        return torch.randn(n, 3, generator=gen) @ chol.T

    critic = TotalCorrelationCritic(3, hidden=64)
    opt = torch.optim.Adam(critic.parameters(), lr=2e-3)
    for _ in range(800):
        _, loss = critic_terms(critic, draw(256), torch.rand(256, 3, generator=gen))
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        estimate = float(critic(draw(20000)).mean())
    truth = -0.5 * math.log(1 - rho ** 2)
    assert estimate == pytest.approx(truth, abs=0.12), (estimate, truth)


def test_the_loss_adds_the_weighted_estimate_to_the_beta_vae_objective():
    torch.manual_seed(2)
    model = BetaVAE(latent_dim=4, beta=6.0, image_size=32, sigma=0.2, beta_warmup=0.5, tc_weight=30.0)
    x = torch.rand(5, 3, 32, 32)
    eps = torch.randn(5, 4)
    keys = torch.rand(5, 4)
    for progress, ramp in [(0.0, 0.0), (0.25, 0.5), (0.9, 1.0)]:
        terms = batch_loss(model, x, eps, progress, keys)
        with torch.no_grad():
            _out, _mu, _lv, z, _kl = model(x, eps)
            logits = model.tc_critic(z).double()
            shuffled = model.tc_critic(shuffle_units(z, keys)).double()
        tc = logits.mean()
        critic_loss = torch.nn.functional.softplus(-logits).mean() + torch.nn.functional.softplus(shuffled).mean()
        expected = terms.nll.double() + 6.0 * ramp * terms.kl.double() + 30.0 * ramp * tc
        torch.testing.assert_close(terms.tc.double(), tc, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(terms.critic_loss.double(), critic_loss, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(terms.loss.double(), expected, rtol=1e-5, atol=1e-3)
        torch.testing.assert_close(terms.to_minimise().double(), expected + critic_loss, rtol=1e-5, atol=1e-3)
    with pytest.raises(ConfigError, match="shuffle"):
        batch_loss(model, x, eps, 0.5)


def test_only_the_beta_vae_gets_a_critic_by_default():
    assert BetaVAE(image_size=32).config["tc_weight"] == 40.0
    assert BetaVAE(image_size=32).tc_critic is not None
    assert BetaVAE(image_size=32, tc_weight=0).tc_critic is None
    assert VAE(image_size=32).config["tc_weight"] == 0.0 and VAE(image_size=32).tc_critic is None
    assert AE(image_size=32).tc_critic is None
    assert BetaVAE(image_size=32, family="capacity").tc_critic is None
    with pytest.raises(ConfigError, match="AE has no posterior"):
        AE(image_size=32, tc_weight=1.0)
    with pytest.raises(ConfigError, match="tc_weight"):
        BetaVAE(image_size=32, tc_weight=-1.0)
    # models saved before the option existed were trained without it
    config = dict(BetaVAE(latent_dim=3, image_size=32).config)
    del config["tc_weight"]
    old = BetaVAE.from_config(config)
    assert old.config["tc_weight"] == 0.0 and not any(k.startswith("tc_critic") for k in old.state_dict())
