"""The lookup machinery the recall constructions share: bits[x] for an index x written in decimal digits.

The positional signal is a set of GDN counters, one head per decimal place j < W: across the bit list every element
applies two reflections (H(0) at the bit, H(psi_j) at its comma), i.e. a rotation by 2 psi_j = 2 pi / 10^(j+1), so
the counter of bit i points at angle 2 pi i / 10^(j+1): it encodes i mod 10^(j+1). (Rotations are exact and need no
position embedding; a RoPE or NoPE transformer alone has no exact absolute position to match a decimal index against,
so the constructions are GDN -> attention hybrids with NoPE attention.) An MLP decodes each counter into the digit
d_j(i) (the arc of the circle it falls in) and writes it as the unit vector at angle 2 pi d_j / 10: the key of bit i
is these W unit vectors, zero outside the list. The query holds the digits of x the same way, read from a window of
the last W tokens that a GDN head keeps (`window_values`), zero-filled above the number's leading digit. NoPE
attention with QK-norm then scores sum_j cos(2 pi (d_j(i) - d_j(x)) / 10), which is W at i = x and at most
W - 0.19 elsewhere; a large QK-norm gain makes the softmax pick bit x. Exact for indices < 10^W.

A dict, `bits = {0: 1, ..., 12: 0}`, needs no counters: each bit's key is written two tokens before it. A head
keeps the window of the tokens 2 to W + 1 back at every token (`key_window_head`), a head flags the tokens right
after a `:` (`previous_token_flag`), and the MLP reads the window's digits as it reads the query's, at those tokens
only (`dict_key_steps`): the same key vectors, the same match.

Precision (lists): the finest counter must resolve 10^-W of a turn over up to 10^W elements. In float32 the chunked
GDN op drifts by about 5e-4 rad over 10^4 elements (measured), more than the half-spacing pi / 10^4, so these
constructions run in float64: log precision, as the theory assumes.
"""

from __future__ import annotations

import math

import numpy as np

from expressivity.theory.constructions.wiring import BIG, Wiring, silu, silu_inv

KAPPA = 0.25  # magnitude of a digit's (cos, sin, 1) in a window value: silu reaches down to -0.278 only
VALUE = 5.0  # pre-activation of written state vectors: silu(5) = 4.97, far above the gated norm's eps
RATIO = 30.0  # window heads: query weight on the norm-anchor column over the window column
ALPHA_Q = 0.5  # silu output of a window head's query on the window column
ANGLE = [2 * math.pi * d / 10 for d in range(10)]


def features(w: Wiring, task, names: list[str]) -> dict[str, int]:
    """One residual channel per token feature (digits d0..d9, isdig, and the named tokens), set in the embedding."""
    ch = {f"d{d}": w.channel(f"d{d}")[0] for d in range(10)}
    ch["isdig"] = w.channel("isdig")[0]
    for tok in names:
        ch[tok] = w.channel(f"tok {tok!r}")[0]
    for d in range(10):
        w.embed(task.token_id[str(d)], {ch[f"d{d}"]: 1.0, ch["isdig"]: 1.0})
    for tok in names:
        w.embed(task.token_id[tok], {ch[tok]: 1.0})
    return ch


def unit_out(w: Wiring, head, dims: list[int], name: str) -> list[int]:
    """Map value dims whose vector has a fixed norm to residual channels holding it as a unit vector."""
    out = w.channel(name, len(dims))
    scale = 1.0 / (math.sqrt(head.dv) * silu(3.0))  # o / rms(o) * silu(gate) has norm sqrt(dv) * silu(3)
    for dim, c in zip(dims, out, strict=True):
        head.out(dim, {c: scale})
    return out


def counter_heads(w: Wiring, block: int, heads: list[int], ch: dict[str, int]) -> list[list[int]]:
    """Head heads[j] counts list elements modulo 10^(j+1) as a rotation; returns the (x, y) channels of each place.

    BOS and `bits` write a S = a I on the plane (e_0, e_1); a digit reflects along e_0 (beta = 2), a comma along
    (cos psi_j, sin psi_j); q = e_0. Other tokens leave the state alone (beta ~ 0)."""
    out = []
    for j, h in enumerate(heads):
        psi = math.pi / 10 ** (j + 1)
        head = w.delta_head(block, h)
        head.q(0, const=1.0)
        head.k(0, {ch["<bos>"]: 1.0, ch["isdig"]: 1.0, ch[","]: silu_inv(math.cos(psi))})
        head.k(1, {ch["bits"]: 1.0, ch[","]: silu_inv(math.sin(psi))})
        head.v(0, {ch["<bos>"]: VALUE})
        head.v(1, {ch["bits"]: VALUE})
        head.beta({ch["<bos>"]: BIG, ch["bits"]: BIG, ch["isdig"]: 2 * BIG, ch[","]: 2 * BIG}, const=-BIG)
        head.gate()
        out.append(unit_out(w, head, [0, 1], f"counter {j}"))
    return out


def previous_token_flag(w: Wiring, block: int, h: int, token: int, other: int, name: str) -> int:
    """A channel that is 1 where the previous token has 0/1 channel `token` set, 0 where it has `other` (its
    complement) set: a head that overwrites its state at every token (beta = 1) with (token, other) one tap back."""
    head = w.delta_head(block, h)
    head.q(0, const=1.0)
    head.k(0, const=1.0)
    head.beta({}, const=0.0)  # beta = 1: overwrite at every token
    head.v(0, {token: VALUE}, taps={1: 1.0})
    head.v(1, {other: VALUE}, taps={1: 1.0})
    head.gate()
    return unit_out(w, head, [0], name)[0]


def key_window_head(w: Wiring, block: int, h: int, ch: dict[str, int], W: int, shift: int) -> list[list[int]]:
    """The window of the W tokens `shift` to `shift + W - 1` back, at every token (`window_values` and `window_out`):
    state row 0 is overwritten at every token but BOS (k = e_0, beta = 1), row 1 holds the norm anchor written at
    BOS. At a dict's bit, `shift = 2` skips the bit and its `:`: the window holds the key's digits."""
    head = w.delta_head(block, h)
    head.k(0, {ch["<bos>"]: -BIG}, const=silu_inv(1.0))  # silu(1 - 30) ~ 0 at BOS, 1 elsewhere
    head.k(1, {ch["<bos>"]: 1.0})
    head.beta({}, const=0.0)  # beta = 1 at every token
    window_values(head, ch, W, shift)
    head.v(3 * W, {ch["<bos>"]: VALUE})
    head.q(0, const=silu_inv(ALPHA_Q))
    head.q(1, const=silu_inv(RATIO * ALPHA_Q))
    head.gate()
    return window_out(w, head, W, RATIO, "key window")


def counter_points(j: int) -> np.ndarray:
    """(10^(j+1), 2): where counter j points at bit i, for i < 10^(j+1) (a float64 replay of its reflections)."""
    psi = math.pi / 10 ** (j + 1)
    h0 = np.eye(2) - 2 * np.outer([1, 0], [1, 0])
    k = np.array([math.cos(psi), math.sin(psi)])
    step = (np.eye(2) - 2 * np.outer(k, k)) @ h0  # comma after bit, then the next bit (state multiplies on the right)
    state, points = h0.copy(), []  # S = a I, then the first bit
    for _ in range(10 ** (j + 1)):
        o = state[:, 0]  # S e_0 with S multiplied by each transition on the right: S_t = S_{t-1} H_t
        points.append(o / np.linalg.norm(o))
        state = state @ step
    return np.array(points)


def list_flag_head(w: Wiring, block: int, h: int, ch: dict[str, int]) -> int:
    """inlist = 1 after `[` until `]` (a register overwritten at brackets); returns its channel."""
    head = w.delta_head(block, h)
    head.q(0, const=1.0)
    head.k(0, {ch["["]: 1.0, ch["]"]: 1.0})
    head.v(0, {ch["["]: VALUE})
    head.v(1, {ch["]"]: VALUE})
    head.beta({ch["["]: BIG, ch["]"]: BIG}, const=-BIG)
    head.gate()
    return unit_out(w, head, [0], "inlist")[0]  # o = (a, 0) inside, (0, a) after: its first unit component


def key_steps(w: Wiring, mlp, counters: list[list[int]], inlist: int, ch: dict[str, int]) -> list[list[int]]:
    """Per place j, the unit vector at angle 2 pi d_j(i) / 10 at list bits (zero elsewhere): returns (x, y) channels.

    Digit d of place j owns an arc of counter j's circle; an arc is a cap {p : u . p > thr}, so one step per (j, d),
    gated by isdig and inlist, decides it; thresholds and gains come from the replayed counter points."""
    keys = []
    for j, (cx, cy) in enumerate(counters):
        pts = counter_points(j)
        digit = (np.arange(len(pts)) // 10**j) % 10
        key = w.channel(f"key {j}", 2)
        for d in range(10):
            u = pts[digit == d].mean(axis=0)
            u /= np.linalg.norm(u)
            inside, outside = pts[digit == d] @ u, pts[digit != d] @ u
            thr, margin = (inside.min() + outside.max()) / 2, (inside.min() - outside.max()) / 2
            gain = 2.0 / margin
            gate = gain * 2 + 4  # a missing isdig or inlist outweighs any cosine
            mlp.step({cx: gain * u[0], cy: gain * u[1], ch["isdig"]: gate, inlist: gate}, -gain * thr - 2 * gate,
                     {key[0]: math.cos(ANGLE[d]), key[1]: math.sin(ANGLE[d])})  # fmt: skip
        keys.append(key)
    return keys


def window_values(head, ch: dict[str, int], W: int, shift: int = 0) -> None:
    """Value dims 3 tau + (0, 1, 2) = KAPPA (cos, sin, 1)(2 pi d / 10) when the token tau + shift back is digit d,
    else 0 (a short convolution of at least W + shift taps)."""
    for tau in range(W):
        taps = {tau + shift: 1.0}
        for c, comp in enumerate((math.cos, math.sin, lambda a: 1.0)):
            head.v(3 * tau + c, {ch[f"d{d}"]: silu_inv(KAPPA * comp(ANGLE[d])) for d in range(10)}, taps=taps)


def window_out(w: Wiring, head, W: int, anchor_ratio: float, name: str = "window") -> list[list[int]]:
    """Residual channels (cos, sin, isdig) per offset, read from a head whose query is q = (1, anchor_ratio) over
    (the window's column, a column holding silu(VALUE) in value dim 3W); that column dominates the norm, so the
    window's scale is fixed to ~1e-5 whatever it holds."""
    b = silu(VALUE)
    scale = anchor_ratio * b / (KAPPA * math.sqrt(head.dv) * silu(3.0))
    out = []
    for tau in range(W):
        chans = w.channel(f"{name} {tau}", 3)
        for c in range(3):
            head.out(3 * tau + c, {chans[c]: scale})
        out.append(chans)
    return out


def query_steps(w: Wiring, mlp, window: list[list[int]], name: str = "query", gates: tuple[int, ...] = ()):
    """Per place p, digit d_p >= 1 of the number in the window as (cos - 1, sin)(2 pi d / 10), zero for digit 0 and
    for places above the leading digit (an offset tau < p that is not a digit ends the number), and zero wherever a
    0/1 channel of `gates` is 0; the attention query adds the constant (1, 0). Returns (x, y) channels per place."""
    gain, out = 25.0, []
    gate = 2 * gain + 4
    for p, (cp, sp, _) in enumerate(window):
        q = w.channel(f"{name} {p}", 2)
        valid = {**{window[tau][2]: gate for tau in range(p)}, **{g: gate for g in gates}}
        for d in range(1, 10):
            a = ANGLE[d]
            mlp.step({cp: gain * math.cos(a), sp: gain * math.sin(a), **valid}, -0.9 * gain - gate * len(valid),
                     {q[0]: math.cos(a) - 1, q[1]: math.sin(a)})  # fmt: skip
        out.append(q)
    return out


def dict_key_steps(w: Wiring, mlp, window: list[list[int]], gates: tuple[int, ...]) -> list[list[int]]:
    """The dict layout's keys: per place p, the unit vector at angle 2 pi d_p / 10 of the key digits in `window`
    (d_p = 0 above the key's leading digit, as the query writes it) where every 0/1 channel of `gates` is 1 (the
    dict's bits), zero elsewhere: `query_steps` gated, plus (1, 0) gated. Returns (x, y) channels per place."""
    keys = query_steps(w, mlp, window, "key", gates)
    gate = 4.0
    for key in keys:
        mlp.step({g: gate for g in gates}, -gate * (len(gates) - 0.5), {key[0]: 1.0})
    return keys


def lookup(w: Wiring, block: int, query: list[list[int]], keys: list[list[int]], ch: dict[str, int], task) -> None:
    """NoPE attention head 0 of `block` picks the bit whose key digits equal the query digits; its value (bit 1 vs 0)
    becomes the logits of "1" and "0"."""
    W = len(keys)
    head = w.attention_head(block, 0)
    for p in range(W):
        head.q(2 * p, {query[p][0]: 1.0}, const=1.0)
        head.q(2 * p + 1, {query[p][1]: 1.0})
        head.k(2 * p, {keys[p][0]: 1.0})
        head.k(2 * p + 1, {keys[p][1]: 1.0})
    # score = gain^2 sqrt(hd) / W * sum_j cos: margin 0.19 per wrong digit; 60 nats beats 10^W distractors
    head.sharpness(math.sqrt(60.0 * W / (0.19 * math.sqrt(head.hd))))
    head.v(0, {ch["d1"]: 1.0, ch["d0"]: -1.0})
    answer = w.channel("answer")[0]
    head.out(0, {answer: 1.0})
    w.logits(task.token_id["1"], {answer: 20.0})  # a confident readout: the loss is ~0 too
    w.logits(task.token_id["0"], {answer: -20.0})
