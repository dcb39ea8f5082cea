"""Setting a registry model's weights by hand: the toolkit every construction uses.

    w = Wiring(architectures.build("gdn", vocab_size=4, n_layers=1, d_model=8, n_heads=1, ...))
    bit = w.channel("bit")                       # a named residual channel
    w.embed(token_id, {bit: 1.0})                # token embedding (the anchor is added to every token)
    head = w.delta_head(0, 0)                    # block 0's GDN mixer, head 0
    head.k(0, {bit: 5.0}); head.beta({bit: 30.0}, const=-30.0); head.out(0, {out_channel: 1.0})

Everything starts at zero (decays off: exp(g) = 1). Channel 0 is the anchor: every embedding holds ANCHOR there, so
every RMSNorm divides by almost the same number at every position (other features are O(10), their share of the norm
is below float32 resolution), and the norm weights undo that number: each layer reads the residual features exactly
as written. A constant input is read from the anchor (`const=` arguments). Pre-activations pass through SiLU in the
GDN's short convolution and in SwiGLU; `silu_inv` gives the pre-activation of a wanted output.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType

import torch

ANCHOR = 1e5
SILU_ARGMIN = -1.2784645427610738  # silu has its minimum here (the Lambert-W point)
SILU_MIN = -0.2784645427610738  # ... and this is it; silu_inv is defined above it
BIG = 30.0  # sigmoid(30) = 1 - 9e-14: saturates in float32 and float64 alike


def silu(z: float) -> float:
    return z / (1.0 + math.exp(-z))


def silu_inv(y: float) -> float:
    """The z >= SILU_ARGMIN with silu(z) = y (silu is increasing there), by bisection in float64."""
    if y <= SILU_MIN:
        raise ValueError(f"silu_inv needs y > {SILU_MIN:.4f}, got {y}")
    lo, hi = SILU_ARGMIN, max(1.0, y + 1.0)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if silu(mid) < y else (lo, mid)
    return 0.5 * (lo + hi)


Weights = Mapping[int, float]  # residual channel -> weight
NONE: Weights = MappingProxyType({})  # an empty, read-only default
CURRENT: Mapping[int, float] = MappingProxyType({0: 1.0})  # short-convolution taps: the current token only


class Wiring:
    """Named residual channels and write access to the parameters of a `SequenceModel`."""

    def __init__(self, model):
        self.model = model
        self.d = model.cfg.d_model
        self.names: dict[str, list[int]] = {"anchor": [0]}
        self._next = 1
        self._mlps: dict[int, MLP] = {}
        with torch.no_grad():
            for p in model.parameters():
                p.zero_()
            scale = ANCHOR / math.sqrt(self.d)  # rms of a residual vector, anchor-dominated
            for name, p in model.named_parameters():
                if name.endswith(("norm1.weight", "norm2.weight")) or name == "norm.weight":
                    p.fill_(scale)
                elif name.endswith(("mixer.norm.weight", "q_norm.weight", "k_norm.weight")):
                    p.fill_(1.0)
                elif name.endswith("A_log"):
                    p.fill_(-100.0)  # exp(A_log) ~ 4e-44: g = 0, no decay
            model.embed.weight[:, 0] = ANCHOR

    def channel(self, name: str, n: int = 1) -> list[int]:
        """Allocate `n` fresh residual channels under `name` (ValueError when d_model is too small)."""
        if name in self.names:
            raise ValueError(f"channel {name!r} allocated twice")
        if self._next + n > self.d:
            raise ValueError(f"d_model={self.d} is too small: channel {name!r} needs {n} more after {self._next}")
        self.names[name] = list(range(self._next, self._next + n))
        self._next += n
        return self.names[name]

    def row(self, weights: Weights, const: float = 0.0) -> torch.Tensor:
        """A (d_model,) row reading `weights` from channels and `const` from the anchor."""
        r = torch.zeros(self.d, dtype=torch.float64)
        for c, v in weights.items():
            r[c] += v
        r[0] += const / ANCHOR
        return r

    @torch.no_grad()
    def embed(self, token: int, weights: Weights) -> None:
        for c, v in weights.items():
            self.model.embed.weight[token, c] = v

    @torch.no_grad()
    def logits(self, token: int, weights: Weights, const: float = 0.0) -> None:
        self.model.head.weight[token] = self.row(weights, const)

    def delta_head(self, block: int, head: int) -> DeltaHead:
        return DeltaHead(self, self.model.blocks[block].mixer, head)

    def attention_head(self, block: int, head: int) -> AttentionHead:
        return AttentionHead(self, self.model.blocks[block].mixer, head)

    def mlp(self, block: int) -> MLP:
        """Block `block`'s MLP; the same object each call, so units are never handed out twice."""
        if block not in self._mlps:
            self._mlps[block] = MLP(self, self.model.blocks[block].mlp)
        return self._mlps[block]


class DeltaHead:
    """One head of a GDN/DeltaNet/DeltaProduct mixer. q, k, v channels are a row of the input projection followed by
    the short convolution's taps (tap tau reads position t - tau) and SiLU; q and k are then L2-normalised. A
    DeltaProduct head has `num_householder` keys, values and betas per token: `step` picks one (0 is applied first)."""

    def __init__(self, wiring: Wiring, mixer, h: int):
        self.w, self.m, self.h = wiring, mixer, h
        H, dk, dv, n = mixer.n_heads, mixer.dk, mixer.dv, mixer.num_householder
        self.dk, self.dv, self.steps = dk, dv, n
        # Rows of the input projection (the first three blocks are also the conv's channels), as gdn_layer lays
        # them out: q [H dk], keys [n H dk], values [n H dv], output gate [H dv], betas [n H], decay [H] (GDN).
        q0, k0, v0 = 0, H * dk, H * dk + n * H * dk
        gate0 = v0 + n * H * dv
        beta0 = gate0 + H * dv
        self._row = {
            "q": lambda step: q0 + h * dk,
            "k": lambda step: k0 + step * H * dk + h * dk,
            "v": lambda step: v0 + step * H * dv + h * dv,
        }
        self._gate = gate0 + h * dv
        self._beta = lambda step: beta0 + step * H + h
        self._decay = beta0 + n * H + h  # GDN only
        self.size = mixer.conv.size

    def _step(self, step: int) -> int:
        if not 0 <= step < self.steps:
            raise ValueError(f"step {step} out of range: the head has {self.steps} Householder step(s) per token")
        return step

    @torch.no_grad()
    def _channel(self, kind, dim, weights: Weights, const: float, taps: Mapping[int, float], step: int = 0) -> None:
        row = self._row[kind](self._step(step)) + dim
        self.m.proj.weight[row] = self.w.row(weights, const)
        kernel = self.m.conv.conv.weight[row, 0]
        kernel.zero_()
        for tau, tap in taps.items():
            kernel[self.size - 1 - tau] = tap

    def q(self, dim: int, weights: Weights = NONE, *, const: float = 0.0, taps: Mapping[int, float] = CURRENT):
        self._channel("q", dim, weights, const, taps)

    def k(self, dim: int, weights: Weights = NONE, *, const=0.0, taps: Mapping[int, float] = CURRENT, step: int = 0):
        self._channel("k", dim, weights, const, taps, step)

    def v(self, dim: int, weights: Weights = NONE, *, const=0.0, taps: Mapping[int, float] = CURRENT, step: int = 0):
        self._channel("v", dim, weights, const, taps, step)

    @torch.no_grad()
    def beta(self, weights: Weights, const: float = 0.0, *, step: int = 0) -> None:
        """The logit b of beta = sigmoid(b) (times 2 with neg_eigval), at Householder step `step`."""
        self.m.proj.weight[self._beta(self._step(step))] = self.w.row(weights, const)

    @torch.no_grad()
    def reset_on(self, weights: Weights) -> None:
        """Decay the whole state to ~0 (exp(g) = e^-60) where weights . x = 1, keep it (exp(g) = 1) where it is 0:
        g = -exp(A_log) * softplus(a + dt_bias) with A_log = 0, dt_bias = -60 and a = 120 * (weights . x)."""
        self.m.A_log[self.h] = 0.0
        self.m.dt_bias[self.h] = -2 * BIG
        self.m.proj.weight[self._decay] = self.w.row({c: 4 * BIG * v for c, v in weights.items()})

    @torch.no_grad()
    def gate(self, value: float = 3.0) -> None:
        """A constant output gate silu(value) on every value dim."""
        for j in range(self.dv):
            self.m.proj.weight[self._gate + j] = self.w.row({}, value)

    @torch.no_grad()
    def out(self, dim: int, weights: Weights) -> None:
        """Value dim `dim` (after the gated RMSNorm) -> residual channels."""
        col = self.h * self.dv + dim
        for c, v in weights.items():
            self.m.out.weight[c, col] = v


class AttentionHead:
    """One head of an attention mixer: rows of the q, k, v projections (QK-norm follows) and columns of `out`."""

    def __init__(self, wiring: Wiring, mixer, h: int):
        self.w, self.m, self.h = wiring, mixer, h
        self.hd = mixer.head_dim
        self.d = wiring.d

    @torch.no_grad()
    def _set(self, which: int, dim: int, weights: Weights, const: float) -> None:
        self.m.qkv.weight[which * self.d + self.h * self.hd + dim] = self.w.row(weights, const)

    def q(self, dim: int, weights: Weights, const: float = 0.0) -> None:
        self._set(0, dim, weights, const)

    def k(self, dim: int, weights: Weights, const: float = 0.0) -> None:
        self._set(1, dim, weights, const)

    def v(self, dim: int, weights: Weights, const: float = 0.0) -> None:
        self._set(2, dim, weights, const)

    @torch.no_grad()
    def sharpness(self, gain: float) -> None:
        """QK-norm weights (shared by the layer's heads): scores become gain^2 * cos(q, k) * sqrt(head_dim)."""
        self.m.q_norm.weight.fill_(gain)
        self.m.k_norm.weight.fill_(gain)

    @torch.no_grad()
    def out(self, dim: int, weights: Weights) -> None:
        for c, v in weights.items():
            self.m.out.weight[c, self.h * self.hd + dim] = v


class MLP:
    """A block's SwiGLU, unit by unit: hidden_u = silu(gate_u . x) * (up_u . x), out += down_u * hidden_u."""

    def __init__(self, wiring: Wiring, mlp):
        self.w, self.mlp = wiring, mlp
        self.width = mlp.down.weight.shape[1]
        self._next = 0

    @torch.no_grad()
    def unit(self, gate: Weights, gate_const: float, out: Weights, *, up: Weights = NONE, up_const: float = 1.0):
        if self._next >= self.width:
            raise ValueError(f"the MLP has only {self.width} units; raise mlp_width")
        u = self._next
        self._next += 1
        self.mlp.gate_up.weight[u] = self.w.row(gate, gate_const)
        self.mlp.gate_up.weight[self.width + u] = self.w.row(up, up_const)
        for c, v in out.items():
            self.mlp.down.weight[c, u] = v

    def step(self, weights: Weights, const: float, out: Weights, *, sharp: float = 100.0) -> None:
        """Add out * [weights . x + const > 0] to the residual, exact to ~e^-(sharp/2) wherever |weights . x + const|
        >= 1: two units silu(sharp * (L + 1/2)) - silu(sharp * (L - 1/2)), divided by sharp."""
        for shift, sign in ((0.5, 1.0), (-0.5, -1.0)):
            gate = {c: sharp * v for c, v in weights.items()}
            self.unit(gate, sharp * (const + shift), {c: sign * v / sharp for c, v in out.items()})
