"""A one-layer Stack-RNN that reverses a string: the stack as a real-time pushdown transducer. Exact at every length.

The model is `stack_rnn` with one layer (architectures/stack_rnn.py): h_t = tanh(W_x x_t + W_s top_{t-1} + b) (no
recurrence is needed), actions softmax(W_a h_t + b_a) over push, pop and no-op, push value W_v h_t + b_v, output
W_o relu(h_t), then the head. Every pre-activation is +-BIG, so each unit is exactly +-1 and each action's weight
exactly 0 or 1 in float32: the stack is a discrete one.
"""

from __future__ import annotations

import torch

from expressivity.architectures.stack_rnn import NOOP, POP, PUSH

BIG = 40.0  # tanh(40) and the softmax of (40, -40, 0) round to exactly 1 in float32


@torch.no_grad()
def reverse_string_model(task):
    """String reversal over {0, 1}. Five controller units, each +-1: u0 and u1 (the token is the symbol 0 or 1), ub
    (the token is the answer blank `_`), t0 and t1 (the stack's top, read before this step's action, holds 0 or 1).
    A symbol pushes its one-hot cell (v = ((u0 + 1) / 2, (u1 + 1) / 2)); a blank pops; BOS and padding leave the
    stack alone. A blank's answer is the top it read, t0 or t1 through relu, which is the symbol pushed last and not
    yet popped: the k-th blank reads the k-th symbol from the end.

        input : <bos> 0 1 1 _ _ _          stack after each step (top first): -, 0, 10, 110, 10, 0, -
        target:     . . . . 1 1 0
    """
    from expressivity import architectures

    ids = task.token_id
    model = architectures.build(
        "stack_rnn", vocab_size=len(task.vocab), n_layers=1, d_model=len(task.vocab), stack_hidden=5, stack_cell=2,
        tie_embeddings=False,
    )  # fmt: skip
    for p in model.parameters():
        p.zero_()
    model.embed.weight.copy_(torch.eye(len(task.vocab)))  # token i -> e_i
    mixer = model.blocks[0].mixer
    d = len(task.vocab)
    u0, u1, ub, t0, t1 = range(5)
    for unit, column in ((u0, ids["0"]), (u1, ids["1"]), (ub, ids["_"]), (t0, d + 0), (t1, d + 1)):
        mixer.inp.weight[unit, column] = 2 * BIG  # +BIG where the token (or the top's cell) is there, -BIG elsewhere
        mixer.inp.bias[unit] = -BIG
    mixer.act.weight[PUSH, u0] = mixer.act.weight[PUSH, u1] = BIG  # push: BIG (u0 + u1 + 1), +BIG on a symbol only
    mixer.act.bias[PUSH] = BIG
    mixer.act.weight[POP, ub] = BIG  # pop: +BIG on a blank, -BIG elsewhere; no-op: 0 (wins on BOS and padding)
    mixer.act.bias[NOOP] = 0.0
    for cell, unit in ((0, u0), (1, u1)):
        mixer.push.weight[cell, unit] = 0.5
        mixer.push.bias[cell] = 0.5
    for unit, symbol in ((t0, "0"), (t1, "1")):
        mixer.out.weight[ids[symbol], unit] = 1.0  # relu(t) is 1 where the top holds that symbol
        model.head.weight[ids[symbol], ids[symbol]] = BIG
    return model
