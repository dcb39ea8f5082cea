"""The recurrence ops against plain per-example oracles: the gated delta rule's backends and the diagonal recurrence."""

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from expressivity.architectures import diagonal, gdn_chunked
from expressivity.architectures.backends import rel_err
from expressivity.architectures.diagonal import diagonal_recurrence
from expressivity.architectures.gdn import gated_delta_rule

# rel_err's floor in the float64 comparisons (values of order 1): a reference gradient that is exactly zero (the gate's,
# on a first token with no initial state) is met by rounding of 1e-17 to 1e-16, which is then 1e-13 to 1e-12 here.
ZERO = 1e-4


@dataclass(frozen=True)
class Problem:
    B: int
    T: int
    H: int
    K: int
    V: int
    beta_max: float  # 1: beta in [0, 1]; 2: beta in [0, 2] (negative eigenvalues)
    with_state: bool
    chunk: int
    seed: int


problems = st.builds(
    Problem,
    B=st.integers(1, 2),
    T=st.sampled_from([1, 2, 5, 8, 13, 17]),  # with chunks of 4 or 8: one step, exact chunks and remainders
    H=st.integers(1, 2),
    K=st.integers(1, 5),
    V=st.integers(1, 4),
    beta_max=st.sampled_from([1.0, 2.0]),
    with_state=st.booleans(),
    chunk=st.sampled_from([4, 8, 32]),
    seed=st.integers(0, 2**31 - 1),
)


def draw_inputs(p: Problem) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(p.seed)

    def randn(*shape):
        return torch.randn(*shape, generator=gen, dtype=torch.float64)

    return {
        "q": randn(p.B, p.T, p.H, p.K),
        "k": F.normalize(randn(p.B, p.T, p.H, p.K), dim=-1),
        "v": randn(p.B, p.T, p.H, p.V),
        "g": F.logsigmoid(randn(p.B, p.T, p.H) + 2.0),
        "beta": p.beta_max * torch.rand(p.B, p.T, p.H, generator=gen, dtype=torch.float64),
        "h0": randn(p.B, p.H, p.K, p.V) if p.with_state else None,
    }


def oracle(x: dict[str, torch.Tensor]) -> tuple[np.ndarray, np.ndarray]:
    """The definition, one example, head and step at a time in numpy: S = e^g S (I - beta k k^T) + beta v k^T."""
    q, k, v, g, beta = (x[n].detach().numpy() for n in ("q", "k", "v", "g", "beta"))
    B, T, H, K = q.shape
    V = v.shape[-1]
    out, final = np.zeros((B, T, H, V)), np.zeros((B, H, K, V))
    for b in range(B):
        for h in range(H):
            S = np.zeros((V, K)) if x["h0"] is None else x["h0"][b, h].detach().numpy().T.copy()
            for t in range(T):
                kt = k[b, t, h][:, None]
                S = (
                    np.exp(g[b, t, h]) * S @ (np.eye(K) - beta[b, t, h] * kt @ kt.T)
                    + beta[b, t, h] * v[b, t, h][:, None] @ kt.T
                )
                out[b, t, h] = S @ q[b, t, h] / np.sqrt(K)
            final[b, h] = S.T
    return out, final


def run(backend: str, x: dict[str, torch.Tensor]):
    """Output, final state and the gradients of every input of a fixed random loss."""
    leaves = {n: t.clone().requires_grad_(True) for n, t in x.items() if t is not None}
    o, h = gated_delta_rule(
        leaves["q"], leaves["k"], leaves["v"], g=leaves["g"], beta=leaves["beta"], backend=backend,
        initial_state=leaves.get("h0"), output_final_state=True,
    )  # fmt: skip
    gen = torch.Generator().manual_seed(1)
    loss = (o * torch.randn(o.shape, generator=gen, dtype=o.dtype)).sum()
    loss = loss + (h * torch.randn(h.shape, generator=gen, dtype=h.dtype)).sum()
    loss.backward()
    return {"o": o.detach(), "h": h.detach(), **{f"d{n}": t.grad for n, t in leaves.items()}}


@given(problems)
def test_recurrent_backend_is_the_definition(p):
    x = draw_inputs(p)
    got = run("recurrent", x)
    out, final = oracle(x)
    np.testing.assert_allclose(got["o"].numpy(), out, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got["h"].numpy(), final, rtol=1e-10, atol=1e-12)


@contextmanager
def chunk_size(c: int):
    """Small chunks: several chunks and a remainder already at small T."""
    saved_gdn, saved_diag = dict(gdn_chunked.CHUNK), diagonal.CHUNK
    gdn_chunked.CHUNK["cpu"], diagonal.CHUNK = c, c
    try:
        yield
    finally:
        gdn_chunked.CHUNK.update(saved_gdn)
        diagonal.CHUNK = saved_diag


@given(problems)
def test_torch_backend_matches_recurrent_in_float64(p):
    x = draw_inputs(p)
    with chunk_size(p.chunk):
        got = run("torch", x)
    ref = run("recurrent", x)
    assert set(got) == set(ref)
    for name in ref:
        assert rel_err(got[name], ref[name], floor=ZERO) <= 1e-10, name


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float64])
@pytest.mark.parametrize("backend", ["torch", "recurrent"])
def test_output_keeps_the_input_dtype(backend, dtype):
    x = draw_inputs(Problem(2, 9, 2, 4, 6, 2.0, False, 32, 0))
    args = {n: t.to(dtype) for n, t in x.items() if t is not None}
    o, h = gated_delta_rule(args["q"], args["k"], args["v"], g=args["g"], beta=args["beta"], backend=backend)
    assert o.dtype == dtype and o.shape == (2, 9, 2, 6) and h is None
    ref = run("recurrent", x)["o"]
    assert rel_err(o.double(), ref) < (2e-2 if dtype == torch.bfloat16 else 1e-5)


def test_beta_two_on_one_key_is_a_reflection():
    """With k = e_0 and beta = 2 a step flips the sign of the state's first column: parity in one head."""
    T, K = 6, 3
    k = torch.zeros(1, T, 1, K, dtype=torch.float64)
    k[..., 0] = 1.0
    v = torch.zeros(1, T, 1, 1, dtype=torch.float64)
    v[0, 0] = 1.0  # write 1 along e_0 at t = 0 (beta = 1 there), then reflect at every later step
    beta = torch.full((1, T, 1), 2.0, dtype=torch.float64)
    beta[0, 0] = 1.0
    g = torch.zeros(1, T, 1, dtype=torch.float64)
    for backend in ("recurrent", "torch"):
        o, _ = gated_delta_rule(k, k, v, g=g, beta=beta, backend=backend, scale=1.0)
        assert o[0, :, 0, 0].tolist() == [1.0, -1.0, 1.0, -1.0, 1.0, -1.0]


def test_bad_shapes_and_backend_are_one_line_errors():
    x = draw_inputs(Problem(1, 4, 1, 2, 2, 1.0, False, 32, 0))
    with pytest.raises(ValueError, match="unknown GDN backend 'nope'; valid: auto, recurrent, torch, fla"):
        gated_delta_rule(x["q"], x["k"], x["v"], g=x["g"], beta=x["beta"], backend="nope")
    with pytest.raises(ValueError, match="shapes") as err:
        gated_delta_rule(x["q"], x["k"], x["v"], g=x["g"][:, :2], beta=x["beta"])
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="initial_state"):
        gated_delta_rule(x["q"], x["k"], x["v"], g=x["g"], beta=x["beta"], initial_state=torch.zeros(1, 1, 2, 3))


# ---- the diagonal recurrence (signed decays) ------------------------------------------------------------------------
def diagonal_oracle(q, k, v, a, h0):
    """h = a h + k v^T, o = h^T q / sqrt(K), one example, head and step at a time."""
    B, T, H, K = q.shape
    out, final = np.zeros((B, T, H, v.shape[-1])), np.zeros((B, H, K, v.shape[-1]))
    for b in range(B):
        for h in range(H):
            S = h0[b, h].copy()
            for t in range(T):
                S = a[b, t, h] * S + np.outer(k[b, t, h], v[b, t, h])
                out[b, t, h] = S.T @ q[b, t, h] / np.sqrt(K)
            final[b, h] = S
    return out, final


@given(problems, st.sampled_from([(0.0, 1.0), (-1.0, 1.0)]))
def test_diagonal_recurrence_matches_its_definition(p, decay_range):
    x = draw_inputs(p)
    lo, hi = decay_range
    gen = torch.Generator().manual_seed(p.seed + 1)
    a = lo + (hi - lo) * torch.rand(p.B, p.T, p.H, generator=gen, dtype=torch.float64)
    h0 = x["h0"] if x["h0"] is not None else torch.zeros(p.B, p.H, p.K, p.V, dtype=torch.float64)
    leaves = [t.clone().requires_grad_(True) for t in (x["q"], x["k"], x["v"], a, h0)]
    with chunk_size(p.chunk):
        o, h = diagonal_recurrence(*leaves[:3], decay=leaves[3], initial_state=leaves[4], output_final_state=True)
    out, final = diagonal_oracle(*(t.numpy() for t in (x["q"], x["k"], x["v"], a, h0)))
    np.testing.assert_allclose(o.detach().numpy(), out, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(h.detach().numpy(), final, rtol=1e-9, atol=1e-11)
    # gradients: against autograd through a step-by-step torch loop of the same definition
    (o.sum() + h.square().sum()).backward()
    ref_leaves = [t.detach().clone().requires_grad_(True) for t in leaves]
    S, outs = ref_leaves[4], []
    for t in range(p.T):
        S = ref_leaves[3][:, t, :, None, None] * S + ref_leaves[1][:, t, :, :, None] * ref_leaves[2][:, t, :, None, :]
        outs.append(torch.einsum("bhk,bhkv->bhv", ref_leaves[0][:, t], S) / np.sqrt(p.K))
    (torch.stack(outs, 1).sum() + S.square().sum()).backward()
    for got, ref in zip(leaves, ref_leaves, strict=True):
        assert rel_err(got.grad, ref.grad, floor=ZERO) <= 1e-9
