"""faceit.models.ops: the one switch between the Triton kernels and plain PyTorch.

On the CPU the switch takes the PyTorch path, which must match float64 references.
Patching ``ops._is_cuda`` sends CPU tensors down the Triton path (run by the interpreter,
TRITON_INTERPRET=1), which lets the dispatch itself, FACEIT_DISABLE_TRITON and a whole
β-VAE step through the kernels be checked here.
"""

import sys

import pytest
import torch
import torch.nn.functional as F

from faceit.errors import BackendUnavailableError, ConfigError, DataError
from faceit.models import ops


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(6456)


def rand(*shape, gen, grad=True):
    return torch.randn(*shape, generator=gen).requires_grad_(grad)


def f64(*ts):
    return [t.detach().double().requires_grad_() for t in ts]


def assert_close(a, ref, tol=2e-5):
    scale = max(ref.abs().max().item(), 1e-3)
    assert a.shape == ref.shape
    assert (a.double() - ref).abs().max().item() <= tol * scale


# (name, call on float32 inputs, float64 reference, input shapes)
CASES = {
    "linear": (lambda x, w, b: ops.linear(x, w, b, activation="relu"),
               lambda x, w, b: torch.relu(F.linear(x, w, b)), [(7, 12), (5, 12), (5,)]),
    "linear_none": (lambda x, w, b: ops.linear(x, w, b, activation="none"),
                    lambda x, w, b: F.linear(x, w, b), [(7, 12), (5, 12), (5,)]),
    "conv2d": (lambda x, w, b: ops.conv2d(x, w, b, 2, 1, activation="relu"),
               lambda x, w, b: torch.relu(F.conv2d(x, w, b, 2, 1)), [(2, 3, 9, 8), (4, 3, 4, 4), (4,)]),
    "conv_transpose2d": (lambda x, w, b: ops.conv_transpose2d(x, w, b, 2, 1, activation="sigmoid"),
                         lambda x, w, b: torch.sigmoid(F.conv_transpose2d(x, w, b, 2, 1)),
                         [(2, 3, 5, 4), (3, 4, 4, 4), (4,)]),
    "conv_transpose2d_relu": (lambda x, w, b: ops.conv_transpose2d(x, w, b, 2, 1, activation="relu"),
                              lambda x, w, b: torch.relu(F.conv_transpose2d(x, w, b, 2, 1)),
                              [(2, 3, 5, 4), (3, 4, 4, 4), (4,)]),
    "reparameterize_kl": (ops.reparameterize_kl,
                          lambda m, lv, e: (m + torch.exp(lv / 2) * e, (0.5 * (m**2 + lv.exp() - 1 - lv)).mean(0)),
                          [(6, 5), (6, 5), (6, 5)]),
    "bernoulli": (lambda o, t: ops.reconstruction_nll(o, torch.sigmoid(t), "bernoulli"),
                  lambda o, t: F.binary_cross_entropy_with_logits(o, torch.sigmoid(t),
                                                                  reduction="none").flatten(1).sum(1),
                  [(3, 2, 5, 5), (3, 2, 5, 5)]),
    "gaussian": (lambda o, t: ops.reconstruction_nll(o, torch.sigmoid(t), "gaussian", sigma=0.3),
                 lambda o, t: ((o - torch.sigmoid(t)) ** 2 / (2 * 0.09)).flatten(1).sum(1),
                 [(3, 2, 5, 5), (3, 2, 5, 5)]),
}


def run_case(name, gen):
    """Outputs and gradients (wrt every input) of ops vs the float64 reference, compared."""
    call, reference, shapes = CASES[name]
    xs = [rand(*s, gen=gen) for s in shapes]
    xs64 = f64(*xs)
    out, ref = call(*xs), reference(*xs64)
    outs, refs = (out, ref) if isinstance(out, tuple) else ((out,), (ref,))
    cot = [torch.randn(r.shape, generator=gen, dtype=torch.float64) for r in refs]
    grads = torch.autograd.grad(sum((o * c.float()).sum() for o, c in zip(outs, cot)), xs)
    ref_grads = torch.autograd.grad(sum((r * c).sum() for r, c in zip(refs, cot)), xs64)
    for o, r in zip(outs, refs):
        assert o.dtype == torch.float32
        assert_close(o, r)
    for g, r in zip(grads, ref_grads):
        assert_close(g, r)


@pytest.fixture
def kernel_calls(monkeypatch):
    """Record which kernel modules ops loads (i.e. whether the Triton path ran)."""
    calls = []
    real = ops._kernel

    def spy(module):
        calls.append(module)
        return real(module)

    monkeypatch.setattr(ops, "_kernel", spy)
    return calls


@pytest.fixture
def pretend_cuda(monkeypatch):
    """Route CPU tensors through the Triton kernels (the interpreter runs them)."""
    pytest.importorskip("triton")
    monkeypatch.delenv("FACEIT_DISABLE_TRITON", raising=False)
    monkeypatch.setattr(ops, "_is_cuda", lambda t: True)


@pytest.mark.parametrize("name", sorted(CASES))
def test_cpu_uses_torch_path_and_matches_float64(name, gen, kernel_calls):
    run_case(name, gen)
    assert kernel_calls == []


@pytest.mark.parametrize("name", sorted(CASES))
def test_triton_path_matches_float64(name, gen, kernel_calls, pretend_cuda):
    run_case(name, gen)
    assert kernel_calls, "the Triton path was not taken"


def test_triton_enabled_rules(monkeypatch):
    t = torch.zeros(2)
    assert ops.triton_enabled(t) is False  # CPU tensor
    pytest.importorskip("triton")
    monkeypatch.setattr(ops, "_is_cuda", lambda t: True)
    monkeypatch.delenv("FACEIT_DISABLE_TRITON", raising=False)
    assert ops.triton_enabled(t) is True
    for value in ("1", "true", "YES"):
        monkeypatch.setenv("FACEIT_DISABLE_TRITON", value)
        assert ops.triton_enabled(t) is False
    monkeypatch.setenv("FACEIT_DISABLE_TRITON", "0")
    assert ops.triton_enabled(t) is True


def test_disable_variable_routes_to_torch(monkeypatch, gen, kernel_calls, pretend_cuda):
    monkeypatch.setenv("FACEIT_DISABLE_TRITON", "1")
    run_case("conv2d", gen)
    assert kernel_calls == []


def test_non_float32_and_autocast_take_the_torch_path(gen, kernel_calls, pretend_cuda):
    x, w, b = (torch.randn(4, 6, dtype=torch.float64), torch.randn(3, 6, dtype=torch.float64),
               torch.zeros(3, dtype=torch.float64))
    assert ops.linear(x, w, b).dtype == torch.float64
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ops.linear(x.float(), w.float(), b.float())
    assert kernel_calls == []


def test_without_triton_ops_still_work(monkeypatch, gen):
    monkeypatch.setitem(sys.modules, "triton", None)  # makes `import triton` fail
    monkeypatch.setitem(sys.modules, "triton.language", None)
    ops.triton_available.cache_clear()
    try:
        assert ops.triton_available() is False
        monkeypatch.setattr(ops, "_is_cuda", lambda t: True)
        assert ops.triton_enabled(torch.zeros(1)) is False
        run_case("linear", gen)
        monkeypatch.delitem(sys.modules, "faceit.kernels._triton", raising=False)
        with pytest.raises(BackendUnavailableError, match="Triton"):
            ops._kernel("_triton")
    finally:
        ops.triton_available.cache_clear()


def test_bad_arguments_are_named():
    x, w, b = torch.randn(4, 6), torch.randn(3, 6), torch.zeros(3)
    with pytest.raises(ConfigError, match="activation"):
        ops.linear(x, w, b, activation="tanh")
    with pytest.raises(ConfigError, match="activation"):
        ops.conv2d(torch.randn(1, 3, 8, 8), torch.randn(2, 3, 3, 3), None, 1, 1, activation="sigmoid")
    with pytest.raises(DataError, match="features"):
        ops.linear(x, torch.randn(3, 5), b)
    with pytest.raises(DataError, match="x"):
        ops.conv2d(x, torch.randn(2, 3, 3, 3), None)
    with pytest.raises(DataError, match="same shape"):
        ops.reparameterize_kl(x, x[:, :5], x)
    with pytest.raises(DataError, match="same shape"):
        ops.reconstruction_nll(torch.randn(2, 3, 4, 4), torch.rand(2, 3, 4, 5))
    with pytest.raises(ConfigError, match="likelihood"):
        ops.reconstruction_nll(x, x, likelihood="poisson")
    with pytest.raises(ConfigError, match="sigma"):
        ops.reconstruction_nll(x, x, likelihood="gaussian", sigma=0.0)


@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
def test_beta_vae_step_through_kernels_matches_torch(likelihood, monkeypatch, gen, kernel_calls):
    """A whole forward/backward of the β-VAE: every fused piece on the Triton path vs PyTorch."""
    pytest.importorskip("triton")
    from faceit.models import BetaVAE

    torch.manual_seed(0)
    model = BetaVAE(latent_dim=4, beta=4.0, image_size=16, likelihood=likelihood, tc_weight=0.0)
    x = torch.rand(3, 3, 16, 16, generator=gen)
    eps = torch.randn(3, 4, generator=gen)

    def step():
        model.zero_grad()
        out, mu, logvar, z, kl = model(x, eps)
        loss = ops.reconstruction_nll(out, x, likelihood, 0.1).mean() + 4.0 * kl.sum()
        loss.backward()
        return [loss.detach(), z.detach()] + [p.grad.clone() for p in model.parameters()]

    monkeypatch.setenv("FACEIT_DISABLE_TRITON", "1")
    reference = step()
    monkeypatch.setattr(ops, "_is_cuda", lambda t: True)
    monkeypatch.delenv("FACEIT_DISABLE_TRITON")
    assert kernel_calls == []
    fused = step()
    assert set(kernel_calls) == {"conv", "linear_act", "reparam_kl", "recon_loss"}
    for a, r in zip(fused, reference):
        assert_close(a, r.double(), tol=1e-4)  # both float32; different summation orders
