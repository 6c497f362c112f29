"""Using a trained model: encode images to a Representation, decode latents to images, latent traversals."""

from __future__ import annotations

import numpy as np
import torch

from .._validation import as_matrix, as_real_array, check_finite, check_positive_int
from ..errors import ConfigError, DataError
from ..representation import Representation
from .train import as_float_pixels, images_to_tensor


def _device_of(model) -> torch.device:
    return next(model.parameters()).device


def _check_model(model) -> None:
    if not hasattr(model, "config") or not hasattr(model, "encode"):
        raise ConfigError("model must be a faceit.models.BetaVAE (or AE/VAE); load one with faceit.models.load_model")


@torch.no_grad()
def encode_arrays(model, images, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Posterior means and log-variances, float64 [N, K] each, of ``images`` (as in :func:`train`)."""
    _check_model(model)
    batch_size = check_positive_int(batch_size, "batch_size")
    data = images_to_tensor(images, model)
    dev = _device_of(model)
    was_training = model.training
    model.eval()
    mus, logvars = [], []
    for start in range(0, data.shape[0], batch_size):
        mu, logvar = model.encode(as_float_pixels(data[start:start + batch_size].to(dev)))
        mus.append(mu.double().cpu())
        logvars.append(logvar.double().cpu())
    model.train(was_training)
    return torch.cat(mus).numpy(), torch.cat(logvars).numpy()


def encode(model, images, batch_size: int = 256, name: str | None = None) -> Representation:
    """Encode ``images`` into a :class:`~faceit.representation.Representation`.

    units: posterior means float [N, K]; kl: per-unit KL(q(z|x) || N(0, 1)) in nats, averaged
    over the images (None for the AE, which has no posterior); informative: kl > 0.01
    (all units for the AE). ``name`` defaults to the model family and β.
    """
    mu, logvar = encode_arrays(model, images, batch_size)
    cfg = model.config
    if name is None:
        name = cfg["family"] if cfg["family"] in ("ae", "vae") else f"{cfg['family']}(beta={cfg['beta']:g})"
    if model.deterministic:
        kl = None
    else:
        kl = (0.5 * (mu ** 2 + np.exp(logvar) - 1.0 - logvar)).mean(axis=0)
    meta = {"model_config": dict(cfg), "posterior_logvar_mean": logvar.mean(axis=0).tolist()}
    return Representation(units=mu, kl=kl, name=name, meta=meta)


@torch.no_grad()
def decode(model, latents, batch_size: int = 256) -> np.ndarray:
    """Render latent vectors [N, K] with the decoder: float32 images [N, H, W, C] in [0, 1]."""
    _check_model(model)
    batch_size = check_positive_int(batch_size, "batch_size")
    z = as_matrix(latents, "latents")
    k = model.config["latent_dim"]
    if z.shape[1] != k:
        raise DataError(f"latents: expected {k} columns (the model's latent_dim), got shape {z.shape}")
    dev = _device_of(model)
    was_training = model.training
    model.eval()
    out = []
    for start in range(0, z.shape[0], batch_size):
        zb = torch.as_tensor(z[start:start + batch_size], dtype=torch.float32, device=dev)
        out.append(model.output_to_pixels(model.decode(zb)).cpu())
    model.train(was_training)
    return torch.cat(out).permute(0, 2, 3, 1).numpy()


def traversals(model, base, units=None, values=None) -> np.ndarray:
    """Latent traversals: each unit swept over ``values`` with the others fixed at ``base``.

    base: a latent vector [K] (e.g. the posterior mean of one image; zeros = the prior mean),
        or images [1, H, W, C] / [H, W, C], encoded to their posterior mean.
    units: indices of the units to sweep (default: all, in order).
    values: the values each swept unit takes (default 9 points in [-2.5, 2.5], prior s.d. units).
    Returns float32 images [len(units), len(values), H, W, C] in [0, 1].
    """
    _check_model(model)
    k = model.config["latent_dim"]
    base_arr = np.asarray(base)
    if base_arr.ndim == 1 and base_arr.shape[0] == k and base_arr.dtype.kind != "u":
        z0 = check_finite(as_real_array(base_arr, "base", ndim=1), "base")
    elif base_arr.ndim not in (3, 4):
        raise DataError(f"base: expected a latent vector of length {k} or one image [H, W, C], got shape "
                        f"{base_arr.shape}")
    else:
        if base_arr.ndim == 3:
            base_arr = base_arr[None]
        mu, _ = encode_arrays(model, base_arr)
        if mu.shape[0] != 1:
            raise DataError(f"base: expected one image or one latent vector of length {k}, got shape {np.shape(base)}")
        z0 = mu[0]
    units = np.arange(k) if units is None else np.atleast_1d(np.asarray(units))
    if units.dtype.kind not in "iu" or units.size == 0 or units.min() < 0 or units.max() >= k:
        raise DataError(f"units: expected indices in [0, {k}), got {units.tolist()}")
    values = np.linspace(-2.5, 2.5, 9) if values is None else check_finite(
        as_real_array(values, "values", ndim=1), "values")
    z = np.repeat(z0[None, None, :], units.size * values.size, axis=0).reshape(units.size, values.size, k)
    z[np.arange(units.size), :, units] = values
    images = decode(model, z.reshape(-1, k))
    return images.reshape(units.size, values.size, *images.shape[1:])


def save_traversals(model, base, path, units=None, values=None, row_labels=None, title: str | None = None):
    """Write the :func:`traversals` grid as a PNG (one row per unit, one column per value), atomically.

    row_labels: one label per swept unit (default "unit j"); columns are labelled by value.
    Returns the path written.
    """
    from ..report.images import save_image_grid

    k = model.config["latent_dim"]
    values = np.linspace(-2.5, 2.5, 9) if values is None else values
    images = traversals(model, base, units, values)
    units = np.arange(k) if units is None else np.atleast_1d(np.asarray(units))
    labels = [f"unit {j}" for j in units] if row_labels is None else row_labels
    return save_image_grid(images, path, row_labels=labels, col_labels=[f"{v:+.3g}" for v in np.asarray(values)],
                           title=title)
