"""Shortcuts: named guessers that read a task's input but skip the computation it tests, and what they score.

A task's `chance` is the figure its paper scales accuracy with; an input-only rule can beat it without solving the
task, e.g. the majority symbol of a short copy's input. Each guesser here is one such cheap rule:

    from expressivity.tasks import make, shortcuts
    shortcuts.measure(make("copy"), 8, np.random.default_rng(0), 4000)
    # {'position_prior': 0.062, 'majority_symbol': 0.258, 'first_symbol': 0.18, 'last_symbol': 0.18}

A guesser is `guess(ref, batch) -> (B, T) int64`, the predicted id at every position (only scored ones count). It
reads `batch.inputs` (never its targets or mask) and `ref`, a `Reference`: the task, the length and an independent
sample of it with its targets (what a learner knows from training data: which answers are common where). Accuracy is
the task's headline metric (`Task.scored_by`: the last scored position, or every scored position pooled). Each task
declares its best guesser's expected accuracy as `Task.shortcut_acc(length)` (closed forms in shortcut_math.py,
measured tables in shortcut_tables.py); tests/tasks/test_shortcuts.py measures every guesser here against it.

Generic guessers apply to every task; `SPECIFIC` adds a task's own. "Symbols" are the input tokens that also occur
as answers (bits, letters, values); copying one is right when the answer happens to be that copy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from expressivity.tasks.base import BOS_ID, PAD_ID, Batch, Task


@dataclass(frozen=True)
class Reference:
    """What a guesser may know besides the inputs: the task, the length and an independent sample of it."""

    task: Task
    length: int
    sample: Batch

    @property
    def answers(self) -> np.ndarray:
        """Sorted ids that occur as scored targets in the reference sample: the answer alphabet."""
        return np.unique(self.sample.targets[self.sample.mask])


Guesser = Callable[[Reference, Batch], np.ndarray]
GUESSERS: dict[str, Guesser] = {}


def guesser(fn: Guesser) -> Guesser:
    """Decorator: register a guesser under its function name (its docstring says what it does)."""
    GUESSERS[fn.__name__] = fn
    return fn


# ---- reading inputs -----------------------------------------------------------------------------------------------
def distance_to_end(inputs: np.ndarray) -> np.ndarray:
    """(B, T) int: how many tokens after each position the example's input ends (0 at its last token, negative in
    its padding). Answers sit at fixed distances from the end (a final query, a row of blanks), whatever T is."""
    last = inputs.shape[1] - 1 - np.argmax((inputs != PAD_ID)[:, ::-1], axis=1)
    return last[:, None] - np.arange(inputs.shape[1])


def symbols(ref: Reference, inputs: np.ndarray) -> np.ndarray:
    """(B, T) bool: input tokens that are possible answers."""
    return np.isin(inputs, ref.answers) & (inputs != PAD_ID) & (inputs != BOS_ID)


def row_mode(values: np.ndarray, keep: np.ndarray, vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the most frequent id among `values` where `keep` (ties: the smallest id), and whether any was kept."""
    counts = np.zeros((values.shape[0], vocab_size), np.int64)
    rows = np.broadcast_to(np.arange(values.shape[0])[:, None], values.shape)
    np.add.at(counts, (rows[keep], values[keep]), 1)
    return counts.argmax(axis=1), counts.max(axis=1) > 0


def per_row(batch: Batch, ids: np.ndarray) -> np.ndarray:
    """(B,) ids -> (B, T): the same guess at every position of a row."""
    return np.repeat(np.asarray(ids, np.int64)[:, None], batch.seq_len, axis=1)


FEATURE_VALUES = 1 << 16  # a fitted feature takes values below this


def fitted(ref: Reference, batch: Batch, feature: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """The most frequent reference answer at each distance from the end and value of `feature` (inputs (B, T) ->
    small non-negative ints (B, T) or (B,)), read off the reference sample; unseen cells get its commonest answer."""

    def keys(inputs: np.ndarray) -> np.ndarray:
        dist = np.maximum(distance_to_end(inputs), 0)
        f = np.zeros(inputs.shape, np.int64) if feature is None else feature(inputs)
        f = np.broadcast_to(f[:, None] if f.ndim == 1 else f, inputs.shape)
        return dist * FEATURE_VALUES + f

    s, vocab = ref.sample, len(ref.task.vocab)
    ref_keys, ref_answers = keys(s.inputs)[s.mask], s.targets[s.mask]
    cells, counts = np.unique(ref_keys * vocab + ref_answers, return_counts=True)
    cell_key, cell_answer = np.divmod(cells, vocab)
    # Per key, the answer with the largest count: sort by (key, count) and keep each key's last entry.
    order = np.lexsort((counts, cell_key))
    last = np.r_[cell_key[order][1:] != cell_key[order][:-1], True]
    known, best = cell_key[order][last], cell_answer[order][last]
    fallback = np.bincount(ref_answers, minlength=vocab).argmax()
    k = keys(batch.inputs)
    at = np.clip(np.searchsorted(known, k), 0, len(known) - 1)
    return np.where(known[at] == k, best[at], fallback)


# ---- generic guessers ---------------------------------------------------------------------------------------------
@guesser
def position_prior(ref: Reference, batch: Batch) -> np.ndarray:
    """The most frequent answer at this position (counted from the end of the input), given the length. For a
    final-answer task: its most frequent answer, which for uniform answers is chance."""
    return fitted(ref, batch)


@guesser
def majority_symbol(ref: Reference, batch: Batch) -> np.ndarray:
    """Copy the most frequent symbol of the input (ties: the smallest id) to every position."""
    mode, found = row_mode(batch.inputs, symbols(ref, batch.inputs), len(ref.task.vocab))
    return np.where(found[:, None], per_row(batch, mode), position_prior(ref, batch))


@guesser
def first_symbol(ref: Reference, batch: Batch) -> np.ndarray:
    """Copy the first symbol of the input to every position."""
    ok = symbols(ref, batch.inputs)
    first = np.take_along_axis(batch.inputs, ok.argmax(axis=1)[:, None], axis=1)[:, 0]
    return np.where(ok.any(axis=1)[:, None], per_row(batch, first), position_prior(ref, batch))


@guesser
def last_symbol(ref: Reference, batch: Batch) -> np.ndarray:
    """At each position, copy the latest symbol of the input at or before it."""
    ok = symbols(ref, batch.inputs)
    latest = np.maximum.accumulate(np.where(ok, np.arange(batch.seq_len), -1), axis=1)
    copied = np.take_along_axis(batch.inputs, np.maximum(latest, 0), axis=1)
    return np.where(latest >= 0, copied, position_prior(ref, batch))


GENERIC = ("position_prior", "majority_symbol", "first_symbol", "last_symbol")

# Task-specific guessers, registered in shortcuts_specific.py (imported at the end of this module).
SPECIFIC: dict[str, tuple[str, ...]] = {}


def guessers_for(task: Task | str) -> tuple[str, ...]:
    """Names of the guessers that apply to a task: the generic ones, then the task's own."""
    name = task if isinstance(task, str) else task.name
    return GENERIC + SPECIFIC.get(name, ())


# ---- scoring ------------------------------------------------------------------------------------------------------
def headline_counts(task: Task, batch: Batch, preds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per example (hits, scored) in the task's headline metric: the last scored position, or every one."""
    correct = (preds == batch.targets) & batch.mask
    if task.scored_by == "final":
        last = batch.seq_len - 1 - np.argmax(batch.mask[:, ::-1], axis=1)
        return correct[np.arange(batch.batch_size), last].astype(np.float64), np.ones(batch.batch_size)
    return correct.sum(axis=1, dtype=np.float64), batch.mask.sum(axis=1, dtype=np.float64)


def accuracy_and_error(hits: np.ndarray, scored: np.ndarray) -> tuple[float, float]:
    """Pooled accuracy sum(hits) / sum(scored) and its standard error over examples (a ratio estimator: the positions
    of one example are not independent, e.g. a majority guess is right at every repeat of its symbol)."""
    acc = hits.sum() / scored.sum()
    if len(hits) < 2:
        return float(acc), float("inf")
    resid = hits - acc * scored
    return float(acc), float(np.sqrt(resid.var(ddof=1) / len(hits)) / scored.mean())


def measure(
    task: Task, length: int, rng: np.random.Generator, n: int, *, errors: bool = False, chunk: int = 1024
) -> dict:
    """{guesser: headline accuracy} of every guesser that applies to `task`, on n examples at `length`; with `errors`,
    {guesser: (accuracy, standard error)}. The reference sample (n examples, at most 8192) is drawn first from the
    same rng, then the test examples in chunks of `chunk` (memory stays bounded at long lengths)."""
    ref = Reference(task, length, task.sample(rng, min(n, 8192), length))
    names = guessers_for(task)
    hits: dict[str, list] = {name: [] for name in names}
    scored: list = []
    for start in range(0, n, chunk):
        batch = task.sample(rng, min(chunk, n - start), length)
        blind = Batch(inputs=batch.inputs, targets=np.zeros_like(batch.targets), mask=np.zeros_like(batch.mask))
        for name in names:
            h, s = headline_counts(task, batch, GUESSERS[name](ref, blind))
            hits[name].append(h)
        scored.append(s)
    total = np.concatenate(scored)
    out = {}
    for name in names:
        acc, se = accuracy_and_error(np.concatenate(hits[name]), total)
        out[name] = (acc, se) if errors else acc
    return out


def best(task: Task, length: int, rng: np.random.Generator, n: int) -> tuple[float, str]:
    """(accuracy, name) of the best guesser measured at `length`: how a table in shortcut_tables.py is made."""
    scores = measure(task, length, rng, n)
    name = max(scores, key=scores.get)
    return scores[name], name
