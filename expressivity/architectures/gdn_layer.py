"""The Gated DeltaNet mixer layer (letter G) and its no-decay control, DeltaNet (letter D), per the Olmo Hybrid recipe.

    x -> [q | k | v] projections -> causal depthwise short conv (kernel 4) + SiLU -> L2-normalised q, k
      beta = sigmoid(W_b x)           (x2 with neg_eigval: eigenvalues of I - beta k k^T reach [-1, 1])
      g    = -exp(A_log) * softplus(W_a x + dt_bias)     (one log decay per head; DeltaNet: g = 0)
      o    = gated_delta_rule(q, k, v, g=g, beta=beta) -> gated RMSNorm with silu(W_gate x) -> output projection

Per head the key dim is d_model / n_heads (or `head_dim`) and the value dim `expand_v` times that (2 in the recipe).
With `olmo=True` the arithmetic is Olmo Hybrid's as transformers and fla compute it: q and k are scaled by
1 / sqrt(|x|^2 + 1e-6) rather than 1 / max(|x|, 1e-6), and the gated output norm has eps 1e-5 rather than 1e-6 (with
weights mapped one to one, the eps alone moves the layer's output by several percent).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from expressivity.architectures.gdn import gated_delta_rule, resolve_backend
from expressivity.architectures.layers import GatedRMSNorm, ShortConv


def init_decay(n: int, *, a_range=(1.0, 16.0), dt_range=(1e-3, 1e-1)) -> tuple[torch.Tensor, torch.Tensor]:
    """A_log and dt_bias as in Mamba2 / GDN: A uniform in a_range, dt log-uniform in dt_range, dt_bias = softplus^-1."""
    A = torch.empty(n).uniform_(*a_range)
    dt = torch.exp(torch.rand(n) * (math.log(dt_range[1]) - math.log(dt_range[0])) + math.log(dt_range[0]))
    return A.log(), dt + torch.log(-torch.expm1(-dt))


class DeltaRuleMixer(nn.Module):
    """GDN (`decay=True`) or DeltaNet (`decay=False`) token mixer: (B, T, d_model) -> (B, T, d_model)."""

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        *,
        decay: bool = True,
        neg_eigval: bool = False,
        backend: str = "auto",
        conv_size: int = 4,
        expand_v: int = 2,
        head_dim: int | None = None,
        olmo: bool = False,
    ):
        super().__init__()
        self.n_heads, self.dk = n_heads, head_dim or d_model // n_heads
        self.dv = expand_v * self.dk
        self.decay, self.neg_eigval, self.backend, self.olmo = decay, neg_eigval, backend, olmo
        H, qk, vd = n_heads, n_heads * self.dk, n_heads * self.dv
        self.splits = [qk, qk, vd, vd, H] + ([H] if decay else [])  # q, k, v, output gate, beta, (decay)
        self.proj = nn.Linear(d_model, sum(self.splits), bias=False)  # one matmul for every input projection
        self.conv = ShortConv(2 * qk + vd, conv_size)
        if decay:
            A_log, dt_bias = init_decay(H)
            self.A_log, self.dt_bias = nn.Parameter(A_log), nn.Parameter(dt_bias)
        self.norm = GatedRMSNorm(self.dv, eps=1e-5 if olmo else 1e-6)
        self.out = nn.Linear(vd, d_model, bias=False)

    def op_inputs(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The op's inputs for x (B, T, d_model): q, k [B, T, H, dk], v [B, T, H, dv], g, beta [B, T, H], and the
        output gate [B, T, H, dv]. The per-token transition of head h is exp(g) (I - beta k k^T)."""
        B, T, _ = x.shape
        H = self.n_heads
        q, k, v, gate, b, *a = self.proj(x).split(self.splits, dim=-1)
        q, k, v = self.conv(torch.cat([q, k, v], dim=-1)).split(self.splits[:3], dim=-1)
        # Under autocast, normalize and sigmoid may return fp32: give q, k, v, beta one dtype, as the kernels want.
        q = self._l2(q.view(B, T, H, self.dk)).to(v.dtype)
        k = self._l2(k.view(B, T, H, self.dk)).to(v.dtype)
        beta = (torch.sigmoid(b) * (2.0 if self.neg_eigval else 1.0)).to(v.dtype)
        if self.decay:  # log decay in fp32, as fla's layers do: g feeds an exp of a cumulative sum
            g = -self.A_log.float().exp() * F.softplus(a[0].float() + self.dt_bias.float())
        else:
            g = x.new_zeros(B, T, H, dtype=torch.float32)
        return {"q": q, "k": k, "v": v.view(B, T, H, self.dv), "g": g, "beta": beta, "gate": gate}

    def _l2(self, x: torch.Tensor) -> torch.Tensor:
        if self.olmo:  # in fp32, as fla and transformers do
            x32 = x.float()
            return (x32 * torch.rsqrt(x32.pow(2).sum(-1, keepdim=True) + 1e-6)).to(x.dtype)
        return F.normalize(x, dim=-1, eps=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, _ = x.shape
        p = self.op_inputs(x)
        backend = resolve_backend(self.backend, x.device, p["q"].dtype, shape=(self.n_heads, self.dk, self.dv))
        o, _ = gated_delta_rule(p["q"], p["k"], p["v"], g=p["g"], beta=p["beta"], backend=backend)
        o = self.norm(o, p["gate"].view(B, T, self.n_heads, self.dv))
        return self.out(o.reshape(B, T, -1))

    def state_size(self, T: int) -> int:
        """Floats carried between steps: the matrix state of every head plus the short convolution's window."""
        return self.n_heads * self.dk * self.dv + self.conv.state_size()
