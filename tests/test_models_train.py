"""Training lowers the loss, is deterministic, checkpoints atomically and resumes bitwise; sweeps resume."""

import json
import sys

import numpy as np
import pytest
import torch

from faceit.errors import CheckpointError, ConfigError
from faceit.models import AE, VAE, BetaVAE, load_checkpoint, load_model, sweep, train
from faceit.stimuli import synthetic_faces

train_module = sys.modules["faceit.models.train"]  # the module; faceit.models.train is the function


@pytest.fixture(scope="module")
def faces():
    return synthetic_faces(256, seed=7, size=32)


def small_model(**kwargs):
    kwargs.setdefault("latent_dim", 6)
    kwargs.setdefault("beta", 4.0)
    return BetaVAE(image_size=32, **kwargs)


def weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs"


def test_a_short_run_lowers_the_loss_and_logs_every_term(faces, tmp_path):
    model = small_model()
    result = train(model, faces, 120, batch_size=32, seed=0, lr=1e-3, log_every=20, checkpoint_dir=tmp_path,
                   progress=False)
    log = result.log
    assert [e["step"] for e in log] == list(range(20, 121, 20))
    assert log[-1]["loss"] < 0.7 * log[0]["loss"]
    assert log[-1]["recon"] < log[0]["recon"]
    for e in log:
        assert len(e["kl_per_unit"]) == 6
        assert e["kl"] == pytest.approx(sum(e["kl_per_unit"]), rel=1e-5)
    # the β warm-up (20% of training by default) is in force in the log
    assert log[0]["beta"] < 4.0 and log[-1]["beta"] == 4.0
    on_disk = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert on_disk == log
    assert result.step == 120 and result.steps_per_second > 0


def test_training_is_deterministic_for_a_seed(faces):
    runs = []
    for seed in (0, 0, 1):
        model = small_model()
        train(model, faces, 15, batch_size=16, seed=seed, progress=False)
        runs.append(weights(model))
    assert_same_weights(runs[0], runs[1])
    assert not torch.equal(runs[0]["encoder_fc.weight"], runs[2]["encoder_fc.weight"])


class Killed(Exception):
    """Stands in for the process dying: raised in the middle of a step, nothing is cleaned up."""


@pytest.mark.parametrize("family, every", [("beta_vae", 10), ("ae", 10), ("beta_vae", 12)])
def test_kill_and_resume_gives_bitwise_the_uninterrupted_run(faces, tmp_path, monkeypatch, family, every):
    """every=12 is not a multiple of log_every=5: the log entry at the checkpoint keeps the logs equal."""
    make = (lambda: AE(latent_dim=6, image_size=32)) if family == "ae" else small_model
    steps = 40
    full = make()
    full_result = train(full, faces, steps, batch_size=16, seed=3, checkpoint_dir=tmp_path / "full",
                        checkpoint_every=every, log_every=5, progress=False)

    calls = {"n": 0}
    real_batch_loss = train_module.batch_loss

    def dies_at_step_26(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 26:
            raise Killed
        return real_batch_loss(*args, **kwargs)

    monkeypatch.setattr(train_module, "batch_loss", dies_at_step_26)
    with pytest.raises(Killed):
        train(make(), faces, steps, batch_size=16, seed=3, checkpoint_dir=tmp_path / "cut",
              checkpoint_every=every, log_every=5, progress=False)
    monkeypatch.setattr(train_module, "batch_loss", real_batch_loss)
    assert load_checkpoint(tmp_path / "cut").step == 25 // every * every

    resumed = make()
    result = train(resumed, faces, steps, batch_size=16, seed=3, checkpoint_dir=tmp_path / "cut",
                   checkpoint_every=every, log_every=5, progress=False)
    assert result.steps_run == steps - 25 // every * every
    assert_same_weights(weights(full), weights(resumed))
    assert result.log == full_result.log
    assert_same_weights(weights(load_model(tmp_path / "cut")), weights(full))
    # only the newest checkpoint's tensor files remain
    assert sorted(p.name for p in (tmp_path / "cut").glob("*.safetensors")) == [
        "ckpt-00000040.safetensors", "ckpt-00000040.state.safetensors"]


def test_a_finished_run_is_not_retrained(faces, tmp_path):
    model = small_model()
    train(model, faces, 10, batch_size=8, checkpoint_dir=tmp_path, progress=False)
    again = small_model()
    result = train(again, faces, 10, batch_size=8, checkpoint_dir=tmp_path, progress=False)
    assert result.steps_run == 0
    assert_same_weights(weights(model), weights(again))


def test_corrupt_or_mismatched_checkpoints_are_refused(faces, tmp_path):
    train(small_model(), faces, 10, batch_size=8, checkpoint_dir=tmp_path, progress=False)
    with pytest.raises(CheckpointError, match="different model"):
        train(small_model(beta=8.0), faces, 10, batch_size=8, checkpoint_dir=tmp_path, progress=False)
    with pytest.raises(CheckpointError, match="batch_size"):
        train(small_model(), faces, 10, batch_size=4, checkpoint_dir=tmp_path, progress=False)

    weights_file = tmp_path / "ckpt-00000010.safetensors"
    data = bytearray(weights_file.read_bytes())
    data[-3] ^= 0xFF
    weights_file.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="checksum"):
        load_model(tmp_path)
    (tmp_path / "checkpoint.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="checkpoint.json"):
        load_model(tmp_path)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_model(tmp_path / "missing")


def test_sweep_trains_each_model_once_and_resumes_an_interrupted_one(faces, tmp_path, monkeypatch):
    kwargs = dict(betas=[2.0, 8.0], seeds=[0], steps=12, model_kwargs={"latent_dim": 4},
                  train_kwargs={"batch_size": 8, "checkpoint_every": 6}, progress=False)
    reference = sweep(faces, tmp_path / "uninterrupted", **kwargs)
    assert [(e.beta, e.status, e.step) for e in reference] == [(2.0, "trained", 12), (8.0, "trained", 12)]
    assert sorted(p.name for p in (tmp_path / "uninterrupted").iterdir() if p.is_dir()) == [
        "beta_vae-beta2-seed0", "beta_vae-beta8-seed0"]
    assert reference[1].load_model().beta == 8.0

    calls = {"n": 0}
    real_batch_loss = train_module.batch_loss

    def dies_in_the_second_model(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 12 + 9:
            raise Killed
        return real_batch_loss(*args, **kwargs)

    monkeypatch.setattr(train_module, "batch_loss", dies_in_the_second_model)
    with pytest.raises(Killed):
        sweep(faces, tmp_path / "cut", **kwargs)
    monkeypatch.setattr(train_module, "batch_loss", real_batch_loss)
    manifest = json.loads((tmp_path / "cut" / "sweep.json").read_text())
    assert [m["status"] for m in manifest["models"]] == ["trained"]

    again = sweep(faces, tmp_path / "cut", **kwargs)
    assert [e.status for e in again] == ["skipped", "resumed"]
    for a, b in zip(again, reference):
        assert_same_weights(weights(a.load_model()), weights(b.load_model()))
    manifest = json.loads((tmp_path / "cut" / "sweep.json").read_text())
    assert [m["status"] for m in manifest["models"]] == ["skipped", "resumed"]


def test_sweep_of_aes_ignores_beta(faces, tmp_path):
    entries = sweep(faces, tmp_path, betas=[1.0, 4.0], seeds=[0, 1], steps=3, family="ae",
                    model_kwargs={"latent_dim": 3}, train_kwargs={"batch_size": 4}, progress=False)
    assert [(e.family, e.seed) for e in entries] == [("ae", 0), ("ae", 1)]
    assert (tmp_path / "ae-seed1" / "checkpoint.json").exists()


@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
def test_initialisation_starts_the_output_at_the_images_mean_colour(faces, likelihood):
    """The decoder's output bias is the training images' mean per channel (its logit for Bernoulli),
    and everything else is drawn from the seed alone."""
    expect = faces.images.reshape(-1, 3).astype(np.float64).mean(axis=0) / 255.0
    data = torch.from_numpy(faces.images).permute(0, 3, 1, 2)
    np.testing.assert_allclose(train_module.channel_means(data, chunk=100), expect, rtol=1e-6)
    a, b = small_model(likelihood=likelihood), small_model(likelihood=likelihood)
    train_module.initialize_weights(a, seed=3, mean_pixel=expect)
    train_module.initialize_weights(b, seed=3)
    bias = a.decoder_convs[-1].bias.detach().double().numpy()
    np.testing.assert_allclose(bias, expect if likelihood == "gaussian" else np.log(expect / (1 - expect)), rtol=1e-5)
    assert not b.decoder_convs[-1].bias.any()
    wa, wb = weights(a), weights(b)
    out_bias = f"decoder_convs.{len(a.decoder_convs) - 1}.bias"
    wa.pop(out_bias), wb.pop(out_bias)
    assert_same_weights(wa, wb)


def test_train_standardises_the_encoder_input_with_the_training_images_and_saves_it(faces, tmp_path):
    """The statistics are numpy's per-pixel mean and sd (ddof 0) of the training images, the sd
    floored at 0.02, and they come back with the checkpoint."""
    model = small_model()
    train(model, faces, 2, seed=0, lr=1e-12, progress=False, checkpoint_dir=tmp_path)
    pixels = faces.images.astype(np.float64).transpose(0, 3, 1, 2) / 255.0
    np.testing.assert_allclose(model.input_mean[0].numpy(), pixels.mean(0), atol=1e-6)
    np.testing.assert_allclose(model.input_scale[0].numpy(), np.maximum(pixels.std(0), 0.02), atol=1e-6)
    assert (pixels.std(0) < 0.02).any() and (pixels.std(0) > 0.02).any()  # both branches of the floor
    loaded = load_model(tmp_path)
    assert torch.equal(loaded.input_mean, model.input_mean) and torch.equal(loaded.input_scale, model.input_scale)
    x = torch.from_numpy(pixels[:8]).float()
    torch.testing.assert_close(loaded.encode(x), model.eval().encode(x))


def test_train_draws_the_output_bias_from_the_training_images(faces):
    model = small_model()
    train(model, faces, 1, seed=0, lr=1e-12, progress=False)  # one step of a negligible learning rate
    expect = faces.images.reshape(-1, 3).mean(axis=0) / 255.0
    np.testing.assert_allclose(model.decoder_convs[-1].bias.detach().numpy(), expect, atol=1e-6)


@pytest.mark.parametrize("value, match", [(True, "needs a CUDA device"), ("yes", "True, False or None")])
def test_cuda_graph_is_refused_on_the_cpu_and_must_be_a_bool(faces, value, match):
    with pytest.raises(ConfigError, match=match):
        train(small_model(), faces, 2, batch_size=4, device="cpu", cuda_graph=value, progress=False)


def test_graphed_step_refuses_a_model_off_the_gpu():
    from faceit.models.graph_step import GraphedTrainingStep

    model = small_model()
    with pytest.raises(ConfigError, match="CUDA device"):
        GraphedTrainingStep(model, torch.optim.Adam(model.parameters()))


@pytest.mark.parametrize("dies_in", ["_write_log", "save_checkpoint"])
def test_a_kill_while_checkpointing_loses_no_log_entry(faces, tmp_path, monkeypatch, dies_in):
    """Killed in either write of the step-20 checkpoint: the rerun logs what an unbroken run does.
    (With the checkpoint written before the log, a kill in the log write lost steps 15 and 20.)"""
    kwargs = dict(batch_size=8, seed=1, checkpoint_every=10, log_every=5, progress=False)
    full = train(small_model(), faces, 30, checkpoint_dir=tmp_path / "full", **kwargs)
    real = getattr(train_module, dies_in)
    calls = {"n": 0}

    def dies_the_second_time(*args, **kw):
        calls["n"] += 1
        if calls["n"] == 2:  # the step-20 checkpoint
            raise Killed
        return real(*args, **kw)

    monkeypatch.setattr(train_module, dies_in, dies_the_second_time)
    with pytest.raises(Killed):
        train(small_model(), faces, 30, checkpoint_dir=tmp_path / "cut", **kwargs)
    monkeypatch.setattr(train_module, dies_in, real)
    resumed = train(small_model(), faces, 30, checkpoint_dir=tmp_path / "cut", **kwargs)
    assert resumed.steps_run == 20
    assert resumed.log == full.log
    on_disk = [json.loads(line) for line in (tmp_path / "cut" / "log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in on_disk] == [5, 10, 15, 20, 25, 30]


def test_a_bad_checkpoint_dir_fails_before_training(faces, tmp_path, monkeypatch):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    monkeypatch.setattr(train_module, "batch_loss", lambda *a, **k: pytest.fail("trained before the check"))
    with pytest.raises(ConfigError, match="checkpoint_dir"):
        train(small_model(), faces, 10, batch_size=8, checkpoint_dir=a_file, progress=False)


def test_a_run_from_another_kind_of_device_is_not_continued_here(faces, tmp_path):
    train(small_model(), faces, 10, batch_size=8, checkpoint_dir=tmp_path, progress=False)
    index_path = tmp_path / "checkpoint.json"
    index = json.loads(index_path.read_text())
    assert index["training"]["device"] == "cpu"
    index["training"]["device"] = "cuda"
    index_path.write_text(json.dumps(index))
    finished = train(small_model(), faces, 10, batch_size=8, checkpoint_dir=tmp_path, progress=False)
    assert finished.steps_run == 0  # a finished run loads anywhere
    with pytest.raises(CheckpointError, match="trained on cuda"):
        train(small_model(), faces, 20, batch_size=8, checkpoint_dir=tmp_path, progress=False)


def test_load_model_needs_only_the_weights(faces, tmp_path):
    model = small_model()
    train(model, faces, 10, batch_size=8, checkpoint_dir=tmp_path, progress=False)
    (tmp_path / "ckpt-00000010.state.safetensors").unlink()
    assert_same_weights(weights(load_model(tmp_path)), weights(model))
    with pytest.raises(CheckpointError, match="state.safetensors"):
        load_checkpoint(tmp_path)  # what a resume reads still needs it


def test_sweep_of_capacity_models_ignores_beta_and_checks_its_arguments(faces, tmp_path):
    entries = sweep(faces, tmp_path, betas=[1.0, 4.0], seeds=[0], steps=2, family="capacity",
                    model_kwargs={"latent_dim": 3}, train_kwargs={"batch_size": 4}, progress=False)
    assert [(e.family, e.seed) for e in entries] == [("capacity", 0)]
    assert (tmp_path / "capacity-seed0" / "checkpoint.json").exists()
    with pytest.raises(ConfigError, match="batchsize"):
        sweep(faces, tmp_path / "x", steps=2, train_kwargs={"batchsize": 4}, progress=False)
    with pytest.raises(ConfigError, match="model_kwargs"):
        sweep(faces, tmp_path / "x", steps=2, model_kwargs={"latentdim": 4}, progress=False)


def test_every_way_of_making_the_vae_baseline_gives_one_objective():
    made = [VAE(latent_dim=4, image_size=32), BetaVAE(4, image_size=32, family="vae")]
    assert made[0].config == made[1].config
    assert made[0].config["beta_warmup"] == 0.0 and made[0].config["beta"] == 1.0
