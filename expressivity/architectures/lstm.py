"""The nonlinear RNN control (letter L): torch.nn.LSTM as a token mixer.

The LSTM has `hidden` cells and a linear map back to d_model, so a block is pre-norm, LSTM, linear, residual, with no
MLP: the hidden size is the knob that matches its parameter count to the other blocks'. The cell's per-token transition
is its forget gate, a diagonal in (0, 1); `neg_eigval` does not apply to it.

`forward` is torch's LSTM (cuDNN on a GPU, oneDNN on a CPU): every unfused run, and the reference the fused form is
tested against. The fused form (architectures/fused.py: M models as one) writes the cell out, one step at a time,
with the M models' recurrent matmuls batched:

    gates_t = W_ih x_t + b_ih + b_hh + W_hh h_{t-1}        (4 * hidden: input, forget, cell, output, torch's order)
    c_t = sigmoid(f_t) c_{t-1} + sigmoid(i_t) tanh(g_t),   h_t = sigmoid(o_t) tanh(c_t)
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class LSTMMixer(nn.Module):
    """(B, T, d_model) -> (B, T, d_model) through one LSTM layer with `hidden` cells, then a linear map to d_model.

    Weights: 4 * hidden * (d_model + hidden) + 8 * hidden (the LSTM) + hidden * d_model (the map).
    """

    def __init__(self, d_model: int, hidden: int):
        super().__init__()
        self.hidden = hidden
        # A plain LSTM and a separate map rather than proj_size: oneDNN (the CPU fast path) has no projections.
        self.lstm = nn.LSTM(d_model, hidden, batch_first=True)
        self.out = nn.Linear(hidden, d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.lstm(x)[0])

    def state_size(self, T: int) -> int:
        """Cell state plus hidden state."""
        return 2 * self.hidden

    # ---- the fused form (architectures/fused.py): M models' cells as one loop of batched matmuls -------------------
    # cuDNN runs one model's weights at a time, so M runs side by side are M processes of small kernels; fused, each
    # launch serves all M models, and a captured training step (CUDA graphs) replays the loop without Python, as the
    # Stack-RNN's does. `forward` above stays the single-model path. A grid keeps LSTM runs unfused all the same
    # (LayerKind L's fused_in_grids, models.py, says why); `train_fused` and EXPRESSIVITY_UNFUSED= use this form.
    fold = "models"  # the op takes every model's tensors with their leading model dim, weights included
    # `op` is plain PyTorch: fused training compiles it with the stages (fused.py), fusing each step's gate arithmetic
    # into a kernel or two. On this project's CPU that nearly halved a fused step of 12 tiny models, for about half a
    # minute more of compiling at the first step; its pace on a card is in BENCHMARKS.md (issue 13).
    compile_op = True

    def op_inputs(self, x: torch.Tensor) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """x (B, T, d_model) -> the op's arguments: from_tokens (B, T, 4 * hidden), the input's share of every step's
        gates with both biases, and W_hh (4 * hidden, hidden) (vmapped over the models: each gets a leading M)."""
        lstm = self.lstm
        return {"from_tokens": F.linear(x, lstm.weight_ih_l0, lstm.bias_ih_l0 + lstm.bias_hh_l0),
                "W_hh": lstm.weight_hh_l0}, {}  # fmt: skip

    def op(self, from_tokens: torch.Tensor, W_hh: torch.Tensor) -> torch.Tensor:
        """The cells of M models at once: from_tokens (M, B, T, 4 * hidden), W_hh (M, 4 * hidden, hidden) -> hidden
        states (M, B, T, hidden). Model m's slice is torch's LSTM with model m's weights (tests/architectures/
        test_fused.py). The cell state is kept in fp32 (or wider) whatever the matmuls' dtype, as cuDNN keeps it."""
        M, B, T, _ = from_tokens.shape
        wide = torch.promote_types(from_tokens.dtype, torch.float32)
        h = from_tokens.new_zeros(M, B, self.hidden)
        c = from_tokens.new_zeros(M, B, self.hidden, dtype=wide)
        W = W_hh.transpose(1, 2)  # (M, hidden, 4 * hidden)
        states = []
        for t in range(T):
            gates = torch.baddbmm(from_tokens[:, :, t], h, W).to(wide)
            i, f, g, o = gates.chunk(4, dim=-1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = (torch.sigmoid(o) * torch.tanh(c)).to(from_tokens.dtype)
            states.append(h)
        return torch.stack(states, dim=2)

    def finish(self, o: torch.Tensor, rest: dict[str, torch.Tensor]) -> torch.Tensor:
        """o (B, T, hidden) -> (B, T, d_model)."""
        return self.out(o)
