"""One-layer GDN constructions with beta = 2: parity, and swap-only S5 tracking. Exact at every length.

Both use a 1-layer `gdn` model with `neg_eigval=True`, no MLP and no decay (exp(g) = 1). The GDN state update is
S_t = S_{t-1} (I - beta k k^T) + beta v k^T and the output o_t = S_t q / sqrt(d_k).
"""

from __future__ import annotations

import math

import numpy as np

from expressivity.theory.constructions.wiring import BIG, Wiring, silu_inv


def _gdn(vocab_size: int, d_model: int):
    from expressivity import architectures

    return architectures.build(
        "gdn", vocab_size=vocab_size, n_layers=1, d_model=d_model, n_heads=1, mlp_width=0, neg_eigval=True,
        tie_embeddings=False,
    )  # fmt: skip


def parity_model(task):
    """Running parity with one GDN head. BOS writes u e_0^T into the state (beta = 1, k = e_0, v = u); each 1-bit is
    the reflection I - 2 e_0 e_0^T (beta = 2, k = e_0, v = 0), which flips the sign of S; each 0-bit reflects along
    e_1, where S is zero, so nothing changes. With q = e_0 the output is (-1)^(ones so far) u / sqrt(d_k), and the
    readout maps its sign to "0" / "1".

        input : <bos> 1 0 1 1          S: u e_0^T, then -, -, +, -  (times u e_0^T)
        target:     . 1 1 0 1
    """
    w = Wiring(_gdn(len(task.vocab), 8))
    ids = task.token_id
    bos, zero, one, out = w.channel("bos"), w.channel("0"), w.channel("1"), w.channel("parity")
    for tok, ch in (("<bos>", bos), ("0", zero), ("1", one)):
        w.embed(ids[tok], {ch[0]: 1.0})
    head = w.delta_head(0, 0)
    head.q(0, const=1.0)  # q = e_0 at every position
    head.k(0, {bos[0]: 1.0, one[0]: 1.0})  # k = e_0 at BOS and 1-bits...
    head.k(1, {zero[0]: 1.0})  # ... e_1 at 0-bits
    head.v(0, {bos[0]: 1.0})  # v = silu(1) e_0 at BOS only
    head.beta({bos[0]: BIG, zero[0]: 2 * BIG, one[0]: 2 * BIG}, const=-BIG)  # BOS 1, bits 2, padding 0
    head.gate()
    head.out(0, {out[0]: 1.0})
    w.logits(ids["1"], {out[0]: -1.0})  # odd parity: the state is -u e_0^T
    w.logits(ids["0"], {out[0]: 1.0})
    return w.model


def swap_model(task):
    """Swap-only S_n tracking with one GDN head, n <= 6. A transposition (i j) is the reflection I - 2kk^T with
    k = (e_i - e_j)/sqrt 2 (beta = 2). The state is kept as S_t = w e_n^T + s (P_t - I) on the n point dims, where P_t
    is the permutation matrix of the running product: BOS writes w e_n^T (beta = 1), and each transposition writes
    v = -s k beside its reflection, since s(P R - I) = s(P - I) R + s(R - I) = s(P - I) R - 2 s k k^T. The query
    q = (c_0..c_{n-1}, gamma) with distinct c_i and w = s c / gamma cancels the -I: o = s P_t c, a vector that names
    P_t, read out by the permutation whose own vector P c it matches best (all have the same norm).

        input : <bos> 10234 01324
        target:     . 10234 10324      (P_1 = (0 1), P_2 = (0 1) then (2 3))
    """
    n = task.n
    perms = task.elements.perms  # (n!, n) one-line permutations, in token order
    c = np.arange(1, n + 1) / (2.0 * n)  # distinct positive q entries (after SiLU)
    gamma, s = 0.5, 0.3
    w = Wiring(_gdn(len(task.vocab), 32))
    ids = task.token_id
    swaps = [i for i, p in enumerate(perms) if (p != np.arange(n)).sum() == 2]
    bos = w.channel("bos")
    tok = {i: w.channel(f"swap{i}")[0] for i in swaps}
    out = w.channel("P c", n)
    w.embed(ids["<bos>"], {bos[0]: 1.0})
    for i in swaps:
        w.embed(i + 2, {tok[i]: 1.0})
    head = w.delta_head(0, 0)
    for j in range(n):
        head.q(j, const=silu_inv(c[j]))
    head.q(n, const=silu_inv(gamma))
    plus, minus = silu_inv(0.25), silu_inv(-0.25)  # silu(plus) = -silu(minus): k = (e_i - e_j)/sqrt 2 after L2 norm
    vplus, vminus = silu_inv(s / math.sqrt(2)), silu_inv(-s / math.sqrt(2))
    k_rows = {j: {} for j in range(n)}
    v_rows = {j: {} for j in range(n)}
    for t in swaps:
        i, j = np.flatnonzero(perms[t] != np.arange(n))
        k_rows[i][tok[t]], k_rows[j][tok[t]] = plus, minus
        v_rows[i][tok[t]], v_rows[j][tok[t]] = vminus, vplus  # v = -s k
    for j in range(n):
        head.k(j, k_rows[j])
        head.v(j, {**v_rows[j], bos[0]: silu_inv(s * c[j] / gamma)})
    head.k(n, {bos[0]: 1.0})
    head.beta({bos[0]: BIG, **{tok[t]: 2 * BIG for t in swaps}}, const=-BIG)
    head.gate()
    for j in range(n):
        head.out(j, {out[j]: 1.0})
    for t, p in enumerate(perms):
        # P for token p maps e_i to e_p(i) as a row permutation: (P c)_i = c_p(i)
        vec = c[p] / np.linalg.norm(c)
        w.logits(t + 2, {out[j]: float(vec[j]) for j in range(n)})
    return w.model
