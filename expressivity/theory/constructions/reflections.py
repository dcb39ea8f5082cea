"""One-layer DeltaProduct constructions: a group's word problem, each element applied as a product of reflections.

Take a faithful orthogonal representation rho of the group in which every element is a product of at most n_h
reflections (`theory.representations`: A5 acts on R^3 as the icosahedron's rotations, two reflections each; S5 on R^4
by its standard representation, up to four). A `deltaproduct` layer with `num_householder` = n_h, beta = 2 and no
decay applies, for token x, the reflections H(k_1), ..., H(k_r) of rho(x) (r <= n_h; unused steps have k = 0, which
changes nothing), so its state follows rho(x_t) ... rho(x_1) = rho(running product), left-multiplied as fla's K x V
state is, which is exactly "apply x_1 first" (rho(a then b) = rho(b) rho(a)). Exact at every length; float32 rounding
only, far below the read-out's margin. Where the representation is split across heads (`head_representations`: a
direct product's factors each in a head, A4xZ5 with 2 reflections per head where one head needs 4), each head tracks
its factor the same way, and the read-out adds the heads' scores.
"""

from __future__ import annotations

import numpy as np

from expressivity.theory.constructions.wiring import BIG, Wiring, silu_inv
from expressivity.theory.representations import Representation, head_representations, reflection_keys

ALPHA = 0.25  # keys enter SiLU as ALPHA * k: |ALPHA * k_i| <= 0.25 stays where silu is invertible (> -0.278)
S = 0.25  # scale of the tracked part of the state (values are -S k, also within silu's invertible range)
GAMMA = 0.5  # the query's weight on the constant key dim


def _query(rep: Representation, rng: np.random.Generator, tries: int = 400) -> np.ndarray:
    """A query c (entries in [-0.25, 0.25]) whose orbit rho(g)^T c separates the elements best: the largest smallest
    distance between c and rho(g)^T c over g != identity (by invariance, the smallest distance between any two)."""
    best, margin = None, -1.0
    moved = rep.reflection_counts > 0
    for _ in range(tries):
        c = rng.uniform(-0.25, 0.25, rep.dim)
        orbit = np.einsum("gji,j->gi", rep.matrices, c)  # rho(g)^T c
        m = np.linalg.norm(orbit[moved] - c, axis=1).min() / np.linalg.norm(c)
        if m > margin:
            best, margin = c, m
    return best


def word_problem_model(task, num_householder: int):
    """A one-layer `deltaproduct` (beta in [0, 2], no decay, n_h = `num_householder`) that outputs the running product
    of `task` (a `word_problem`), exact at every length, if every element needs at most n_h reflections per head.

    State of head h, in fla's layout h [K, V] with rho_h on key dims 0..d-1 and a constant key dim d:

        h_t = S (rho_t - I) E + e_d w^T       E: key dim i -> value dim i (i < d),  w = S c / GAMMA

    BOS writes e_d w^T (k = e_d, beta = 1): rho = I. A reflection step H = I - 2 k k^T (beta = 2) writes v = -S E^T k
    beside it, since H S (rho - I) E + 2 k (-S E^T k)^T = S (H rho - I) E: the tracked part keeps its form, and
    H e_d = e_d (k lives on dims < d). The query
    q = (c, GAMMA) (normalised) reads h^T q ~ S rho_t^T c: one point of the orbit of c, all of one norm and distinct
    (faithful rho, generic c). After the gated RMSNorm (per head), each element's logit is the sum over heads of its
    own orbit point, unit length, dotted with the head's output: each term is largest at the head's part of the
    running product, so their sum is largest at the running product alone (the heads' block sum is faithful).

        input : <bos> x_1 x_2 ...        state rho(x_1), rho(x_2) rho(x_1), ...
    """
    from expressivity import architectures

    group = task.elements
    reps = head_representations(group.name)
    needed = None if reps is None else max(rep.reflections for rep in reps)
    if needed is None or needed > num_householder:
        raise ValueError(f"{group.name} needs more reflections per element ({needed or 'none found'}) than "
                         f"n_h={num_householder}")  # fmt: skip
    N, H = group.order, len(reps)
    channels = 2 + N + sum(rep.dim for rep in reps)  # anchor, BOS, one channel per element, every head's outputs
    head_dim = 8 * -(-max(-(-channels // H), max(rep.dim for rep in reps) + 1) // 8)
    model = architectures.build(
        "deltaproduct", vocab_size=len(task.vocab), n_layers=1, d_model=H * head_dim, n_heads=H, mlp_width=0,
        neg_eigval=True, num_householder=num_householder, gated=False, expand_v=1, tie_embeddings=False,
    )  # fmt: skip
    w = Wiring(model)
    bos = w.channel("bos")[0]
    tok = w.channel("elements", N)  # tok[g]: element g's token
    w.embed(task.token_id["<bos>"], {bos: 1.0})
    for g in range(N):
        w.embed(task.token_id[group.tokens[g]], {tok[g]: 1.0})
    scores = np.zeros((N, w.d))  # scores[g]: element g's logit row over the residual channels
    for h, rep in enumerate(reps):
        out = w.channel(f"rho^T c, head {h}", rep.dim)
        c = _track(w.delta_head(0, h), rep, bos, tok, out, num_householder, np.random.default_rng(h))
        for g in range(N):
            point = rep.matrices[g].T @ c
            scores[g, out] = point / np.linalg.norm(point)
    for g in range(N):
        w.logits(task.token_id[group.tokens[g]], {i: float(v) for i, v in enumerate(scores[g]) if v})
    return w.model


def _track(head, rep: Representation, bos: int, tok: list[int], out: list[int], num_householder: int, rng):
    """Wire `head` to apply rep(element) at each element's token (BOS writes the reference) and to write its read
    rho^T c (normalised) to channels `out`; returns the query c (d,)."""
    d, N = rep.dim, len(tok)
    c = _query(rep, rng)
    for i in range(d):
        head.q(i, const=silu_inv(c[i]))
    head.q(d, const=silu_inv(GAMMA))
    keys = [reflection_keys(Q) for Q in rep.matrices]  # keys[g][j]: step j of element g, applied in order
    for step in range(num_householder):
        k_rows = [{} for _ in range(d)]
        v_rows = [{} for _ in range(d)]
        beta = {tok[g]: 2 * BIG for g in range(N) if step < len(keys[g])}  # logit BIG: beta = 2
        for g in range(N):
            if step < len(keys[g]):
                for i, k_i in enumerate(keys[g][step]):
                    k_rows[i][tok[g]] = silu_inv(ALPHA * k_i)  # normalised after SiLU: exactly k
                    v_rows[i][tok[g]] = silu_inv(-S * k_i)  # v = -S k
        if step == 0:  # BOS: k = e_d, v = w = S c / GAMMA, beta = 1 (logit 0)
            beta[bos] = BIG
            for i in range(d):
                v_rows[i][bos] = silu_inv(S * c[i] / GAMMA)
            head.k(d, {bos: silu_inv(ALPHA)}, step=0)
        for i in range(d):
            head.k(i, k_rows[i], step=step)
            head.v(i, v_rows[i], step=step)
        head.beta(beta, const=-BIG, step=step)  # everything else: beta ~ 0 (and k = 0 there)
    head.gate()
    for i in range(d):
        head.out(i, {out[i]: 1.0})
    return c
