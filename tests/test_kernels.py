"""Triton kernels under TRITON_INTERPRET=1 against float64 PyTorch references, forward and gradient.

Each kernel's autograd Function is called directly on float32 tensors on DEVICE: the CPU here
(the interpreter runs them), the GPU when FACEIT_TEST_DEVICE=cuda (benchmarks/gpu_check.sh); the reference is the textbook PyTorch expression in float64. Shapes include
sizes that are not multiples of the block size, and small explicit blocks force several
programs and partial tiles.
"""

import os

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("triton")

from faceit.errors import ConfigError, DataError  # noqa: E402
from faceit.models import ops  # noqa: E402

conv_mod = ops._kernel("conv")
linear_mod = ops._kernel("linear_act")
reparam_mod = ops._kernel("reparam_kl")
recon_mod = ops._kernel("recon_loss")

#: Where the kernels run: the CPU through Triton's interpreter here, the GPU under benchmarks/gpu_check.sh.
DEVICE = torch.device(os.environ.get("FACEIT_TEST_DEVICE", "cpu"))


def _on_device(make, shape, generator=None, requires_grad=False, **kwargs):
    """Draw on the CPU (seeded generators are CPU generators), then move to DEVICE as a leaf."""
    shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list, torch.Size)) else shape
    return make(*shape, generator=generator, **kwargs).to(DEVICE).requires_grad_(requires_grad)


def randn(*shape, **kwargs):
    return _on_device(torch.randn, shape, **kwargs)


def rand(*shape, **kwargs):
    return _on_device(torch.rand, shape, **kwargs)


TOL = 2e-5  # relative to the largest reference entry; float32 accumulation over <= a few hundred terms


def assert_matches(actual, reference, name, tol=TOL):
    assert actual.shape == reference.shape, f"{name}: shape {tuple(actual.shape)} != {tuple(reference.shape)}"
    assert actual.dtype == torch.float32, f"{name}: dtype {actual.dtype}"
    scale = max(reference.abs().max().item(), 1e-3)
    err = (actual.double() - reference).abs().max().item()
    assert err <= tol * scale, f"{name}: max error {err:.3g} exceeds {tol:.1g} x {scale:.3g}"


def leaves(*shapes, gen, scale=1.0):
    """float32 leaf tensors with gradients, and float64 copies for the reference."""
    xs = [(randn(*s, generator=gen) * scale).requires_grad_() for s in shapes]
    return xs, [x.detach().double().requires_grad_() for x in xs]


def check_grads(out, ref, inputs, ref_inputs, gen, names):
    """Backpropagate the same random cotangent through both and compare every input gradient."""
    outs, refs = (out, ref) if isinstance(out, tuple) else ((out,), (ref,))
    cot = [randn(r.shape, generator=gen, dtype=torch.float64) for r in refs]
    grads = torch.autograd.grad(sum((o * c.float()).sum() for o, c in zip(outs, cot)), inputs)
    ref_grads = torch.autograd.grad(sum((r * c).sum() for r, c in zip(refs, cot)), ref_inputs)
    for g, rg, n in zip(grads, ref_grads, names):
        assert_matches(g, rg, f"d{n}")


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(2021)


ACT = {"relu": torch.relu, "none": lambda t: t, "sigmoid": torch.sigmoid}


# -- (a) reparameterisation + KL ------------------------------------------------------------------

@pytest.mark.parametrize("B,K,blocks", [(37, 10, (None, None)), (37, 10, (16, 16)), (1, 3, (None, None)),
                                        (64, 33, (16, 16))])
def test_reparam_kl_matches_float64(B, K, blocks, gen):
    (mu, lv, eps), (mu64, lv64, eps64) = leaves((B, K), (B, K), (B, K), gen=gen)
    z, kl = reparam_mod.ReparamKL.apply(mu, lv, eps, *blocks)
    z64 = mu64 + torch.exp(lv64 / 2) * eps64
    kl64 = (0.5 * (mu64**2 + lv64.exp() - 1 - lv64)).mean(0)
    assert_matches(z, z64, "z")
    assert_matches(kl, kl64, "kl_per_unit")
    check_grads((z, kl), (z64, kl64), (mu, lv, eps), (mu64, lv64, eps64), gen, ("mu", "logvar", "eps"))


def test_reparam_kl_is_zero_at_the_prior():
    mu, lv = torch.zeros(5, 4, device=DEVICE), torch.zeros(5, 4, device=DEVICE)
    eps = randn(5, 4)
    z, kl = reparam_mod.ReparamKL.apply(mu, lv, eps)
    assert torch.equal(z, eps)
    assert torch.all(kl.abs() < 1e-7)


# -- (b) reconstruction NLL ------------------------------------------------------------------------

@pytest.mark.parametrize("likelihood,sigma", [("bernoulli", 0.1), ("gaussian", 0.1), ("gaussian", 0.7)])
@pytest.mark.parametrize("shape,block_n", [((5, 3, 9, 7), None), ((5, 3, 9, 7), 64), ((1, 1, 4, 4), None)])
def test_reconstruction_nll_matches_float64(likelihood, sigma, shape, block_n, gen):
    (out,), (out64,) = leaves(shape, gen=gen, scale=4.0)
    tgt = rand(shape, generator=gen).requires_grad_()
    tgt64 = tgt.detach().double().requires_grad_()
    nll = recon_mod.ReconstructionNLL.apply(out, tgt, likelihood, sigma, block_n)
    if likelihood == "bernoulli":
        ref = F.binary_cross_entropy_with_logits(out64, tgt64, reduction="none")
    else:
        ref = (out64 - tgt64) ** 2 / (2 * sigma**2)
    ref = ref.flatten(1).sum(1)
    assert_matches(nll, ref, "nll")
    check_grads(nll, ref, (out, tgt), (out64, tgt64), gen, ("output", "target"))


def test_bernoulli_nll_is_stable_for_extreme_logits():
    logits = torch.tensor([[-200.0, -30.0, -1e-3, 0.0, 25.0, 300.0]], device=DEVICE)
    target = torch.tensor([[0.0, 1.0, 0.5, 1.0, 1.0, 0.0]], device=DEVICE)
    nll = recon_mod.ReconstructionNLL.apply(logits, target, "bernoulli", 0.1)
    ref = F.binary_cross_entropy_with_logits(logits.double(), target.double(), reduction="none").sum(1)
    assert torch.isfinite(nll).all()
    assert abs(nll.item() - ref.item()) <= 1e-6 * ref.item()
    # the tiny-tail branch: log(1 + e^-x) for a large logit must not round to zero
    tail = recon_mod.ReconstructionNLL.apply(torch.tensor([[20.0]], device=DEVICE), torch.tensor([[1.0]], device=DEVICE),
                                             "bernoulli", 0.1)
    assert abs(tail.item() - torch.log1p(torch.exp(torch.tensor(-20.0, dtype=torch.float64))).item()) < 1e-12


def test_reconstruction_nll_without_target_gradient(gen):
    out = randn(3, 2, 5, 5, generator=gen, requires_grad=True)
    tgt = rand(3, 2, 5, 5, generator=gen)
    nll = recon_mod.ReconstructionNLL.apply(out, tgt, "gaussian", 0.2)
    (g,) = torch.autograd.grad(nll.sum(), (out,))
    assert_matches(g, ((out.detach() - tgt) / 0.04).double(), "doutput")


# -- (c) linear + bias + activation ------------------------------------------------------------

@pytest.mark.parametrize("activation", ["relu", "none"])
@pytest.mark.parametrize("B,n_in,n_out,blocks", [(37, 50, 23, None), (37, 50, 23, (16, 16, 16)),
                                                (2, 7, 3, None), (65, 20, 40, (32, 16, 16))])
def test_linear_act_matches_float64(activation, B, n_in, n_out, blocks, gen):
    (x, w, b), (x64, w64, b64) = leaves((B, n_in), (n_out, n_in), (n_out,), gen=gen)
    y = linear_mod.LinearAct.apply(x, w, b, activation, blocks)
    ref = ACT[activation](F.linear(x64, w64, b64))
    assert_matches(y, ref, "y")
    check_grads(y, ref, (x, w, b), (x64, w64, b64), gen, ("x", "weight", "bias"))


def test_linear_act_without_bias_and_frozen_input(gen):
    x = randn(9, 17, generator=gen)
    w = randn(5, 17, generator=gen, requires_grad=True)
    y = linear_mod.LinearAct.apply(x, w, None, "relu")
    w64 = w.detach().double().requires_grad_()
    ref = torch.relu(x.double() @ w64.T)
    assert_matches(y, ref, "y")
    cot = randn(9, 5, generator=gen, dtype=torch.float64)
    (g,) = torch.autograd.grad((y * cot.float()).sum(), (w,))
    (rg,) = torch.autograd.grad((ref * cot).sum(), (w64,))
    assert_matches(g, rg, "dweight")


# -- (d) convolutions ------------------------------------------------------------------------------

CONV_CASES = [
    # B, C, H, W, O, k, stride, padding, blocks
    (2, 3, 9, 10, 5, 4, 2, 1, None),           # the model's layer; odd H leaves a row the stride drops
    (2, 3, 9, 10, 5, 4, 2, 1, (16, 16, 16)),   # several programs, partial tiles
    (3, 4, 8, 8, 6, 3, 1, 1, None),
    (2, 3, 7, 8, 4, 5, 3, 2, None),            # stride 3, 5x5
    (1, 2, 6, 5, 3, 2, 2, 0, None),
]


@pytest.mark.parametrize("activation", ["relu", "none"])
@pytest.mark.parametrize("B,C,H,W,O,k,s,p,blocks", CONV_CASES)
def test_conv2d_act_matches_float64(activation, B, C, H, W, O, k, s, p, blocks, gen):
    (x, w, b), (x64, w64, b64) = leaves((B, C, H, W), (O, C, k, k), (O,), gen=gen)
    y = conv_mod.Conv2dAct.apply(x, w, b, s, p, activation, blocks)
    ref = ACT[activation](F.conv2d(x64, w64, b64, s, p))
    assert_matches(y, ref, "y")
    check_grads(y, ref, (x, w, b), (x64, w64, b64), gen, ("x", "weight", "bias"))


@pytest.mark.parametrize("activation", ["relu", "none", "sigmoid"])
@pytest.mark.parametrize("B,C,H,W,O,k,s,p,blocks", CONV_CASES)
def test_conv_transpose2d_act_matches_float64(activation, B, C, H, W, O, k, s, p, blocks, gen):
    (x, w, b), (x64, w64, b64) = leaves((B, C, H, W), (C, O, k, k), (O,), gen=gen)
    y = conv_mod.ConvTranspose2dAct.apply(x, w, b, s, p, activation, blocks)
    ref = ACT[activation](F.conv_transpose2d(x64, w64, b64, s, p))
    assert_matches(y, ref, "y")
    check_grads(y, ref, (x, w, b), (x64, w64, b64), gen, ("x", "weight", "bias"))


def test_conv_transpose2d_output_padding_matches_torch(gen):
    x = randn(2, 3, 5, 6, generator=gen)
    w = randn(3, 4, 4, 4, generator=gen)
    y = conv_mod.conv_transpose2d_forward(x, w, None, 2, 1, 0, "ieee", (1, 0))
    ref = F.conv_transpose2d(x.double(), w.double(), None, 2, 1, output_padding=(1, 0))
    assert_matches(y, ref, "y")


def test_conv_without_bias(gen):
    (x, w), (x64, w64) = leaves((2, 3, 8, 8), (4, 3, 4, 4), gen=gen)
    y = conv_mod.Conv2dAct.apply(x, w, None, 2, 1, "relu")
    ref = torch.relu(F.conv2d(x64, w64, None, 2, 1))
    assert_matches(y, ref, "y")
    check_grads(y, ref, (x, w), (x64, w64), gen, ("x", "weight"))


# -- refusals ----------------------------------------------------------------------------------

def test_kernels_refuse_bad_input():
    x, w = randn(2, 3, 8, 8), randn(4, 3, 4, 4)
    with pytest.raises(DataError, match="float32"):
        conv_mod.Conv2dAct.apply(x.double(), w.double(), None, 2, 1, "relu")
    with pytest.raises(DataError, match="channels"):
        conv_mod.Conv2dAct.apply(randn(2, 5, 8, 8), w, None, 2, 1, "relu")
    with pytest.raises(ConfigError, match="activation"):
        conv_mod.Conv2dAct.apply(x, w, None, 2, 1, "sigmoid")
    with pytest.raises(ConfigError, match="stride"):
        conv_mod.Conv2dAct.apply(x, w, None, (2, 1), 1, "relu")
    with pytest.raises(DataError, match="features"):
        linear_mod.LinearAct.apply(randn(3, 4), randn(2, 5), None, "relu")
    with pytest.raises(DataError, match="same shape"):
        reparam_mod.ReparamKL.apply(randn(3, 4), randn(3, 5), randn(3, 4))
    with pytest.raises(ConfigError, match="likelihood"):
        recon_mod.ReconstructionNLL.apply(randn(2, 4), rand(2, 4), "poisson", 0.1)


# -- random geometries (hypothesis) ----------------------------------------------------------------


@st.composite
def conv_geometry(draw):
    k = draw(st.integers(1, 5))
    s = draw(st.integers(1, 3))
    p = draw(st.integers(0, k - 1))
    h = draw(st.integers(max(1, k - 2 * p), 9))
    w = draw(st.integers(max(1, k - 2 * p), 9))
    return dict(B=draw(st.integers(1, 3)), C=draw(st.integers(1, 5)), O=draw(st.integers(1, 20)),
                H=h, W=w, k=k, s=s, p=p, small_blocks=draw(st.booleans()))


@settings(max_examples=10, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(g=conv_geometry())
def test_conv_pair_on_random_geometries(g):
    gen = torch.Generator().manual_seed(7)
    blocks = (16, 16, 16) if g["small_blocks"] else None
    B, C, O, H, W, k, s, p = (g[n] for n in ("B", "C", "O", "H", "W", "k", "s", "p"))
    (x, w, b), (x64, w64, b64) = leaves((B, C, H, W), (O, C, k, k), (O,), gen=gen)
    y = conv_mod.Conv2dAct.apply(x, w, b, s, p, "relu", blocks)
    ref = torch.relu(F.conv2d(x64, w64, b64, s, p))
    assert_matches(y, ref, "conv2d y")
    check_grads(y, ref, (x, w, b), (x64, w64, b64), gen, ("x", "weight", "bias"))
    if (H - 1) * s - 2 * p + k >= 1 and (W - 1) * s - 2 * p + k >= 1:
        (x, w, b), (x64, w64, b64) = leaves((B, C, H, W), (C, O, k, k), (O,), gen=gen)
        y = conv_mod.ConvTranspose2dAct.apply(x, w, b, s, p, "sigmoid", blocks)
        ref = torch.sigmoid(F.conv_transpose2d(x64, w64, b64, s, p))
        assert_matches(y, ref, "conv_transpose2d y")
        check_grads(y, ref, (x, w, b), (x64, w64, b64), gen, ("x", "weight", "bias"))
