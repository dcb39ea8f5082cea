"""Gated DeltaProduct as a functional op: n_h delta-rule steps per token (Siems et al. 2025), three backends.

Per head, with state h = S^T of shape [K, V] (flash-linear-attention's layout) and n = num_householder, token t does

    h <- exp(g_t) h                                                   the decay, once, before the token's steps
    h <- (I - beta_{t,j} k_{t,j} k_{t,j}^T) h + beta_{t,j} k_{t,j} v_{t,j}^T     for j = 1 .. n
    o_t = scale * h^T q_t                                              read after the token's last step

so the token's transition is exp(g_t) H_{t,n} ... H_{t,1}, a product of n generalised Householder matrices.

    from expressivity.architectures.deltaproduct import gated_delta_product
    o, h = gated_delta_product(q, k, v, g=g, beta=beta, num_householder=2, output_final_state=True)
    # q [B, T, H, K]; k [B, T*n, H, K]; v [B, T*n, H, V]; beta [B, T*n, H]; g [B, T, H] or None (no decay)
    # o [B, T, H, V]; h [B, H, K, V]; the n steps of token t are rows t*n .. t*n + n - 1 of k, v, beta

Backends: `recurrent` (the definition above, step by step: the readable reference), `torch` (the chunked GDN op run
on the interleaved T*n sequence, with the decay at each token's first step and the query at its last: exact) and `fla`
(fla-core's `chunk_gated_delta_product`, CUDA, bf16/fp16 only). `auto` is chosen as for the GDN op (backends.py).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from expressivity.architectures import gdn
from expressivity.architectures.backends import MIN_KEY_DIM, Chooser, pad_keys, unpad_state


def _recurrent(q, k, v, g, beta, n, scale, initial_state, output_final_state):
    """The definition, one token and one step at a time (the readable reference; slow)."""
    dtype = q.dtype
    ct = torch.float64 if dtype == torch.float64 else torch.float32
    q, k, v, beta = (x.to(ct) for x in (q, k, v, beta))
    B, T, H, K = q.shape
    h = q.new_zeros(B, H, K, v.shape[-1]) if initial_state is None else initial_state.to(ct)
    outs = []
    for t in range(T):
        if g is not None:
            h = h * g[:, t, :, None, None].to(ct).exp()  # the decay, once per token
        for j in range(t * n, t * n + n):
            k_j = k[:, j]  # (B, H, K)
            err = v[:, j] - torch.einsum("bhk,bhkv->bhv", k_j, h)  # what the state predicts for k_j, corrected
            h = h + torch.einsum("bhk,bhv->bhkv", k_j, beta[:, j, :, None] * err)
        outs.append(scale * torch.einsum("bhk,bhkv->bhv", q[:, t], h))  # read after the token's last step
    o = torch.stack(outs, 1) if outs else q.new_zeros(B, 0, H, v.shape[-1])
    return o.to(dtype), (h if output_final_state else None)


def _spread(x: torch.Tensor, n: int, at: int) -> torch.Tensor:
    """[B, T, ...] -> [B, T*n, ...]: x at step `at` of each token, zeros at its other steps."""
    steps = [x if j == at else torch.zeros_like(x) for j in range(n)]
    return torch.stack(steps, dim=2).flatten(1, 2)


def _torch(q, k, v, g, beta, n, scale, initial_state, output_final_state):
    """The chunked GDN op on the T*n interleaved steps. g = 0 at a token's later steps leaves the decay to its first;
    q = 0 at its earlier steps makes them read nothing, and only every n-th output (the last step's) is kept."""
    if g is None:
        g = q.new_zeros(q.shape[:3], dtype=torch.float32)
    if n > 1:
        q, g = _spread(q, n, n - 1), _spread(g, n, 0)
    o, h = gdn.gated_delta_rule(
        q, k, v, g=g, beta=beta, backend="torch", scale=scale, initial_state=initial_state,
        output_final_state=output_final_state,
    )  # fmt: skip
    return o[:, n - 1 :: n], h


def _fla(q, k, v, g, beta, n, scale, initial_state, output_final_state):
    """flash-linear-attention's kernels (CUDA, bf16/fp16 only; fla-core 0.4.2 ran on an H200, DEVICE.md). Its backward
    runs the GDN kernels on the T*n steps."""
    from fla.ops.gated_delta_product import chunk_gated_delta_product

    K = q.shape[-1]
    q, k, h0 = pad_keys(q, k, initial_state, MIN_KEY_DIM["fla"])  # exact: backends.pad_keys
    o, h = chunk_gated_delta_product(
        q, k, v, g, beta, num_householder=n, scale=scale, initial_state=h0, output_final_state=output_final_state,
    )  # fmt: skip
    return o, unpad_state(h, K)


# name -> fn(q, k, v, g or None, beta, num_householder, scale, initial_state, output_final_state) -> (o, h or None)
BACKENDS: dict[str, Callable] = {"recurrent": _recurrent, "torch": _torch, "fla": _fla}


def gated_delta_product(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    g: torch.Tensor | None,
    beta: torch.Tensor,
    num_householder: int,
    backend: str = "torch",
    scale: float | None = None,
    initial_state: torch.Tensor | None = None,
    output_final_state: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Gated DeltaProduct over a batch; returns (o [B, T, H, V], final state [B, H, K, V] or None).

    q [B, T, H, K]; k [B, T*n, H, K] (expected L2-normalised); v [B, T*n, H, V]; beta [B, T*n, H]; g [B, T, H] (log
    decay, <= 0) or None for no decay; n = num_householder. scale defaults to 1/sqrt(K); `initial_state` [B, H, K, V].
    The output has q's dtype. `backend` is one of BACKENDS or "auto".
    """
    n = num_householder
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"num_householder must be an integer >= 1, got {n!r}")
    B, T, H, K = q.shape
    V = v.shape[-1]
    if (
        k.shape != (B, T * n, H, K)
        or v.shape[:3] != (B, T * n, H)
        or beta.shape != (B, T * n, H)
        or (g is not None and g.shape != (B, T, H))
    ):
        raise ValueError(
            f"gated_delta_product shapes (n = {n}): q [B, T, H, K], k [B, T*n, H, K], v [B, T*n, H, V], "
            f"beta [B, T*n, H], g [B, T, H]; got q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}, "
            f"beta {tuple(beta.shape)}, g {None if g is None else tuple(g.shape)}"
        )
    if initial_state is not None and initial_state.shape != (B, H, K, V):
        raise ValueError(f"initial_state must be [B, H, K, V] = {(B, H, K, V)}, got {tuple(initial_state.shape)}")
    if backend == "auto":
        backend = resolve_backend("auto", q.device, q.dtype, shape=(H, K, V, n))
    if backend not in BACKENDS:
        raise ValueError(f"unknown DeltaProduct backend {backend!r}; valid: auto, {', '.join(BACKENDS)}")
    scale = K**-0.5 if scale is None else scale
    with torch.autocast(q.device.type, enabled=False):  # the backends choose their own precision
        return BACKENDS[backend](q, k, v, g, beta, n, scale, initial_state, output_final_state)


# ---- the `auto` choice, shared with the GDN op (backends.py) -------------------------------------------------------
def _problem(gen: torch.Generator, shape: tuple[int, ...]) -> dict[str, torch.Tensor]:
    """A small random problem at (H, K, V, n): 40 tokens, so T*n is not a multiple of the chunk size for n = 2..4
    (80, 120, 160 steps); beta in [0, 2]."""
    H, K, V, n = shape
    B, T = 2, 40

    def rand(*s):
        return torch.randn(*s, generator=gen)

    return {
        "q": rand(B, T, H, K),
        "k": F.normalize(rand(B, T * n, H, K), dim=-1),
        "v": rand(B, T * n, H, V),
        "g": F.logsigmoid(rand(B, T, H) + 3.0),
        "beta": 2 * torch.rand(B, T * n, H, generator=gen),
        "initial_state": rand(B, H, K, V),
    }


def _run(backend: str, x: dict[str, torch.Tensor]):
    n = x["k"].shape[1] // x["q"].shape[1]
    return gated_delta_product(
        x["q"], x["k"], x["v"], g=x["g"], beta=x["beta"], num_householder=n, initial_state=x["initial_state"],
        output_final_state=True, backend=backend,
    )  # fmt: skip


# fla's DeltaProduct refuses float32 (an assert in fla-core 0.4.2); its crash threshold is the GDN kernels' (64).
CHOOSER = Chooser("DeltaProduct", BACKENDS, _run, _problem, dtypes={"fla": (torch.bfloat16, torch.float16)})


def self_check(name: str, device: torch.device, dtype: torch.dtype, shape: tuple[int, int, int, int]) -> str:
    """Backend `name` against `torch` at (H, K, V, n): outputs, final state and every gradient; "" when it agrees."""
    return CHOOSER.self_check(name, device, dtype, shape)


@torch.compiler.disable  # runs eagerly even inside a compiled model: it launches its own small problem
def resolve_backend(
    backend: str, device: torch.device | str, dtype: torch.dtype, *, shape: tuple[int, int, int, int]
) -> str:
    """The backend to run at head shape (H, K, V, n): `backend` itself unless "auto"; "auto" is fla on CUDA for
    bf16/fp16 at a shape not known to crash it, once it passes `self_check`, else `torch` with one warning."""
    return CHOOSER.resolve(backend, device, dtype, shape=shape)
