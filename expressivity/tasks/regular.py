"""Regular languages of Delétang et al. 2022 ("Neural Networks and the Chomsky Hierarchy", tasks/regular/).

Each is a final-answer task: the input string, then the query `=`, whose position alone is scored with the answer.

    input : <bos> 1 1 0 0 1 =
    target:     . . . . . . 1      (parity_check: three 1s, odd)

Delétang's classes become answer tokens: "0"/"1" for the two binary tasks, residues "0".."m-1" for the rest.
"""

from __future__ import annotations

import numpy as np

from expressivity.tasks.base import (
    BOS_ID,
    PAD_ID,
    Batch,
    Task,
    check_int,
    empty_batch,
    put_ids,
    register,
    uniform_symbols,
)
from expressivity.tasks.shortcut_math import best_of, bit_count_shortcuts

OPERATORS = ("+", "-", "*")


def final_answer(body: np.ndarray, answer: np.ndarray, query_id: int, *, offset: int = 0) -> Batch:
    """(B, L) input ids and (B,) answer ids -> Batch of BOS, body, query token; only the query position is scored.
    With `offset`, `body` holds small codes (any integer dtype) whose ids are code + offset.

    The layout of `with_bos`, written straight into the final arrays: at these speeds its copies cost more than the
    sampling."""
    b, n = body.shape
    inputs, targets, mask = empty_batch(b, n + 2)
    inputs[:, 0] = BOS_ID
    put_ids(inputs[:, 1 : n + 1], body, offset)
    inputs[:, n + 1] = query_id
    targets[:, : n + 1] = PAD_ID
    targets[:, n + 1] = answer
    mask[:, : n + 1] = False
    mask[:, n + 1] = True
    return Batch(inputs=inputs, targets=targets, mask=mask)


class _BitStringTask(Task):
    """Shared set-up of the binary-string tasks: tokens "0", "1", "=", answers "0"/"1"."""

    family = "regular"
    level = "R"
    length_unit = "bits"

    def __init__(self):
        self._set_symbols(["0", "1", "="])

    @property
    def chance(self) -> float:
        return 0.5


@register
class ParityCheck(_BitStringTask):
    """Is the number of 1s odd? `length` counts bits; the answer after `=` is the count of 1s mod 2.

        input : <bos> 1 1 0 0 1 =
        target:     . . . . . . 1      (three 1s: odd)

    Uniform bits, so the answer is uniform. Running parity (every prefix scored) is the task `parity`.
    """

    name = "parity_check"

    @property
    def word_group(self) -> str:
        return "Z2"  # the answer is the final state of parity's word problem

    def _shortcut_exact(self, length: int) -> tuple[float, str]:
        """Whether the bits tie (as many 1s as 0s, which fixes the count) is a threshold count, no parity: answering
        "even" iff length/2 is even on a tie and the other parity otherwise is right at 1/2 + P(tie) for even lengths,
        0.773 at 8, 0.599 at 64, 0.536 at 500; the majority bit does a little on odd lengths. Fades like
        1/sqrt(length): within 0.01 of chance only from ~6400 (beyond the search: None)."""
        return best_of(bit_count_shortcuts(length, 2))

    def _sample(self, rng: np.random.Generator, batch_size: int, length: int) -> Batch:
        bits = uniform_symbols(rng, batch_size, length, 2)
        zero = self.token_id["0"]  # "0" and "1" are adjacent ids
        # A uint8 sum wraps mod 256, which keeps its parity, and runs several times faster than a widening one.
        odd = bits.sum(axis=1, dtype=np.uint8) & 1
        return final_answer(bits, odd.astype(np.int64) + zero, self.token_id["="], offset=zero)


@register
class EvenPairs(_BitStringTask):
    """Is the number of adjacent unequal pairs ("01" and "10") odd? `length` counts bits; the answer after `=` is that
    count mod 2.

        input : <bos> 0 0 1 0 0 1 1 =
        target:     . . . . . . . . 1      (two "01", one "10": three, odd)

    The count is odd exactly when the first and last bits differ, so the answer is uniform for length >= 2 and always
    "0" at length 1 (no pairs); `chance` is 1/2, the value for every length >= 2.
    """

    name = "even_pairs"
    star_free = True

    def _shortcut_exact(self, length: int) -> tuple[float, str]:
        """At length 1 there are no pairs and the answer is always "0"; from 2 on it is a fair coin given any one bit
        or the majority."""
        return (1.0 if length == 1 else 0.5), "position_prior"

    def _sample(self, rng: np.random.Generator, batch_size: int, length: int) -> Batch:
        bits = uniform_symbols(rng, batch_size, length, 2)
        zero = self.token_id["0"]
        odd = bits[:, 0] ^ bits[:, -1]  # the telescoping sum of pair flips; the tests count pairs plainly
        return final_answer(bits, odd.astype(np.int64) + zero, self.token_id["="], offset=zero)


@register
class CycleNavigation(Task):
    """Walk on a cycle of `cycle_length` positions from position 0: each action steps `left` (-1), `stay` (0) or
    `right` (+1), drawn uniformly. `length` counts actions; the answer after `=` is the final position.

        input : <bos> right right left stay stay =
        target:     .     .     .    .    .    . 1      (+1 +1 -1 +0 +0 = 1 mod 5)

    The answer tends to uniform as length grows (exact only in the limit); `chance` reports 1/cycle_length.
    """

    name = "cycle_navigation"
    family = "regular"
    level = "R"
    length_unit = "actions"

    def __init__(self, *, cycle_length: int = 5):
        check_int(self.name, "cycle_length", cycle_length, lo=2, hi=100)
        self.cycle_length = int(cycle_length)
        self._set_symbols(["left", "stay", "right", "=", *(str(i) for i in range(self.cycle_length))])

    @property
    def word_group(self) -> str:
        return f"Z{self.cycle_length}"  # steps -1, 0, +1 generate Z_m

    @property
    def chance(self) -> float:
        return 1.0 / self.cycle_length

    def _shortcut_exact(self, length: int) -> tuple[float, str]:
        """The commonest final position: the walk's law mod cycle_length leans to 0 on short walks (0.209 at length 8
        for 5 positions). The input shows no answer token to copy."""
        law = np.zeros(self.cycle_length)
        law[0] = 1.0
        for _ in range(length):
            law = (np.roll(law, -1) + law + np.roll(law, 1)) / 3
        return float(law.max()), "position_prior"

    def _sample(self, rng: np.random.Generator, batch_size: int, length: int) -> Batch:
        steps = uniform_symbols(rng, batch_size, length, 3)  # 0, 1, 2 = left, stay, right
        final = (steps.sum(axis=1, dtype=np.int64) - length) % self.cycle_length
        return final_answer(steps, final + self.token_id["0"], self.token_id["="], offset=self.token_id["left"])


@register
class ModularArithmetic(Task):
    """Value mod `modulus` of an expression of residues and operators, with the usual precedence (`*` before `+` and
    `-`, left to right). `length` counts expression symbols and, as in Delétang et al., an even length is lowered by
    one: (length + 1) // 2 residues drawn uniformly, joined by operators drawn uniformly from `operators`.

        input : <bos> 3 + 4 * 4 * 2 + 4 =
        target:     . . . . . . . . . . 4      (3 + 32 + 4 = 39 = 4 mod 5)

    The answer is uniform except where a product of residues leans towards 0 (mod 5 with `*`: 25% zeros at length 3,
    20% from about 11 on); `chance` reports 1/modulus, the figure Grazzi et al. scale accuracy with.
    """

    name = "modular_arithmetic"
    family = "regular"
    level = "R"
    length_unit = "expression symbols (residues and operators; an even length is lowered by one)"

    def __init__(self, *, modulus: int = 5, operators: str = "+-*"):
        check_int(self.name, "modulus", modulus, lo=2, hi=100)
        if not isinstance(operators, str) or not operators or set(operators) - set(OPERATORS):
            raise ValueError(f"{self.name}: operators must be a non-empty string over '+-*', got {operators!r}")
        if len(set(operators)) != len(operators):
            raise ValueError(f"{self.name}: operators must not repeat a symbol, got {operators!r}")
        if operators == "*":
            # One long product is 0 mod m almost surely: the answer would not depend on the input.
            raise ValueError(f"{self.name}: operators='*' alone makes almost every answer 0; add '+' or '-'")
        self.modulus = int(modulus)
        self.operators = operators
        self._set_symbols([*(str(i) for i in range(self.modulus)), *OPERATORS, "="])
        self._op_codes = np.array([OPERATORS.index(op) for op in operators], np.int64)
        self._transition = _precedence_automaton(self.modulus)
        # What theory reads: `+ 1` (or `- 1`, two tokens) repeated moves the value by one each time, period m; and
        # the automaton's groups are cyclic (checked by enumerating its transition monoid for m = 2, 3, 5, 7).
        sign = "+" if "+" in operators else "-"
        self.cycling_run = f"a run of `{sign} 1` moves the value by 1 each time, so it cycles with period {modulus}"
        self.solvable_monoid = (
            "the running state (closed sum, open product) changes by x -> x + d, x -> x * d: its transition monoid's "
            "groups are cyclic"
        )

    @property
    def summed_group(self) -> str:
        return f"Z{self.modulus}"  # sums of residues: a restriction of the task is Z_m's word problem

    @property
    def chance(self) -> float:
        return 1.0 / self.modulus

    def _shortcut_exact(self, length: int) -> tuple[float, str]:
        """Exact laws of the precedence automaton's state: the commonest answer (products lean to 0: 0.25 at length 3
        mod 5 with `*`), and copying the first or the last residue (a lone residue is its own value: 1.0 at lengths
        1-2)."""
        m, steps = self.modulus, (length - 1) // 2
        if steps == 0:
            return best_of({"position_prior": 1.0 / m, "first_symbol": 1.0})
        value = (np.arange(m * m) // m + np.arange(m * m) % m) % m
        ops = len(self._op_codes)

        def run(law: np.ndarray, count: int, residues=None) -> np.ndarray:
            """The law of the state after `count` more `op residue` pairs (residues uniform, or fixed)."""
            moves = self._transition[(self._op_codes[:, None] * m + np.arange(m)).ravel()]  # (ops * m, m*m)
            for _ in range(count):
                weights = np.full(len(moves), 1.0 / (ops * m)) if residues is None else residues
                nxt = np.zeros(m * m)
                np.add.at(nxt, moves.ravel(), (weights[:, None] * law[None, :]).ravel())
                law = nxt
            return law

        def answer_law(law: np.ndarray) -> np.ndarray:
            return np.bincount(value, weights=law, minlength=m)

        start = np.zeros(m * m)
        start[:m] = 1.0 / m  # state (0, first residue)
        prior = answer_law(run(start, steps)).max()
        first = 0.0
        for r in range(m):
            one = np.zeros(m * m)
            one[r] = 1.0
            first += answer_law(run(one, steps))[r] / m
        before = run(start, steps - 1)
        last = 0.0
        for d in range(m):
            fixed = np.zeros(ops * m)
            fixed[np.arange(ops) * m + d] = 1.0 / ops
            last += answer_law(run(before, 1, fixed))[d] / m
        return best_of({"position_prior": float(prior), "first_symbol": float(first), "last_symbol": float(last)})

    def _sample(self, rng: np.random.Generator, batch_size: int, length: int) -> Batch:
        m, n_ops = self.modulus, (length - 1) // 2

        residues = rng.integers(0, m, size=(batch_size, n_ops + 1), dtype=np.int64)
        ops = self._op_codes[rng.integers(0, len(self._op_codes), size=(batch_size, n_ops))]
        # Run the automaton of `_precedence_automaton` left to right; one table lookup per operator, over the batch.
        moves = np.ascontiguousarray((ops * m + residues[:, 1:]).T)  # (n_ops, B): code of "op residue"
        state = residues[:, 0].copy()  # sum of closed terms 0, open term = first residue
        for step in moves:
            state = self._transition[step, state]
        value = (state // m + state % m) % m

        body = np.empty((batch_size, 2 * n_ops + 1), np.int64)
        body[:, 0::2] = residues + self.token_id["0"]
        body[:, 1::2] = ops + self.token_id[OPERATORS[0]]
        return final_answer(body, value + self.token_id["0"], self.token_id["="])


def _precedence_automaton(m: int) -> np.ndarray:
    """(3 * m, m * m) table: state (s, p) = s * m + p holds the sum s of the terms already closed and the open term p;
    reading operator o and residue d (code o * m + d) gives `+`: (s + p, d), `-`: (s + p, -d), `*`: (s, p * d), mod m.
    The expression's value is s + p at the end."""
    s, p = np.divmod(np.arange(m * m), m)
    table = np.empty((3 * m, m * m), np.int64)
    for d in range(m):
        table[0 * m + d] = ((s + p) % m) * m + d
        table[1 * m + d] = ((s + p) % m) * m + (-d) % m
        table[2 * m + d] = s * m + (p * d) % m
    return table
