"""FactorVAE's total-correlation critic (Kim & Mnih 2018), the recipe's addition to the β-VAE.

The total correlation of the sampled codes, TC = KL(q(z) || prod_j q(z_j)), is what a β-VAE's
units share with each other. A small critic learns to tell a batch of codes z [B, K] (drawn from
q(z)) from the same batch with each unit shuffled across the batch independently (drawn from
prod_j q(z_j)). At its optimum the critic's logit is log q(z) / prod_j q(z_j), so the mean logit
over a batch of codes estimates the TC in nats (the density-ratio trick), and its gradient with
respect to z pushes the units apart. The critic never sees images: it costs about 0.4 ms of a
CPU step at batch 16 (docs/recipe.md).

The model adds ``tc_weight · ramp(t) · TC`` to its loss with the critic's weights held fixed;
the critic minimises its own logistic loss with the codes held fixed. One backward pass of the
sum computes both gradients, and each set of weights only receives its own.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call
from torch.nn import functional as F

CRITIC_HIDDEN = 256
CRITIC_SLOPE = 0.2
# Adam for the critic, as Kim & Mnih (2018) train theirs
CRITIC_LR = 1e-4
CRITIC_BETAS = (0.5, 0.9)


class TotalCorrelationCritic(nn.Module):
    """Codes z [B, K] -> logits [B]: > 0 where z looks jointly drawn, < 0 where its units look shuffled."""

    def __init__(self, latent_dim: int, hidden: int = CRITIC_HIDDEN):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(latent_dim, hidden), nn.LeakyReLU(CRITIC_SLOPE),
                                 nn.Linear(hidden, hidden), nn.LeakyReLU(CRITIC_SLOPE),
                                 nn.Linear(hidden, 1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).squeeze(-1)


def shuffle_units(z: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """z [B, K] with each column reordered across the batch by the ranks of ``keys`` [B, K]
    (uniform draws): one sample of prod_j q(z_j) per row."""
    return torch.gather(z, 0, torch.argsort(keys, dim=0))


def critic_terms(critic: TotalCorrelationCritic, z: torch.Tensor, keys: torch.Tensor):
    """(tc, critic_loss), both 0-d tensors, for sampled codes z [B, K] and shuffle keys [B, K].

    tc: the critic's estimate of the total correlation in nats, differentiable in z only.
    critic_loss: the critic's logistic loss (codes labelled 1, shuffled codes 0), differentiable
    in the critic's weights only.
    """
    frozen = {name: p.detach() for name, p in critic.named_parameters()}
    tc = functional_call(critic, frozen, (z,)).mean()
    codes = z.detach()
    critic_loss = F.softplus(-critic(codes)).mean() + F.softplus(critic(shuffle_units(codes, keys))).mean()
    return tc, critic_loss
