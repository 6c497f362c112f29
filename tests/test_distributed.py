"""Sweeps and permutation tests on a dask.distributed cluster give what they give in one process."""

import json

import numpy as np
import pytest
import torch

distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed (the [distributed] extra)")

from faceit import cli  # noqa: E402
from faceit.errors import ConfigError  # noqa: E402
from faceit.models import sweep  # noqa: E402
from faceit.stats import permutation_test  # noqa: E402
from faceit.stats import permutation as permutation_module  # noqa: E402
from faceit.stimuli import synthetic_faces  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    # one worker thread: models train one at a time, as on a worker process of a real cluster
    with distributed.LocalCluster(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None) as lc:
        with distributed.Client(lc) as client:
            yield lc, client


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    units = rng.standard_normal((200, 4))
    return units, units @ rng.standard_normal((4, 10)) + rng.standard_normal((200, 10))


@pytest.mark.parametrize("statistic, options", [("matched_r", {}), ("alignment", {}),
                                                ("explained_variance", {"cv": 3})])
def test_permutation_chunks_on_workers_give_the_local_null(cluster, data, statistic, options):
    _, client = cluster
    local = permutation_test(*data, statistic, n_permutations=40, chunk_size=9, progress=False, **options)
    remote = permutation_test(*data, statistic, n_permutations=40, chunk_size=9, progress=False, client=client,
                              **options)
    np.testing.assert_array_equal(remote.null, local.null)
    assert remote.p_value == local.p_value and remote.observed == local.observed
    if local.pair_p_values is not None:
        np.testing.assert_array_equal(remote.pair_p_values, local.pair_p_values)


def test_a_distributed_permutation_run_checkpoints_and_resumes(cluster, data, tmp_path, monkeypatch):
    _, client = cluster
    path = tmp_path / "null.npz"
    full = permutation_test(*data, n_permutations=30, chunk_size=10, progress=False)
    real = permutation_module._save_checkpoint

    def dies_after_the_second_chunk(p, fingerprint, done, arrays):
        real(p, fingerprint, done, arrays)
        if done == 20:
            raise KeyboardInterrupt

    monkeypatch.setattr(permutation_module, "_save_checkpoint", dies_after_the_second_chunk)
    with pytest.raises(KeyboardInterrupt):
        permutation_test(*data, n_permutations=30, chunk_size=10, checkpoint=path, progress=False, client=client)
    monkeypatch.setattr(permutation_module, "_save_checkpoint", real)
    with np.load(path) as saved:
        assert int(saved["n_done"]) == 20
    resumed = permutation_test(*data, n_permutations=30, chunk_size=10, checkpoint=path, progress=False,
                               client=client)
    np.testing.assert_array_equal(resumed.null, full.null)


def test_a_sweep_on_workers_trains_the_same_models(cluster, tmp_path):
    _, client = cluster
    faces = synthetic_faces(48, seed=1, size=32)
    kwargs = dict(betas=[2.0, 8.0], seeds=[0, 1], steps=4, model_kwargs={"latent_dim": 3},
                  train_kwargs={"batch_size": 4}, progress=False)
    local = sweep(faces, tmp_path / "local", **kwargs)
    remote = sweep(faces, tmp_path / "remote", client=client, **kwargs)
    assert [(e.beta, e.seed, e.status) for e in remote] == [(e.beta, e.seed, e.status) for e in local]
    for a, b in zip(local, remote):
        wa, wb = a.load_model().state_dict(), b.load_model().state_dict()
        assert all(torch.equal(wa[k], wb[k]) for k in wa)
    manifest = json.loads((tmp_path / "remote" / "sweep.json").read_text())
    assert [(m["beta"], m["seed"]) for m in manifest["models"]] == [(2.0, 0), (2.0, 1), (8.0, 0), (8.0, 1)]
    assert [e.status for e in sweep(faces, tmp_path / "remote", client=client, **kwargs)] == ["skipped"] * 4


def test_client_must_be_a_dask_client(data):
    with pytest.raises(ConfigError, match="dask.distributed.Client"):
        permutation_test(*data, n_permutations=5, progress=False, client="tcp://localhost:8786")


def test_cli_permtest_on_a_scheduler(cluster, data, tmp_path, capsys):
    lc, _ = cluster
    np.save(tmp_path / "units.npy", data[0])
    np.save(tmp_path / "rates.npy", data[1])
    args = ["permtest", "--units", str(tmp_path / "units.npy"), "--responses", str(tmp_path / "rates.npy"), "-n", "20"]
    assert cli.main(args) == 0
    here = json.loads(capsys.readouterr().out)
    assert cli.main(args + ["--scheduler", lc.scheduler_address]) == 0
    there = json.loads(capsys.readouterr().out)
    assert there["p_value"] == here["p_value"] and there["pair_p_values"] == here["pair_p_values"]


def test_a_scheduler_address_that_is_no_address_is_a_config_error():
    from faceit._dask import connect

    with pytest.raises(ConfigError, match="cannot connect"):
        connect("foo://nowhere:1")


def test_distributed_results_name_the_workers_backend(cluster, data, monkeypatch):
    """The backend reported is what the workers used (this in-process cluster runs the patched function)."""
    _, client = cluster
    real = permutation_module._score_chunk_on_worker
    monkeypatch.setattr(permutation_module, "_score_chunk_on_worker",
                        lambda *args: ("workers-backend", real(*args)[1]))
    result = permutation_test(*data, n_permutations=10, progress=False, backend="numpy", client=client)
    assert result.backend == "workers-backend"


def test_a_repeated_seed_is_one_model(cluster, tmp_path):
    _, client = cluster
    faces = synthetic_faces(24, seed=1, size=32)
    entries = sweep(faces, tmp_path, betas=[4.0, 4.0], seeds=[0, 0], steps=2, model_kwargs={"latent_dim": 3},
                    train_kwargs={"batch_size": 4}, progress=False, client=client)
    assert [(e.beta, e.seed, e.status) for e in entries] == [(4.0, 0, "trained")]
