"""Size presets and parameter matching across architectures.

A preset fixes d_model, depth and heads. Every block gets the same parameter budget: that of a transformer block,
attention plus a SwiGLU MLP of width MLP_RATIO * d_model. Other blocks spend what their mixer leaves on their MLP
(a GDN mixer has about twice attention's weights, so its MLP is narrower), and an LSTM or Stack-RNN block spends it
all on its hidden size. So models of equal d_model and depth have parameter counts within a few percent, whatever the
pattern.
"""

from __future__ import annotations

import math

from torch import nn

from expressivity.architectures.layers import SwiGLU
from expressivity.architectures.models import ModelConfig, make_mixer

SIZES: dict[str, dict[str, int]] = {
    "tiny": {"d_model": 64, "n_layers": 2, "n_heads": 2},
    "small": {"d_model": 128, "n_layers": 4, "n_heads": 4},
    "base": {"d_model": 256, "n_layers": 8, "n_heads": 4},
}
MLP_RATIO = 4  # the transformer's SwiGLU width over d_model
ROUND = 8  # widths are multiples of this


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _round(x: float) -> int:
    return max(ROUND, ROUND * round(x / ROUND))


def block_budget(cfg: ModelConfig) -> int:
    """Weights of one transformer block at this d_model and these attention options (norms aside)."""
    return _count(make_mixer("A", cfg)) + _count(SwiGLU(cfg.d_model, MLP_RATIO * cfg.d_model))


def matched_mlp_width(letter: str, cfg: ModelConfig) -> int:
    """The SwiGLU width that brings a block of this letter to the transformer block's budget."""
    if letter == "A":
        return MLP_RATIO * cfg.d_model
    spare = block_budget(cfg) - _count(make_mixer(letter, cfg))
    return _round(spare / (3 * cfg.d_model))  # a SwiGLU of width w has 3 * d_model * w weights


def matched_lstm_hidden(cfg: ModelConfig) -> int:
    """The hidden size h of an LSTM block with the transformer block's budget P: 4h(d + h) + 8h + hd = P, i.e.
    4h^2 + (5d + 8) h - P = 0."""
    b = 5 * cfg.d_model + 8
    return _round((math.sqrt(b * b + 16 * block_budget(cfg)) - b) / 8)


def matched_stack_hidden(cfg: ModelConfig) -> int:
    """The controller width h of a Stack-RNN block (cells c wide) with the transformer block's budget P: h(d + c + 1)
    + h^2 + (h + 1)(c + 3) + hd = P, i.e. h^2 + (2d + 2c + 4) h + c + 3 - P = 0."""
    b = 2 * cfg.d_model + 2 * cfg.stack_cell + 4
    return _round((math.sqrt(b * b + 4 * (block_budget(cfg) - cfg.stack_cell - 3)) - b) / 2)
