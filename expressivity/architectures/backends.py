"""The `auto` backend choice, shared by the recurrence ops (the gated delta rule, DeltaProduct).

An op registers a `Chooser`: its backends, how to run it, and how to draw a small random problem. `auto` then means
the device's fast backend (fla on CUDA) when that backend takes the dtype, the shape is not known to crash it, and a
first-use self-check against `torch` (outputs, final state and every gradient) passes on this (device, dtype, shape);
otherwise `torch`, with one warning saying why. The decision is made once per process and key.

    chooser.resolve("auto", device, dtype, shape=(H, K, V, ...))   # -> "fla" or "torch"
    chooser.self_check("fla", device, dtype, shape)                 # "" when it agrees, else the reason
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

# Relative error a fast backend may show against `torch` in the self-check, by the dtype it runs in.
TOLERANCE = {torch.bfloat16: 1e-2, torch.float16: 1e-2, torch.float32: 5e-3, torch.float64: 5e-3}

# Key head dims a fast backend takes. A crash such as a CUDA illegal memory access poisons the whole CUDA context, so
# the self-check cannot catch it and fall back: such shapes must never reach the kernels. Seen: fla-core 0.4.2 with
# triton 3.6 on an H200 (2026-11-28) crashed in bf16 at H=2, K=32, V=64 (the tiny preset) and passed at H=4, K=64,
# V=128, for the GDN op and for DeltaProduct alike (DEVICE.md). So fla's wrappers pad smaller key dims with zeros up
# to MIN_KEY_DIM (`pad_keys`: exact for the delta rule), and never see a key dim above MAX_KEY_DIM (fla's limit).
MIN_KEY_DIM = {"fla": 64}
MAX_KEY_DIM = {"fla": 256}


def pad_keys(q: torch.Tensor, k: torch.Tensor, initial_state: torch.Tensor | None, least: int):
    """Zero-pad the key dim of q, k [..., K] and of the state [B, H, K, V] up to `least`.

    Exact for a delta rule: padded key and query entries are zero, so k k^T and S^T k never touch the padded state
    rows, which stay zero, and o = S^T q never reads them. The caller takes the scale from the real K first and
    slices the final state back (`unpad_state`)."""
    K = q.shape[-1]
    if K >= least:
        return q, k, initial_state
    pad = (0, least - K)
    h0 = None if initial_state is None else torch.nn.functional.pad(initial_state, (0, 0, *pad))
    return torch.nn.functional.pad(q, pad), torch.nn.functional.pad(k, pad), h0


def unpad_state(h: torch.Tensor | None, K: int) -> torch.Tensor | None:
    """The final state [B, H, K_padded, V] back to the real key dim K."""
    return None if h is None else h[:, :, :K]


def rel_err(x: torch.Tensor, ref: torch.Tensor, floor: float = 1e-30) -> float:
    """||x - ref|| / max(||ref||, floor) in float64. A reference that is exactly zero (a gradient that cannot flow, such
    as a gate's on the first token with no initial state) measures the error in units of `floor` instead: give a floor
    far below the problem's magnitudes and far above rounding (float64 tests of O(1) values: 1e-6)."""
    x, ref = x.detach().double(), ref.detach().double()
    return float((x - ref).norm() / ref.norm().clamp_min(floor))


@dataclass
class Chooser:
    """The `auto` choice for one op.

    `run(backend, inputs)` runs the op on a dict of tensors and returns (o, final state); `problem(gen, shape)` draws
    that dict (float32, on the CPU) for a head shape (H, K, V, ...); `dtypes` names, per backend, the only dtypes it
    takes (absent: any). Inputs named "g" (log decays) stay in float32, as the layers make them.
    """

    op: str  # named in warnings, e.g. "GDN"
    backends: dict[str, Callable]
    run: Callable[[str, dict[str, torch.Tensor]], tuple[torch.Tensor, torch.Tensor]]
    problem: Callable[[torch.Generator, tuple[int, ...]], dict[str, torch.Tensor]]
    fast: dict[str, str] = field(default_factory=lambda: {"cuda": "fla"})  # device type -> backend tried there
    max_key_dim: dict[str, int] = field(default_factory=lambda: dict(MAX_KEY_DIM))
    dtypes: dict[str, tuple[torch.dtype, ...]] = field(default_factory=dict)
    choices: dict[tuple, str] = field(default_factory=dict)  # (fast backend, device, dtype, shape) -> backend used

    def known_unsafe(self, name: str, shape: tuple[int, ...]) -> str:
        """Why backend `name` must not be tried at head shape (H, K, V, ...), in words; "" when nothing is known.
        (Key dims below MIN_KEY_DIM are padded by fla's wrappers, so only those above MAX_KEY_DIM are refused.)"""
        most = self.max_key_dim.get(name)
        if most is not None and shape[1] > most:
            return f"its kernels take key head dims up to {most}, not {shape[1]}"
        return ""

    def unsupported(self, name: str, dtype: torch.dtype) -> str:
        """Why backend `name` cannot take `dtype`, in words; "" when it can."""
        allowed = self.dtypes.get(name)
        if allowed is not None and dtype not in allowed:
            return f"it takes only {', '.join(str(d).removeprefix('torch.') for d in allowed)}"
        return ""

    def self_check(self, name: str, device: torch.device, dtype: torch.dtype, shape: tuple[int, ...]) -> str:
        """Compare backend `name` with `torch` (outputs, final state and every gradient) on a small random problem.

        `shape` is the caller's head shape, so that fla compiles its kernels once. Returns "" when it agrees within
        TOLERANCE[dtype], else the reason, in words.
        """
        device = torch.device(device)
        inputs = self.problem(torch.Generator(device="cpu").manual_seed(0), tuple(shape))
        probe = torch.Generator(device="cpu").manual_seed(1)

        def run(backend: str, cast: torch.dtype):
            g_dtype = torch.float64 if cast == torch.float64 else torch.float32
            # clone: .to() may return the very tensor, and then both runs would share (and accumulate) its .grad
            leaves = {
                n: x.to(device, g_dtype if n == "g" else cast).clone().requires_grad_() for n, x in inputs.items()
            }
            o, h = self.run(backend, leaves)
            do = torch.randn(o.shape, generator=probe.manual_seed(1)).to(device)
            dh = torch.randn(h.shape, generator=probe.manual_seed(2)).to(device)
            ((o.float() * do).sum() + (h.float() * dh).sum()).backward()
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
            err = rel_err(x, r)
            if err > tol:
                return f"its {what} differs from torch by relative error {err:.2e} > {tol:g}"
        return ""

    def resolve(self, backend: str, device: torch.device | str, dtype: torch.dtype, *, shape: tuple[int, ...]) -> str:
        """The backend to run: `backend` itself unless it is "auto"; "auto" means the device's fast backend if it
        takes `dtype`, `shape` is not `known_unsafe` and it passes `self_check` here (decided once per process), else
        `torch` with one warning."""
        if backend != "auto":
            return backend
        device = torch.device(device)
        fast = self.fast.get(device.type)
        if fast is None:  # no fast backend for this device (CPU): `torch` is the path, nothing to warn about
            return "torch"
        key = (fast, str(device), dtype, tuple(shape))  # per shape: fla compiles and may fail per shape
        if key not in self.choices:
            reason = (
                self.unsupported(fast, dtype)
                or self.known_unsafe(fast, shape)
                or self.self_check(fast, device, dtype, shape)
            )
            self.choices[key] = "torch" if reason else fast
            if reason:
                warnings.warn(
                    f"{self.op} backend {fast!r} not used on {device} for {dtype}: {reason}; using 'torch' instead "
                    f"(for CUDA: pip install fla-core==0.4.2, known good on Hopper with triton 3.6)",
                    RuntimeWarning,
                    stacklevel=3,
                )
        return self.choices[key]
