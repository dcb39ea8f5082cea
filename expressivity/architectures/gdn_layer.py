"""The Gated DeltaNet mixer layer (letter G), its no-decay control DeltaNet (D), and Gated DeltaProduct (P), per the
Olmo Hybrid recipe (fla's GatedDeltaProduct layer for P).

    x -> [q | k | v] projections -> causal depthwise short conv (kernel 4) + SiLU -> L2-normalised q, k
      beta = sigmoid(W_b x)           (x2 with neg_eigval: eigenvalues of I - beta k k^T reach [-1, 1])
      g    = -exp(A_log) * softplus(W_a x + dt_bias)     (one log decay per head; DeltaNet: g = 0)
      o    = gated_delta_rule(q, k, v, g=g, beta=beta) -> gated RMSNorm with silu(W_gate x) -> output projection
      (`output_gate=False`: a plain RMSNorm, as fla's DeltaNet layer, which Grazzi et al. trained, has by default)

DeltaProduct (`num_householder` = n > 1) projects n keys, values and betas per token and head (widths n x ..., laid
out step-major as fla does: '(n h d)'), convolves them with q, and runs `gated_delta_product`: each token applies n
generalised Householder steps after its one decay. With n = 1 the layer is GDN (or DeltaNet) exactly.
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

from expressivity.architectures import deltaproduct, gdn
from expressivity.architectures.layers import GatedRMSNorm, RMSNorm, ShortConv

# The log decay at an example's first token in a packed row (training/packing.py): exp(-30) = 9e-14 of the state the
# row's earlier example left survives, as good as zero; a deeper reset costs precision instead, since the chunked
# kernels take differences of cumulative sums of log decays within a chunk (at -80, 6e-6 relative in fp32; at -30,
# about 5e-6 against each example run alone; at -10 the earlier state leaks at 5e-5: measured on CPU).
RESET_LOG_DECAY = -30.0


def init_decay(n: int, *, a_range=(1.0, 16.0), dt_range=(1e-3, 1e-1)) -> tuple[torch.Tensor, torch.Tensor]:
    """A_log and dt_bias as in Mamba2 / GDN: A uniform in a_range, dt log-uniform in dt_range, dt_bias = softplus^-1."""
    A = torch.empty(n).uniform_(*a_range)
    dt = torch.exp(torch.rand(n) * (math.log(dt_range[1]) - math.log(dt_range[0])) + math.log(dt_range[0]))
    return A.log(), dt + torch.log(-torch.expm1(-dt))


class DeltaRuleMixer(nn.Module):
    """GDN (`decay=True`) or DeltaNet (`decay=False`) token mixer, or with `num_householder` > 1 Gated DeltaProduct
    (with or without decay): (B, T, d_model) -> (B, T, d_model).

    In three stages, like every mixer (layers.Attention): `op_inputs`, the op `op`, `finish`; fused training runs the
    op of many models as one op over their batches stacked (`fold = "batch"`: sequences are independent). Stacking
    into the batch rather than the heads keeps the head count, which fla's autotuning keys on: a new head count would
    autotune every kernel anew for each group size (seen on an H200: minutes per size)."""

    fold = "batch"

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
        num_householder: int = 1,
        head_dim: int | None = None,
        olmo: bool = False,
        output_gate: bool = True,
    ):
        super().__init__()
        self.n_heads, self.dk = n_heads, head_dim or d_model // n_heads
        self.dv = expand_v * self.dk
        self.decay, self.neg_eigval, self.backend, self.olmo = decay, neg_eigval, backend, olmo
        # beta = sigmoid(.) * beta_scale: a buffer rather than a constant, so fused runs may differ in neg_eigval
        self.register_buffer("beta_scale", torch.tensor(2.0 if neg_eigval else 1.0), persistent=False)
        self.num_householder = n = num_householder
        H, qk, vd = n_heads, n_heads * self.dk, n_heads * self.dv
        # q, n keys, n values, output gate (or none), n betas, (decay): one row block each of the one input projection
        self.output_gate = output_gate
        self.splits = [qk, n * qk, n * vd, vd if output_gate else 0, n * H] + ([H] if decay else [])
        self.proj = nn.Linear(d_model, sum(self.splits), bias=False)  # one matmul for every input projection
        self.conv = ShortConv(sum(self.splits[:3]), conv_size)
        if decay:
            A_log, dt_bias = init_decay(H)
            self.A_log, self.dt_bias = nn.Parameter(A_log), nn.Parameter(dt_bias)
        self.norm = (GatedRMSNorm if output_gate else RMSNorm)(self.dv, eps=1e-5 if olmo else 1e-6)
        self.out = nn.Linear(vd, d_model, bias=False)

    def op_inputs(
        self, x: torch.Tensor, pos: torch.Tensor | None = None
    ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """x (B, T, d_model) -> the op's inputs and, for `finish`, {gate [B, T, H * dv]}. With n = num_householder the
        op's inputs are q [B, T, H, dk], k [B, T*n, H, dk], v [B, T*n, H, dv], beta [B, T*n, H], g [B, T, H]. The
        per-token transition of head h is exp(g) (I - beta_n k_n k_n^T) ... (I - beta_1 k_1 k_1^T).
        With `pos` (B, T), positions within packed examples (training/packing.py), each example starts afresh: the
        convolution reads none of an earlier example, and g is RESET_LOG_DECAY at each example's first token."""
        B, T, _ = x.shape
        H, n = self.n_heads, self.num_householder
        q, k, v, gate, b, *a = self.proj(x).split(self.splits, dim=-1)
        q, k, v = self.conv(torch.cat([q, k, v], dim=-1), pos).split(self.splits[:3], dim=-1)
        # Under autocast, normalize and sigmoid may return fp32: give q, k, v, beta one dtype, as the kernels want.
        q = self._l2(q.view(B, T, H, self.dk)).to(v.dtype)
        k = self._l2(k.reshape(B, T * n, H, self.dk)).to(v.dtype)  # '(t n) h d', as fla
        beta = (torch.sigmoid(b) * self.beta_scale).to(v.dtype).reshape(B, T * n, H)
        wide = torch.promote_types(x.dtype, torch.float32)  # fp64 stays fp64 (the float64 tests)
        if self.decay:  # log decay in fp32, as fla's layers do: g feeds an exp of a cumulative sum
            g = -self.A_log.to(wide).exp() * F.softplus(a[0].to(wide) + self.dt_bias.to(wide))
        else:
            g = x.new_zeros(B, T, H, dtype=wide)
        args = {"q": q, "k": k, "v": v.reshape(B, T * n, H, self.dv), "beta": beta}
        if pos is not None:  # the state restarts at each example (a DeltaProduct without decay takes this g too)
            args["g"] = g.masked_fill((pos == 0)[..., None], RESET_LOG_DECAY)
        elif self.decay or n == 1:  # DeltaNet's op takes a zero g; DeltaProduct without decay none
            args["g"] = g
        return args, {"gate": gate}

    def _l2(self, x: torch.Tensor) -> torch.Tensor:
        wide = torch.promote_types(x.dtype, torch.float32)  # fp32, or fp64 for a float64 model (tests)
        if self.olmo:  # in fp32, as fla and transformers do
            x32 = x.to(wide)
            return (x32 * torch.rsqrt(x32.pow(2).sum(-1, keepdim=True) + 1e-6)).to(x.dtype)
        # in fp32 too (a no-op on CPU's fp32): a bf16 norm is rounded before the divide, so the eager (evaluation)
        # stages put |k|^2 about 3e-3 off 1 where the compiled (training) ones do not, and a reflection's eigenvalue
        # -1 drifts with it over long inputs; fla's own l2norm kernel computes in fp32 as well
        return F.normalize(x.to(wide), dim=-1, eps=1e-6).to(x.dtype)

    def op(self, q, k, v, beta, g=None) -> torch.Tensor:
        """The gated delta rule (or product) over q [B, T, H, dk] and the rest as `op_inputs` gives them -> o [B, T, H,
        dv], for any number of heads H: fused training passes every model's heads at once. g is None only for a
        DeltaProduct without decay, in rows of one example each."""
        shape, n = (q.shape[2], self.dk, self.dv), self.num_householder
        if n == 1:
            backend = gdn.resolve_backend(self.backend, q.device, q.dtype, shape=shape)
            o, _ = gdn.gated_delta_rule(q, k, v, g=g, beta=beta, backend=backend)
        else:
            backend = deltaproduct.resolve_backend(self.backend, q.device, q.dtype, shape=(*shape, n))
            o, _ = deltaproduct.gated_delta_product(q, k, v, g=g, beta=beta, num_householder=n, backend=backend)
        self.backend_used = backend  # what ran, recorded with each run's result
        return o

    def finish(self, o: torch.Tensor, rest: dict[str, torch.Tensor]) -> torch.Tensor:
        """o [B, T, H, dv] -> RMSNorm, gated with the output gate if the layer has one -> (B, T, d_model)."""
        B, T = o.shape[:2]
        o = self.norm(o, rest["gate"].view(B, T, self.n_heads, self.dv)) if self.output_gate else self.norm(o)
        return self.out(o.reshape(B, T, -1))

    def forward(self, x: torch.Tensor, pos: torch.Tensor | None = None) -> torch.Tensor:
        args, rest = self.op_inputs(x, pos)
        return self.finish(self.op(**args), rest)

    def state_size(self, T: int) -> int:
        """Floats carried between tokens: the matrix state of every head plus the short convolution's window (over q
        and all n keys and values)."""
        return self.n_heads * self.dk * self.dv + self.conv.state_size()
