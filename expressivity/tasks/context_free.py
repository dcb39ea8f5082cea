"""Deterministic context-free tasks of Delétang et al. 2022 ("Neural Networks and the Chomsky Hierarchy", tasks/dcf/).

Modular arithmetic with brackets and solve-equation are final-answer tasks (a query token, then the answer);
reverse string and stack manipulation are transductions: after the input comes one blank `_` per output symbol, each
scored with the output symbol at that position, so the model never reads an answer token. `dyck` lives in dyck.py.

Bracketed expressions are drawn as in the paper, by recursive random splits, but level by level for the whole batch
at once (`random_expressions`): every node of one tree level is split or turned into a leaf with a few array writes,
and values are then combined bottom-up, level by level.
"""

from __future__ import annotations

import math

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
from expressivity.tasks.regular import final_answer
from expressivity.tasks.shortcut_math import best_of, majority_share

FAMILY = "context_free"
LEVEL = "DCF"
BLANK = "_"
# Why a bracketed +/- expression is in TC0 (theory reads it): its value is a sum of residues, each with the sign set by
# the parity of the minus signs whose operand contains it, and which operands contain it is decided by counting
# brackets (depths).
SIGNED_SUMS = (
    "the value is a sum of signed residues: a residue's sign is the parity of the minus signs whose operand contains "
    "it, found by counting bracket depths, and sums mod m are counts"
)


def random_expressions(
    rng: np.random.Generator, batch_size: int, length: int, *, modulus: int, mult: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Delétang's bracketed expressions of exactly `length` symbols and their values mod `modulus`.

    Returns codes (B, length) int64, where 0..m-1 are residues and m, m+1, m+2, m+3, m+4 are `+ - * ( )`, and
    values (B,). Sizes 1-4 are the leaves `d`, `-d`, `(d)`, `(-d)`; a larger size n becomes `( L op R )` with
    |L| uniform in [1, n-4], op uniform in `+ -` (and `*` with `mult`), and the recursion goes on in L and R.
    """
    m, n_ops = modulus, 3 if mult else 2
    plus, minus, open_, close = m, m + 1, m + 3, m + 4
    codes = np.empty(batch_size * length, np.int64)
    values = np.empty(2 * batch_size * length, np.int64)  # by node id; every node owns >= 1 symbol
    # The frontier: rows start (flat offset of the node's first symbol), size, node id. A level's children get
    # consecutive ids, lefts then rights, so a parent's children are found by slicing, not by lookup.
    frontier = np.stack([np.arange(batch_size) * length, np.full(batch_size, length), np.arange(batch_size)])
    next_node, inner, leaves = batch_size, [], []
    while frontier.shape[1]:
        # One uniform per node: a leaf's residue, or an inner node's left size (integer part of u * (size - 4))
        # and operator (from the fraction left over, uniform and independent of the integer part).
        u = rng.random(frontier.shape[1])
        split = frontier[1] >= 5
        leaves.append((frontier[:, ~split], u[~split]))
        (s, z, nd), u = frontier[:, split], u[split] * (frontier[1, split] - 4)
        left_size = u.astype(np.int64)
        op = np.minimum(((u - left_size) * n_ops).astype(np.int64), n_ops - 1)
        left_size += 1
        k = s.size
        inner.append((s, z, nd, left_size, op, next_node, k))
        frontier = np.empty((3, 2 * k), np.int64)
        frontier[0, :k], frontier[0, k:] = s + 1, s + 2 + left_size
        frontier[1, :k], frontier[1, k:] = left_size, z - 3 - left_size
        frontier[2] = np.arange(next_node, next_node + 2 * k)
        next_node += 2 * k
    # Leaves, all levels at once: a residue, negated when the size is even, in brackets when the size is >= 3.
    (s, z, nd), u = np.concatenate([f for f, _ in leaves], axis=1), np.concatenate([u for _, u in leaves])
    d = np.minimum((u * m).astype(np.int64), m - 1)
    paren, neg = z >= 3, z % 2 == 0
    codes[s[paren]] = open_
    codes[(s + z - 1)[paren]] = close
    codes[(s + paren)[neg]] = minus
    codes[s + paren + neg] = d
    values[nd] = np.where(neg, -d, d) % m
    # Inner nodes ( L op R ), bottom-up so that both children's values are known.
    for s, z, nd, left_size, op, first_child, k in reversed(inner):
        codes[s] = open_
        codes[s + 1 + left_size] = plus + op
        codes[s + z - 1] = close
        a, b = values[first_child : first_child + k], values[first_child + k : first_child + 2 * k]
        values[nd] = np.where(op == 2, a * b, a + np.where(op == 1, -b, b)) % m
    return codes.reshape(batch_size, length), values[:batch_size]


def _limit_chance_with_products(m: int, steps: int = 500) -> float:
    """Largest answer share, as length grows, of expressions with `*`: iterate p <- mean of the laws of a + b, a - b
    and a * b for a, b ~ p independent (mod m), from uniform, to its fixed point."""
    a, b = np.divmod(np.arange(m * m), m)
    p = np.full(m, 1.0 / m)
    for _ in range(steps):
        joint = np.outer(p, p).reshape(-1)
        p = sum(np.bincount(v % m, weights=joint, minlength=m) for v in (a + b, a - b, a * b))
        p /= p.sum()
    return float(p.max())


def _expression_symbols(modulus: int) -> list[str]:
    """Token strings in the order of `random_expressions` codes."""
    return [*(str(i) for i in range(modulus)), "+", "-", "*", "(", ")"]


@register
class ModularArithmeticBrackets(Task):
    """Value mod `modulus` of a bracketed expression over residues with `+`, `-` (and `*` with `mult=True`), unary
    minus on residues included. `length` counts expression symbols (exactly); the answer follows the query `=`.

        input : <bos> ( ( - 4 + - 2 ) - 4 ) =
        target:     . . . . . . . . . . . . 0      ((-4 + -2) - 4 = -10 = 0 mod 5)

    Drawn as in Delétang et al. (see `random_expressions`). Without `*` the answer is exactly uniform (every residue
    is uniform and enters with sign +-1): `chance` is 1/modulus. With `*` it leans towards 0, more so as length grows
    (mod 5: 25% at length 5, 30% at 41, 1/3 in the limit); `chance` then reports the limit share of the commonest
    answer, the fixed point of "the root is a + b, a - b or a * b of two independent subtrees".
    """

    name = "modular_arithmetic_brackets"
    family = FAMILY
    level = LEVEL
    length_unit = "expression symbols"

    def __init__(self, *, modulus: int = 5, mult: bool = False):
        check_int(self.name, "modulus", modulus, lo=2, hi=100)
        if not isinstance(mult, (bool, np.bool_)):
            raise ValueError(f"{self.name}: mult must be True or False, got {mult!r}")
        self.modulus = int(modulus)
        self.mult = bool(mult)
        if self.mult:  # x and y = x * y, not x = 1 - x on {0, 1}: Boolean formulas reduce to it (Buss 1987)
            self.complete_for = "NC1"
        else:
            self.in_tc0 = SIGNED_SUMS
        self._set_symbols([*_expression_symbols(self.modulus), "="])
        self._chance = _limit_chance_with_products(self.modulus) if self.mult else 1.0 / self.modulus

    @property
    def chance(self) -> float:
        return self._chance

    def _shortcut_exact(self, length: int) -> tuple[float, str] | None:
        """Without `*`: sizes 1-4 are one leaf, `d`, `-d`, `(d)`, `(-d)`, whose value the input's one residue gives
        (copying it is right always, or when d = -d); from 5 on the value is the sum of at least two independent
        uniform residues, uniform given any one of them, so no guesser here beats 1/modulus. With `*`: measured."""
        return None if self.mult else _single_leaf(length, self.modulus)

    def _sample(self, rng: np.random.Generator, batch_size: int, length: int) -> Batch:
        codes, values = random_expressions(rng, batch_size, length, modulus=self.modulus, mult=self.mult)
        zero = self.token_id["0"]  # expression symbols are adjacent ids in code order
        return final_answer(codes + zero, values + zero, self.token_id["="])


@register
class SolveEquation(Task):
    """Solve `expression = value` mod `modulus` for the unknown `x`, which replaces one residue of a bracketed
    `+`/`-` expression (no `*`, so the solution is unique). `length` counts the equation's symbols, `= value` included
    (the expression has length - 2). The `=` belongs to the equation, so the query is the blank `_`.

        input : <bos> ( - 3 - - x ) = 2 _
        target:     . . . . . . . . . . 0      (-3 + x = 2 mod 5)

    As in Delétang et al., x replaces the first residue at or after a uniform random position (cyclically). Residues
    are uniform and independent of the tree, so the answer is exactly uniform: `chance` is 1/modulus.
    """

    name = "solve_equation"
    family = FAMILY
    level = LEVEL
    length_unit = "equation symbols (expression, '=' and the value)"
    min_length = 3
    # The expression is s * x + c with s = +-1 and c a signed sum of residues: x = s * (value - c).
    in_tc0 = SIGNED_SUMS

    def __init__(self, *, modulus: int = 5):
        check_int(self.name, "modulus", modulus, lo=2, hi=100)
        self.modulus = int(modulus)
        self._set_symbols([*_expression_symbols(self.modulus), "x", "=", BLANK])

    @property
    def chance(self) -> float:
        return 1.0 / self.modulus

    def _shortcut_exact(self, length: int) -> tuple[float, str]:
        """An expression of 1-4 symbols is one leaf: `x`, `-x`, `(x)`, `(-x)`, and copying the value after `=` solves
        it (always, or when x = -x); from expressions of 5 symbols (length 7) on, x is uniform given any one other
        residue or the value, so no guesser here beats 1/modulus."""
        return _single_leaf(length - 2, self.modulus)

    def _sample(self, rng: np.random.Generator, batch_size: int, length: int) -> Batch:
        m, n = self.modulus, length - 2
        codes, values = random_expressions(rng, batch_size, n, modulus=m, mult=False)
        # The first residue at or after a random position, wrapping round to the first residue if there is none.
        rows, is_residue = np.arange(batch_size), codes < m
        after = is_residue & (np.arange(n) >= rng.integers(0, n, size=(batch_size, 1)))
        at = np.where(after.any(axis=1), after.argmax(axis=1), is_residue.argmax(axis=1))
        solution = codes[rows, at]
        zero = self.token_id["0"]
        body = np.empty((batch_size, length), np.int64)
        body[:, :n] = codes + zero
        body[rows, at] = self.token_id["x"]
        body[:, n] = self.token_id["="]
        body[:, n + 1] = values + zero
        return final_answer(body, solution + zero, self.token_id[BLANK])


def _single_leaf(size: int, modulus: int) -> tuple[float, str]:
    """The best shortcut of an expression of `size` symbols whose answer is its one leaf's residue, signed: copying
    the residue (right always for `d` and `(d)`; for `-d`, `(-d)` when d = -d mod m), else chance."""
    if size >= 5:
        return 1.0 / modulus, "position_prior"
    copy = 1.0 if size % 2 else math.gcd(2, modulus) / modulus
    return best_of({"position_prior": 1.0 / modulus, "last_symbol": copy})


def _with_blanks(
    inputs: np.ndarray, outputs: np.ndarray, scored: np.ndarray | bool, blank_id: int, *, offset: int = 0
) -> Batch:
    """<bos>, the (B, n) input ids, then one blank per output column; blank j is labelled outputs[:, j] where scored
    ((B, m) bool, or True for all). `outputs` must hold PAD where not scored. With `offset` (for callers that score
    every output), `inputs` and `outputs` hold small codes of any integer dtype whose ids are code + offset.
    Written straight into the final arrays (the layout of `with_bos`)."""
    b, n = inputs.shape
    tokens, targets, mask = empty_batch(b, 1 + n + outputs.shape[1])
    tokens[:, 0] = BOS_ID
    put_ids(tokens[:, 1 : n + 1], inputs, offset)
    tokens[:, n + 1 :] = blank_id
    targets[:, : n + 1] = PAD_ID
    put_ids(targets[:, n + 1 :], outputs, offset)
    mask[:, : n + 1] = False
    mask[:, n + 1 :] = scored
    return Batch(inputs=tokens, targets=targets, mask=mask)


@register
class ReverseString(Task):
    """Write the input string backwards. `length` counts input symbols, uniform over "0".."alphabet_size-1"; then
    come `length` blanks, blank j scored with symbol length-1-j of the input (T = 1 + 2 * length).

        input : <bos> 1 1 0 0 1 _ _ _ _ _
        target:     . . . . . . 1 0 0 1 1
    """

    scored_by = "token"

    name = "reverse_string"
    family = FAMILY
    level = LEVEL
    length_unit = "input symbols"
    recall = "position"  # blank j reads input position length - 1 - j
    in_tc0 = "each output symbol is the input symbol at a position computed from its own and the length"

    def __init__(self, *, alphabet_size: int = 2):
        check_int(self.name, "alphabet_size", alphabet_size, lo=2, hi=10)
        self.alphabet_size = int(alphabet_size)
        self._set_symbols([*(str(i) for i in range(self.alphabet_size)), BLANK])

    @property
    def chance(self) -> float:
        return 1.0 / self.alphabet_size

    def _shortcut_exact(self, length: int) -> tuple[float, str]:
        """Writing the input's most frequent symbol everywhere: E[top count] / length, 0.637 at length 8, 0.550 at 64,
        0.518 at 500 for bits (within 0.01 of chance only from ~1600)."""
        return best_of({"position_prior": self.chance, "majority_symbol": majority_share(length, self.alphabet_size)})

    def _sample(self, rng: np.random.Generator, batch_size: int, length: int) -> Batch:
        strings = uniform_symbols(rng, batch_size, length, self.alphabet_size)
        return _with_blanks(strings, strings[:, ::-1], True, self.token_id[BLANK], offset=self.token_id["0"])


@register
class StackManipulation(Task):
    """Run stack instructions and write out the final stack. The input is a stack of bits given bottom to top, then
    instructions `pop`, `push0`, `push1` (a pop on an empty stack does nothing). `length` counts input symbols, stack
    and instructions together; the stack takes a uniform 1..length-1 of them (all of them at length 1). Then come
    length + 1 blanks: the final stack top to bottom, then `end`; blanks after `end` are unscored, as in Delétang et
    al., so the number of blanks gives nothing away.

        input : <bos> 0 1 1 0 push1 pop pop _ _ _   _ _ _ _ _
        target:     . . . . .     .   .   . 1 1 0 end . . . .      (0 1 1 0 1, 0 1 1 0, 0 1 1: top first)

    `chance` is 1/2, a blind guess at a stack bit (uniform); each example adds one `end`, a blind guess misses.
    Every output index up to the final height is scored, and the height grows about as (2/3) * length: beyond the
    training lengths most scored indices lie past any output seen in training, where a model that learned "`end` by
    index ~40" scores below chance (GDN [-1,1] in results/chomsky: about 25 right per example at every length >= 64).
    """

    scored_by = "token"

    name = "stack_manipulation"
    family = FAMILY
    level = LEVEL
    length_unit = "input symbols (initial stack and instructions)"
    in_tc0 = (
        "the stack height is a prefix sum (counting); a pushed symbol survives iff no later height falls below its "
        "own, and its place in the output is the final height minus its own: comparisons of counts"
    )

    def __init__(self):
        self._set_symbols(["0", "1", "pop", "push0", "push1", BLANK, "end"])

    @property
    def chance(self) -> float:
        return 0.5

    def _sample(self, rng: np.random.Generator, batch_size: int, length: int) -> Batch:
        b, n = batch_size, length
        stack_len = rng.integers(1, n, size=(b, 1)) if n > 1 else np.ones((b, 1), np.int64)
        is_stack = np.arange(n) < stack_len
        # One draw in 0..5: its low bit is a uniform stack bit, the rest a uniform action 0, 1, 2 = pop, push0, push1.
        draw = rng.integers(0, 6, size=(b, n), dtype=np.int8)
        bit, action = draw & 1, draw >> 1
        inputs = np.where(is_stack, bit + self.token_id["0"], action + self.token_id["pop"])
        # Read the initial stack as pushes, so every symbol is a push of a bit or a pop.
        push = is_stack | (action > 0)
        pushed = np.where(is_stack, bit, action - 1) + self.token_id["0"]

        # Height after each symbol, a pop on an empty stack ignored: the +-1 walk reflected at 0,
        # h_t = c_t - min(0, min_{u <= t} c_u) for the free walk c.
        free = np.cumsum(push.view(np.int8) * np.int8(2) - np.int8(1), axis=1, dtype=np.int32)
        height = free - np.minimum(np.minimum.accumulate(free, axis=1), 0)
        # A push survives to the end iff the height never falls below its level afterwards; the survivors are the
        # final stack, bottom to top, and the one at level h goes to output index H - h (top first). Everything
        # else is written to a spare last column, cut off below.
        later_min = np.minimum.accumulate(height[:, ::-1], axis=1)[:, ::-1]
        final_height = height[:, -1:]
        dest = np.where(push & (later_min == height), final_height - height, n + 1)
        outputs = np.full((b, n + 2), PAD_ID, np.int64)
        outputs.reshape(-1)[dest + (n + 2) * np.arange(b)[:, None]] = pushed
        outputs[np.arange(b), final_height[:, 0]] = self.token_id["end"]
        scored = np.arange(n + 1) <= final_height
        return _with_blanks(inputs, outputs[:, : n + 1], scored, self.token_id[BLANK])
