"""The stack-augmented RNN (letter S): Joulin & Mikolov's Stack-RNN (2015) in the form Delétang et al. (2023) train as
their positive control for the deterministic context-free tasks: a tanh RNN that reads the top of a differentiable
stack and, each step, pushes a vector, pops, or leaves the stack alone, all three at once as a softmax's weights.

    h_t    = tanh(W_x x_t + W_s top_{t-1} + W_h h_{t-1} + b)        top_{t-1} = stack_{t-1}[0]
    a_t    = softmax(W_a h_t + b_a)                                  (push, pop, no-op)
    stack_t[0] = push_t v_t + pop_t stack_{t-1}[1] + noop_t stack_{t-1}[0]      v_t = W_v h_t + b_v
    stack_t[i] = push_t stack_{t-1}[i-1] + pop_t stack_{t-1}[i+1] + noop_t stack_{t-1}[i]   (a cell below the
                 bottom reads zero)
    output_t = W_o relu(h_t)

With actions of weight 0 or 1 the stack is a discrete one, and the model a real-time pushdown transducer. The stack has
one cell per position of the sequence, so no input overflows it: Delétang et al.'s code fixes its depth (to the training
length by default), which a test at length 500 could overflow. The controller is one tanh layer of `hidden` units
(theirs: 256), the cells `cell` wide (8 here), its weights initialised as haiku's (theirs) are. Like the LSTM of their
protocol, a model of S layers has no residual block, norm or MLP (`block="plain"`). `stack_rnn_reference` is the
readable loop over the definition above; the mixer runs the same loop with the input's projection taken for all steps at
once.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

PUSH, POP, NOOP = 0, 1, 2  # the order of the action logits


def update_stack(stack: torch.Tensor, actions: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """One step of the differentiable stack: stack (B, D, C), top first; actions (B, 3) summing to 1 (push, pop,
    no-op); value (B, C) pushed -> the new stack (B, D, C). The bottom cell falls off on a push (D is chosen so that
    it is never written), and a zero enters from below on a pop."""
    push, pop, noop = (actions[:, i, None, None] for i in (PUSH, POP, NOOP))
    pushed = torch.cat([value[:, None], stack[:, :-1]], dim=1)
    popped = torch.cat([stack[:, 1:], torch.zeros_like(stack[:, :1])], dim=1)
    return push * pushed + pop * popped + noop * stack


def stack_rnn_reference(mixer: StackRNNMixer, x: torch.Tensor) -> torch.Tensor:
    """The definition in the module docstring, one step and one weight at a time: x (B, T, d_model) -> (B, T, d_model).
    What the tests hold the mixer to."""
    B, T, _ = x.shape
    W_x, W_s = mixer.inp.weight[:, : x.shape[-1]], mixer.inp.weight[:, x.shape[-1] :]
    h = x.new_zeros(B, mixer.hidden)
    stack = x.new_zeros(B, T, mixer.cell)
    outs = []
    for t in range(T):
        h = torch.tanh(x[:, t] @ W_x.T + stack[:, 0] @ W_s.T + mixer.inp.bias + h @ mixer.rec.weight.T)
        actions = torch.softmax(h @ mixer.act.weight.T + mixer.act.bias, dim=-1)
        value = h @ mixer.push.weight.T + mixer.push.bias
        stack = update_stack(stack, actions, value)
        outs.append(torch.relu(h) @ mixer.out.weight.T)
    return torch.stack(outs, dim=1)


class StackRNNMixer(nn.Module):
    """(B, T, d_model) -> (B, T, d_model) through a Stack-RNN of `hidden` tanh units and a stack of `cell`-wide cells
    (module docstring). Weights: hidden * (d_model + cell + 1) (input and stack top) + hidden^2 (recurrence) +
    (hidden + 1) * (cell + 3) (push value, actions) + hidden * d_model (output map)."""

    def __init__(self, d_model: int, hidden: int, cell: int):
        super().__init__()
        self.hidden, self.cell = hidden, cell
        self.inp = nn.Linear(d_model + cell, hidden)  # the token and the stack's top, as Delétang et al. concatenate
        self.rec = nn.Linear(hidden, hidden, bias=False)
        self.act = nn.Linear(hidden, 3)
        self.push = nn.Linear(hidden, cell)
        self.out = nn.Linear(hidden, d_model, bias=False)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Haiku's default, as Delétang et al.'s models start: each weight truncated normal with std 1/sqrt(fan_in)
        (cut at two std), each bias zero. The model's std-0.02 init (models.py) would leave the controller's
        pre-activations near zero and the actions near uniform (a CPU pilot with it stayed at token accuracy 0.47 on
        stack manipulation for 6500 steps), so SequenceModel calls this after its own."""
        for linear in (self.inp, self.rec, self.act, self.push, self.out):
            std = linear.in_features**-0.5
            nn.init.trunc_normal_(linear.weight, std=std, a=-2 * std, b=2 * std)
            if linear.bias is not None:
                nn.init.zeros_(linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, d = x.shape
        from_tokens = F.linear(x, self.inp.weight[:, :d], self.inp.bias)  # (B, T, hidden): every step's at once
        W_s = self.inp.weight[:, d:]
        h = x.new_zeros(B, self.hidden)
        stack = x.new_zeros(B, T, self.cell)  # one cell per step: a sequence never pushes more than T times
        states = []
        for t in range(T):
            h = torch.tanh(from_tokens[:, t] + F.linear(stack[:, 0], W_s) + self.rec(h))
            stack = update_stack(stack, torch.softmax(self.act(h), dim=-1), self.push(h))
            states.append(h)
        return self.out(torch.relu(torch.stack(states, dim=1)))

    # ---- the fused form (architectures/fused.py): M models' recurrences as one loop of batched matmuls ------------
    # A Python loop over steps launches a dozen kernels a step; fused, each launch serves all M models, and a
    # captured training step (CUDA graphs) replays the whole loop without Python. `forward` above stays the
    # single-model path, so unfused runs (the CPU's reproducible figures) compute exactly what they did.
    fold = "models"  # the op takes every model's tensors with their leading model dim, weights included

    def op_inputs(self, x: torch.Tensor) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """x (B, T, d_model) -> the op's arguments: from_tokens (B, T, hidden), the input's share of every step's
        pre-activation, and the recurrence's weights (vmapped over the models, each comes out with its leading M)."""
        d = x.shape[-1]
        args = {
            "from_tokens": F.linear(x, self.inp.weight[:, :d], self.inp.bias),
            "W_s": self.inp.weight[:, d:],  # (hidden, cell): the stack top's share
            "W_h": self.rec.weight,  # (hidden, hidden)
            "W_out": torch.cat([self.act.weight, self.push.weight]),  # (3 + cell, hidden): actions, then value
            "b_out": torch.cat([self.act.bias, self.push.bias]),  # (3 + cell,)
        }
        return args, {}

    def op(self, from_tokens, W_s, W_h, W_out, b_out) -> torch.Tensor:
        """The recurrence of M models at once: from_tokens (M, B, T, hidden); W_s (M, hidden, cell); W_h (M, hidden,
        hidden); W_out (M, 3 + cell, hidden); b_out (M, 3 + cell) -> hidden states (M, B, T, hidden). Model m's
        slice is `forward`'s loop with model m's weights (tests/architectures/test_fused.py)."""
        M, B, T, _ = from_tokens.shape
        h = from_tokens.new_zeros(M, B, self.hidden)
        stack = from_tokens.new_zeros(M * B, T, self.cell)
        W_s, W_h, W_out = W_s.transpose(1, 2), W_h.transpose(1, 2), W_out.transpose(1, 2)
        states = []
        for t in range(T):
            top = stack[:, 0].view(M, B, self.cell)
            h = torch.tanh(torch.baddbmm(from_tokens[:, :, t], top, W_s) + torch.bmm(h, W_h))
            out = torch.baddbmm(b_out[:, None, :], h, W_out)  # (M, B, 3 + cell)
            actions, value = torch.softmax(out[..., :3], dim=-1), out[..., 3:]
            stack = update_stack(stack, actions.reshape(M * B, 3), value.reshape(M * B, self.cell))
            states.append(h)
        return torch.stack(states, dim=2)

    def finish(self, o: torch.Tensor, rest: dict[str, torch.Tensor]) -> torch.Tensor:
        """o (B, T, hidden) -> (B, T, d_model)."""
        return self.out(torch.relu(o))

    def state_size(self, T: int) -> int:
        """The hidden state plus a stack deep enough for T pushes."""
        return self.hidden + T * self.cell
