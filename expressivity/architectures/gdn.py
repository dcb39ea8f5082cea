"""The gated delta rule as a functional op, with three backends and the `auto` choice between them.

Per head, with state S (stored as h = S^T, shape [K, V], the layout of flash-linear-attention):

    S_t = exp(g_t) S_{t-1} (I - beta_t k_t k_t^T) + beta_t v_t k_t^T        o_t = scale * S_t q_t

    from expressivity.architectures.gdn import gated_delta_rule
    o, h = gated_delta_rule(q, k, v, g=g, beta=beta, backend="torch", output_final_state=True)
    # q, k [B, T, H, K]; v [B, T, H, V]; g (log decay, <= 0) and beta [B, T, H]; o [B, T, H, V]; h [B, H, K, V]

Backends: `recurrent` (the step-by-step definition, the readable reference), `torch` (the chunked WY / UT-transform
form in pure PyTorch, differentiable by autograd, any T) and `fla` (flash-linear-attention's Triton kernels, CUDA
only). `resolve_backend("auto", ...)` picks `fla` on CUDA once a first-use self-check against `torch` passes on that
(device, dtype), else `torch`, warning once with the reason (the choice itself lives in backends.py, shared with
DeltaProduct).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from expressivity.architectures.backends import MIN_KEY_DIM, TOLERANCE, Chooser, pad_keys, unpad_state
from expressivity.architectures.gdn_chunked import chunked_delta_rule

__all__ = ["BACKENDS", "CHOOSER", "TOLERANCE", "gated_delta_rule", "known_unsafe", "resolve_backend", "self_check"]


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    # torch has no half-precision triangular solve, so bf16/fp16 inputs are computed in fp32 and cast back.
    return torch.float64 if dtype == torch.float64 else torch.float32


def _recurrent(q, k, v, g, beta, scale, initial_state, output_final_state):
    """The definition, one step at a time (the readable reference; slow)."""
    dtype, ct = q.dtype, _compute_dtype(q.dtype)
    q, k, v, g, beta = (x.to(ct) for x in (q, k, v, g, beta))
    B, T, H, K = q.shape
    h = q.new_zeros(B, H, K, v.shape[-1]) if initial_state is None else initial_state.to(ct)
    outs = []
    for t in range(T):
        h = h * g[:, t, :, None, None].exp()  # decay
        k_t = k[:, t]  # (B, H, K)
        err = v[:, t] - torch.einsum("bhk,bhkv->bhv", k_t, h)  # what the state predicts for k_t, corrected
        h = h + torch.einsum("bhk,bhv->bhkv", k_t, beta[:, t, :, None] * err)
        outs.append(scale * torch.einsum("bhk,bhkv->bhv", q[:, t], h))
    o = torch.stack(outs, 1) if outs else v.new_zeros(v.shape)
    return o.to(dtype), (h if output_final_state else None)


def _fla(q, k, v, g, beta, scale, initial_state, output_final_state):
    """flash-linear-attention's chunked Triton kernels (CUDA only; fla-core 0.4.2 is known good on Hopper), the key
    dim zero-padded to the smallest fla runs safely (exact: backends.pad_keys)."""
    from fla.ops.gated_delta_rule import chunk_gated_delta_rule

    K = q.shape[-1]
    q, k, h0 = pad_keys(q, k, initial_state, MIN_KEY_DIM["fla"])
    o, h = chunk_gated_delta_rule(
        q, k, v, g, beta, scale=scale, initial_state=h0, output_final_state=output_final_state
    )
    return o, unpad_state(h, K)


# name -> fn(q, k, v, g, beta, scale, initial_state, output_final_state) -> (o, final_state or None)
BACKENDS: dict[str, Callable] = {"recurrent": _recurrent, "torch": chunked_delta_rule, "fla": _fla}


def gated_delta_rule(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    g: torch.Tensor,
    beta: torch.Tensor,
    backend: str = "torch",
    scale: float | None = None,
    initial_state: torch.Tensor | None = None,
    output_final_state: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The gated delta rule over a batch of sequences; returns (o [B, T, H, V], final state [B, H, K, V] or None).

    q, k [B, T, H, K] (k is expected L2-normalised), v [B, T, H, V], g and beta [B, T, H]; scale defaults to
    1/sqrt(K). The output has the input dtype; `initial_state` [B, H, K, V]. `backend` is one of BACKENDS or "auto".
    """
    if backend == "auto":
        backend = resolve_backend("auto", q.device, q.dtype, shape=(q.shape[2], q.shape[3], v.shape[3]))
    if backend not in BACKENDS:
        raise ValueError(f"unknown GDN backend {backend!r}; valid: auto, {', '.join(BACKENDS)}")
    B, T, H, K = q.shape
    if k.shape != q.shape or v.shape[:3] != (B, T, H) or g.shape != (B, T, H) or beta.shape != (B, T, H):
        raise ValueError(
            f"gated_delta_rule shapes: q, k [B, T, H, K], v [B, T, H, V], g, beta [B, T, H]; got q {tuple(q.shape)}, "
            f"k {tuple(k.shape)}, v {tuple(v.shape)}, g {tuple(g.shape)}, beta {tuple(beta.shape)}"
        )
    if initial_state is not None and initial_state.shape != (B, H, K, v.shape[3]):
        raise ValueError(
            f"initial_state must be [B, H, K, V] = {(B, H, K, v.shape[3])}, got {tuple(initial_state.shape)}"
        )
    scale = K**-0.5 if scale is None else scale
    with torch.autocast(q.device.type, enabled=False):  # the backends choose their own precision
        return BACKENDS[backend](q, k, v, g, beta, scale, initial_state, output_final_state)


# ---- the `auto` choice (backends.py): fla on CUDA after a first-use self-check against `torch` -------------------
def _problem(gen: torch.Generator, shape: tuple[int, ...]) -> dict[str, torch.Tensor]:
    """A small random problem at head shape (H, K, V): T = 80, not a multiple of the chunk size; beta in [0, 2]."""
    H, K, V = shape[:3]
    B, T = 2, 80

    def rand(*s):
        return torch.randn(*s, generator=gen)

    return {
        "q": rand(B, T, H, K),
        "k": F.normalize(rand(B, T, H, K), dim=-1),
        "v": rand(B, T, H, V),
        "g": F.logsigmoid(rand(B, T, H) + 3.0),
        "beta": 2 * torch.rand(B, T, H, generator=gen),  # [0, 2]: the negative-eigenvalue range is checked too
        "initial_state": rand(B, H, K, V),
    }


def _run(backend: str, x: dict[str, torch.Tensor]):
    return gated_delta_rule(
        x["q"], x["k"], x["v"], g=x["g"], beta=x["beta"], initial_state=x["initial_state"], output_final_state=True,
        backend=backend,
    )  # fmt: skip


CHOOSER = Chooser("GDN", BACKENDS, _run, _problem)
MAX_KEY_DIM = CHOOSER.max_key_dim  # the same dict: the largest key dim each fast backend takes


def known_unsafe(name: str, shape: tuple[int, int, int]) -> str:
    """Why backend `name` must not be tried at (H, K, V), in words; "" when nothing is known against it."""
    return CHOOSER.known_unsafe(name, shape)


def self_check(name: str, device: torch.device, dtype: torch.dtype, shape: tuple[int, int, int] = (2, 32, 64)) -> str:
    """Compare backend `name` with `torch` (outputs, final state and every gradient) on a small random problem at
    (H, K, V); "" when it agrees within TOLERANCE[dtype], else the reason."""
    return CHOOSER.self_check(name, device, dtype, shape)


@torch.compiler.disable  # runs eagerly even inside a compiled model: it launches its own small problem
def resolve_backend(
    backend: str, device: torch.device | str, dtype: torch.dtype, *, shape: tuple[int, int, int] = (2, 32, 64)
) -> str:
    """The backend to run: `backend` itself unless it is "auto"; "auto" means fla on CUDA if this (H, K, V) is not
    `known_unsafe` and it passes `self_check` on this (device, dtype, shape), decided once per process, else `torch`
    with one warning."""
    return CHOOSER.resolve(backend, device, dtype, shape=shape)
