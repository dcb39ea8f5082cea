"""State-based recall (the Olmo Hybrid paper's code-execution task) and its two primitives, as Python programs.

- `state_based_recall`: a list of m bits, pointer variables holding distinct indices, n lines that swap (or reassign)
  pointers, then `assert bits[a] == _`. Tracking the pointers is a swap word problem (S_k, NC1-complete for k >= 5);
  reading bits[address] is recall over m items.
- `pointer_tracking`: the same update lines over variables that hold bits; `assert a == _` (tracking only).
- `indexed_recall`: `bits = [...]`, `a = 42`, `assert bits[a] == _` (recall only).

Token layout (see code_tokens): Python tokens, integers as digit tokens, one newline token ending each line; the query
blank `_` is the last token and the only scored position; its target is the answer bit.

The answers of the two tracking tasks are fair coins, yet a model that tracks nothing is right more often than half the
time: the answer is the initial value of some variable, which variable depends only on the update lines, so guessing
the majority of the k initial values (for state_based_recall, the bits at the k initial pointers) is right with
probability E[max(K, k-K)] / k, K ~ Binomial(k, 1/2): 11/16 for k = 5. That guess is their `chance`, so a scaled
accuracy of 0 means no tracking (the first GPU grid, results/olmo-hybrid, found every model at that guess).
"""

from __future__ import annotations

import math

import numpy as np

from expressivity.tasks.base import Batch, check_choice, check_int, register
from expressivity.tasks.code_tokens import LETTERS, NEWLINE, SKIP, CodeTask, digit_slots, joined
from expressivity.tasks.shortcut_math import majority_share

OPS = ("swap", "assign", "mixed")
LINE_WIDTH = 8  # slots per update line: `a , c = c , a \n`; `a = c \n` leaves 4 of them SKIP


def _compose(tables: np.ndarray) -> np.ndarray:
    """(B, n, k) per-line source tables -> (B, k) for the whole program, by pairwise (log-depth) composition.

    Line t sets var v to the value var tables[:, t, v] held before it, so two consecutive stretches of lines compose as
    whole[v] = earlier[later[v]].
    """
    while tables.shape[1] > 1:
        if tables.shape[1] % 2:
            ident = np.broadcast_to(np.arange(tables.shape[2]), (tables.shape[0], 1, tables.shape[2]))
            tables = np.concatenate([tables, ident], axis=1)
        tables = np.take_along_axis(tables[:, 0::2], tables[:, 1::2], axis=2)
    return tables[:, 0]


def majority_guess_accuracy(k: int) -> float:
    """P(the majority of k fair bits equals one of them, chosen independently of the bits) = E[max(K, k-K)] / k."""
    return sum(math.comb(k, ones) * max(ones, k - ones) for ones in range(k + 1)) / (k * 2**k)


class _PointerProgram(CodeTask):
    """Update lines over k single-letter variables, shared by state_based_recall and pointer_tracking."""

    @property
    def chance(self) -> float:
        """The majority guess over the k tracked values, which needs no tracking (see the module docstring)."""
        return majority_guess_accuracy(self.num_vars)

    def _shortcut_exact(self, length: int) -> tuple[float, str]:
        """The chance guess itself (the majority of the tracked values), at every length: no better shortcut is
        named, so scaled accuracy already discounts it."""
        return self.chance, "pointer_majority"

    @property
    def swap_items(self) -> int | None:
        """Swap lines permute the k variables (a state in S_k); copies (`a = c`) alone do not."""
        return self.num_vars if self.ops in ("swap", "mixed") else None

    def _check_vars_and_ops(self, num_vars: int, ops: str) -> None:
        check_int(self.name, "num_vars", num_vars, 2, len(LETTERS))
        check_choice(self.name, "ops", ops, OPS)
        self.num_vars, self.ops = int(num_vars), ops
        self._set_code_vocab(list(LETTERS[: self.num_vars]))

    def _update_lines(self, rng: np.random.Generator, batch_size: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """n random update lines -> (slots (B, n*8), source tables (B, n, k) as in `_compose`)."""
        k, shape = self.num_vars, (batch_size, n)
        x = rng.integers(0, k, size=shape)
        y = (x + rng.integers(1, k, size=shape)) % k  # an ordered pair of distinct variables, uniform
        swap = np.full(shape, self.ops == "swap") if self.ops != "mixed" else rng.integers(0, 2, size=shape) == 1
        tok, nx, ny = self.tok, x + self.name0, y + self.name0
        comma, eq, nl = np.full(shape, tok[","]), np.full(shape, tok["="]), np.full(shape, tok[NEWLINE])
        skip = np.full(shape, SKIP)
        as_swap = np.stack([nx, comma, ny, eq, ny, comma, nx, nl], axis=2)  # a, c = c, a
        as_copy = np.stack([nx, eq, ny, skip, skip, skip, skip, nl], axis=2)  # a = c
        slots = np.where(swap[..., None], as_swap, as_copy).reshape(batch_size, n * LINE_WIDTH)
        tables = np.broadcast_to(np.arange(k), (batch_size, n, k)).copy()
        b, t = np.indices(shape)
        tables[b, t, x] = y
        tables[b, t, y] = np.where(swap, x, y)
        return slots, tables

    def _names_equal_values(self, values_slots: np.ndarray, batch_size: int) -> np.ndarray:
        """`a, b, c = v0, v1, v2 \\n` from (B, k, w) value slots."""
        names = np.broadcast_to((np.arange(self.num_vars) + self.name0)[:, None], (batch_size, self.num_vars, 1))
        return np.concatenate(
            [
                joined(names, self.tok[","]),
                self.const(batch_size, "="),
                joined(values_slots, self.tok[","]),
                self.const(batch_size, NEWLINE),
            ],
            axis=1,
        )


def _bits_line(task: CodeTask, bits: np.ndarray) -> np.ndarray:
    """`bits = [0, 1, 1] \\n` from (B, m) bits."""
    b = bits.shape[0]
    values = (bits + task.digit0)[..., None]
    parts = [task.const(b, "bits", "=", "["), joined(values, task.tok[","]), task.const(b, "]", NEWLINE)]
    return np.concatenate(parts, axis=1)


@register
class StateBasedRecall(_PointerProgram):
    """Pointers into a bit list, permuted by n update lines, then one lookup. `length` counts update lines (n).

        bits = [0, 1, 0, 0, 1, 1, 0, 1]
        a, b, c, d, e = 6, 2, 0, 7, 3
        a, c = c, a
        b, e = e, b
        assert bits[a] == _        # answer: 0   (a now holds 0, and bits[0] = 0)

    Tokens: `bits = [ 0 , 1 , ... ] \\n a , b , ... = 6 , 2 , ... \\n a , c = c , a \\n ... assert bits [ a ] == _`,
    indices as digit tokens; only the final `_` is scored (target: the bit). m (the list size) defaults to
    max(n, num_vars), the paper's n = m sweep. ops: "swap" (`a, c = c, a`: the pointers stay a permutation of distinct
    indices), "assign" (`a = c`, which can duplicate pointers) or "mixed" (each line either, 50/50). The queried
    variable is uniform and the bits are fair coins, so the answer is 0 or 1 with probability 1/2.
    """

    name = "state_based_recall"
    level = "NC1 (S_k swap tracking, NC1-complete for k >= 5) + recall of m bits"
    length_unit = "update lines"
    recall = "state"

    def __init__(self, *, m: int | None = None, num_vars: int = 5, ops: str = "swap"):
        self._check_vars_and_ops(num_vars, ops)
        if m is not None:
            check_int(self.name, "m (list size, at least num_vars)", m, self.num_vars)
            m = int(m)
        self.m = m
        self.state_grows = m is None  # m = max(n, num_vars) bits grow with the lines unless m is fixed

    def _sample(self, rng: np.random.Generator, batch_size: int, length: int) -> Batch:
        m = self.m if self.m is not None else max(length, self.num_vars)
        bits = rng.integers(0, 2, size=(batch_size, m))
        pointers = rng.random((batch_size, m)).argsort(axis=1)[:, : self.num_vars]  # distinct indices, uniform
        init = self._names_equal_values(digit_slots(pointers, len(str(m - 1)), self.digit0), batch_size)
        lines, tables = self._update_lines(rng, batch_size, length)
        queried = rng.integers(0, self.num_vars, size=batch_size)
        rows = np.arange(batch_size)
        address = pointers[rows, _compose(tables)[rows, queried]]
        lookup = np.concatenate([self.const(batch_size, "assert", "bits", "["), (queried + self.name0)[:, None]], 1)
        subject = [_bits_line(self, bits), init, lines, lookup, self.const(batch_size, "]")]
        return self.with_query(subject, bits[rows, address])


@register
class PointerTracking(_PointerProgram):
    """Variables holding bits, permuted by n update lines; ask one variable's bit. `length` counts update lines.

        a, b, c, d, e = 0, 1, 0, 0, 1
        a, c = c, a
        b, e = e, b
        assert a == _        # answer: 0

    The tracking half of state_based_recall (same update lines and `ops`); only the final `_` is scored (target: the
    bit). The initial bits are fair coins and the queried variable uniform, so the answer is 50/50.
    """

    name = "pointer_tracking"
    level = "NC1 (S_k swap word problem, NC1-complete for k >= 5)"
    length_unit = "update lines"
    finite_state = True  # finitely many variables holding bits

    def __init__(self, *, num_vars: int = 5, ops: str = "swap"):
        self._check_vars_and_ops(num_vars, ops)

    def _sample(self, rng: np.random.Generator, batch_size: int, length: int) -> Batch:
        values = rng.integers(0, 2, size=(batch_size, self.num_vars))
        init = self._names_equal_values((values + self.digit0)[..., None], batch_size)
        lines, tables = self._update_lines(rng, batch_size, length)
        queried = rng.integers(0, self.num_vars, size=batch_size)
        rows = np.arange(batch_size)
        answers = values[rows, _compose(tables)[rows, queried]]
        subject = [init, lines, self.const(batch_size, "assert"), (queried + self.name0)[:, None]]
        return self.with_query(subject, answers)


@register
class IndexedRecall(CodeTask):
    """Look up one bit by index. `length` counts the bits in the list (m).

        bits = [0, 1, 0, 0, 1, 1, 0, 1]
        a = 5
        assert bits[a] == _        # answer: 1

    The recall half of state_based_recall; the index is written as digit tokens and uniform over the list; only the
    final `_` is scored (target: the bit, a fair coin).
    """

    name = "indexed_recall"
    level = "TC0 (recall: state must grow with m)"
    length_unit = "bits in the list"
    recall = "indexed"
    state_grows = True  # every one of the `length` bits may be asked

    def __init__(self):
        self._set_code_vocab(["a"])

    def _shortcut_exact(self, length: int) -> tuple[float, str]:
        """The asked bit is a uniform one of the list, so the list's majority bit is right with E[max(K, m - K)] / m:
        0.637 at length 8, 0.550 at 64; it fades like 1/sqrt(length) (within 0.01 of chance only from ~1600)."""
        return majority_share(length, 2), "list_majority"

    def _sample(self, rng: np.random.Generator, batch_size: int, length: int) -> Batch:
        bits = rng.integers(0, 2, size=(batch_size, length))
        index = rng.integers(0, length, size=batch_size)
        assign = np.concatenate(
            [
                self.const(batch_size, "a", "="),
                digit_slots(index, len(str(length - 1)), self.digit0),
                self.const(batch_size, NEWLINE, "assert", "bits", "[", "a", "]"),
            ],
            axis=1,
        )
        return self.with_query([_bits_line(self, bits), assign], bits[np.arange(batch_size), index])
