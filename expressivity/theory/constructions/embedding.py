"""A construction inside a larger stack: the same weights where its layers are, every other block zeroed.

    big = embed(constructions.build("state_based_recall").model, "GGGA")   # GGA's blocks at layers 0, 1 and 3

Why this is exact: a block adds its sublayers' outputs to the residual, x + f(norm(x)) (pre-norm) or x + norm(f(x))
(Olmo's attention form), and with every weight of f zero f's output is exactly zero, so the block is the identity:
- attention: q = k = v = 0 (QK-norm of a zero vector is zero: it multiplies by 1/sqrt(eps)), so the output is 0;
- GDN, DeltaNet, DeltaProduct: q, k, v, the output gate and the decay's input are 0, the short convolution gives
  silu(0) = 0, the L2 norm of a zero key is zero (F.normalize divides by max(|x|, eps); Olmo's form multiplies by
  1/sqrt(|x|^2 + 1e-6)), so the state stays 0 whatever beta and the decay are, and the gated RMSNorm of a zero
  output is zero (0 * 1/sqrt(eps)), before a zero output projection;
- the diagonal recurrence: the same, with k = v = 0;
- the LSTM: with zero weights and biases c_t = c_{t-1}/2 + tanh(0)/2 = 0 and h_t = tanh(0)/2 = 0;
- SwiGLU: silu(0) * 0 = 0; and the post-norm form norms that zero to zero.
Only a block without a residual (block="plain", an LSTM alone) is not the identity at zero; `embed` refuses it.
tests/theory/test_theory_embedding.py checks each kind's zeroed block returns its input exactly.

So any stack that has a construction's layers as a subsequence, in order, runs the construction: the theory's EXPRESS
rules read this (rules.embeds), and the same test runs state-based recall embedded in GGGA and GAGA.
"""

from __future__ import annotations

import dataclasses

import torch


def positions(layers: str, pattern: str) -> list[int] | None:
    """Where `layers` sits in `pattern` as a subsequence (the leftmost match), or None when it does not."""
    out, start = [], 0
    for letter in layers:
        found = pattern.find(letter, start)
        if found < 0:
            return None
        out.append(found)
        start = found + 1
    return out


@torch.no_grad()
def zero_block(block: torch.nn.Module) -> None:
    """Every weight of the block zero (norms, decays and biases included): the identity, as the docstring shows."""
    for p in block.parameters():
        p.zero_()


@torch.no_grad()
def embed(model, pattern: str):
    """`model` (a SequenceModel) inside the stack `pattern`: its embedding, final norm and head, its blocks at the
    leftmost positions where its layers occur in `pattern` in order, and every other block zeroed. Same dtype and
    config otherwise (a letter `model` has none of gets no MLP). Bad pattern, or `model`'s layers not a subsequence
    of it -> ValueError."""
    from expressivity.architectures import SequenceModel
    from expressivity.architectures.models import parse_pattern

    cfg = model.cfg
    letters = parse_pattern(pattern)
    at = positions(cfg.layers, letters)
    if at is None:
        raise ValueError(f"the model's layers {cfg.layers} are not a subsequence of pattern {pattern!r}")
    if cfg.block == "plain":
        raise ValueError("block='plain' has no residual: a zeroed block is not the identity there")
    # the extra blocks are zero whatever their widths: a letter the model lacks gets no MLP (a zero-width one)
    widths = {c: cfg.mlp_widths.get(c, 0) for c in set(letters) - {"L"}}
    big_cfg = dataclasses.replace(cfg, layers=letters, mlp_widths=widths, lstm_hidden=cfg.lstm_hidden or cfg.d_model)
    first = next(model.parameters())
    big = SequenceModel(big_cfg).to(dtype=first.dtype, device=first.device)
    for j, block in enumerate(big.blocks):
        if j not in at:
            zero_block(block)
    for i, j in enumerate(at):
        big.blocks[j].load_state_dict(model.blocks[i].state_dict())
    big.embed.load_state_dict(model.embed.state_dict())
    big.norm.load_state_dict(model.norm.state_dict())
    big.head.load_state_dict(model.head.state_dict())  # tied: the embedding again
    return big.train(model.training)
