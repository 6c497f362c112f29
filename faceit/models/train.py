"""Training: Adam on random mini-batches, seeded, logged, checkpointed and resumable.

On the CPU a run is deterministic: the same model config, images, seed and settings give
bitwise-identical weights, whether the run was uninterrupted or killed and resumed from its
checkpoint (the optimizer state and both random generators are part of the checkpoint).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .._io import atomic_write_text
from .._validation import as_real_array, check_number, check_positive_int
from ..errors import BackendUnavailableError, CheckpointError, ConfigError, DataError, FaceitError
from .checkpoint import has_checkpoint, load_checkpoint, save_checkpoint
from .graph_step import GraphedTrainingStep
from .objectives import batch_loss
from .tc_critic import CRITIC_BETAS, CRITIC_LR

# The recipe (docs/recipe.md).
DEFAULT_STEPS = 9_000
DEFAULT_LR = 2e-3
DEFAULT_BATCH_SIZE = 16
LOG_NAME = "log.jsonl"


@dataclass
class TrainResult:
    """What :func:`train` returns: the trained model (also trained in place) and its log.

    log: one dict per logged interval: step, loss, recon (nll, nats/image), kl (total nats),
    kl_per_unit (list of K floats, nats), beta (the KL weight in force), and for a model with a
    TC critic tc (its estimate of the units' total correlation, nats) and critic_loss; each
    averaged over the steps since the previous entry.
    """

    model: torch.nn.Module
    log: list = field(default_factory=list)
    step: int = 0
    seconds: float = 0.0
    steps_run: int = 0
    checkpoint_dir: Path | None = None

    @property
    def steps_per_second(self) -> float:
        """Steps run in this call per second of wall time (0 if nothing ran)."""
        return self.steps_run / self.seconds if self.seconds > 0 else 0.0


def resolve_device(device) -> torch.device:
    """"auto" -> cuda when available, else cpu; refuses cuda where there is none."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(f"device={device!r} is not a device ({exc})") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise BackendUnavailableError(f"device={device!r}: CUDA is not available here; use device='cpu'")
    return dev


def images_to_tensor(images, model, name: str = "images") -> torch.Tensor:
    """Validate images for ``model`` and return them as a tensor [N, C, H, W].

    images: a Stimuli-like object with ``.images``, or an array [N, H, W, C] (or [N, H, W] for
    one channel) of uint8 0-255 or floats in [0, 1]. uint8 stays uint8 (converted per batch).
    """
    if hasattr(images, "images"):
        images = images.images
    if torch.is_tensor(images):
        images = images.detach().cpu().numpy()
    arr = as_real_array(images, name, ndim=(3, 4), dtype=None)
    if arr.ndim == 3:
        arr = arr[..., None]
    n, h, w, c = arr.shape
    size, channels = model.config["image_size"], model.config["channels"]
    if n == 0:
        raise DataError(f"{name}: no images")
    if (h, w) != (size, size) or c != channels:
        raise DataError(f"{name}: expected images [N, {size}, {size}, {channels}] for this model "
                        f"(image_size={size}, channels={channels}), got shape {arr.shape}")
    if arr.dtype == np.uint8:
        out = torch.from_numpy(np.ascontiguousarray(arr.transpose(0, 3, 1, 2)))
    else:
        if arr.dtype.kind != "f":
            raise DataError(f"{name}: expected uint8 (0-255) or float (0-1) pixels, got dtype {arr.dtype}")
        if not np.isfinite(arr).all():
            raise DataError(f"{name}: contains NaN or inf pixels")
        lo, hi = float(arr.min()), float(arr.max())
        if lo < 0 or hi > 1:
            raise DataError(f"{name}: float pixels must lie in [0, 1], found range [{lo:g}, {hi:g}] "
                            "(pass uint8 images, or divide by 255)")
        out = torch.from_numpy(np.ascontiguousarray(arr.transpose(0, 3, 1, 2), dtype=np.float32))
    return out


def as_float_pixels(batch: torch.Tensor) -> torch.Tensor:
    """uint8 or float batch -> float32 in [0, 1]."""
    return batch.float().div_(255.0) if batch.dtype == torch.uint8 else batch.float()


def _seeds(seed: int) -> tuple[int, int, int]:
    """Independent seeds for weight init, batch sampling and posterior noise."""
    state = np.random.SeedSequence(seed).generate_state(3, dtype=np.uint64)
    return tuple(int(s) & 0x7FFF_FFFF_FFFF_FFFF for s in state)


def initialize_weights(model: torch.nn.Module, seed: int, mean_pixel=None) -> None:
    """Re-draw every weight from ``seed`` alone: LeCun-normal (std = 1 / sqrt(fan-in)), biases 0.

    mean_pixel: float [C], the training images' mean intensity per channel in [0, 1]. If given, the
    decoder's output bias starts there (its logit for a Bernoulli likelihood), so that the first
    output is the mean colour: starting from 0 instead, the first Adam steps chase an error of
    thousands of nats and, for some seeds, leave the decoder on the mean image for a long time with
    every unit ignored (docs/recipe.md, "The output bias").

    The fan-in of a stride-s transposed convolution is in_channels * (kernel / s)^2, the inputs
    each output pixel actually sees. Torch's default (std = 1 / sqrt(3 fan-in)) shrinks the signal
    about 2.4-fold per ReLU layer, and with it the early gradients; He init (std = sqrt(2 / fan-in))
    activates every latent unit at once, entangled. LeCun-normal sits between them: the units come
    online one after another, which is what disentangled in docs/recipe.md.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for module in model.modules():
            if isinstance(module, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear)):
                if isinstance(module, torch.nn.ConvTranspose2d):
                    fan_in = module.weight.shape[0] * math.prod(k // s for k, s in zip(module.kernel_size,
                                                                                         module.stride))
                else:
                    fan_in = module.weight[0].numel()
                torch.nn.init.normal_(module.weight, 0.0, fan_in ** -0.5)
                if module.bias is not None:
                    torch.nn.init.zeros_(module.bias)
            elif module is not model and hasattr(module, "reset_parameters"):
                module.reset_parameters()
    if mean_pixel is not None:
        mean = torch.as_tensor(np.asarray(mean_pixel, dtype=np.float32)).clamp(1e-3, 1 - 1e-3)
        bias = model.decoder_convs[-1].bias
        with torch.no_grad():
            bias.copy_(torch.logit(mean) if model.config["likelihood"] == "bernoulli" else mean)


def pixel_statistics(data: torch.Tensor, chunk: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-pixel mean and sd of images [N, C, H, W] (uint8 or float in [0, 1]): float32 [C, H, W] each,
    accumulated in float64 chunk by chunk."""
    total = sq = 0
    for part in data.split(chunk):
        part = as_float_pixels(part).double()
        total = total + part.sum(0)
        sq = sq + (part * part).sum(0)
    mean = total / data.shape[0]
    var = (sq / data.shape[0] - mean * mean).clamp_min(0)
    return mean.float(), var.sqrt().float()


def channel_means(data: torch.Tensor, chunk: int = 4096) -> np.ndarray:
    """Mean intensity per channel of images [N, C, H, W] (uint8 or float in [0, 1]): float64 [C]."""
    total = sum(as_float_pixels(part).sum(dim=(0, 2, 3)).double() for part in data.split(chunk))
    return (total / (data.shape[0] * data.shape[2] * data.shape[3])).cpu().numpy()


def _parameter_groups(model) -> list[dict]:
    """Adam's parameter groups: the model's weights at the run's lr; a TC critic's at its own lr and betas."""
    critic = getattr(model, "tc_critic", None)
    if critic is None:
        return [{"params": list(model.parameters())}]
    own = {id(p) for p in critic.parameters()}
    return [{"params": [p for p in model.parameters() if id(p) not in own]},
            {"params": list(critic.parameters()), "lr": CRITIC_LR, "betas": CRITIC_BETAS}]


@contextlib.contextmanager
def _torch_threads(n: int | None):
    if n is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _checked_folder(checkpoint_dir) -> Path:
    """The checkpoint folder, created now so that a bad path fails before training, not at the first checkpoint."""
    folder = Path(checkpoint_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"checkpoint_dir {folder}: cannot be used as a folder ({exc.strerror or exc})") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"checkpoint_dir {folder}: not writable")
    return folder


def _read_log(path: Path, upto_step: int) -> list:
    if not path.exists():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            entry = json.loads(line)
            if entry["step"] <= upto_step:
                entries.append(entry)
    return entries


def _write_log(path: Path, entries: list) -> None:
    atomic_write_text(path, "".join(json.dumps(e) + "\n" for e in entries))


def train(model, images, steps: int = DEFAULT_STEPS, batch_size: int = DEFAULT_BATCH_SIZE, seed: int = 0,
          checkpoint_dir=None, device="auto", *, lr: float = DEFAULT_LR, checkpoint_every: int | None = None,
          log_every: int = 50, init_weights: bool = True, num_threads: int | None = None,
          progress: bool = True, cuda_graph: bool | None = None) -> TrainResult:
    """Train ``model`` (a :class:`~faceit.models.BetaVAE`, AE or VAE) on ``images``, in place.

    images: Stimuli, or uint8 [N, H, W, C] (or floats in [0, 1]) matching the model's image size.
    steps: total optimizer steps of the run (a resumed run continues up to this number).
    batch_size: images per step, drawn uniformly at random with replacement.
    seed: fixes the initial weights (when ``init_weights``), the batches, the posterior noise and
        the TC critic's shuffles.
    checkpoint_dir: folder for checkpoints and log.jsonl; if it already holds a checkpoint of
        the same model and settings, training resumes from it (a finished run returns at once).
    device: "auto" (cuda if available), "cpu", "cuda" or a torch.device.
    lr: Adam learning rate. checkpoint_every: steps between checkpoints (default steps // 10,
        at least 100, rounded up to a multiple of log_every); the final step is always
        checkpointed. log_every: steps per log entry (and an entry at every checkpoint).
    init_weights: re-draw the initial weights from ``seed``, with the output bias at the images' mean
        colour and (``standardize_input`` models) the encoder's input statistics from ``images``
        (False keeps the model's weights and statistics, e.g. to fine-tune). num_threads: torch CPU threads
        for this call (None leaves it alone).
    cuda_graph: capture the whole step in a CUDA graph and replay it (faceit.models.graph_step;
        2-4x the steps per second on a GPU, where this small network is bound by kernel launches).
        None: on for a CUDA device. The result is the same training run up to float rounding.
    """
    steps = check_positive_int(steps, "steps")
    batch_size = check_positive_int(batch_size, "batch_size")
    seed = check_positive_int(seed, "seed", minimum=0)
    log_every = check_positive_int(log_every, "log_every")
    lr = check_number(lr, "lr", positive=True)
    if checkpoint_every is None:  # a tenth of the run, on a log step so no log entry straddles a resume
        checkpoint_every = -(-max(100, steps // 10) // log_every) * log_every
    checkpoint_every = check_positive_int(checkpoint_every, "checkpoint_every")
    if not hasattr(model, "config") or not hasattr(model, "objective"):
        raise ConfigError("model must be a faceit.models.BetaVAE (or AE/VAE)")
    dev = resolve_device(device)
    if cuda_graph is None:
        cuda_graph = dev.type == "cuda"
    elif not isinstance(cuda_graph, bool):
        raise ConfigError(f"cuda_graph must be True, False or None, got {cuda_graph!r}")
    elif cuda_graph and dev.type != "cuda":
        raise ConfigError(f"cuda_graph=True needs a CUDA device; training runs on {dev}")
    data = images_to_tensor(images, model).to(dev)
    n_images = data.shape[0]

    init_seed, batch_seed, noise_seed = _seeds(seed)
    training = {"batch_size": batch_size, "seed": seed, "lr": float(lr), "steps": steps, "optimizer": "adam",
                "n_images": n_images, "device": dev.type}
    ckpt_dir = _checked_folder(checkpoint_dir) if checkpoint_dir is not None else None
    log_path = ckpt_dir / LOG_NAME if ckpt_dir is not None else None

    model.to(dev)
    # torch's fused Adam: one kernel per step instead of ~6 per parameter tensor (about 1.5 ms of a
    # 12 ms CPU step at batch 16); the same update up to float rounding
    optimizer = torch.optim.Adam(_parameter_groups(model), lr=lr, fused=dev.type in ("cpu", "cuda"),
                                 capturable=cuda_graph)
    batch_gen = torch.Generator(device="cpu").manual_seed(batch_seed)
    noise_gen = torch.Generator(device=dev).manual_seed(noise_seed)
    start, log = 0, []

    if ckpt_dir is not None and has_checkpoint(ckpt_dir):
        ckpt = load_checkpoint(ckpt_dir)
        if ckpt.config != model.config:
            raise CheckpointError(f"{ckpt_dir}: holds a run of a different model ({ckpt.config}); "
                                  "use another checkpoint_dir")
        for key in ("batch_size", "seed", "lr", "n_images"):
            if ckpt.training.get(key) != training[key]:
                raise CheckpointError(f"{ckpt_dir}: holds a run with {key}={ckpt.training.get(key)!r}, "
                                      f"not {training[key]!r}; use another checkpoint_dir to start afresh")
        model.load_state_dict(ckpt.weights)
        start = ckpt.step
        if start < steps:  # what only a continued run needs
            trained_on = ckpt.training.get("device")
            try:
                if trained_on not in (None, dev.type):
                    raise RuntimeError
                if ckpt.optimizer is not None:
                    optimizer.load_state_dict(ckpt.optimizer)
                batch_gen.set_state(ckpt.rng["batch"])
                noise_gen.set_state(ckpt.rng["noise"].to("cpu"))
            except RuntimeError:
                raise CheckpointError(f"{ckpt_dir}: its optimizer and random-generator states do not fit a run on "
                                      f"{dev.type} (trained on {trained_on or 'an unrecorded device'}); continue it on "
                                      "the kind of device it was trained on") from None
        log = _read_log(log_path, start)
    elif init_weights:
        initialize_weights(model, init_seed, mean_pixel=channel_means(data))
        if model.config.get("standardize_input"):
            model.set_input_statistics(*pixel_statistics(data))

    result = TrainResult(model=model, log=log, step=start, checkpoint_dir=ckpt_dir)
    if start >= steps:
        model.eval()
        return result

    def checkpoint(step):
        if ckpt_dir is None:
            return
        # the log first: a run killed between the two resumes from the previous checkpoint, whose
        # log entries _read_log keeps; the other way round would lose the entries in between
        _write_log(log_path, log)
        save_checkpoint(ckpt_dir, model, step, optimizer=optimizer,
                        rng={"batch": batch_gen.get_state(), "noise": noise_gen.get_state()}, training=training)

    def eager_step(x, eps, progress, shuffle):
        terms = batch_loss(model, x, eps, progress, shuffle)
        optimizer.zero_grad(set_to_none=True)
        terms.to_minimise().backward()
        optimizer.step()
        return terms

    run_step = GraphedTrainingStep(model, optimizer) if cuda_graph else eager_step
    k = model.config["latent_dim"]
    has_critic = getattr(model, "tc_critic", None) is not None
    sums = None
    n_sum = 0
    model.train()
    t0 = time.perf_counter()
    with _torch_threads(num_threads), tqdm(total=steps, initial=start, desc=f"train {model.family}",
                                           disable=not progress, unit="step", leave=False) as bar:
        for step in range(start, steps):
            idx = torch.randint(n_images, (batch_size,), generator=batch_gen).to(dev)
            x = as_float_pixels(data[idx])
            eps = None if model.deterministic else torch.randn(
                (batch_size, k), generator=noise_gen, device=dev)
            shuffle = torch.rand((batch_size, k), generator=noise_gen, device=dev) if has_critic else None
            terms = run_step(x, eps, step / steps, shuffle)

            tracked = [terms.loss, terms.nll, terms.kl] + ([terms.tc, terms.critic_loss] if has_critic else [])
            values = torch.stack([t.detach() for t in tracked])
            per_unit = terms.kl_per_unit.detach()
            sums = (values, per_unit) if sums is None else (sums[0] + values, sums[1] + per_unit)
            n_sum += 1
            done = step + 1
            at_checkpoint = done % checkpoint_every == 0 or done == steps
            # an entry at every checkpoint too, so that a resumed run logs exactly what an unbroken one does
            if done % log_every == 0 or at_checkpoint:
                loss, recon, kl, *critic = (sums[0] / n_sum).tolist()
                entry = {"step": done, "loss": loss, "recon": recon, "kl": kl,
                         "kl_per_unit": (sums[1] / n_sum).tolist(),
                         "beta": float(model.objective.beta_at(step / steps))}
                if has_critic:
                    entry["tc"], entry["critic_loss"] = critic
                if not np.isfinite(loss):
                    raise FaceitError(f"training diverged at step {done} (loss {loss}); lower lr")
                log.append(entry)
                sums, n_sum = None, 0
                bar.set_postfix(loss=f"{loss:.1f}", kl=f"{kl:.1f}", refresh=False)
            if at_checkpoint:
                checkpoint(done)
            bar.update(1)
    result.seconds = time.perf_counter() - t0
    result.steps_run = steps - start
    result.step = steps
    model.eval()
    return result
