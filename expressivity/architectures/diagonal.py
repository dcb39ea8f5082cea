"""The diagonal control (letter M): a gated diagonal linear recurrence, Mamba2 / GLA-like, with no delta rule.

Per head, with state h [K, V] and one decay a_t per head and step (a scalar times the identity: a diagonal transition),

    h_t = a_t h_{t-1} + k_t v_t^T        o_t = scale * h_t^T q_t

a_t = exp(g_t) in (0, 1] with g = -exp(A_log) * softplus(W_a x + dt_bias) as in GDN, or 2 exp(g_t) - 1 in (-1, 1] with
`neg_eigval` (Grazzi et al.'s Mamba [-1, 1]). The mixer is GDN's with the delta rule removed (same projections, short
convolutions, normalised q, k, output gate), so G, D and M differ only in the transition. Signed decays have no
log-space kernel, so this op is pure PyTorch: a chunked scan (any T, any dtype, autograd).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from expressivity.architectures.gdn_layer import RESET_LOG_DECAY, init_decay
from expressivity.architectures.layers import GatedRMSNorm, ShortConv

CHUNK = 64
# |a| is clamped here before its log (log 0 would make the in-chunk log-ratios nan). The price: an exactly zero decay
# gets a zero gradient, where the true one is the product of the other decays; log space cannot carry that term.
_TINY = 1e-30


def diagonal_recurrence(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    decay: torch.Tensor,
    scale: float | None = None,
    initial_state: torch.Tensor | None = None,
    output_final_state: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """q, k [B, T, H, K], v [B, T, H, V], decay a [B, T, H] in [-1, 1] -> (o [B, T, H, V], h [B, H, K, V] or None).

    Chunked: within a chunk, the product of decays from step s+1 to t is sign * exp(Lc_t - Lc_s), Lc the cumulative
    sum of log|a| and sign the parity of the negative decays between them, so every ratio is computed in log space.
    """
    dtype = q.dtype
    ct = torch.float64 if dtype == torch.float64 else torch.float32
    B, T, H, K = q.shape
    V = v.shape[-1]
    scale = K**-0.5 if scale is None else scale
    C = min(CHUNK, T)
    pad = (-T) % C
    N = (T + pad) // C

    def chunks(x):  # (B, T, H, ...) -> (N, B, H, C, ...); padded steps have k = 0 and a = 1: no effect
        x = x.to(ct)
        if pad:
            x = F.pad(x, (0, 0) * (x.dim() - 2) + (0, pad), value=1.0 if x.dim() == 3 else 0.0)
        x = x.reshape(B, N, C, H, *x.shape[3:])
        return x.permute(1, 0, 3, 2, *range(4, x.dim())).contiguous()

    with torch.autocast(q.device.type, enabled=False):
        q, k, v, a = (chunks(x) for x in (q, k, v, decay))
        Lc = a.abs().clamp_min(_TINY).log().cumsum(-1)  # (N, B, H, C)
        neg = (a < 0).to(ct).cumsum(-1)
        sign_t = 1.0 - 2.0 * torch.remainder(neg, 2.0)  # sign of the product of decays from the chunk start to t
        rel_sign = 1.0 - 2.0 * torch.remainder(neg[..., :, None] - neg[..., None, :], 2.0)
        causal = torch.ones(C, C, dtype=torch.bool, device=q.device).tril()
        Dm = (Lc[..., :, None] - Lc[..., None, :]).masked_fill(~causal, float("-inf")).exp() * rel_sign
        P = (q @ k.mT) * Dm * scale  # (N, B, H, C, C)
        prod_t = sign_t * Lc.exp()  # decay from the chunk start through t
        qg = q * (prod_t * scale)[..., None]
        to_end = (sign_t[..., -1:] * sign_t) * (Lc[..., -1:] - Lc).exp()  # decay from t+1 to the chunk end
        kd = (k * to_end[..., None]).mT
        whole = prod_t[..., -1, None, None]
        h = q.new_zeros(B, H, K, V) if initial_state is None else initial_state.to(ct)
        outs = []
        # unbind, not indexing: autograd then stacks the N gradients once instead of scattering into N zero tensors
        for P_n, v_n, qg_n, kd_n, w_n in zip(
            P.unbind(0), v.unbind(0), qg.unbind(0), kd.unbind(0), whole.unbind(0), strict=True
        ):
            outs.append(qg_n @ h + P_n @ v_n)
            h = w_n * h + kd_n @ v_n
        o = torch.stack(outs, 0).permute(1, 0, 3, 2, 4).reshape(B, N * C, H, V)[:, :T]
    return o.to(dtype), (h if output_final_state else None)


class DiagonalMixer(nn.Module):
    """Gated diagonal recurrence token mixer: (B, T, d_model) -> (B, T, d_model), in three stages like every mixer
    (layers.Attention); sequences are independent, so fused training stacks many models' batches into one."""

    fold = "batch"
    compile_op = True  # `op` is plain PyTorch: fused training may compile it with the stages (fused.py)

    def __init__(self, d_model: int, n_heads: int, *, neg_eigval: bool = False, conv_size: int = 4, expand_v: int = 2):
        super().__init__()
        self.n_heads, self.dk = n_heads, d_model // n_heads
        self.dv = expand_v * self.dk
        self.neg_eigval = neg_eigval
        # decay = exp(g) * scale - (scale - 1): a buffer, so fused runs may differ in neg_eigval (scale 1 or 2)
        self.register_buffer("eig_scale", torch.tensor(2.0 if neg_eigval else 1.0), persistent=False)
        H, qk, vd = n_heads, n_heads * self.dk, n_heads * self.dv
        self.splits = [qk, qk, vd, vd, H]  # q, k, v, output gate, decay
        self.proj = nn.Linear(d_model, sum(self.splits), bias=False)
        self.conv = ShortConv(2 * qk + vd, conv_size)
        A_log, dt_bias = init_decay(H)
        self.A_log, self.dt_bias = nn.Parameter(A_log), nn.Parameter(dt_bias)
        self.norm = GatedRMSNorm(self.dv)
        self.out = nn.Linear(vd, d_model, bias=False)

    def op_inputs(
        self, x: torch.Tensor, pos: torch.Tensor | None = None
    ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """x (B, T, d_model) -> the op's {q, k [B, T, H, dk], v [B, T, H, dv], decay [B, T, H]} (the eigenvalue of
        each token's transition) and {gate} for `finish`. With `pos` (B, T), positions within packed examples
        (training/packing.py), each example starts afresh: the convolution reads none of an earlier example, and the
        decay is exp(RESET_LOG_DECAY), about 1e-13, at each example's first token (where, alone, it would multiply a
        zero state; not 0, whose log, clamped, would cost the chunk's other log-ratios precision)."""
        B, T, _ = x.shape
        H = self.n_heads
        q, k, v, gate, a = self.proj(x).split(self.splits, dim=-1)
        q, k, v = self.conv(torch.cat([q, k, v], dim=-1), pos).split(self.splits[:3], dim=-1)
        q = F.normalize(q.view(B, T, H, self.dk), dim=-1, eps=1e-6)
        k = F.normalize(k.view(B, T, H, self.dk), dim=-1, eps=1e-6)
        wide = torch.promote_types(x.dtype, torch.float32)  # fp32 (under autocast too), fp64 for a float64 model
        decay = torch.exp(-self.A_log.to(wide).exp() * F.softplus(a.to(wide) + self.dt_bias.to(wide)))
        decay = decay * self.eig_scale - (self.eig_scale - 1.0)  # [0, 1], or 2 decay - 1 in [-1, 1]: both exact
        if pos is not None:
            decay = decay.masked_fill((pos == 0)[..., None], math.exp(RESET_LOG_DECAY))
        return {"q": q, "k": k, "v": v.view(B, T, H, self.dv), "decay": decay}, {"gate": gate}

    def op(self, q, k, v, decay) -> torch.Tensor:
        """The diagonal recurrence over any number of heads -> o [B, T, H, dv]."""
        return diagonal_recurrence(q, k, v, decay=decay)[0]

    def finish(self, o: torch.Tensor, rest: dict[str, torch.Tensor]) -> torch.Tensor:
        B, T = o.shape[:2]
        o = self.norm(o, rest["gate"].view(B, T, self.n_heads, self.dv))
        return self.out(o.reshape(B, T, -1))

    def forward(self, x: torch.Tensor, pos: torch.Tensor | None = None) -> torch.Tensor:
        args, rest = self.op_inputs(x, pos)
        return self.finish(self.op(**args), rest)

    def state_size(self, T: int) -> int:
        return self.n_heads * self.dk * self.dv + self.conv.state_size()
