"""Work spread over a dask.distributed cluster: the ``client=`` argument of sweep and permutation_test.

Only what is needed to hand independent pieces of work (one model of a sweep, one chunk of
permutations) to the workers of a ``dask.distributed.Client`` and take the results back. dask is
an optional dependency (``pip install faceit-neuro[distributed]``); without a client nothing here
is imported.
"""

from __future__ import annotations

from .errors import BackendUnavailableError, ConfigError


def _client_class(what: str):
    """dask.distributed's Client class; BackendUnavailableError naming ``what`` when it is not installed."""
    try:
        from distributed import Client
    except ImportError:
        raise BackendUnavailableError(f"{what}: dask.distributed is not installed "
                                      "(pip install 'faceit-neuro[distributed]')") from None
    return Client


def check_client(client):
    """``client`` if it is a dask.distributed Client; ConfigError otherwise."""
    if not isinstance(client, _client_class("client=")):
        raise ConfigError(f"client must be a dask.distributed.Client, got {type(client).__name__}")
    return client


def connect(address: str):
    """A Client connected to the scheduler at ``address`` (e.g. tcp://host:8786); ConfigError if it cannot."""
    client_class = _client_class("--scheduler")
    try:
        return client_class(address, timeout="20s")
    except (OSError, TimeoutError, ValueError, TypeError) as exc:  # unreachable, or not an address
        raise ConfigError(f"--scheduler {address}: cannot connect ({exc})") from None


def in_order(client, futures):
    """Each future's result, in the order given (raises the first task error); the futures not yet
    taken are cancelled when the caller stops early."""
    try:
        for future in futures:
            yield future.result()
    finally:
        client.cancel(futures)
