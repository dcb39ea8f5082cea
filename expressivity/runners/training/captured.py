"""One training step of a fused group, run eagerly or replayed as a captured CUDA graph.

    runner = StepRunner(fused_model, optimizer, clip, window, capture=True)
    runner.step((inputs, targets, mask), lrs, active)     # numpy (M, B, T) arrays; lrs and active per run
    runner.step((inputs, targets, mask, pos, ends), ...)  # packed rows (packing.py)

The step: forward (bf16 autocast on CUDA), each run's mean loss over its scored positions, backward of their sum (so
each run's gradient is that of its own loss: the runs share no weight), each run clipped to its own threshold, one
AdamW update of each active run, and each run's loss and correct counts added to its check window (and kept in `last`,
for a run whose history splits them by part: parts.py), all on the device without a host sync. Tiny models spend most
of a step launching kernels; replaying the whole step as one CUDA graph removes that cost. A graph needs fixed shapes:
one is captured per padded length (batches.bucket), after two eager steps of that length have warmed it up (the first
use of fla's kernels compiles them; the backend self-check runs).
If capture fails (a kernel that cannot be captured), the step stays eager, with one warning.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn.functional as F

from expressivity.runners.training.evaluate import stacked_counts

WARMUP = 2  # eager steps of a length before its graph is captured


class StepRunner:
    def __init__(self, model, opt, clip: torch.Tensor, window: torch.Tensor, *, capture: bool):
        self.model, self.opt, self.clip, self.window = model, opt, clip, window
        self.device = window.device
        self.capture = capture
        self.params = list(model.weights.values())
        # Gradients live in fixed buffers, zeroed each step: what a graph replays into. A flattened model
        # (FusedModel.flatten_) has them in one (M, P) buffer already, zeroed in one kernel.
        if model.flat_grad is None:
            for p in self.params:
                p.grad = torch.zeros_like(p)
        M = model.M
        self.lr = torch.zeros(M, dtype=torch.float64, device=self.device)
        self.active = torch.zeros(M, dtype=torch.bool, device=self.device)
        self.last = torch.zeros(M, 6, dtype=torch.float64, device=self.device)  # the last step's window sums, by run
        self.graphs: dict[tuple, tuple] = {}  # shape -> (graph, static inputs, targets, mask)
        self.seen: dict[tuple, int] = {}
        self.failed = ""

    def _body(self, inputs: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor, pos=None, ends=None) -> None:
        """The step on device tensors (M, B, T): everything a graph captures. `pos` and `ends` come with packed rows
        (packing.py): each token's position within its example, and each example's last scored position."""
        if self.model.flat_grad is not None:
            self.model.flat_grad.zero_()
        else:
            for p in self.params:
                p.grad.zero_()
        cuda = self.device.type == "cuda"
        # No cast cache: a graph must recompute the weights' bf16 copies each replay, not reuse warm-up's stale ones.
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=cuda, cache_enabled=False):
            logits = self.model(inputs, pos)
        logits = logits.float()
        scored = torch.where(mask, targets, -100)
        ce = F.cross_entropy(logits.flatten(0, 2), scored.flatten(), ignore_index=-100, reduction="none")
        counts = mask.sum((1, 2))
        losses = ce.view(mask.shape).sum((1, 2)) / counts.clamp(min=1)  # each run's mean over its scored positions
        losses.sum().backward()
        self.opt.clip_(self.clip)
        self.opt.step(self.lr, self.active)
        with torch.no_grad():
            c = stacked_counts(logits, targets, mask, ends)  # (M, 4): final, token correct; scored positions, examples
            ones = torch.ones_like(losses, dtype=torch.float64)
            add = torch.cat([losses.detach().double()[:, None], c.double(), ones[:, None]], dim=1)
            self.last.copy_(add * self.active.double()[:, None])
            self.window += self.last

    def step(self, arrays: tuple[np.ndarray, ...], lrs: list[float], active: list[bool]) -> None:
        """One step on (inputs, targets, mask), each (M, B, T), and for packed rows (pos, ends) after them."""
        self.lr.copy_(torch.tensor(lrs, dtype=torch.float64))
        self.active.copy_(torch.tensor(active))
        tensors = [torch.from_numpy(a) for a in arrays]
        shape = tuple(arrays[0].shape)
        if not self.capture or self.failed:
            self._body(*(t.to(self.device, non_blocking=True) for t in tensors))
            return
        if shape in self.graphs:
            graph, *static = self.graphs[shape]
            for s, t in zip(static, tensors, strict=True):
                s.copy_(t, non_blocking=True)
            graph.replay()
            return
        self.seen[shape] = self.seen.get(shape, 0) + 1
        if self.seen[shape] <= WARMUP:
            # Warm-up on a side stream, as CUDA graph capture wants (library handles and workspaces set up there).
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                self._body(*(t.to(self.device, non_blocking=True) for t in tensors))
            torch.cuda.current_stream().wait_stream(side)
            return
        static = [t.to(self.device) for t in tensors]
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph):
                self._body(*static)
        except Exception as err:  # noqa: BLE001 - any capture failure: stay eager
            self.failed = f"{type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}"
            warnings.warn(f"training step not captured as a CUDA graph ({self.failed}); running eagerly", stacklevel=2)
            torch.cuda.synchronize()
            self._body(*static)
            return
        self.graphs[shape] = (graph, *static)
        graph.replay()  # capture records the step without running it
