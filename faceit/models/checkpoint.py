"""Checkpoints: safetensors for the tensors, one JSON file that says which files make the checkpoint.

A checkpoint folder holds

    checkpoint.json                 format, model config, step, training settings, the names and
                                    SHA-256 checksums of the two files below ("weights",
                                    "optimizer_state"), Adam's hyper-parameters (the commit point)
    ckpt-00001000.safetensors       model weights
    ckpt-00001000.state.safetensors optimizer state and random-generator states (for resuming)

Every file is written atomically; checkpoint.json is written last, so a run killed at any
moment leaves the previous complete checkpoint in force. Older tensor files are removed only
after the new checkpoint.json is in place. Loading verifies both checksums.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from .._io import atomic_write_bytes, atomic_write_text
from ..errors import CheckpointError

FORMAT = "faceit-checkpoint"
VERSION = 1
INDEX = "checkpoint.json"


@dataclass
class Checkpoint:
    """A loaded checkpoint: model config and weights, step, and what a resumed run needs."""

    directory: Path
    config: dict
    step: int
    weights: dict
    optimizer: dict | None
    rng: dict
    training: dict


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _optimizer_to_tensors(state_dict: dict) -> tuple[dict, dict]:
    """Split an optimizer state_dict into {name: tensor} and a JSON-able remainder."""
    tensors, scalars = {}, {}
    for idx, slots in state_dict["state"].items():
        for key, value in slots.items():
            if torch.is_tensor(value):
                tensors[f"optim.{idx}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{idx}.{key}"] = value
    meta = {"param_groups": state_dict["param_groups"], "scalars": scalars}
    return tensors, meta


def _optimizer_from_tensors(tensors: dict, meta: dict) -> dict:
    state: dict = {}
    for name, value in tensors.items():
        if name.startswith("optim."):
            _, idx, key = name.split(".", 2)
            state.setdefault(int(idx), {})[key] = value
    for name, value in meta["scalars"].items():
        idx, key = name.split(".", 1)
        state.setdefault(int(idx), {})[key] = value
    return {"state": state, "param_groups": meta["param_groups"]}


def save_checkpoint(directory, model, step: int, *, optimizer=None, rng: dict | None = None,
                    training: dict | None = None) -> Path:
    """Write a checkpoint of ``model`` (and optionally ``optimizer`` and generator states) at ``step``.

    rng: {name: torch.Generator state (uint8 tensor)}; training: JSON-able settings of the run.
    Returns the path of checkpoint.json.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    previous = _read_index(directory) if (directory / INDEX).exists() else None

    stem = f"ckpt-{int(step):08d}"
    weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    weights_bytes = st_save(weights)
    state_tensors, optim_meta = ({}, None)
    if optimizer is not None:
        state_tensors, optim_meta = _optimizer_to_tensors(optimizer.state_dict())
    for name, gen_state in (rng or {}).items():
        state_tensors[f"rng.{name}"] = gen_state.detach().cpu().contiguous()
    state_bytes = st_save(state_tensors) if state_tensors else st_save({"empty": torch.zeros(0)})

    atomic_write_bytes(directory / f"{stem}.safetensors", weights_bytes)
    atomic_write_bytes(directory / f"{stem}.state.safetensors", state_bytes)
    index = {
        "format": FORMAT, "version": VERSION, "step": int(step), "config": model.config,
        "weights": f"{stem}.safetensors", "weights_sha256": _sha256(weights_bytes),
        "optimizer_state": f"{stem}.state.safetensors", "optimizer_state_sha256": _sha256(state_bytes),
        "optimizer": optim_meta, "rng": sorted((rng or {}).keys()), "training": training or {},
    }
    atomic_write_text(directory / INDEX, json.dumps(index, indent=1, default=_json_default) + "\n")
    if previous is not None:
        for key in ("weights", "optimizer_state"):
            old = previous.get(key)
            if old and old != index[key]:
                (directory / old).unlink(missing_ok=True)
    return directory / INDEX


def _json_default(value):
    if isinstance(value, tuple):
        return list(value)
    if torch.is_tensor(value):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in checkpoint.json")


def _read_index(directory: Path) -> dict:
    path = directory / INDEX
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{directory}: no checkpoint (missing {INDEX})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: unreadable checkpoint index ({exc})") from None
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a faceit checkpoint")
    if index.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint version {index.get('version')} is not supported "
                              f"(this faceit reads version {VERSION})")
    for key, kind in (("step", int), ("config", dict), ("weights", str), ("weights_sha256", str),
                      ("optimizer_state", str), ("optimizer_state_sha256", str)):
        if key not in index:
            raise CheckpointError(f"{path}: checkpoint index lacks {key!r}")
        if not isinstance(index[key], kind) or isinstance(index[key], bool):
            raise CheckpointError(f"{path}: checkpoint index field {key!r} should be a {kind.__name__}, "
                                  f"got {index[key]!r}")
    if index["step"] < 0:
        raise CheckpointError(f"{path}: checkpoint index has a negative step {index['step']}")
    return index


def _read_verified(directory: Path, name: str, checksum: str) -> dict:
    path = directory / name
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read checkpoint file ({exc.strerror or exc})") from None
    if _sha256(data) != checksum:
        raise CheckpointError(f"{path}: checksum mismatch, the checkpoint file is corrupt")
    try:
        return st_load(data)
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(f"{path}: not a readable safetensors file ({exc})") from None


def has_checkpoint(directory) -> bool:
    """True when ``directory`` holds a checkpoint index (it is not verified)."""
    return (Path(directory) / INDEX).is_file()


def read_checkpoint_info(directory) -> dict:
    """The checkpoint index (step, config, training settings) without loading tensors."""
    return _read_index(Path(directory))


def load_checkpoint(directory) -> Checkpoint:
    """Read and verify the checkpoint in ``directory``; raises CheckpointError if missing or corrupt."""
    directory = Path(directory)
    index = _read_index(directory)
    weights = _read_verified(directory, index["weights"], index["weights_sha256"])
    state = _read_verified(directory, index["optimizer_state"], index["optimizer_state_sha256"])
    optimizer = _optimizer_from_tensors(state, index["optimizer"]) if index.get("optimizer") else None
    rng = {name: state[f"rng.{name}"] for name in index.get("rng", []) if f"rng.{name}" in state}
    return Checkpoint(directory, index["config"], int(index["step"]), weights, optimizer, rng,
                      index.get("training", {}))


def load_model(directory, device="cpu"):
    """The model saved in ``directory`` (a training or sweep folder), in eval mode, on ``device``."""
    from .vae import BetaVAE

    # only the weights: the optimizer and generator states matter for resuming, not for using the model
    directory = Path(directory)
    index = _read_index(directory)
    weights = _read_verified(directory, index["weights"], index["weights_sha256"])
    model = BetaVAE.from_config(index["config"])
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        raise CheckpointError(f"{directory}: weights do not fit the stored config ({exc})") from None
    return model.to(device).eval()
