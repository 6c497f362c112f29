"""The convolutional β-VAE of Higgins et al. (2017) / disentanglement_lib, and its AE and VAE baselines.

Encoder: four 4x4 stride-2 convolutions (32, 32, 64, 64 channels, ReLU), a fully connected
layer of 256 units, then a linear layer giving the posterior means and log-variances.
The decoder mirrors it. At 64x64 the last feature map is 4x4; the 32x32 variant keeps the
same four layers and ends at 2x2, so both sizes share one definition (any multiple of 16 works).

Every linear, convolution, transposed convolution, the reparameterisation and the
reconstruction loss go through :mod:`faceit.models.ops`, so the Triton-fused path is a
switch inside ops, not a second model.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .._validation import check_choice, check_positive_int
from ..errors import ConfigError
from . import ops
from .objectives import FAMILIES, LIKELIHOODS, make_objective
from .tc_critic import TotalCorrelationCritic
from .train import DEFAULT_STEPS

ENCODER_CHANNELS = (32, 32, 64, 64)
HIDDEN_UNITS = 256
KERNEL, STRIDE, PADDING = 4, 2, 1

# The recipe (docs/recipe.md): the defaults below are the settings found to disentangle
# faceit's synthetic world; change them there and here together.
DEFAULT_LATENT_DIM = 10
DEFAULT_BETA = 12.0
DEFAULT_LIKELIHOOD = "gaussian"
DEFAULT_SIGMA = 0.1
# β (and the TC weight) rise over the first 2,400 steps, the warm-up the recipe was found with
# (20% of 12,000 steps): a default run of DEFAULT_STEPS is the first part of that run (docs/recipe.md)
BETA_WARMUP_STEPS = 2400
DEFAULT_BETA_WARMUP = BETA_WARMUP_STEPS / DEFAULT_STEPS
DEFAULT_STANDARDIZE_INPUT = True
# FactorVAE's total-correlation penalty on top of β (Kim & Mnih 2018); the β-VAE family only
DEFAULT_TC_WEIGHT = 40.0
# Pixels whose sd over the training images is below this (in intensity units, about 5/255) are
# divided by it instead: a pixel that never changes must not be amplified into noise.
INPUT_SD_FLOOR = 0.02


class BetaVAE(nn.Module):
    """Convolutional β-VAE (and, through ``family``, the AE and VAE baselines).

    Parameters
    ----------
    latent_dim: number of latent units K.
    beta: weight of the KL term (ignored by the "ae" family; 1 for "vae").
    image_size: side of the square input images in pixels (32 or 64; any multiple of 16).
    likelihood: "gaussian" (decoder outputs the pixel mean, fixed ``sigma``) or "bernoulli"
        (decoder outputs logits).
    sigma: standard deviation of the Gaussian likelihood, in units of pixel intensity [0, 1].
        Only ``2 sigma^2 beta`` matters for what is learned.
    beta_warmup: fraction of training over which β rises linearly from 0 (0 = no warm-up). None:
        the recipe's ``DEFAULT_BETA_WARMUP`` (2,400 of 9,000 steps) for "beta_vae" and "capacity",
        0 for the paper's baselines "vae" and "ae".
    family: "beta_vae" (default), "capacity" (Burgess et al. 2018: gamma |KL - C(t)|),
        "vae" (β = 1) or "ae" (deterministic encoder, no KL term).
    capacity_max, capacity_warmup, gamma: the capacity schedule (family="capacity"): the target
        total KL C rises linearly from 0 to ``capacity_max`` nats over the first
        ``capacity_warmup`` fraction of training; the penalty weight is ``gamma``.
    channels: colour channels of the images (3 for RGB).
    standardize_input: the encoder sees each pixel standardised over the training images,
        (x - mean image) / max(pixel sd, 0.02), with the statistics set by
        :func:`~faceit.models.train` and saved with the weights. A factor that moves many pixels
        a little (a backdrop's hue) then reaches the encoder as strongly as one that moves a few
        pixels a lot; without it the posterior noise drowns the first and its units collapse
        (docs/recipe.md). The decoder and the likelihood still work in raw pixels.
    tc_weight: weight γ of FactorVAE's total-correlation penalty (Kim & Mnih 2018), added to the
        loss as γ · ramp(t) · TC with the β warm-up's ramp; TC is estimated by a small critic
        (:mod:`faceit.models.tc_critic`, the submodule ``tc_critic``) that :func:`train` trains
        beside the model. None: the recipe's 40 for "beta_vae", 0 (no critic) for the other
        families. 0 gives the plain β-VAE of Higgins et al. (2017). The AE has no posterior to
        penalise and refuses a weight.
    """

    def __init__(self, latent_dim: int = DEFAULT_LATENT_DIM, beta: float = DEFAULT_BETA, image_size: int = 64,
                 likelihood: str = DEFAULT_LIKELIHOOD, *, sigma: float = DEFAULT_SIGMA,
                 beta_warmup: float | None = None, family: str = "beta_vae",
                 capacity_max: float = 25.0, capacity_warmup: float = 0.8, gamma: float = 1000.0,
                 channels: int = 3, standardize_input: bool = DEFAULT_STANDARDIZE_INPUT,
                 tc_weight: float | None = None):
        super().__init__()
        latent_dim = check_positive_int(latent_dim, "latent_dim")
        image_size = check_positive_int(image_size, "image_size", minimum=16)
        channels = check_positive_int(channels, "channels")
        if image_size % 16:
            raise ConfigError(f"image_size must be a multiple of 16 (four stride-2 layers), got {image_size}")
        check_choice(likelihood, "likelihood", LIKELIHOODS)
        check_choice(family, "family", FAMILIES)
        if tc_weight is None:
            tc_weight = DEFAULT_TC_WEIGHT if family == "beta_vae" else 0.0
        if beta_warmup is None:
            beta_warmup = DEFAULT_BETA_WARMUP if family in ("beta_vae", "capacity") else 0.0
        for name, value in (("beta", beta), ("sigma", sigma), ("beta_warmup", beta_warmup),
                            ("capacity_max", capacity_max), ("capacity_warmup", capacity_warmup), ("gamma", gamma),
                            ("tc_weight", tc_weight)):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
                raise ConfigError(f"{name} must be a finite number >= 0, got {value!r}")
        if sigma <= 0:
            raise ConfigError(f"sigma must be > 0, got {sigma!r}")
        if beta_warmup > 1 or capacity_warmup > 1:
            raise ConfigError("beta_warmup and capacity_warmup are fractions of training in [0, 1]")
        if not isinstance(standardize_input, bool):
            raise ConfigError(f"standardize_input must be True or False, got {standardize_input!r}")
        if family == "vae":
            beta = 1.0
        if family == "ae" and tc_weight > 0:
            raise ConfigError("tc_weight: the AE has no posterior noise, so no total correlation to penalise; "
                              "use tc_weight=0 (or None)")
        self.config = dict(latent_dim=latent_dim, beta=float(beta), image_size=image_size, likelihood=likelihood,
                           sigma=float(sigma), beta_warmup=float(beta_warmup), family=family,
                           capacity_max=float(capacity_max), capacity_warmup=float(capacity_warmup),
                           gamma=float(gamma), channels=channels, standardize_input=standardize_input,
                           tc_weight=float(tc_weight))
        self.objective = make_objective(self.config)
        if standardize_input:
            # identity until train() sets them from the training images; saved in the state dict
            self.register_buffer("input_mean", torch.zeros(1, channels, image_size, image_size))
            self.register_buffer("input_scale", torch.ones(1, channels, image_size, image_size))

        chans = (channels, *ENCODER_CHANNELS)
        self.encoder_convs = nn.ModuleList(
            nn.Conv2d(chans[i], chans[i + 1], KERNEL, STRIDE, PADDING) for i in range(len(ENCODER_CHANNELS)))
        self._feature_shape = (ENCODER_CHANNELS[-1], image_size // 16, image_size // 16)
        n_features = math.prod(self._feature_shape)
        self.encoder_fc = nn.Linear(n_features, HIDDEN_UNITS)
        self.encoder_out = nn.Linear(HIDDEN_UNITS, 2 * latent_dim)
        self.decoder_fc = nn.Linear(latent_dim, HIDDEN_UNITS)
        self.decoder_fc_out = nn.Linear(HIDDEN_UNITS, n_features)
        rev = chans[::-1]
        self.decoder_convs = nn.ModuleList(
            nn.ConvTranspose2d(rev[i], rev[i + 1], KERNEL, STRIDE, PADDING) for i in range(len(ENCODER_CHANNELS)))
        # trained beside the model on its own loss (train() gives it its own Adam settings); not part of the
        # encoder or decoder
        self.tc_critic = TotalCorrelationCritic(latent_dim) if tc_weight > 0 else None

    # -- properties -------------------------------------------------------------------------
    @property
    def latent_dim(self) -> int:
        return self.config["latent_dim"]

    @property
    def image_size(self) -> int:
        return self.config["image_size"]

    @property
    def channels(self) -> int:
        return self.config["channels"]

    @property
    def family(self) -> str:
        return self.config["family"]

    @property
    def beta(self) -> float:
        return self.config["beta"]

    @property
    def likelihood(self) -> str:
        return self.config["likelihood"]

    @property
    def deterministic(self) -> bool:
        """True for the AE: the encoder's mean is the code, there is no posterior noise or KL."""
        return self.family == "ae"

    @classmethod
    def from_config(cls, config: dict) -> "BetaVAE":
        """Rebuild an (untrained) model from ``model.config``."""
        # configs written before an option existed describe models trained without it: raw pixels
        # into the encoder, no total-correlation penalty
        config = {"standardize_input": False, "tc_weight": 0.0, **config}
        try:
            return cls(**config)
        except TypeError as exc:
            raise ConfigError(f"model config is not a BetaVAE config: {exc}") from None

    def extra_repr(self) -> str:
        c = self.config
        return (f"family={c['family']}, latent_dim={c['latent_dim']}, beta={c['beta']:g}, image_size={c['image_size']}, "
                f"likelihood={c['likelihood']}, sigma={c['sigma']:g}, tc_weight={c['tc_weight']:g}")

    def set_input_statistics(self, mean: torch.Tensor, sd: torch.Tensor) -> None:
        """Set the encoder's input standardisation from the training images' per-pixel mean and
        sd, each [C, H, W] in intensity units (sd floored at INPUT_SD_FLOOR)."""
        if not self.config["standardize_input"]:
            raise ConfigError("this model was built with standardize_input=False")
        shape = self.input_mean.shape[1:]
        if tuple(mean.shape) != tuple(shape) or tuple(sd.shape) != tuple(shape):
            raise ConfigError(f"input statistics must be {list(shape)}, got {list(mean.shape)} and {list(sd.shape)}")
        with torch.no_grad():
            self.input_mean.copy_(mean.reshape(1, *shape))
            self.input_scale.copy_(sd.reshape(1, *shape).clamp_min(INPUT_SD_FLOOR))

    # -- the network ----------------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images float [B, C, H, W] in [0, 1] -> (posterior means [B, K], log-variances [B, K])."""
        h = (x - self.input_mean) / self.input_scale if self.config["standardize_input"] else x
        for conv in self.encoder_convs:
            h = ops.conv2d(h, conv.weight, conv.bias, STRIDE, PADDING, activation="relu")
        h = ops.linear(h.flatten(1), self.encoder_fc.weight, self.encoder_fc.bias, activation="relu")
        out = ops.linear(h, self.encoder_out.weight, self.encoder_out.bias, activation="none")
        mu, logvar = out.chunk(2, dim=1)
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latents [B, K] -> decoder output [B, C, H, W]: logits (bernoulli) or pixel means (gaussian)."""
        h = ops.linear(z, self.decoder_fc.weight, self.decoder_fc.bias, activation="relu")
        h = ops.linear(h, self.decoder_fc_out.weight, self.decoder_fc_out.bias, activation="relu")
        h = h.view(-1, *self._feature_shape)
        last = len(self.decoder_convs) - 1
        for i, deconv in enumerate(self.decoder_convs):
            act = "relu" if i < last else "none"
            h = ops.conv_transpose2d(h, deconv.weight, deconv.bias, STRIDE, PADDING, activation=act)
        return h

    def output_to_pixels(self, output: torch.Tensor) -> torch.Tensor:
        """Decoder output -> pixel intensities in [0, 1] (sigmoid of logits, or clipped means)."""
        if self.likelihood == "bernoulli":
            return torch.sigmoid(output)
        return output.clamp(0.0, 1.0)

    def forward(self, x: torch.Tensor, eps: torch.Tensor | None = None):
        """One pass: returns (decoder output [B, C, H, W], mu [B, K], logvar [B, K], z [B, K], kl_per_unit [K]).

        ``eps`` [B, K] is the standard-normal noise of the reparameterisation; None uses the
        posterior mean (z = mu, as at test time). For the AE, z = mu and kl_per_unit is zeros.
        """
        mu, logvar = self.encode(x)
        if self.deterministic:
            z, kl = mu, mu.new_zeros(mu.shape[1])
        else:
            if eps is None:
                eps = torch.zeros_like(mu)
            z, kl = ops.reparameterize_kl(mu, logvar, eps)
        return self.decode(z), mu, logvar, z, kl


def AE(latent_dim: int = DEFAULT_LATENT_DIM, image_size: int = 64, likelihood: str = DEFAULT_LIKELIHOOD,
       **kwargs) -> BetaVAE:
    """The paper's AE baseline: the same architecture, deterministic encoder, no KL term."""
    return BetaVAE(latent_dim, 0.0, image_size, likelihood, family="ae", **kwargs)


def VAE(latent_dim: int = DEFAULT_LATENT_DIM, image_size: int = 64, likelihood: str = DEFAULT_LIKELIHOOD,
        **kwargs) -> BetaVAE:
    """The paper's VAE baseline: the same architecture and objective with β = 1."""
    return BetaVAE(latent_dim, 1.0, image_size, likelihood, family="vae", **kwargs)
