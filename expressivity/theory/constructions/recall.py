"""Recall constructions: indexed recall (pattern GA) and state-based recall (pattern GGA, one alternation).

Both are `hybrid` models with `neg_eigval=True` and NoPE attention, run in float64 (see `lookup.py` for the
positional signal and why). Sizes follow `max_length`: W = the digits of the largest index, one counter per digit.
Both read the bits as a list (`bits_format="list"`: a bit's index is its position, counted by GDN rotations) or as
a dict (`bits_format="dict"`: its index is the key written before it, read through a window); `_bit_keys` is the one
place the layouts differ. Indices must be written in digits (`numbers="digits"`).
"""

from __future__ import annotations

import math

from expressivity.theory.constructions import lookup
from expressivity.theory.constructions.lookup import ALPHA_Q, RATIO
from expressivity.theory.constructions.wiring import BIG, Wiring, silu_inv


def _hybrid(vocab_size: int, pattern: str, *, W: int, heads: int, channels: int, mlp_width: int, conv_size: int):
    from expressivity import architectures

    dk = max(8, 2 * W)  # attention q/k hold 2W dims; a GDN value (2 dk) holds a window of 3W plus one
    n_heads = max(heads, -(-channels // dk))
    model = architectures.build(
        "hybrid", vocab_size=vocab_size, pattern=pattern, d_model=n_heads * dk, n_heads=n_heads, mlp_width=mlp_width,
        neg_eigval=True, pos="nope", conv_size=conv_size, tie_embeddings=False,
    )  # fmt: skip
    return model.double()


def _layout(task, W: int) -> tuple[tuple[str, ...], int, int, int]:
    """What the bits' layout asks of the key side: its tokens' feature names, the residual channels and layer-0
    heads its keys take (`_bit_keys`), and the short convolution it needs. Refuses one-token numbers."""
    if task.numbers != "digits":
        raise ValueError(f"the {task.name} constructions read indices in digits, got numbers={task.numbers!r}")
    if task.bits_format == "list":
        return ("bits", ",", "[", "]"), 2 * W + 1, W + 1, max(4, W)
    return (":",), 3 * W + 2, 2, max(4, W + 2)  # a key's W digits sit 2 to W + 1 tokens before its bit


def _bit_keys(w: Wiring, task, ch: dict[str, int], W: int) -> tuple[list[list[int]], int]:
    """Layer 0's first heads and MLP 0's steps that give every bit its index digits as attention keys (zero off the
    bits); returns the keys and the heads used.

    A list (lookup.py): W rotation counters number the bits, a list flag marks them, and the MLP decodes each
    counter into a digit. A dict, `bits = {0: 1, ..., 12: 0}`, writes each key beside its bit: a window head holds
    the W tokens 2 to W + 1 back (past the bit and its `:`), a flag head marks tokens right after a `:`, and the
    MLP reads the window's digits as the query's are read (`query_steps`), at digits after a `:` only."""
    mlp = w.mlp(0)
    if task.bits_format == "list":
        counters = lookup.counter_heads(w, 0, list(range(W)), ch)
        inlist = lookup.list_flag_head(w, 0, W, ch)
        return lookup.key_steps(w, mlp, counters, inlist, ch), W + 1
    colon = task.token_id[":"]
    other = w.channel("not ':'")[0]
    for tok in range(len(task.vocab)):
        if tok != colon:
            w.embed(tok, {other: 1.0})
    window = lookup.key_window_head(w, 0, 0, ch, W, shift=2)
    after = lookup.previous_token_flag(w, 0, 1, ch[":"], other, "after ':'")
    return lookup.dict_key_steps(w, mlp, window, (after, ch["isdig"])), 2


def _digits(max_length: int) -> int:
    return len(str(max(max_length, 2) - 1))


def indexed_recall_model(task, max_length: int):
    """`bits = [b_0, ..., b_{m-1}]`, `a = x`, `assert bits[a] == _`, exact for m <= max_length.

    Layer G: the key heads of `_bit_keys` (for a list: W counter heads, the position of every list bit, see
    lookup.py, and a list-flag head, inside `[ ... ]`; for a dict: a window on each bit's key), and a register head
    that overwrites its state at every digit with the window of the last W tokens, so at `_` it holds the digits of
    x. MLP: decodes the counters (or key windows) into the key digits of every bit and the
    window into the query digits of x. Layer A (NoPE): picks the bit whose digits equal x's.

        bits = [0, 1, 1]      keys at the bits: digits 000, 001, 002 (W = 3)
        a = 2                 the register at `_`: window "= 2" -> query digits 002
        assert bits[a] == _   attention reads bits[2] = 1
    """
    W = _digits(max_length)
    layout, key_channels, key_heads, conv = _layout(task, W)
    names = ["<bos>", *layout]
    channels = 1 + 11 + len(names) + key_channels + 3 * W + 2 * W + 2 * W + 1
    model = _hybrid(len(task.vocab), "GA", W=W, heads=key_heads + 1, channels=channels, mlp_width=38 * W,
                    conv_size=conv)  # fmt: skip
    w = Wiring(model)
    ch = lookup.features(w, task, names)
    keys, used = _bit_keys(w, task, ch, W)
    reg = w.delta_head(0, used)
    reg.k(0, {ch["isdig"]: 1.0})  # column 0: the window, rewritten at every digit
    reg.k(1, {ch["<bos>"]: 1.0})  # column 1: the norm anchor, written once
    reg.beta({ch["isdig"]: BIG, ch["<bos>"]: BIG}, const=-BIG)
    lookup.window_values(reg, ch, W)
    reg.v(3 * W, {ch["<bos>"]: lookup.VALUE})
    reg.q(0, const=silu_inv(ALPHA_Q))
    reg.q(1, const=silu_inv(RATIO * ALPHA_Q))
    reg.gate()
    window = lookup.window_out(w, reg, W, RATIO)
    query = lookup.query_steps(w, w.mlp(0), window)
    lookup.lookup(w, 1, query, keys, ch, task)
    return model


def state_based_recall_model(task, max_length: int):
    """Olmo Hybrid Thm 1 as weights: GDN tracks which slot each pointer names, attention reads bits[slot's index].

        bits = [0, 1, 0, 0, 1]
        a, b, c, d, e = 3, 0, 4, 1, 2
        a, c = c, a                 # tracker columns a, c exchanged: a now holds 4's digits
        assert bits[a] == _         # query digits 4 -> bits[4] = 1

    Layer G1: the key heads of `_bit_keys` (a list's W counters and list flag, or a dict's key window), a head
    flagging "the previous token is a name", and an ordinal head: reset at every `=` (decay to 0), it moves half
    way towards a second direction at each comma, so its angle names how many commas followed the `=`: in the
    initialisation line, which variable a value belongs to.
    MLP1: key digits of the bits, and ORD_v = "this digit belongs to variable v". Layer G2, the tracker: state
    column v is variable v. At the digits of v's value it writes (beta = 1, k = e_v) the window of the last W tokens,
    so after the value's last digit column v holds its index; at the newline ending `x, y = y, x` it applies the
    reflection I - 2kk^T with k = (e_x - e_y)/sqrt 2 read from the short convolution (x one token back, y three
    back), which exchanges columns x and y (beta = 2 only at a newline after a name: the newline ending the value
    line has a digit one token back). At `_` its query names the variable three tokens back, so it outputs that
    variable's index digits. MLP2: query digits (places above the leading digit are 0). Layer A (NoPE): bits[index].
    Needs ops="swap", init_format="tuple" (the ordinal head counts commas in the one initialisation line) and
    num_vars < d_k.
    """
    if task.ops != "swap":
        raise ValueError(f"the state_based_recall construction needs ops='swap', got {task.ops!r}")
    if task.init_format != "tuple":
        raise ValueError(f"the state_based_recall construction needs init_format='tuple', got {task.init_format!r}")
    W, V = _digits(max(max_length, task.num_vars)), task.num_vars
    layout, key_channels, key_heads, conv = _layout(task, W)
    variables = list(task.vocab[task.name0 : task.name0 + V])
    names = ["<bos>", *dict.fromkeys([*layout, ",", "=", "\n"]), *variables]
    channels = 1 + 11 + len(names) + 2 + key_channels + 2 + 1 + V + 2 * W + 3 * W + 2 * W + 1
    mlp_width = max(20 * W + 2 * V + 2, 18 * W)
    model = _hybrid(len(task.vocab), "GGA", W=W, heads=key_heads + 2, channels=channels, mlp_width=mlp_width,
                    conv_size=conv)  # fmt: skip
    if V + 1 > model.blocks[1].mixer.dk:
        raise ValueError(f"num_vars={V} needs d_k > {V}")
    w = Wiring(model)
    ch = lookup.features(w, task, names)
    var = [ch[n] for n in variables]
    isname, notname = w.channel("name")[0], w.channel("not a name")[0]
    for tok in range(len(task.vocab)):
        named = task.name0 <= tok < task.name0 + V
        w.embed(tok, {isname if named else notname: 1.0})
    keys, used = _bit_keys(w, task, ch, W)
    # ordinal: S = a e_0 e_0^T after `=`; each comma moves column e_1 half way to a e_1: r_k = 1 - 2^-k after k commas
    ordh = w.delta_head(0, used)
    ordh.reset_on({ch["="]: 1.0})
    ordh.k(0, {ch["="]: 1.0})
    ordh.k(1, {ch[","]: 1.0})
    ordh.v(0, {ch["="]: lookup.VALUE})
    ordh.v(1, {ch[","]: lookup.VALUE})
    ordh.beta({ch["="]: BIG, ch[","]: BIG - math.log(3.0)}, const=-BIG)  # beta = 2 sigmoid(-ln 3) = 1/2
    ordh.q(0, const=1.0)
    ordh.q(1, const=1.0)
    ordh.gate()
    ox, oy = lookup.unit_out(w, ordh, [0, 1], "ordinal")  # (1, r) / |(1, r)|
    # prevname: is the token before a variable name? (only `x \n` ending a swap line has a newline after a name)
    prevname = lookup.previous_token_flag(w, 0, used + 1, isname, notname, "prevname")
    mlp = w.mlp(0)
    ordv = w.channel("ORD", V)
    r = [1 - 2.0**-k for k in range(V + 1)]
    gain = 4.0 / ((r[V] - r[V - 1]) / math.sqrt(2))
    gate = 2 * gain + 4
    mlp.step({ch["isdig"]: 2.0}, -1.0, {ordv[0]: 1.0})
    for k in range(V):  # A_k = [isdig and r > t_k] moves the ordinal from k to k + 1
        t = (r[k] + r[k + 1]) / 2
        out = {ordv[k]: -1.0, **({ordv[k + 1]: 1.0} if k + 1 < V else {})}
        mlp.step({oy: gain, ox: -gain * t, ch["isdig"]: gate}, -gate, out)
    # the tracker
    tr = w.delta_head(1, 0)
    plus, minus = silu_inv(0.25), silu_inv(-0.25)  # k = (e_x - e_y)/sqrt 2 at the newline of `x, y = y, x`
    for u in range(V):
        tr.k(u, {ordv[u]: 1e6, var[u]: 1.0}, taps={0: 1.0, 1: plus, 3: minus})
        tr.q(u, {var[u]: silu_inv(ALPHA_Q)}, taps={3: 1.0})
    tr.k(V, {ch["<bos>"]: 1.0})
    tr.q(V, const=silu_inv(RATIO * ALPHA_Q))
    # beta: 1 at digits and BOS, 2 at a newline right after a name (a swap), ~0 elsewhere
    tr.beta({ch["isdig"]: 3 * BIG, ch["<bos>"]: 3 * BIG, ch["\n"]: 2 * BIG, prevname: 2 * BIG}, const=-3 * BIG)
    lookup.window_values(tr, ch, W)
    tr.v(3 * W, {ch["<bos>"]: lookup.VALUE})
    tr.gate()
    window = lookup.window_out(w, tr, W, RATIO)
    query = lookup.query_steps(w, w.mlp(1), window)
    lookup.lookup(w, 2, query, keys, ch, task)
    return model
