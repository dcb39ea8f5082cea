"""What the two pointer tasks (pointer_programs.py) share: update lines over k variables, their queries, and the
tracking they need, drawn and emitted vectorised.

Parameters every pointer task takes (each default reproduces the batches the tasks drew before it existed):

- `num_vars` (k): the variables a program uses; `ops`: the kind of update line (swap, assign or mixed).
- `max_vars`: the variable tokens in the vocabulary (None: num_vars). With max_vars > num_vars each example uses k of
  the first max_vars letters, a random subset written in alphabetical order, so a curriculum over num_vars (2 up to 5,
  say) keeps one vocabulary and trains every letter's embedding from its first step. The subset is drawn after
  everything else: the program is the max_vars=None program with its variables renamed.
- `queries`: "final" (one query after the last update line, the only scored position) or "every_line" (a query after
  every update line, each of a variable drawn uniformly and independently, each scored). With every_line the
  headline accuracy is the last scored position's (`scored_by = "final"`): the final query, the one that needs all n
  lines tracked; token accuracy pools the earlier, shorter ones with it.
- `init_format`: how the variables get their initial values. "tuple" (the default) writes them on one line,
  `a, b, c, d, e = 6, 2, 0, 7, 3`, so the k-th name takes the k-th value, a pairing by position; "lines" writes one
  assignment a line, `a = 6`, `b = 2`, ..., each value next to its name. Same draws, same answers, same vocabulary.
"""

from __future__ import annotations

import abc
import math

import numpy as np

from expressivity.tasks.base import Batch, check_choice, check_int
from expressivity.tasks.code_tokens import LETTERS, NEWLINE, SKIP, CodeTask, joined

OPS = ("swap", "assign", "mixed")
QUERIES = ("final", "every_line")
INIT_FORMATS = ("tuple", "lines")
LINE_WIDTH = 8  # slots per update line: `a , c = c , a \n`; `a = c \n` leaves 4 of them SKIP


def compose(tables: np.ndarray) -> np.ndarray:
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


def prefix_compose(tables: np.ndarray) -> np.ndarray:
    """(B, n, k) per-line source tables -> (B, n, k): entry t composes lines 0..t (entry n-1 is `compose`'s answer).

    A Hillis-Steele scan: after the pass with offset d, entry t composes lines max(0, t-2d+1)..t, so log2(n) passes of
    whole-array numpy work replace n dependent steps."""
    out = tables.copy()
    d = 1
    while d < out.shape[1]:
        out[:, d:] = np.take_along_axis(out[:, :-d], out[:, d:], axis=2)
        d *= 2
    return out


def majority_guess_accuracy(k: int) -> float:
    """P(the majority of k fair bits equals one of them, chosen independently of the bits) = E[max(K, k-K)] / k."""
    return sum(math.comb(k, ones) * max(ones, k - ones) for ones in range(k + 1)) / (k * 2**k)


def units_majority_accuracy(k: int, m: int) -> float:
    """P(the commonest units digit among k distinct values drawn uniformly from range(m) is that of one of them,
    chosen independently of the values) = E[the top count] / k, exact: a dynamic programme over the ten digits'
    counts (a multivariate hypergeometric draw: digit d has ceil((m - d) / 10) values below m)."""
    sizes = [max(0, -(-(m - d) // 10)) for d in range(10)]
    ways: dict[tuple[int, int], int] = {(0, 0): 1}  # (values drawn so far, the top count so far) -> ways
    for size in sizes:
        grown: dict[tuple[int, int], int] = {}
        for (drawn, top), count in ways.items():
            for here in range(min(size, k - drawn) + 1):
                key = (drawn + here, max(top, here))
                grown[key] = grown.get(key, 0) + count * math.comb(size, here)
        ways = grown
    return sum(top * count for (drawn, top), count in ways.items() if drawn == k) / (k * math.comb(m, k))


def untouched_share(k: int, n: int) -> float:
    """P(none of n update lines names the queried variable): each line names an ordered pair of distinct variables,
    uniform, so it misses a given one with probability 1 - 2/k. Such a variable still holds its own initial value."""
    return (1 - 2 / k) ** n


class PointerProgram(CodeTask):
    """Update lines over k single-letter variables and their queries, shared by state_based_recall and
    pointer_tracking. Subclasses emit a query's subject with `_query_slots`."""

    @property
    def chance(self) -> float:
        """The majority guess over the k tracked values, which needs no tracking (see pointer_programs.py)."""
        return majority_guess_accuracy(self.num_vars)

    def _shortcut_exact(self, length: int) -> tuple[float, str]:
        """Answer the queried variable's own initial value where no update line names it, else the majority guess
        (`pointer_untouched`): right with certainty on the untouched share, and with the chance guess's 11/16 on the
        rest (which variable is held does not depend on the values, so the majority is right as often as ever), so
        chance + (1 - chance) * (1 - 2/k)^n. It checks whether a name occurs and composes no update line; at the
        lengths of one or two update lines it beats the majority by 0.1-0.2, and from about 7 lines on it has vanished
        (found 2026-12-06: declared as chance before, the guesser tested only at lengths 8 and 64)."""
        return self.chance + (1 - self.chance) * untouched_share(self.num_vars, length), "pointer_untouched"

    @property
    def swap_items(self) -> int | None:
        """Swap lines permute the k variables (a state in S_k); copies (`a = c`) alone do not."""
        return self.num_vars if self.ops in ("swap", "mixed") else None

    def _check_pointer_params(
        self,
        num_vars: int,
        max_vars: int | None,
        ops: str,
        queries: str,
        init_format: str,
        extra: tuple[str, ...] = (),
    ) -> None:
        """Validate and store the shared parameters and fix the vocabulary (with `extra` tokens, see code_tokens)."""
        check_int(self.name, "num_vars", num_vars, 2, len(LETTERS))
        if max_vars is not None:
            check_int(self.name, "max_vars (variable tokens, at least num_vars)", max_vars, int(num_vars), len(LETTERS))
        check_choice(self.name, "ops", ops, OPS)
        check_choice(self.name, "queries", queries, QUERIES)
        check_choice(self.name, "init_format", init_format, INIT_FORMATS)
        self.num_vars, self.ops, self.queries, self.init_format = int(num_vars), ops, queries, init_format
        self.max_vars = None if max_vars is None else int(max_vars)  # the parameter as given: None stays None
        self._set_code_vocab(list(LETTERS[: self.max_vars or self.num_vars]), extra)
        if queries == "every_line":
            self.scored_by = "final"  # the final query is the headline (see the module docstring)

    # ---- draws (in this order: lines, queries, then names, so that defaults draw what they always drew) ----------
    def _draw_lines(self, rng: np.random.Generator, batch_size: int, n: int) -> tuple[np.ndarray, ...]:
        """n random update lines: (x, y, swap), each (B, n): line t writes x (and y, for a swap) from y (and x)."""
        k, shape = self.num_vars, (batch_size, n)
        x = rng.integers(0, k, size=shape)
        y = (x + rng.integers(1, k, size=shape)) % k  # an ordered pair of distinct variables, uniform
        swap = np.full(shape, self.ops == "swap") if self.ops != "mixed" else rng.integers(0, 2, size=shape) == 1
        return x, y, swap

    def _draw_queries(self, rng: np.random.Generator, batch_size: int, n: int) -> np.ndarray:
        """(B, q) queried variables: q = 1 (final) or n (every_line), uniform and independent."""
        if self.queries == "final":
            return rng.integers(0, self.num_vars, size=batch_size)[:, None]
        return rng.integers(0, self.num_vars, size=(batch_size, n))

    def _draw_names(self, rng: np.random.Generator, batch_size: int) -> np.ndarray:
        """(B, k) token ids of the variables: the first k letters, or a sorted random k of the first max_vars."""
        k, pool = self.num_vars, self.max_vars or self.num_vars
        if pool == k:  # no draw: the same rng state gives the same batch as before max_vars existed
            return np.broadcast_to(np.arange(k) + self.name0, (batch_size, k))
        return np.sort(rng.random((batch_size, pool)).argsort(axis=1)[:, :k], axis=1) + self.name0

    # ---- what the queries read ----------------------------------------------------------------------------------
    def _held(self, x: np.ndarray, y: np.ndarray, swap: np.ndarray, queried: np.ndarray) -> np.ndarray:
        """(B, q): the variable whose initial value each queried variable holds at its query."""
        b, n = x.shape
        tables = np.broadcast_to(np.arange(self.num_vars), (b, n, self.num_vars)).copy()
        rows, t = np.indices((b, n))
        tables[rows, t, x] = y
        tables[rows, t, y] = np.where(swap, x, y)
        if self.queries == "final":
            return np.take_along_axis(compose(tables), queried, axis=1)
        return np.take_along_axis(prefix_compose(tables), queried[..., None], axis=2)[..., 0]

    # ---- emission ---------------------------------------------------------------------------------------------------
    def _line_slots(self, x: np.ndarray, y: np.ndarray, swap: np.ndarray, names: np.ndarray) -> np.ndarray:
        """(B, n, 8) slots of the update lines, each ending in its newline."""
        shape = x.shape
        tok, nx, ny = self.tok, np.take_along_axis(names, x, axis=1), np.take_along_axis(names, y, axis=1)
        comma, eq, nl = np.full(shape, tok[","]), np.full(shape, tok["="]), np.full(shape, tok[NEWLINE])
        skip = np.full(shape, SKIP)
        as_swap = np.stack([nx, comma, ny, eq, ny, comma, nx, nl], axis=2)  # a, c = c, a
        as_copy = np.stack([nx, eq, ny, skip, skip, skip, skip, nl], axis=2)  # a = c
        return np.where(swap[..., None], as_swap, as_copy)

    def _names_equal_values(self, names: np.ndarray, values_slots: np.ndarray) -> np.ndarray:
        """`a, b, c = v0, v1, v2 \\n` (init_format="tuple"), or `a = v0 \\n b = v1 \\n c = v2 \\n` ("lines"), from
        (B, k) name ids and (B, k, w) value slots (SKIP in unused leading digit slots, as digit_slots leaves them)."""
        b, k = names.shape
        if self.init_format == "lines":
            eq, nl = np.full((b, k, 1), self.tok["="]), np.full((b, k, 1), self.tok[NEWLINE])
            return np.concatenate([names[..., None], eq, values_slots, nl], axis=2).reshape(b, -1)
        return np.concatenate(
            [
                joined(names[..., None], self.tok[","]),
                self.const(b, "="),
                joined(values_slots, self.tok[","]),
                self.const(b, NEWLINE),
            ],
            axis=1,
        )

    @abc.abstractmethod
    def _query_slots(self, queried_names: np.ndarray) -> np.ndarray:
        """(B, q) name ids -> (B, q, w) slots of `assert EXPR` (the `== _` follows)."""

    def _program(self, head: list[np.ndarray], lines: np.ndarray, queried: np.ndarray, answers: np.ndarray) -> Batch:
        """The batch: `head` blocks (B, *), update lines (B, n, 8), then the query (final) or one query after every
        line (every_line), with (B, q) name ids of the queried variables and their (B, q) answers."""
        b, n, _ = lines.shape
        subject = self._query_slots(queried)
        if self.queries == "final":
            return self.with_query([*head, lines.reshape(b, -1), subject[:, 0]], answers[:, 0])
        return self.with_queries(head, np.concatenate([lines, subject], axis=2), answers)

    def _sample_pointers(self, rng: np.random.Generator, batch_size: int, n: int) -> tuple[np.ndarray, ...]:
        """Update lines, queries and names drawn in order -> (line slots (B, n, 8), held (B, q), names (B, k),
        queried name ids (B, q))."""
        x, y, swap = self._draw_lines(rng, batch_size, n)
        queried = self._draw_queries(rng, batch_size, n)
        names = self._draw_names(rng, batch_size)
        held = self._held(x, y, swap, queried)
        return self._line_slots(x, y, swap, names), held, names, np.take_along_axis(names, queried, axis=1)
