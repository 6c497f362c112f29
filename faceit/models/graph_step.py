"""A whole training step (forward, loss, backward, Adam) captured once in a CUDA graph and replayed.

On a GPU this small network's step is bound by launching, not by arithmetic: about a hundred
kernels of a few microseconds each, every one launched from Python. Replaying a captured graph
launches them all in one call: on an H200, train() ran 4.3x the steps per second at batch 64 and
2.2x at batch 256 of the 64x64 network (benchmarks/README.md, bench_train.py --train-call).

The step reads its inputs from static device buffers that each call overwrites, so the batch
size is fixed for the life of the object. The first ``WARMUP_STEPS`` calls run the ordinary step
on a side stream (Triton compiles its kernels, cuDNN picks its algorithms, Adam makes its
state); the next call captures the graph, and every call from then on copies its inputs in
and replays it. Every call is one real optimizer step, so a run takes the same path through
its batches whether or not it is graphed.
"""

from __future__ import annotations

import torch

from ..errors import ConfigError
from .objectives import LossTerms, batch_loss

WARMUP_STEPS = 3


class GraphedTrainingStep:
    """``step(x, eps, progress, shuffle) -> LossTerms``: one Adam step of ``model`` on x [B, C, H, W].

    eps [B, K] or None (deterministic models); progress: the fraction of training done (float);
    shuffle [B, K]: the TC critic's shuffle keys, or None for a model without a critic.
    ``optimizer`` must have been made with ``capturable=True``. The returned terms are the
    graph's own output tensors: read them (or copy them) before the next call overwrites them.
    """

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer):
        device = next(model.parameters()).device
        if device.type != "cuda":
            raise ConfigError(f"CUDA graphs need the model on a CUDA device, not {device}")
        if not all(group.get("capturable", False) for group in optimizer.param_groups):
            raise ConfigError("the optimizer must be created with capturable=True to be captured")
        self.model, self.optimizer, self.device = model, optimizer, device
        self.calls = 0
        self.side_stream = torch.cuda.Stream(device)
        self.graph: torch.cuda.CUDAGraph | None = None
        self._static: dict | None = None
        self._outputs: LossTerms | None = None

    def __call__(self, x: torch.Tensor, eps: torch.Tensor | None, progress: float,
                 shuffle: torch.Tensor | None = None) -> LossTerms:
        if self._static is None:
            self._static = {"x": torch.empty_like(x), "eps": None if eps is None else torch.empty_like(eps),
                            "shuffle": None if shuffle is None else torch.empty_like(shuffle),
                            "progress": torch.zeros((), device=self.device)}
        static = self._static
        if x.shape != static["x"].shape:
            raise ConfigError(f"a graphed step keeps its batch shape {tuple(static['x'].shape)}; got {tuple(x.shape)}")
        static["x"].copy_(x)
        if eps is not None:
            static["eps"].copy_(eps)
        if shuffle is not None:
            static["shuffle"].copy_(shuffle)
        static["progress"].fill_(progress)
        self.calls += 1
        if self.calls <= WARMUP_STEPS:
            return self._warmup_step()
        if self.graph is None:
            self._capture()
        self.graph.replay()
        return self._outputs

    def _loss(self) -> LossTerms:
        s = self._static
        return batch_loss(self.model, s["x"], s["eps"], s["progress"], s["shuffle"])

    def _warmup_step(self) -> LossTerms:
        side = self.side_stream
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):
            terms = self._loss()
            self.optimizer.zero_grad(set_to_none=True)
            terms.to_minimise().backward()
            self.optimizer.step()
        torch.cuda.current_stream(self.device).wait_stream(side)
        return _detached(terms)

    def _capture(self) -> None:
        # Gradients set to None before the capture are allocated in the graph's pool, so each
        # replay writes them afresh instead of adding to the last step's.
        self.optimizer.zero_grad(set_to_none=True)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            terms = self._loss()
            terms.to_minimise().backward()
            self.optimizer.step()
        self._outputs = _detached(terms)


def _detached(terms: LossTerms) -> LossTerms:
    """The same values without their autograd graph.

    A caller holding a step's loss would keep that step's autograd nodes alive into the next
    step, whose backward then runs on another stream than the one those nodes were made on
    (torch warns that this syncs streams and can break a capture). Detached tensors share
    storage, so the graph's outputs still update in place at each replay.
    """
    beta = terms.beta.detach() if isinstance(terms.beta, torch.Tensor) else terms.beta
    tc, critic_loss = (None if t is None else t.detach() for t in (terms.tc, terms.critic_loss))
    return LossTerms(terms.loss.detach(), terms.nll.detach(), terms.kl.detach(), terms.kl_per_unit.detach(), beta,
                     tc, critic_loss)
