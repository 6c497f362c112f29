"""Training objectives: β-VAE with a β warm-up, capacity-annealed β-VAE, VAE and AE.

All are "reconstruction negative log-likelihood + a penalty on the KL divergence":

    beta_vae:  nll + β(t) · KL,          β(t) = β · min(1, t / warmup)     (Higgins et al. 2017)
    vae:       nll + KL                   (β = 1)
    capacity:  nll + γ · |KL - C(t)|,     C(t) = C_max · min(1, t / warmup)  (Burgess et al. 2018)
    ae:        nll                        (deterministic encoder, no KL)

where nll is summed over pixels and averaged over the batch (nats per image), KL is the
total KL over units averaged over the batch (nats), and t is the fraction of training done.
A model with ``tc_weight`` > 0 adds FactorVAE's total-correlation term (Kim & Mnih 2018),
tc_weight · min(1, t / warmup) · TC, with TC estimated by its critic (:mod:`.tc_critic`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import ConfigError
from . import ops
from .tc_critic import critic_terms

LIKELIHOODS = ("bernoulli", "gaussian")
FAMILIES = ("beta_vae", "capacity", "vae", "ae")


def _ramp(progress, warmup: float):
    """Linear ramp from 0 to 1 over the first ``warmup`` fraction of training (1 throughout if warmup is 0).

    progress: a float, or a 0-d tensor (a CUDA-graphed step keeps it on the device; the ramp is then a tensor).
    """
    if warmup <= 0:
        return 1.0
    if isinstance(progress, torch.Tensor):
        return (progress.clamp_min(0.0) / warmup).clamp_max(1.0)
    return min(1.0, max(0.0, progress) / warmup)


@dataclass(frozen=True)
class Objective:
    """A loss on (nll [scalar], kl_per_unit [K]) at a point ``progress`` in [0, 1] of training."""

    family: str
    beta: float = 1.0
    beta_warmup: float = 0.0
    capacity_max: float = 0.0
    capacity_warmup: float = 0.0
    gamma: float = 0.0
    tc_weight: float = 0.0

    def beta_at(self, progress: float) -> float:
        """The KL weight in force at ``progress`` (for "capacity", the weight γ of |KL - C|)."""
        if self.family == "ae":
            return 0.0
        if self.family == "capacity":
            return self.gamma
        return self.beta * _ramp(progress, self.beta_warmup)

    def capacity_at(self, progress: float) -> float:
        """The target total KL C(t) in nats (capacity family only; 0 otherwise)."""
        if self.family != "capacity":
            return 0.0
        return self.capacity_max * _ramp(progress, self.capacity_warmup)

    def tc_weight_at(self, progress: float) -> float:
        """The weight of the total-correlation term at ``progress`` (it ramps up with β)."""
        return self.tc_weight * _ramp(progress, self.beta_warmup) if self.tc_weight else 0.0

    def __call__(self, nll: torch.Tensor, kl_per_unit: torch.Tensor, progress: float,
                 tc: torch.Tensor | None = None) -> torch.Tensor:
        """The scalar loss to minimise; ``tc`` is the critic's estimate (models with a tc_weight)."""
        if self.family == "ae":
            return nll
        kl = kl_per_unit.sum()
        if self.family == "capacity":
            loss = nll + self.gamma * (kl - self.capacity_at(progress)).abs()
        else:
            loss = nll + self.beta_at(progress) * kl
        if self.tc_weight:
            if tc is None:
                raise ConfigError("this objective has a tc_weight: pass the critic's TC estimate")
            loss = loss + self.tc_weight_at(progress) * tc
        return loss


def make_objective(config: dict) -> Objective:
    """The Objective of a model config (see :class:`faceit.models.BetaVAE`)."""
    family = config["family"]
    tc_weight = config.get("tc_weight", 0.0)
    if family == "ae":
        return Objective("ae", beta=0.0)
    if family == "capacity":
        return Objective("capacity", capacity_max=config["capacity_max"], capacity_warmup=config["capacity_warmup"],
                         gamma=config["gamma"], beta_warmup=config.get("beta_warmup", 0.0), tc_weight=tc_weight)
    beta = 1.0 if family == "vae" else config["beta"]
    return Objective(family, beta=beta, beta_warmup=config["beta_warmup"], tc_weight=tc_weight)


@dataclass
class LossTerms:
    """One training step's terms: loss (the model's objective), nll (nats/image), kl (total nats),
    kl_per_unit [K], beta in force; for a model with a TC critic, tc (its estimate, nats) and
    critic_loss (the critic's logistic loss), else None."""

    loss: torch.Tensor
    nll: torch.Tensor
    kl: torch.Tensor
    kl_per_unit: torch.Tensor
    beta: float
    tc: torch.Tensor | None = None
    critic_loss: torch.Tensor | None = None

    def to_minimise(self) -> torch.Tensor:
        """What one backward pass descends: the model's loss plus its critic's (each reaches only its own weights)."""
        return self.loss if self.critic_loss is None else self.loss + self.critic_loss


def batch_loss(model, x: torch.Tensor, eps: torch.Tensor | None, progress: float,
               shuffle: torch.Tensor | None = None) -> LossTerms:
    """Forward ``x`` [B, C, H, W] in [0, 1] through ``model`` with noise ``eps`` [B, K] and score it.

    shuffle: uniform draws [B, K] that shuffle each unit across the batch for the TC critic;
    required when the model has one (``model.tc_critic``), ignored otherwise.
    """
    output, _mu, _logvar, z, kl_per_unit = model(x, eps)
    cfg = model.config
    nll = ops.reconstruction_nll(output, x, likelihood=cfg["likelihood"], sigma=cfg["sigma"]).mean()
    objective = model.objective
    tc = critic_loss = None
    if getattr(model, "tc_critic", None) is not None:
        if shuffle is None or shuffle.shape != z.shape:
            raise ConfigError(f"a model with a TC critic needs shuffle keys of shape {tuple(z.shape)}")
        tc, critic_loss = critic_terms(model.tc_critic, z, shuffle)
    loss = objective(nll, kl_per_unit, progress, tc)
    return LossTerms(loss, nll, kl_per_unit.sum(), kl_per_unit, objective.beta_at(progress), tc, critic_loss)
