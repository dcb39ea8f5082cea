"""Building blocks shared by the models: RMSNorm, gated RMSNorm, SwiGLU, RoPE, causal short convolution, attention.

Shapes follow one convention: activations are (B, T, d_model); per-head tensors are (B, T, H, D).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class RMSNorm(nn.Module):
    """x / rms(x) * weight over the last dim (pre-norm blocks, QK-norm)."""

    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The weight in x's dtype: under autocast x may be bf16, and mixed dtypes miss the fused kernel.
        return F.rms_norm(x, (x.shape[-1],), self.weight.to(x.dtype), self.eps)


class GatedRMSNorm(RMSNorm):
    """RMSNorm(x) * silu(gate): the output gate of GDN layers (one norm per head, over the head's value dim)."""

    def forward(self, x: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return super().forward(x) * F.silu(gate)


class SwiGLU(nn.Module):
    """The MLP of every block: down(silu(gate(x)) * up(x)), `width` hidden units; 3 * d_model * width weights."""

    def __init__(self, d_model: int, width: int):
        super().__init__()
        self.gate_up = nn.Linear(d_model, 2 * width, bias=False)  # one matmul for gate and up
        self.down = nn.Linear(width, d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = self.gate_up(x).chunk(2, dim=-1)
        return self.down(F.silu(gate) * up)


class ShortConv(nn.Module):
    """Causal depthwise convolution over time (kernel `size`), then SiLU: the short convolutions of GDN's q, k, v."""

    def __init__(self, channels: int, size: int):
        super().__init__()
        self.size = size
        self.conv = nn.Conv1d(channels, channels, size, groups=channels, padding=size - 1, bias=False)

    def forward(self, x: torch.Tensor, pos: torch.Tensor | None = None) -> torch.Tensor:  # (B, T, channels)
        """With `pos` (B, T), each token's position within its own example (packed rows: training/packing.py), no
        output reads a token of an earlier example: as if each example started the sequence."""
        if pos is not None or torch.compiler.is_compiling():
            return F.silu(self.shifted(x, pos))
        T = x.shape[1]
        # padding=size-1 pads both ends; keeping the first T outputs makes output t depend on inputs <= t only.
        return F.silu(self.conv(x.transpose(1, 2))[..., :T].transpose(1, 2))

    def shifted(self, x: torch.Tensor, pos: torch.Tensor | None = None) -> torch.Tensor:
        """The same convolution (before the SiLU) as `size` shifted multiply-adds: out[t] = sum_j w[j] x[t - size + 1
        + j], zeros before the start (and, given `pos`, for the tokens of an earlier example: a token s steps back is
        read only where pos >= s). What compiled stages use (FusedModel.compile_stages), since torch.compile fuses
        these with the SiLU, while a depthwise conv kernel and its backward took about a quarter of a fused GDN
        training step on an H200. In x's dtype, as conv1d under autocast."""
        T, w = x.shape[1], self.conv.weight[:, 0, :].to(x.dtype)  # (channels, size)
        padded = F.pad(x, (0, 0, self.size - 1, 0))
        out = None
        for j in range(self.size):
            term = padded[:, j : j + T] * w[:, j]
            back = self.size - 1 - j  # how many tokens back this term reads
            if pos is not None and back:
                term = term * (pos >= back)[..., None].to(x.dtype)
            out = term if out is None else out + term
        return out

    def state_size(self) -> int:
        """Floats carried between steps at inference: the last size-1 inputs."""
        return (self.size - 1) * self.conv.in_channels


def rope_tables(
    T: int, dim: int, base: float, device, dtype, pos: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """cos, sin of shape (T, 1, dim/2) for rotary position embeddings (rotating pairs (x_i, x_{i+dim/2})) at positions
    0..T-1, or (B, T, 1, dim/2) at the positions `pos` (B, T) given (packed rows: each example from 0)."""
    inv_freq = base ** (-torch.arange(0, dim, 2, device=device, dtype=torch.float32) / dim)
    at = torch.arange(T, device=device, dtype=torch.float32) if pos is None else pos.to(torch.float32)
    angles = at[..., None] * inv_freq  # (T, dim/2) or (B, T, dim/2)
    return angles.cos().to(dtype)[..., None, :], angles.sin().to(dtype)[..., None, :]


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x (B, T, H, D) rotated by position; cos, sin (T, 1, D/2) or (B, T, 1, D/2)."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


class Attention(nn.Module):
    """Causal multi-head self-attention with QK-norm and RoPE (or no positions: `pos="nope"`), through SDPA.

    Like every mixer, in three stages: `op_inputs` (per-token projections), `op` (the sequence operation, which mixes
    tokens) and `finish` (per-token output), so that fused training (fused.py) can run the per-token stages of many
    models batched and the sequence op once for all of them, attention folding the models into its batch.

    QK-norm is per head (an RMSNorm over each head's D dims, shared by the heads) or, with `qk_norm_over="projection"`,
    over the whole q and k projections (d_model dims each, Olmo 3's form).
    """

    fold = "batch"  # how fused.py runs `op` for many models at once: models folded into the batch

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        *,
        pos: str = "rope",
        qk_norm: bool = True,
        rope_base: float = 1e4,
        qk_norm_over: str = "head",
        norm_eps: float = 1e-6,
    ):
        super().__init__()
        self.n_heads, self.head_dim = n_heads, d_model // n_heads
        self.pos, self.rope_base = pos, rope_base
        self.whole = qk_norm_over == "projection"
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=False)
        self.out = nn.Linear(d_model, d_model, bias=False)
        width = d_model if self.whole else self.head_dim
        self.q_norm = RMSNorm(width, norm_eps) if qk_norm else nn.Identity()
        self.k_norm = RMSNorm(width, norm_eps) if qk_norm else nn.Identity()

    def op_inputs(
        self, x: torch.Tensor, pos: torch.Tensor | None = None
    ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """x (B, T, d_model) -> ({q, k, v: (B, T, H, D), normed and rotated}, {} : nothing else for `finish`). With
        `pos` (B, T), positions within packed examples (training/packing.py): RoPE restarts at each example, and the
        op's inputs get `segment` (B, T), each token's example number in its row, so attention stays within it."""
        B, T, _ = x.shape
        if self.whole:  # norm each projection as a whole, then split into heads
            q, k, v = (t.view(B, T, self.n_heads, self.head_dim) for t in self.qkv(x).chunk(3, dim=-1))
            q = self.q_norm(q.flatten(2)).view_as(q)
            k = self.k_norm(k.flatten(2)).view_as(k)
        else:
            q, k, v = self.qkv(x).view(B, T, 3, self.n_heads, self.head_dim).unbind(2)  # each (B, T, H, D)
            q, k = self.q_norm(q), self.k_norm(k)
        if self.pos == "rope":
            cos, sin = rope_tables(T, self.head_dim, self.rope_base, x.device, q.dtype, pos)
            q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if pos is None:
            return {"q": q, "k": k, "v": v}, {}
        return {"q": q, "k": k, "v": v, "segment": (pos == 0).cumsum(-1)}, {}

    def op(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, segment: torch.Tensor | None = None):
        """Causal attention: q, k, v (B, T, H, D) -> o (B, T, H, D); given `segment` (B, T), a token attends only to
        tokens of its own segment (a block-diagonal causal mask: packed rows)."""
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        if segment is None:
            return F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2)
        T = segment.shape[1]
        causal = torch.ones(T, T, dtype=torch.bool, device=q.device).tril()
        allowed = (segment[:, None, :, None] == segment[:, None, None, :]) & causal  # (B, 1, T, T)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=allowed).transpose(1, 2)

    def finish(self, o: torch.Tensor, rest: dict[str, torch.Tensor]) -> torch.Tensor:
        """o (B, T, H, D) -> (B, T, d_model)."""
        return self.out(o.reshape(*o.shape[:2], -1))

    def forward(self, x: torch.Tensor, pos: torch.Tensor | None = None) -> torch.Tensor:
        args, rest = self.op_inputs(x, pos)
        return self.finish(self.op(**args), rest)

    def state_size(self, T: int) -> int:
        """The KV cache at length T: keys and values of every head."""
        return 2 * T * self.n_heads * self.head_dim
