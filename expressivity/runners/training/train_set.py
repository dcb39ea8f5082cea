"""A fixed training set and a held-out validation set: the shape of Illusion of State's protocol (a set of sequences
drawn once, trained on for epochs, stopped early on validation accuracy), beside the default of fresh examples at
every step.

    train_examples=N   the run draws N examples once (the batches its steps 0, 1, ... would draw, concatenated and
                       cut at N, so the set follows the run's lengths, length sampling and mixture); step s takes the
                       next batch_size of them in an order reshuffled every epoch
    val_examples=V     V held-out examples at the training lengths, drawn once from a stream of their own (never the
                       test stream); at each check the early stop (`target_acc`) reads their accuracy instead of the
                       training window's, which on a fixed set measures the fit to examples already seen

Both are functions of (task, training config, seed) alone: a resumed or fused run sees the same sets and the same
order. Sets are held as int32 (inputs, targets) and bool (mask), 9 bytes a token; `limits.check_run` counts them.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from expressivity.tasks import PAD_ID, Batch

SET_STREAM, VALID_STREAM = 5, 6  # beside batches.py's streams 0-4
BYTES_PER_TOKEN = 9
# Keys that change what the sets hold (the data keys); the rest of the training config does not touch them.
DATA_KEYS = ("batch_size", "train_min_length", "train_max_length", "length_schedule", "length_sampling", "mixture")


def check_sets(train: dict) -> None:
    """One-line errors for set keys that cannot work together (resolve calls it)."""
    if train.get("train_examples") is None:
        return
    # (curriculum_also comes only beside curriculum_param: run_tasks.py)
    if train.get("curriculum_param") is not None or train.get("length_schedule") == "increasing":
        raise ValueError(
            "train_examples draws the training set once, so it cannot follow a curriculum (curriculum_param or "
            "length_schedule=increasing); use length_schedule=uniform or fixed, or leave train_examples unset"
        )


@dataclass(frozen=True)
class Stored:
    """Examples drawn once: inputs and targets int32 (N, T), mask bool (N, T), padded to the longest; `lengths` (N,)
    each example's tokens, so a batch is cut to its own longest."""

    inputs: np.ndarray
    targets: np.ndarray
    mask: np.ndarray
    lengths: np.ndarray

    def __len__(self) -> int:
        return len(self.lengths)

    def take(self, rows: np.ndarray) -> Batch:
        T = int(self.lengths[rows].max())
        return Batch(
            inputs=self.inputs[rows, :T].astype(np.int64),
            targets=self.targets[rows, :T].astype(np.int64),
            mask=self.mask[rows, :T],
        )


def draw(make_chunk: Callable[[int], Batch], n: int) -> Stored:
    """make_chunk(0), make_chunk(1), ... concatenated until n examples, cut at n."""
    chunks, have = [], 0
    while have < n:
        chunks.append(make_chunk(len(chunks)))
        have += chunks[-1].batch_size
    T = max(c.seq_len for c in chunks)
    inputs = np.full((have, T), PAD_ID, np.int32)
    targets = np.full((have, T), PAD_ID, np.int32)
    mask = np.zeros((have, T), bool)
    lengths = np.zeros(have, np.int64)
    row = 0
    for c in chunks:
        rows = slice(row, row + c.batch_size)
        inputs[rows, : c.seq_len], targets[rows, : c.seq_len], mask[rows, : c.seq_len] = c.inputs, c.targets, c.mask
        # An example ends at its last non-pad token (batches of mixed lengths pad inside the chunk too).
        real = c.inputs != PAD_ID
        lengths[rows] = np.where(real.any(1), c.seq_len - np.argmax(real[:, ::-1], axis=1), 1)
        row += c.batch_size
    return Stored(inputs[:n], targets[:n], mask[:n], lengths[:n])


_lock = threading.Lock()  # the prefetcher's threads ask for a set at once: draw it once
_drawn: dict[str, Stored] = {}  # the last few sets drawn, oldest first
KEEP = 8


def drawn_once(key: str, make_chunk: Callable[[int], Batch], n: int) -> Stored:
    """The set named `key` (a description of everything it depends on), drawn on first use and then shared."""
    with _lock:
        if key not in _drawn:
            _drawn[key] = draw(make_chunk, n)
            while len(_drawn) > KEEP:
                del _drawn[next(iter(_drawn))]
        return _drawn[key]


@functools.lru_cache(maxsize=4)
def _epoch_order(seed: int, n: int, epoch: int) -> np.ndarray:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(SET_STREAM, epoch))).permutation(n)


def epoch_rows(seed: int, n: int, step: int, batch_size: int) -> np.ndarray:
    """The set's rows step `step` trains on: the next `batch_size` of an order reshuffled every epoch (a batch at an
    epoch's end takes the rest of it and the start of the next)."""
    positions = step * batch_size + np.arange(batch_size)
    epochs, within = np.divmod(positions, n)
    return np.concatenate([_epoch_order(seed, n, int(e))[within[epochs == e]] for e in np.unique(epochs)])


def validation_accuracy(logits_of: Callable, val: Stored, batch_size: int, runs: int | None = None):
    """(final_acc, token_acc) of a model on `val`, in chunks of `batch_size`. `logits_of(inputs)` maps int64 inputs
    (B, T) to logits (B, T, V); for a fused group (`runs` = M) it maps (M, B, T) to (M, B, T, V), every run seeing
    its own rows (`val` then stacks the runs' sets: arrays (M, N, T)) and the result is a list of M pairs."""
    import torch

    from expressivity.runners.training.evaluate import stacked_counts

    n = val.inputs.shape[-2]
    totals = None
    for start in range(0, n, batch_size):
        rows = slice(start, min(n, start + batch_size))
        T = int(val.lengths[..., rows].max())
        inputs = torch.from_numpy(val.inputs[..., rows, :T].astype(np.int64))
        targets = torch.from_numpy(val.targets[..., rows, :T].astype(np.int64))
        mask = torch.from_numpy(val.mask[..., rows, :T])
        with torch.no_grad():
            logits = logits_of(inputs)
            device = logits.device
            targets, mask = targets.to(device), mask.to(device)
            if runs is None:
                logits, targets, mask = logits[None], targets[None], mask[None]
            counts = stacked_counts(logits.float(), targets, mask).double()  # (M, 4): final, token, scored, examples
        totals = counts if totals is None else totals + counts
    pairs = [(float(c[0] / c[3]), float(c[1] / c[2])) for c in totals.cpu()]
    return pairs if runs is not None else pairs[0]


def stack(sets: list[Stored]) -> Stored:
    """M runs' sets of equal size -> one with arrays (M, N, T), padded to the longest T."""
    T = max(s.inputs.shape[1] for s in sets)

    def padded(a: np.ndarray, fill) -> np.ndarray:
        out = np.full((a.shape[0], T), fill, a.dtype)
        out[:, : a.shape[1]] = a
        return out

    return Stored(
        inputs=np.stack([padded(s.inputs, PAD_ID) for s in sets]),
        targets=np.stack([padded(s.targets, PAD_ID) for s in sets]),
        mask=np.stack([padded(s.mask, False) for s in sets]),
        lengths=np.stack([s.lengths for s in sets]),
    )
