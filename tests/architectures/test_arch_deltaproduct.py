"""The DeltaProduct op: its backends against a float64 definition (outputs, final state, every gradient), n_h = 1 as
the GDN op, and the `auto` choice it shares with the GDN op. Run with `-s` to see the measured errors."""

import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import example, given
from hypothesis import strategies as st

from expressivity.architectures import deltaproduct, gdn, gdn_chunked
from expressivity.architectures.backends import rel_err
from expressivity.architectures.deltaproduct import gated_delta_product
from expressivity.architectures.gdn import gated_delta_rule

# rel_err's floor in the float64 comparisons (values of order 1): a reference gradient that is exactly zero (the gate's,
# on a first token with no initial state) is met by rounding of 1e-17 to 1e-16, which is then 1e-13 to 1e-12 here.
ZERO = 1e-4


@dataclass(frozen=True)
class Problem:
    B: int
    T: int  # tokens
    H: int
    K: int
    V: int
    n: int  # Householder steps per token
    beta_max: float  # 1: beta in [0, 1]; 2: beta in [0, 2]
    gated: bool  # g given, or None (no decay)
    with_state: bool
    seed: int


problems = st.builds(
    Problem,
    B=st.integers(1, 2),
    T=st.sampled_from([1, 3, 5, 7, 13]),  # with chunks of 4: T*n below, at and past chunk boundaries
    H=st.integers(1, 2),
    K=st.integers(1, 5),
    V=st.integers(1, 4),
    n=st.sampled_from([1, 2, 3]),
    beta_max=st.sampled_from([1.0, 2.0]),
    gated=st.booleans(),
    with_state=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)


def draw(p: Problem, dtype=torch.float64) -> dict[str, torch.Tensor | None]:
    gen = torch.Generator().manual_seed(p.seed)

    def randn(*shape):
        return torch.randn(*shape, generator=gen, dtype=torch.float64)

    x = {
        "q": randn(p.B, p.T, p.H, p.K),
        "k": F.normalize(randn(p.B, p.T * p.n, p.H, p.K), dim=-1),
        "v": randn(p.B, p.T * p.n, p.H, p.V),
        "g": F.logsigmoid(randn(p.B, p.T, p.H) + 2.0) if p.gated else None,
        "beta": p.beta_max * torch.rand(p.B, p.T * p.n, p.H, generator=gen, dtype=torch.float64),
        "h0": randn(p.B, p.H, p.K, p.V) if p.with_state else None,
    }
    return {k: None if t is None else t.to(torch.float32 if k == "g" and dtype != torch.float64 else dtype)
            for k, t in x.items()}  # fmt: skip


def oracle(x, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The definition in numpy, one example, head, token and step at a time, in the V x K state S = h^T:
    S = e^g S, then S = S (I - beta k k^T) + beta v k^T for each of the token's n steps, then o = S q / sqrt(K)."""
    q, k, v, beta = (x[m].detach().numpy() for m in ("q", "k", "v", "beta"))
    g = None if x["g"] is None else x["g"].detach().numpy()
    B, T, H, K = q.shape
    V = v.shape[-1]
    out, final = np.zeros((B, T, H, V)), np.zeros((B, H, K, V))
    for b in range(B):
        for h in range(H):
            S = np.zeros((V, K)) if x["h0"] is None else x["h0"][b, h].detach().numpy().T.copy()
            for t in range(T):
                if g is not None:
                    S = np.exp(g[b, t, h]) * S
                for j in range(t * n, t * n + n):
                    kj = k[b, j, h][:, None]
                    S = S @ (np.eye(K) - beta[b, j, h] * kj @ kj.T) + beta[b, j, h] * v[b, j, h][:, None] @ kj.T
                out[b, t, h] = S @ q[b, t, h] / np.sqrt(K)
            final[b, h] = S.T
    return out, final


def run(backend: str, x, n: int):
    """Output, final state and the gradients of every input of a fixed random loss."""
    leaves = {m: t.clone().requires_grad_(True) for m, t in x.items() if t is not None}
    o, h = gated_delta_product(
        leaves["q"], leaves["k"], leaves["v"], g=leaves.get("g"), beta=leaves["beta"], num_householder=n,
        backend=backend, initial_state=leaves.get("h0"), output_final_state=True,
    )  # fmt: skip
    gen = torch.Generator().manual_seed(1)
    loss = (o.double() * torch.randn(o.shape, generator=gen, dtype=torch.float64)).sum()
    loss = loss + (h.double() * torch.randn(h.shape, generator=gen, dtype=torch.float64)).sum()
    loss.backward()
    return {"o": o.detach(), "h": h.detach(), **{f"d{m}": t.grad for m, t in leaves.items()}}


@contextmanager
def chunk_size(c: int):
    saved = dict(gdn_chunked.CHUNK)
    gdn_chunked.CHUNK["cpu"] = c
    try:
        yield
    finally:
        gdn_chunked.CHUNK.update(saved)


@given(problems)
def test_recurrent_backend_is_the_definition(p):
    x = draw(p)
    got = run("recurrent", x, p.n)
    out, final = oracle(x, p.n)
    np.testing.assert_allclose(got["o"].numpy(), out, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got["h"].numpy(), final, rtol=1e-10, atol=1e-12)


@given(problems)
# One token, no initial state: the gate's true gradient is exactly zero, the chunked op's is rounding (1.4e-17), which a
# relative error without a floor read as 1e283 (found by the thorough hypothesis profile, 2026-12-04; n = 3, beta in
# [0, 2]: 1.1e-16).
@example(p=Problem(B=1, T=1, H=1, K=1, V=1, n=2, beta_max=1.0, gated=True, with_state=False, seed=0))
@example(p=Problem(B=1, T=1, H=1, K=1, V=1, n=3, beta_max=2.0, gated=True, with_state=False, seed=0))
def test_torch_backend_matches_recurrent_in_float64(p):
    x = draw(p)
    with chunk_size(4):  # several chunks, and chunk boundaries inside tokens
        got = run("torch", x, p.n)
    ref = run("recurrent", x, p.n)
    assert set(got) == set(ref)
    for name in ref:
        assert rel_err(got[name], ref[name], floor=ZERO) <= 1e-10, name


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("backend", ["torch", "recurrent"])
def test_float32_backends_against_the_float64_definition(backend, n):
    """The layers' precision: every backend in float32 against the float64 recurrence, at T*n past several of the
    CPU's 32-step chunks and not a multiple of them, beta in [0, 2], with decay and an initial state."""
    p = Problem(B=2, T=45, H=2, K=16, V=24, n=n, beta_max=2.0, gated=True, with_state=True, seed=n)
    ref = run("recurrent", draw(p, torch.float64), n)
    got = run(backend, draw(p, torch.float32), n)
    errors = {name: rel_err(got[name], ref[name]) for name in ref}
    print(f"\n{backend} fp32 vs fp64 recurrence, n_h={n}:", {k: f"{v:.1e}" for k, v in errors.items()})
    assert got["o"].dtype == torch.float32 and max(errors.values()) <= 1e-5, errors


@given(problems.map(lambda p: Problem(**{**p.__dict__, "n": 1, "gated": True})))
def test_one_step_per_token_is_the_gdn_op_exactly(p):
    x = draw(p)
    for backend in ("torch", "recurrent"):
        got = run(backend, x, 1)
        leaves = {m: t.clone().requires_grad_(True) for m, t in x.items() if t is not None}
        o, h = gated_delta_rule(
            leaves["q"], leaves["k"], leaves["v"], g=leaves["g"], beta=leaves["beta"], backend=backend,
            initial_state=leaves.get("h0"), output_final_state=True,
        )  # fmt: skip
        gen = torch.Generator().manual_seed(1)
        loss = (o * torch.randn(o.shape, generator=gen, dtype=torch.float64)).sum()
        (loss + (h * torch.randn(h.shape, generator=gen, dtype=torch.float64)).sum()).backward()
        ref = {"o": o.detach(), "h": h.detach(), **{f"d{m}": t.grad for m, t in leaves.items()}}
        for name in ref:
            assert torch.equal(got[name], ref[name]), (backend, name)


def test_no_decay_is_g_zero():
    p = Problem(B=1, T=9, H=2, K=4, V=3, n=2, beta_max=2.0, gated=False, with_state=True, seed=3)
    x = draw(p)
    zero = {**x, "g": torch.zeros(1, 9, 2, dtype=torch.float64)}
    for backend in ("torch", "recurrent"):
        a, b = run(backend, x, 2), run(backend, zero, 2)
        for name in ("o", "h", "dq", "dk", "dv", "dbeta", "dh0"):
            torch.testing.assert_close(a[name], b[name], rtol=1e-12, atol=1e-12)


def test_two_reflections_make_a_rotation():
    """beta = 2 on two unit keys at angle theta/2 applies H2 H1, the rotation of the plane by theta: here of order 3,
    which no single generalised Householder (symmetric, real eigenvalues) can be."""
    theta = 2 * np.pi / 3
    k1, k2 = np.array([1.0, 0.0]), np.array([np.cos(theta / 2), np.sin(theta / 2)])
    H1, H2 = (np.eye(2) - 2 * np.outer(u, u) for u in (k1, k2))
    M = H2 @ H1
    np.testing.assert_allclose(M, [[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]], atol=1e-12)
    T = 7
    k = torch.tensor(np.stack([k1, k2] * T))[None, :, None]  # [1, 2T, 1, 2]
    beta = torch.full((1, 2 * T, 1), 2.0, dtype=torch.float64)
    q = torch.tensor([[[[0.6, 0.8]]]], dtype=torch.float64).expand(1, T, 1, 2)
    h0 = torch.eye(2, dtype=torch.float64)[None, None]
    v = torch.zeros(1, 2 * T, 1, 2, dtype=torch.float64)
    expected = np.stack([np.linalg.matrix_power(M, t).T @ q[0, 0, 0].numpy() for t in range(1, T + 1)])
    for backend in ("recurrent", "torch"):
        o, h = gated_delta_product(
            q, k, v, g=None, beta=beta, num_householder=2, backend=backend, scale=1.0, initial_state=h0,
            output_final_state=True,
        )  # fmt: skip
        np.testing.assert_allclose(o[0, :, 0].numpy(), expected, atol=1e-12)  # o_t = (M^t)^T q: period 3
        np.testing.assert_allclose(h[0, 0].numpy(), M, atol=1e-12)  # M^7 = M


def test_bad_shapes_and_arguments_are_one_line_errors():
    x = draw(Problem(1, 4, 1, 2, 2, 2, 1.0, True, False, 0))
    with pytest.raises(ValueError, match="unknown DeltaProduct backend 'nope'; valid: auto, recurrent, torch, fla"):
        gated_delta_product(x["q"], x["k"], x["v"], g=x["g"], beta=x["beta"], num_householder=2, backend="nope")
    with pytest.raises(ValueError, match=r"shapes \(n = 3\)") as err:
        gated_delta_product(x["q"], x["k"], x["v"], g=x["g"], beta=x["beta"], num_householder=3)
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="num_householder must be an integer >= 1"):
        gated_delta_product(x["q"], x["k"], x["v"], g=x["g"], beta=x["beta"], num_householder=0)
    with pytest.raises(ValueError, match="initial_state"):
        gated_delta_product(
            x["q"], x["k"], x["v"], g=x["g"], beta=x["beta"], num_householder=2, initial_state=torch.zeros(1, 1, 2, 3)
        )


# ---- the `auto` choice (shared machinery: tests/architectures/test_arch_backend_choice.py covers it in full) -------
def test_auto_on_cpu_is_torch_silently():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert deltaproduct.resolve_backend("auto", "cpu", torch.float32, shape=(2, 32, 64, 2)) == "torch"


def test_fla_takes_half_precision_only_and_key_dims_up_to_256():
    chooser = deltaproduct.CHOOSER
    assert "takes only bfloat16, float16" in chooser.unsupported("fla", torch.float32)
    assert chooser.unsupported("fla", torch.bfloat16) == "" and chooser.unsupported("torch", torch.float32) == ""
    assert chooser.known_unsafe("fla", (2, 32, 64, 2)) == "" and chooser.known_unsafe("fla", (4, 64, 128, 2)) == ""
    assert "256" in chooser.known_unsafe("fla", (2, 512, 64, 2))
    assert chooser.max_key_dim == gdn.CHOOSER.max_key_dim  # one limit: the GDN kernels run the backward alike


def test_a_disagreeing_fast_backend_falls_back_with_one_warning(monkeypatch):
    def wrong(q, k, v, g, beta, n, *rest):
        o, h = deltaproduct.BACKENDS["torch"](q, k, v, g, beta, n, *rest)
        return o * 1.05, h

    calls = []

    def counting(*args):
        calls.append(args[1].shape[-1])
        return deltaproduct.BACKENDS["torch"](*args)

    monkeypatch.setitem(deltaproduct.BACKENDS, "wrong", wrong)
    monkeypatch.setitem(deltaproduct.BACKENDS, "counting", counting)
    monkeypatch.setitem(deltaproduct.CHOOSER.max_key_dim, "counting", 32)
    monkeypatch.setattr(deltaproduct.CHOOSER, "choices", {})
    monkeypatch.setattr(deltaproduct.CHOOSER, "fast", {"cpu": "wrong"})
    with pytest.warns(RuntimeWarning) as record:
        assert deltaproduct.resolve_backend("auto", "cpu", torch.float32, shape=(1, 8, 4, 2)) == "torch"
        assert deltaproduct.resolve_backend("auto", "cpu", torch.float32, shape=(1, 8, 4, 2)) == "torch"
    assert len(record) == 1 and "DeltaProduct backend 'wrong'" in str(record[0].message)
    assert "differs from torch" in str(record[0].message)
    monkeypatch.setattr(deltaproduct.CHOOSER, "fast", {"cpu": "counting"})
    with pytest.warns(RuntimeWarning, match="key head dims up to 32, not 64"):
        assert deltaproduct.resolve_backend("auto", "cpu", torch.float32, shape=(2, 64, 64, 2)) == "torch"
    assert calls == []  # an unsafe shape never runs the backend
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert deltaproduct.resolve_backend("auto", "cpu", torch.float32, shape=(1, 32, 8, 3)) == "counting"
    assert calls and set(calls) == {32}


def test_self_check_of_torch_against_itself_passes():
    assert deltaproduct.self_check("torch", torch.device("cpu"), torch.float32, (1, 8, 4, 3)) == ""
    assert "raised" in deltaproduct.self_check("fla", torch.device("cpu"), torch.bfloat16, (1, 8, 4, 2))
