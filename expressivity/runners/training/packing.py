"""Packed training rows: a step's examples laid end to end in rows of one fixed length, instead of one example per row
padded to the batch's longest. An execution choice, like padding and capture, not part of a run's key: a run trains
the same whether packed or not, to float rounding (`--pack N` or `--pack auto` on train, grid and reproduce, the
environment's EXPRESSIVITY_PACK for every run of a process, or `train(..., packed_length=N)`; off by default).

    rows = pack(batch, 128)            # Packed: inputs, targets, mask, pos, ends, each (R, 128)
    rows = pack_stack([b0, b1], 128)   # M runs' batches packed, stacked to (M, R, 128) with R a multiple of ROW_STEP
    fusion.row_length(configs, "auto") # the row length these runs train with: 0 where packing cannot help or work

Why: with a length drawn per example (Grazzi et al.'s 3-40), padding to the longest example doubles a step's tokens,
and every per-token kernel of the step pays for it. Packed, a row holds several examples and little padding.

What keeps examples apart is `pos`, each token's position within its own example (0 at its first token). The models
read it (SequenceModel.forward(inputs, pos)): attention masks out other examples and restarts RoPE at 0, the short
convolutions see no token of an earlier example, and the recurrences restart their state at each pos == 0 (a
delta-rule layer's log decay is set to RESET_LOG_DECAY there, a diagonal one's decay to its exp, about 1e-13). So
every example is computed as it would be alone (tests/runners/test_packing.py compares packed against padded,
outputs and gradients).
A row's tail after its last example is padding: unscored, and its own segment (pos restarts at 0).

The loss is unchanged: a run's loss is its mean over scored positions, and packing moves no scored position in or
out. `ends` marks each example's last scored position, so the training window still counts examples and final
answers (evaluate.batch_counts), not rows. Packing uses no randomness: examples go longest first into the first row
with room (first-fit decreasing), ties in batch order, so the same batch always packs the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from expressivity.tasks import PAD_ID, Batch

ROW_STEP = 8  # a fused step's row count is rounded up to a multiple of this: captured steps see few shapes


@dataclass(frozen=True)
class Packed:
    """One batch packed into rows of one length L: inputs, targets int64, mask bool, pos int64 (each token's position
    within its example) and ends bool (each example's last scored position), each (R, L) or, stacked, (M, R, L)."""

    inputs: np.ndarray
    targets: np.ndarray
    mask: np.ndarray
    pos: np.ndarray
    ends: np.ndarray

    def arrays(self) -> tuple[np.ndarray, ...]:
        return self.inputs, self.targets, self.mask, self.pos, self.ends


def example_lengths(batch: Batch) -> np.ndarray:
    """Each example's own length: through its last non-padding input or scored position (padding after it, which a
    causal model never reads back, is dropped)."""
    used = (batch.inputs != PAD_ID) | batch.mask
    T = used.shape[1]
    return np.where(used.any(1), T - np.argmax(used[:, ::-1], axis=1), 0)


def first_fit(lengths: np.ndarray, row_length: int) -> list[list[int]]:
    """Example indices by row: longest first, each into the first row with room (first-fit decreasing)."""
    order = sorted(range(len(lengths)), key=lambda i: -int(lengths[i]))  # stable: ties keep batch order
    rows: list[list[int]] = []
    room: list[int] = []
    for i in order:
        n = int(lengths[i])
        for r, left in enumerate(room):
            if n <= left:
                rows[r].append(i)
                room[r] -= n
                break
        else:
            rows.append([i])
            room.append(row_length - n)
    return rows


def pack(batch: Batch, row_length: int) -> Packed:
    """`batch`'s examples packed into as many rows of `row_length` tokens as they fill. An example longer than a row
    -> ValueError naming both."""
    lengths = _checked_lengths(batch, row_length)
    return _fill(batch, lengths, first_fit(lengths, row_length), row_length, 0)


def _checked_lengths(batch: Batch, row_length: int) -> np.ndarray:
    lengths = example_lengths(batch)
    if lengths.max(initial=0) > row_length:
        raise ValueError(
            f"packed rows of {row_length} tokens are shorter than a training example ({int(lengths.max())} tokens); "
            f"give rows at least as long as the longest example"
        )
    return lengths


def _fill(batch: Batch, lengths: np.ndarray, layout: list[list[int]], row_length: int, rows: int) -> Packed:
    R = max(len(layout), rows)
    inputs = np.full((R, row_length), PAD_ID, np.int64)
    targets = np.full((R, row_length), PAD_ID, np.int64)
    mask = np.zeros((R, row_length), bool)
    pos = np.tile(np.arange(row_length), (R, 1))  # an empty row: one padding segment
    ends = np.zeros((R, row_length), bool)
    for r, members in enumerate(layout):
        at = 0
        for i in members:
            n = int(lengths[i])
            inputs[r, at : at + n] = batch.inputs[i, :n]
            targets[r, at : at + n] = batch.targets[i, :n]
            mask[r, at : at + n] = batch.mask[i, :n]
            pos[r, at : at + n] = np.arange(n)
            scored = np.flatnonzero(batch.mask[i, :n])
            if scored.size:
                ends[r, at + scored[-1]] = True
            at += n
        pos[r, at:] = np.arange(row_length - at)  # the tail: a segment of its own
    return Packed(inputs, targets, mask, pos, ends)


def rows_needed(batches: list[Batch], row_length: int) -> int:
    """The most rows any of these batches fills, packed into rows of `row_length` tokens."""
    return max(len(first_fit(_checked_lengths(b, row_length), row_length)) for b in batches)


def pack_stack(batches: list[Batch], row_length: int, least_rows: int = 0) -> Packed:
    """M runs' batches packed, each to the same row count -> (M, R, L): `least_rows` where every batch fits in it,
    else the most any needs rounded up to ROW_STEP (so a captured step meets few shapes)."""
    lengths = [_checked_lengths(b, row_length) for b in batches]
    layouts = [first_fit(n, row_length) for n in lengths]
    R = max(least_rows, ROW_STEP * math.ceil(max(len(rows) for rows in layouts) / ROW_STEP))
    packs = [_fill(b, n, rows, row_length, R) for b, n, rows in zip(batches, lengths, layouts, strict=True)]
    return Packed(*(np.stack(parts) for parts in zip(*(p.arrays() for p in packs), strict=True)))
