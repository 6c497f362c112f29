"""The run folder: every stage's outputs, written atomically, reused on a rerun.

Each cached result carries the fingerprint of the configuration it was computed from; a rerun
with the same configuration loads it instead of recomputing, so a crashed run resumes where
it stopped and nothing finished is redone.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .._io import atomic_path, atomic_write_text
from ..errors import ConfigError


class RunStore:
    """Paths and cached artefacts under one run folder."""

    def __init__(self, root):
        self.root = Path(root)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"run folder {self.root}: cannot be made ({exc.strerror or exc})") from None

    def forget(self, name: str) -> None:
        """Drop the JSON record ``name`` (before overwriting the data it vouches for: a run killed in
        between then leaves data without a record, recomputed on the next run, never a stale record)."""
        (self.root / f"{name}.json").unlink(missing_ok=True)

    def path(self, *parts) -> Path:
        p = self.root.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    # ---- arrays
    def load_arrays(self, name: str, fingerprint: str) -> dict | None:
        """The arrays saved under ``name`` if they were made with ``fingerprint``, else None."""
        p = self.root / f"{name}.npz"
        if not p.is_file():
            return None
        try:
            with np.load(p, allow_pickle=False) as data:
                if str(data.get("_fingerprint", "")) != fingerprint:
                    return None
                return {k: data[k] for k in data.files if k != "_fingerprint"}
        except (OSError, ValueError):
            return None  # a damaged cache file is recomputed, never trusted

    def save_arrays(self, name: str, fingerprint: str, arrays: dict) -> Path:
        p = self.path(f"{name}.npz")
        with atomic_path(p, suffix=".npz") as tmp:
            np.savez(tmp, _fingerprint=np.asarray(fingerprint), **arrays)
        return p

    # ---- JSON
    def load_json(self, name: str, fingerprint: str):
        p = self.root / f"{name}.json"
        if not p.is_file():
            return None
        try:
            record = json.loads(p.read_text())
        except (OSError, json.JSONDecodeError):
            return None
        return record.get("value") if record.get("fingerprint") == fingerprint else None

    def save_json(self, name: str, fingerprint: str, value) -> Path:
        p = self.path(f"{name}.json")
        atomic_write_text(p, json.dumps({"fingerprint": fingerprint, "value": value}, indent=1, default=_plain))
        return p

    def cached_json(self, name: str, fingerprint: str, compute):
        value = self.load_json(name, fingerprint)
        if value is None:
            value = compute()
            self.save_json(name, fingerprint, value)
            value = json.loads(json.dumps(value, default=_plain))
        return value


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} as JSON")
