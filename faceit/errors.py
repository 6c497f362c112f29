"""Errors raised by faceit's public functions.

Every public function validates its input early and raises a subclass of
:class:`FaceitError` whose message names the argument or file that is wrong.
The CLI turns any FaceitError into one line on stderr and exit code 2.
"""

from __future__ import annotations


class FaceitError(Exception):
    """Base class of every error faceit raises on purpose."""


class DataError(FaceitError, ValueError):
    """Input data is malformed: wrong shape, NaN/inf, mismatched ids, unreadable file."""


class ConfigError(FaceitError, ValueError):
    """An argument or a configuration key has an invalid value."""


class InfeasibleError(DataError):
    """An assignment problem has no complete assignment of finite cost."""


class CheckpointError(DataError):
    """A checkpoint is missing, corrupt, or fails its checksum."""


class BackendUnavailableError(ConfigError):
    """A compute backend was asked for explicitly but cannot run here (e.g. cupy without a GPU)."""
