"""The gated delta rule as a functional op, with three backends and the `auto` choice between them.

Per head, with state S (stored as h = S^T, shape [K, V], the layout of flash-linear-attention):

    S_t = exp(g_t) S_{t-1} (I - beta_t k_t k_t^T) + beta_t v_t k_t^T        o_t = scale * S_t q_t

    from expressivity.architectures.gdn import gated_delta_rule
    o, h = gated_delta_rule(q, k, v, g=g, beta=beta, backend="torch", output_final_state=True)
    # q, k [B, T, H, K]; v [B, T, H, V]; g (log decay, <= 0) and beta [B, T, H]; o [B, T, H, V]; h [B, H, K, V]

Backends: `recurrent` (the step-by-step definition, the readable reference), `torch` (the chunked WY / UT-transform
form in pure PyTorch, differentiable by autograd, any T) and `fla` (flash-linear-attention's Triton kernels, CUDA
only). `resolve_backend("auto", ...)` picks `fla` on CUDA once a first-use self-check against `torch` passes on that
(device, dtype), else `torch`, warning once with the reason.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch
import torch.nn.functional as F

from expressivity.architectures.gdn_chunked import chunked_delta_rule


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
    """flash-linear-attention's chunked Triton kernels (CUDA only; fla-core 0.4.2 is known good on Hopper)."""
    from fla.ops.gated_delta_rule import chunk_gated_delta_rule

    return chunk_gated_delta_rule(
        q, k, v, g, beta, scale=scale, initial_state=initial_state, output_final_state=output_final_state
    )


# name -> fn(q, k, v, g, beta, scale, initial_state, output_final_state) -> (o, final_state or None)
BACKENDS: dict[str, Callable] = {"recurrent": _recurrent, "torch": chunked_delta_rule, "fla": _fla}
# device type -> the fast backend that `auto` tries there before falling back to `torch`
FAST_BACKEND: dict[str, str] = {"cuda": "fla"}


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


# ---- the `auto` choice: first-use self-check of the fast backend against `torch` ------------------------------------
TOLERANCE = {torch.bfloat16: 1e-2, torch.float16: 1e-2, torch.float32: 5e-3, torch.float64: 5e-3}
_CHOICE: dict[tuple, str] = {}  # (fast backend, device, dtype, (H, K, V)) -> backend used

# Shapes a fast backend is known to crash on. A crash such as a CUDA illegal memory access poisons the whole CUDA
# context, so the self-check cannot catch it and fall back: such shapes must never be tried. Seen: fla-core 0.4.2 with
# triton 3.6 on an H200 (2026-11-28) crashed at H=2, K=32, V=64 (the tiny preset) and passed at H=4, K=64, V=128.
MIN_KEY_DIM = {"fla": 64}


def known_unsafe(name: str, shape: tuple[int, int, int]) -> str:
    """Why backend `name` must not be tried at (H, K, V), in words; "" when nothing is known against it."""
    key_dim = shape[1]
    least = MIN_KEY_DIM.get(name)
    if least is not None and key_dim < least:
        return f"its kernels crashed the CUDA context at key head dim {key_dim} < {least} (fla-core 0.4.2, H200)"
    return ""


def _rel_err(x: torch.Tensor, ref: torch.Tensor) -> float:
    x, ref = x.detach().double(), ref.detach().double()
    return float((x - ref).norm() / ref.norm().clamp_min(1e-30))


def self_check(name: str, device: torch.device, dtype: torch.dtype, shape: tuple[int, int, int] = (2, 32, 64)) -> str:
    """Compare backend `name` with `torch` (outputs, final state and every gradient) on a small random problem.

    `shape` is (H, K, V): use the caller's so that fla compiles its kernels once. Returns "" when it agrees within
    TOLERANCE[dtype], else the reason, in words.
    """
    H, K, V = shape
    gen = torch.Generator(device="cpu").manual_seed(0)
    B, T = 2, 80  # T not a multiple of the chunk size

    def rand(*s):
        return torch.randn(*s, generator=gen)

    q, k, v = rand(B, T, H, K), F.normalize(rand(B, T, H, K), dim=-1), rand(B, T, H, V)
    g = F.logsigmoid(rand(B, T, H) + 3.0)
    beta = 2 * torch.rand(B, T, H, generator=gen)  # [0, 2]: the negative-eigenvalue range is checked too
    h0, do, dh = rand(B, H, K, V), rand(B, T, H, V), rand(B, H, K, V)
    inputs = {"q": q, "k": k, "v": v, "g": g, "beta": beta, "initial_state": h0}

    def run(backend: str, cast: torch.dtype):
        g_dtype = torch.float64 if cast == torch.float64 else torch.float32  # log decays stay fp32, as in fla's layers
        # clone: .to() may return the very tensor, and then both runs would share (and accumulate) its .grad
        leaves = {n: x.to(device, g_dtype if n == "g" else cast).clone().requires_grad_() for n, x in inputs.items()}
        o, h = gated_delta_rule(
            leaves["q"],
            leaves["k"],
            leaves["v"],
            g=leaves["g"],
            beta=leaves["beta"],
            initial_state=leaves["initial_state"],
            output_final_state=True,
            backend=backend,
        )
        loss = (o.float() * do.to(device)).sum() + (h.float() * dh.to(device)).sum()
        loss.backward()
        return {"output": o, "final state": h, **{f"d{n}": x.grad for n, x in leaves.items()}}

    # The caller may be inside an autocast region (a model's forward): the check must not inherit it.
    with torch.autocast(device.type, enabled=False):
        try:
            got = run(name, dtype)
        except Exception as err:  # noqa: BLE001 - any failure of the candidate means: do not use it
            first = (str(err).strip().splitlines() or [""])[0][:200]
            return f"it raised {type(err).__name__}: {first}"
        ref = run("torch", torch.float32 if dtype != torch.float64 else dtype)
    tol = TOLERANCE.get(dtype, 1e-2)
    for what, r in ref.items():
        x = got[what]
        if x is None or x.shape != r.shape or not torch.isfinite(x).all():
            return f"its {what} is missing, misshapen or not finite"
        err = _rel_err(x, r)
        if err > tol:
            return f"its {what} differs from torch by relative error {err:.2e} > {tol:g}"
    return ""


@torch.compiler.disable  # runs eagerly even inside a compiled model: it launches its own small problem
def resolve_backend(
    backend: str, device: torch.device | str, dtype: torch.dtype, *, shape: tuple[int, int, int] = (2, 32, 64)
) -> str:
    """The backend to run: `backend` itself unless it is "auto"; "auto" means the device's fast backend (fla on CUDA)
    if this shape is not `known_unsafe` and it passes `self_check` on this (device, dtype, shape), decided once per
    process, else `torch` with one warning."""
    if backend != "auto":
        return backend
    device = torch.device(device)
    fast = FAST_BACKEND.get(device.type)
    if fast is None:  # no fast backend for this device (CPU): `torch` is the path, nothing to warn about
        return "torch"
    key = (fast, str(device), dtype, tuple(shape))  # per shape: fla compiles and may fail per shape
    if key not in _CHOICE:
        reason = known_unsafe(fast, shape) or self_check(fast, device, dtype, shape)
        _CHOICE[key] = "torch" if reason else fast
        if reason:
            warnings.warn(
                f"GDN backend {fast!r} not used on {device} for {dtype}: {reason}; using 'torch' instead "
                f"(for CUDA: pip install fla-core==0.4.2, known good on Hopper with triton 3.6)",
                RuntimeWarning,
                stacklevel=2,
            )
    return _CHOICE[key]
