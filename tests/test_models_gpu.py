"""The β-VAE on a CUDA device: the Triton-fused path computes the same step as PyTorch eager.

Skipped without a GPU; benchmarks/gpu_check.sh runs these with the kernels compiled for the GPU.
"""

import numpy as np
import pytest
import torch

from faceit.models import BetaVAE, encode, load_model, ops, train
from faceit.models.graph_step import WARMUP_STEPS
from faceit.models.objectives import batch_loss

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def loss_and_grads(model, x, eps, monkeypatch, disable: bool):
    monkeypatch.setenv("FACEIT_DISABLE_TRITON", "1" if disable else "0")
    model.zero_grad(set_to_none=True)
    terms = batch_loss(model, x, eps, 0.5)
    terms.loss.backward()
    return terms, {k: p.grad.detach().clone() for k, p in model.named_parameters()}


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
@pytest.mark.parametrize("size", [32, 64])
def test_fused_training_step_matches_eager(likelihood, size, monkeypatch):
    if not ops.triton_available():
        pytest.skip("triton not importable")
    torch.manual_seed(0)
    model = BetaVAE(latent_dim=10, beta=4.0, image_size=size, likelihood=likelihood, tc_weight=0.0).cuda()
    x = torch.rand(37, 3, size, size, device="cuda")
    eps = torch.randn(37, 10, device="cuda")
    assert ops.triton_enabled(x)
    fused, g_fused = loss_and_grads(model, x, eps, monkeypatch, disable=False)
    eager, g_eager = loss_and_grads(model, x, eps, monkeypatch, disable=True)
    torch.testing.assert_close(fused.nll, eager.nll, rtol=1e-4, atol=1e-3)
    torch.testing.assert_close(fused.kl_per_unit, eager.kl_per_unit, rtol=1e-4, atol=1e-5)
    for name, g in g_eager.items():
        scale = g.abs().max().clamp_min(1e-6)
        err = (g_fused[name] - g).abs().max() / scale
        assert err < 1e-3, f"d{name}: relative error {err:.2e}"


def test_training_on_cuda_lowers_the_loss_and_loads_on_cpu(tmp_path):
    from faceit.stimuli import synthetic_faces

    faces = synthetic_faces(512, seed=1, size=32)
    model = BetaVAE(latent_dim=6, beta=4.0, image_size=32)
    result = train(model, faces, 200, batch_size=64, device="cuda", checkpoint_dir=tmp_path, log_every=20,
                   progress=False)
    assert result.log[-1]["loss"] < 0.7 * result.log[0]["loss"]
    on_cpu = load_model(tmp_path, device="cpu")
    np.testing.assert_allclose(encode(on_cpu, faces).units, encode(model, faces).units, rtol=1e-3, atol=1e-4)


def _graph_run(faces, steps, cuda_graph, checkpoint_dir=None):
    # no β warm-up: its schedule depends on the total steps, which the resume test changes
    model = BetaVAE(latent_dim=6, beta=4.0, image_size=32, beta_warmup=0.0)
    return train(model, faces, steps, batch_size=32, seed=3, device="cuda", lr=1e-3, log_every=1,
                 checkpoint_dir=checkpoint_dir, checkpoint_every=10, cuda_graph=cuda_graph, progress=False)


@pytest.fixture
def counted_replays(monkeypatch):
    """Deterministic cuDNN (its default weight gradients add with atomics), and a count of graph replays."""
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", True)
    replays = []
    replay = torch.cuda.CUDAGraph.replay
    monkeypatch.setattr(torch.cuda.CUDAGraph, "replay", lambda self: (replays.append(1), replay(self))[1])
    return replays


# Early training amplifies rounding: on the CPU, weights perturbed by 1e-6 (relative) give losses
# 1e-4 apart by step 20. Two float32 paths through different kernels are compared at that horizon.
LOSS_RTOL = 1e-3


def test_cuda_graph_run_is_the_eager_run(counted_replays):
    """The graphed step replays the same computation: step by step the same losses and KL per unit."""
    from faceit.stimuli import synthetic_faces

    faces = synthetic_faces(256, seed=2, size=32)
    graphed = _graph_run(faces, 20, cuda_graph=True)
    assert len(counted_replays) == 20 - WARMUP_STEPS  # the steps after the warm-up were replays
    eager = _graph_run(faces, 20, cuda_graph=False)
    assert len(counted_replays) == 20 - WARMUP_STEPS
    assert [e["step"] for e in graphed.log] == list(range(1, 21)) == [e["step"] for e in eager.log]
    np.testing.assert_allclose([e["loss"] for e in graphed.log], [e["loss"] for e in eager.log], rtol=LOSS_RTOL)
    np.testing.assert_allclose([e["kl_per_unit"] for e in graphed.log], [e["kl_per_unit"] for e in eager.log],
                               rtol=LOSS_RTOL, atol=1e-3)
    assert graphed.log[-1]["loss"] < 0.8 * graphed.log[0]["loss"]


def test_cuda_graph_run_resumes_from_its_checkpoint(tmp_path, counted_replays):
    from faceit.stimuli import synthetic_faces

    faces = synthetic_faces(256, seed=2, size=32)
    _graph_run(faces, 10, cuda_graph=True, checkpoint_dir=tmp_path)  # ends with its checkpoint at step 10
    resumed = _graph_run(faces, 20, cuda_graph=True, checkpoint_dir=tmp_path)
    straight = _graph_run(faces, 20, cuda_graph=True)
    assert resumed.steps_run == 10 and [e["step"] for e in resumed.log] == list(range(1, 21))
    np.testing.assert_allclose([e["loss"] for e in resumed.log], [e["loss"] for e in straight.log], rtol=LOSS_RTOL)
