"""The task contract every generator follows, and the one task registry.

A task turns `(rng, batch_size, length)` into a `Batch` of token ids with aligned labels:

    inputs  int64 (B, T)   position 0 is BOS; examples shorter than T are right-padded with PAD
    targets int64 (B, T)   targets[b, t] is what the model must output having read inputs[b, :t+1]; PAD where unscored
    mask    bool  (B, T)   the scored positions

The vocabulary is fixed by the task's parameters, never by `length`: PAD is id 0, BOS id 1, then the task's symbols.
`length` is the task's own size (group elements, string length, formula symbols, ...), documented per task.
"""

from __future__ import annotations

import abc
import functools
import inspect
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

PAD, BOS = "<pad>", "<bos>"
PAD_ID, BOS_ID = 0, 1
SHORTCUT_TOLERANCE = 0.01  # a shortcut has vanished once it is within this of chance
# Where a task without a closed form finds its declared shortcut: shortcut_tables.py registers its `declared` and
# `vanishes_at` here when the package loads (it reads Task's API, so this module cannot import it: no import circles).
SHORTCUT_SOURCES: dict[str, Any] = {}
SHORTCUT_LENGTH = 8  # the length `info` (and `expressivity tasks`) reports the shortcut at, or the nearest valid one


@dataclass(frozen=True)
class Batch:
    """One batch of examples: `inputs`, `targets` int64 (B, T) and `mask` bool (B, T)."""

    inputs: np.ndarray
    targets: np.ndarray
    mask: np.ndarray

    @property
    def batch_size(self) -> int:
        return self.inputs.shape[0]

    @property
    def seq_len(self) -> int:
        return self.inputs.shape[1]


class Task(abc.ABC):
    """Base class of every task. Subclasses:

    - take their parameters as keyword-only `__init__` arguments, each with a default, store each one as an attribute
      of the same name, validate them (raising `ValueError` with a one-line message) and call `self._set_symbols(...)`;
    - set the class attributes `name`, `family`, `level` (Chomsky level or complexity class), `length_unit`
      (what `length` counts) and, where the task cannot make every length, `min_length` / `max_length`;
    - implement `_sample(rng, batch_size, length) -> Batch` (vectorised over the batch) and the `chance` property;
    - declare their shortcut: `_shortcut_exact(length)` in closed form, or a measured table in shortcut_tables.py;
    - set `scored_by = "token"` when the answer is a sequence of scored positions.
    """

    name: ClassVar[str] = ""
    family: ClassVar[str] = ""
    level: ClassVar[str] = ""
    length_unit: ClassVar[str] = ""
    min_length: ClassVar[int] = 1
    max_length: ClassVar[int | None] = None
    # Which accuracy scaled accuracy (the headline of tables and of `theory.check`) is taken from: "final", the last
    # scored position (a final-answer task's answer, a running task's state after the whole sequence), or "token",
    # every scored position pooled, where the answer is itself a sequence (the transductions of Deletang et al.,
    # multi-digit answers), so that one position of it is not the headline.
    scored_by: ClassVar[str] = "final"
    # How T (tokens of one example) grows with `length`: T ~ length ** growth. Linear for every task but padded
    # formulas; memory estimates (runners/training/limits.py) extrapolate with it.
    growth: float = 1.0

    # What theory reads: complexity facts a task declares about itself (theory/facts.py derives every property it
    # matches from these and from `level`, never from a task's name).
    star_free: bool = False  # a star-free (aperiodic) regular language
    finite_state: bool = False  # a finite-state program (so regular), where `level` names a circuit class instead
    nonregular: bool = False  # needs unbounded memory, where `level` names a circuit class instead
    state_grows: bool = False  # the state it needs grows with `length` (every item may be asked for)
    # How an answer is found again in the input: "indexed" (an item by the index the input writes), "state" (by a
    # tracked pointer), "key" (by content: the token after an earlier occurrence of a key) or "position" (the input
    # position an output position names, e.g. copying or reversing).
    recall: str | None = None
    swap_word_problem: bool = False  # one transposition of `swap_items` items per step: a word problem of S_k
    padded: bool = False  # polynomially padded input (boolean formulas): an NC1 evaluation gets the depth it needs
    # Why the task is in (uniform) TC0, where `level` names a Chomsky level instead ("" where not known or not so).
    in_tc0: str = ""
    # A class the task is complete for where `level` names another: "NC1" (arithmetic formulas with `*`).
    complete_for: str | None = None
    # A regular task whose transition monoid contains only solvable groups (so it is in TC0), where no declared group
    # says so: how to see it.
    solvable_monoid: str = ""
    # A block of at most two tokens whose repetition makes the answer cycle with period >= 2, described ("" if none
    # is declared; a word problem's single elements are found from its group). Linear RNNs whose transitions have
    # nonnegative real eigenvalues settle on a repeated block, so cannot follow it.
    cycling_run: str = ""

    @property
    def word_group(self) -> str | None:
        """The group whose word problem this task is (one element per step; "Z2" for parity), or None."""
        return None

    @property
    def summed_group(self) -> str | None:
        """A group whose elements the task combines without being its word problem (modular arithmetic: Z_m)."""
        return None

    @property
    def swap_items(self) -> int | None:
        """How many items the task tracks under swaps (a state in S_k), or None."""
        return None

    vocab: list[str]

    # ---- vocabulary -------------------------------------------------------------------------------------------------
    def _set_symbols(self, symbols: list[str]) -> None:
        """Fix the vocabulary as [PAD, BOS, *symbols]; a token's id is its index."""
        vocab = [PAD, BOS, *symbols]
        if len(set(vocab)) != len(vocab):
            dupes = sorted({s for s in vocab if vocab.count(s) > 1})
            raise ValueError(f"{self.name}: duplicate tokens in vocabulary: {dupes}")
        self.vocab = vocab
        self.token_id = {tok: i for i, tok in enumerate(vocab)}

    def ids(self, tokens: list[str] | str) -> np.ndarray:
        """Token strings (a list, or one whitespace-separated string) -> int64 ids."""
        if isinstance(tokens, str):
            tokens = tokens.split()
        return np.array([self.token_id[t] for t in tokens], dtype=np.int64)

    def decode(self, ids) -> list[str]:
        """Token ids -> token strings (PAD included; callers drop it where they want)."""
        return [self.vocab[int(i)] for i in np.asarray(ids).reshape(-1)]

    # ---- parameters and metadata ------------------------------------------------------------------------------------
    @classmethod
    def param_defaults(cls) -> dict[str, Any]:
        """The task's parameters and their defaults, read from `__init__`'s signature (once a class: grids and
        tables ask it for every run they resolve, and reading a signature was most of their time)."""
        return dict(_keyword_defaults(cls.__init__))

    @property
    def params(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.param_defaults()}

    @property
    @abc.abstractmethod
    def chance(self) -> float:
        """Accuracy of the best guess that skips the computation the task tests: for most tasks, guessing a scored
        position without reading the input (1/|G|, or 1/2 for balanced labels); where the input gives a better guess
        away (the pointer tasks: the majority of the tracked values), that guess. Scaled accuracy is 0 here."""

    # ---- shortcuts (tasks/shortcuts.py): input-only guesses that skip the computation --------------------------------
    def shortcut_acc(self, length: int) -> float:
        """Expected headline accuracy (`scored_by`) at `length` of the best guesser in `tasks.shortcuts` for this task:
        rules that read the input but skip the computation (copy the majority symbol, the commonest answer at this
        position, a direct edge, ...). `chance` stays the paper's figure, so scaled accuracy compares with published
        numbers; a score at or below `shortcut_acc` shows no more than such a rule. Closed forms where the generating
        law gives one (shortcut_math.py), else the table in shortcut_tables.py, else measured once (seeded)."""
        return self._shortcut_memo(length)[0]

    def shortcut_name(self, length: int) -> str:
        """Which guesser of `tasks.shortcuts` reaches `shortcut_acc(length)`."""
        return self._shortcut_memo(length)[1]

    @property
    def shortcut_vanishes_at(self) -> int | None:
        """The length from which on `shortcut_acc` stays within SHORTCUT_TOLERANCE of `chance`: `min_length` when no
        shortcut beats chance, None when one persists (still above it at the longest length searched, 4096, or at
        the last length of a measured table)."""
        if "_vanishes_at" not in self.__dict__:
            self._vanishes_at = SHORTCUT_SOURCES["vanishes_at"](self)
        return self._vanishes_at

    def _shortcut_exact(self, length: int) -> tuple[float, str] | None:
        """(accuracy, guesser name) of the best shortcut at a valid `length`, in closed form, or None where the task
        has none (for these parameters): then the measured table of shortcut_tables.py, or a seeded measurement."""
        return None

    def _shortcut_memo(self, length: int) -> tuple[float, str]:
        self.check_length(length)
        memo = self.__dict__.setdefault("_shortcuts", {})
        if length not in memo:
            acc, name = self._shortcut_exact(int(length)) or SHORTCUT_SOURCES["declared"](self, int(length))
            memo[length] = (float(acc), name)
        return memo[length]

    @property
    def shortcut_length(self) -> int:
        """The reference length `info` reports the shortcut at: SHORTCUT_LENGTH, or the nearest valid length."""
        hi = SHORTCUT_LENGTH if self.max_length is None else min(SHORTCUT_LENGTH, self.max_length)
        return max(self.min_length, hi)

    @property
    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "family": self.family,
            "level": self.level,
            "length_unit": self.length_unit,
            "params": self.params,
            "chance": self.chance,
            "shortcut_acc": self.shortcut_acc(self.shortcut_length),
            "shortcut_name": self.shortcut_name(self.shortcut_length),
            "shortcut_length": self.shortcut_length,
            "vocab_size": len(self.vocab),
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.name}({args})"

    # ---- sampling ---------------------------------------------------------------------------------------------------
    def check_length(self, length: int) -> None:
        if not isinstance(length, (int, np.integer)) or isinstance(length, bool):
            raise ValueError(f"length must be an integer, got {length!r}")
        hi = "" if self.max_length is None else f" and <= {self.max_length}"
        if length < self.min_length or (self.max_length is not None and length > self.max_length):
            bounds = f">= {self.min_length}{hi}"
            raise ValueError(f"length for {self.name} must be {bounds} ({self.length_unit}); got {length}")

    def sample(self, rng: np.random.Generator, batch_size: int, length: int) -> Batch:
        """Draw a batch. Same rng state in, same batch out; nothing touches global random state."""
        if not isinstance(rng, np.random.Generator):
            raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.check_length(length)
        return self._sample(rng, int(batch_size), int(length))

    @abc.abstractmethod
    def _sample(self, rng: np.random.Generator, batch_size: int, length: int) -> Batch:
        """Vectorised over the batch; `length` already validated."""

    # ---- display ----------------------------------------------------------------------------------------------------
    def render(self, batch: Batch, i: int) -> str:
        """Example i as two aligned rows: the input tokens, and the target under each scored position."""
        keep = batch.inputs[i] != PAD_ID
        keep[0] = True
        inputs = self.decode(batch.inputs[i][keep])
        scored = zip(batch.targets[i][keep], batch.mask[i][keep], strict=True)
        targets = [self.vocab[t] if m else "." for t, m in scored]
        widths = [max(len(a), len(b)) for a, b in zip(inputs, targets, strict=True)]
        top = " ".join(a.rjust(w) for a, w in zip(inputs, widths, strict=True))
        bottom = " ".join(b.rjust(w) for b, w in zip(targets, widths, strict=True))
        return f"input : {top}\ntarget: {bottom}"


# ---- building batches ---------------------------------------------------------------------------------------------
def uniform_symbols(rng: np.random.Generator, batch_size: int, length: int, count: int) -> np.ndarray:
    """(B, length) uint8, each entry uniform over range(count) (count <= 256) and independent of the others.

    Small codes, not ids: the caller adds its first symbol's id while writing the final int64 arrays, so no int64
    temporary is made (at these speeds its memory traffic, page faults included, costs more than the draws)."""
    if count == 2:
        # Eight fair bits from each uniform byte: 1/8 of the draws of one small integer per bit.
        packed = rng.integers(0, 256, size=(batch_size, (length + 7) // 8), dtype=np.uint8)
        return np.unpackbits(packed, axis=1, count=length)
    return rng.integers(0, count, size=(batch_size, length), dtype=np.uint8)


def pad_stack(batches: list[Batch], T: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """M batches of B examples -> inputs, targets int64 and mask bool, each (M, B, T), T at least the longest."""
    T = max(b.seq_len for b in batches) if T is None else T
    M, B = len(batches), batches[0].batch_size
    inputs = np.full((M, B, T), PAD_ID, np.int64)
    targets = np.full((M, B, T), PAD_ID, np.int64)
    mask = np.zeros((M, B, T), bool)
    for m, b in enumerate(batches):
        inputs[m, :, : b.seq_len], targets[m, :, : b.seq_len], mask[m, :, : b.seq_len] = b.inputs, b.targets, b.mask
    return inputs, targets, mask


def empty_batch(batch_size: int, seq_len: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Uninitialised (inputs int64, targets int64, mask bool), each (B, T) and C-contiguous, carved from ONE
    allocation; the caller writes every element.

    Why one block: glibc raises its mmap threshold to the largest block it has freed, and its heap-trim threshold to
    twice that. A batch's three arrays (8 + 8 + 1 bytes a token), freed together, exceed twice the largest, so the
    heap is trimmed after every batch and the next one page-faults all its memory back in (about 1 us per 4 KiB page
    on the benchmark machine, more than sampling parity takes). As one block, a batch stays under the threshold it
    sets, and its memory is reused."""
    n = batch_size * seq_len
    block = np.empty(17 * n, np.uint8)
    inputs = block[: 8 * n].view(np.int64).reshape(batch_size, seq_len)
    targets = block[8 * n : 16 * n].view(np.int64).reshape(batch_size, seq_len)
    mask = block[16 * n :].view(np.bool_).reshape(batch_size, seq_len)
    return inputs, targets, mask


def put_ids(out: np.ndarray, codes: np.ndarray, offset: int) -> None:
    """out[...] = codes + offset, in one pass and without an int64 temporary (`codes` may be uint8)."""
    if offset:
        np.add(codes, offset, out=out)
    else:
        out[...] = codes  # a plain copy: numpy's add into a strided int64 view runs at half its speed


def with_bos(tokens: np.ndarray, targets: np.ndarray, mask: np.ndarray) -> Batch:
    """Prepend the BOS column (unscored) to (B, L) arrays of ids, labels and mask; clear labels where unscored."""
    b, length = tokens.shape
    # One allocation per output (no concatenate): this runs once per batch for most tasks.
    inputs = np.empty((b, length + 1), np.int64)
    inputs[:, 0] = BOS_ID
    inputs[:, 1:] = tokens
    out_mask = np.zeros((b, length + 1), bool)
    out_mask[:, 1:] = mask
    out_targets = np.zeros((b, length + 1), np.int64)  # PAD_ID is 0: unscored labels stay PAD
    np.copyto(out_targets[:, 1:], targets, where=out_mask[:, 1:])
    return Batch(inputs=inputs, targets=out_targets, mask=out_mask)


# ---- parameter validation (one-line errors naming what is allowed) -------------------------------------------------
def check_choice(task: str, param: str, value: Any, choices) -> None:
    if value not in choices:
        raise ValueError(f"{task}: {param}={value!r} is not valid; choose one of {', '.join(map(str, choices))}")


def check_int(task: str, param: str, value: Any, lo: int | None = None, hi: int | None = None) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise ValueError(f"{task}: {param} must be an integer, got {value!r}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        bounds = f">= {lo}" if hi is None else (f"<= {hi}" if lo is None else f"in [{lo}, {hi}]")
        raise ValueError(f"{task}: {param} must be {bounds}, got {value}")


def check_float(task: str, param: str, value: Any, lo: float | None = None, hi: float | None = None) -> None:
    if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, bool):
        raise ValueError(f"{task}: {param} must be a number, got {value!r}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ValueError(f"{task}: {param} must be in [{lo}, {hi}], got {value}")


# ---- the registry --------------------------------------------------------------------------------------------------
REGISTRY: dict[str, type[Task]] = {}


def register(cls: type[Task]) -> type[Task]:
    """Class decorator: add a task to the one registry under `cls.name`."""
    if not cls.name or cls.name in REGISTRY:
        raise ValueError(f"task name {cls.name!r} is empty or registered twice")
    REGISTRY[cls.name] = cls
    return cls


@functools.cache
def _keyword_defaults(init) -> tuple[tuple[str, Any], ...]:
    """(name, default) of each keyword-only parameter of a task's `__init__`, in order."""
    sig = inspect.signature(init)
    return tuple((p.name, p.default) for p in sig.parameters.values() if p.kind == p.KEYWORD_ONLY)
