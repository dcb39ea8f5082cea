"""AdamW for stacked weights: M runs' parameters in one tensor each, every run with its own learning rate, weight
decay, beta2 and gradient clipping, its updates exactly those of torch.optim.AdamW on its own model.

    opt = StackedAdamW(fused.weights.values(), decay=[...], beta2=[...])    # per-run vectors, length M
    norms = opt.clip_(clip)              # per-run gradient norms, each run clipped to its own threshold
    opt.step(lr, active)                 # lr (M,) this step's learning rates; active (M,) bool: frozen runs stay put

A run's state converts to and from torch.optim.AdamW's state_dict for its own model (`member_state`, `load_member`),
so a run trained fused checkpoints as if trained alone and resumes either way. Every operation is a tensor operation
(no host sync, no Python branching on values), so a whole training step can be captured in a CUDA graph.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch

BETA1, EPS = 0.9, 1e-8  # torch.optim.AdamW's defaults, as the single-run trainer uses them


class StackedAdamW:
    """AdamW over parameters of shape (M, ...): decoupled weight decay on matrices (2-D and up per run), none on
    vectors and scalars, as the single-run trainer groups them."""

    def __init__(
        self,
        params: Iterable[torch.Tensor],
        *,
        weight_decay: Sequence[float],
        beta2: Sequence[float],
        flat: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
        decay_vectors: bool = False,
    ):
        """`flat`: (weights, gradients, decaying) when `params` are views of one (M, P) buffer and their gradients of
        another (FusedModel.flatten_, .decaying): every operation then runs once on the whole buffer, a few kernels
        a step instead of a few per parameter, computing per entry exactly what the per-parameter path computes.
        `decay_vectors`: decay every parameter, vectors and scalars too (the training key of that name)."""
        self.params = list(params)
        dev = self.params[0].device
        self.M = self.params[0].shape[0]
        self.weight_decay = torch.tensor(weight_decay, dtype=torch.float64, device=dev)
        self.beta2 = torch.tensor(beta2, dtype=torch.float64, device=dev)
        self.decays = [decay_vectors or p.dim() >= 3 for p in self.params]  # a run's matrices: (M, out, in) and up
        self.flat = flat
        if flat is None:
            self.exp_avg = [torch.zeros_like(p) for p in self.params]
            self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]
        else:  # the state in (M, P) buffers too, each parameter's part a view laid out as the parameter is
            self.avg_flat, self.avg_sq_flat = torch.zeros_like(flat[0]), torch.zeros_like(flat[0])
            base = flat[0].storage_offset()

            def like_params(buffer: torch.Tensor) -> list[torch.Tensor]:
                return [buffer.as_strided(p.shape, p.stride(), p.storage_offset() - base) for p in self.params]

            self.exp_avg, self.exp_avg_sq = like_params(self.avg_flat), like_params(self.avg_sq_flat)
        self.steps = torch.zeros(self.M, dtype=torch.float64, device=dev)  # updates taken by each run

    def _per_run(self, v: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        """(M,) -> (M, 1, ..., 1), to broadcast over a stacked parameter."""
        return v.view(-1, *([1] * (p.dim() - 1)))

    @torch.no_grad()
    def clip_(self, clip: torch.Tensor) -> torch.Tensor:
        """Scale each run's gradients to a norm of at most clip[m] (0: no clipping), as clip_grad_norm_ does for a
        single run; returns each run's norm before clipping (M,)."""
        grads = [self.flat[1]] if self.flat is not None else [p.grad for p in self.params]
        sq = torch.stack([g.float().pow(2).flatten(1).sum(1) for g in grads]).sum(0)
        norms = sq.sqrt()
        coef = torch.where(clip > 0, (clip / (norms + 1e-6)).clamp(max=1.0), torch.ones_like(norms))
        for g in grads:
            g.mul_(self._per_run(coef, g).to(g.dtype))
        return norms

    @torch.no_grad()
    def step(self, lr: torch.Tensor, active: torch.Tensor) -> None:
        """One update of every active run at its learning rate lr[m] (M,); inactive runs keep weights and state.

        Per-run scalars are computed in float64 and cast once, as torch.optim.AdamW does with its Python floats."""
        on = active.to(torch.float64)
        self.steps += on.to(self.steps.dtype)
        t = self.steps.to(torch.float64).clamp(min=1.0)
        lr = lr.to(torch.float64) * on
        step_size = lr / (1.0 - BETA1**t)
        bias2_sqrt = (1.0 - self.beta2**t).sqrt()
        shrink = 1.0 - lr * self.weight_decay
        if self.flat is not None:  # one pass over the (M, P) buffers; decay where `decaying`, x 1 (exact) elsewhere
            p, g, decaying = self.flat
            one = torch.ones((), dtype=p.dtype, device=p.device)
            p.mul_(torch.where(decaying[None, :], self._per_run(shrink, p).to(p.dtype), one))
            parts = [(p, g, self.avg_flat, self.avg_sq_flat)]
        else:
            for p, decays in zip(self.params, self.decays, strict=True):
                if decays:
                    p.mul_(self._per_run(shrink, p).to(p.dtype))
            parts = [(p, p.grad, m, v) for p, m, v in zip(self.params, self.exp_avg, self.exp_avg_sq, strict=True)]
        for p, g, m, v in parts:
            keep = self._per_run(on, p) > 0
            m.copy_(torch.where(keep, torch.lerp(m, g, 1.0 - BETA1), m))
            b2 = self._per_run(self.beta2, p)
            v.copy_(torch.where(keep, v * b2.to(p.dtype) + (1.0 - b2).to(p.dtype) * g * g, v))
            denom = v.sqrt() / self._per_run(bias2_sqrt, p).to(p.dtype) + EPS
            p.sub_(self._per_run(step_size, p).to(p.dtype) * (m / denom))

    # ---- one run's state as torch.optim.AdamW holds it --------------------------------------------------------------
    def member_state(self, m: int, template: dict, order: Sequence[int], shapes: Sequence[torch.Size] = ()) -> dict:
        """Run m's state as a torch.optim.AdamW state_dict: `template` is that optimizer's own (empty) state_dict for
        the run's single model, `order[i]` the index in `self.params` of the optimizer's i-th parameter, `shapes[j]`
        run m's own shape of parameter j where it is padded in the stack (FusedModel.member_shape; default: none is)."""
        state = {}
        for i, j in enumerate(order):
            state[i] = {
                "step": self.steps[m].detach().cpu().clone(),
                "exp_avg": _own(self.exp_avg[j][m], shapes, j).detach().clone(),
                "exp_avg_sq": _own(self.exp_avg_sq[j][m], shapes, j).detach().clone(),
            }
        return {"state": state, "param_groups": template["param_groups"]}

    @torch.no_grad()
    def load_member(self, m: int, saved: dict, order: Sequence[int], shapes: Sequence[torch.Size] = ()) -> None:
        """Set run m's state from a torch.optim.AdamW state_dict of its single model (a checkpoint); `shapes` as for
        `member_state`."""
        for i, j in enumerate(order):
            s = saved["state"].get(i)
            if s is None:  # a parameter the optimizer never stepped
                continue
            _own(self.exp_avg[j][m], shapes, j).copy_(s["exp_avg"])
            _own(self.exp_avg_sq[j][m], shapes, j).copy_(s["exp_avg_sq"])
            self.steps[m] = float(s["step"])


def _own(t: torch.Tensor, shapes: Sequence[torch.Size], j: int) -> torch.Tensor:
    """A run's own block of parameter j's state (a view; the whole of it when no shapes are given)."""
    return t[tuple(slice(0, n) for n in shapes[j])] if shapes else t
