"""The nonlinear RNN control (letter L): torch.nn.LSTM as a token mixer.

The LSTM has `hidden` cells and a linear map back to d_model, so a block is pre-norm, LSTM, linear, residual, with no
MLP: the hidden size is the knob that matches its parameter count to the other blocks'. The cell's per-token transition
is its forget gate, a diagonal in (0, 1); `neg_eigval` does not apply to it.
"""

from __future__ import annotations

import torch
from torch import nn


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
