"""FactorVAE's total-correlation critic (Kim & Mnih 2018), the recipe's addition to the β-VAE.

The total correlation of the sampled codes, TC = KL(q(z) || prod_j q(z_j)), is what a β-VAE's
units share with each other. A small critic learns to tell a batch of codes z [B, K] (drawn from
q(z)) from the same batch with each unit shuffled across the batch independently (drawn from
prod_j q(z_j)). At its optimum the critic's logit is log q(z) / prod_j q(z_j), so the mean logit
over a batch of codes estimates the TC in nats (the density-ratio trick), and its gradient with
respect to z pushes the units apart. The critic never sees images; on the CPU it adds 1-2 ms to a
training step of 8.5-11 ms (batch 16, two threads): about 0.85 ms on its own, a third of it
matrix products and the rest torch's per-call overhead (docs/recipe.md, "Speed").

The model adds ``tc_weight · ramp(t) · TC`` to its loss with the critic's weights held fixed;
the critic minimises its own logistic loss with the codes held fixed. One backward pass of the
sum computes both gradients, and each set of weights only receives its own.
"""

from __future__ import annotations

import torch
from torch import nn
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
        self.layers = nn.ModuleList([nn.Linear(latent_dim, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, 1)])

    def forward(self, z: torch.Tensor, frozen: bool = False) -> torch.Tensor:
        """frozen: use detached weights, so that gradients reach ``z`` and not the critic."""
        h = z
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            weight, bias = (layer.weight.detach(), layer.bias.detach()) if frozen else (layer.weight, layer.bias)
            h = F.linear(h, weight, bias)
            if i < last:
                h = F.leaky_relu(h, CRITIC_SLOPE)
        return h.squeeze(-1)


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
    tc = critic(z, frozen=True).mean()
    codes = z.detach()
    logits = critic(torch.cat([codes, shuffle_units(codes, keys)]))  # one pass for both labels: half the
    batch = codes.shape[0]                                            # per-call overhead of two
    critic_loss = F.softplus(-logits[:batch]).mean() + F.softplus(logits[batch:]).mean()
    return tc, critic_loss
