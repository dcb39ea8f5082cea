"""Boolean formula evaluation (BFE): NC1-complete (Buss 1987), so outside TC0 under the usual assumptions; the task
Merrill et al. (Olmo Hybrid, sec 3.4) show hybrids can solve with polynomial padding.

A formula is fully parenthesised infix over `0 1 and or not ( )`:

    F := 0 | 1 | ( not F ) | ( F and F ) | ( F or F )

so a formula with L leaves and U `not`s has n = 4L - 3 + 3U symbols. Every n >= 1 except 2, 3 and 6 is reachable.

Generation is top-down and needs no evaluation: draw the answer, draw a uniformly random tree shape (cycle lemma on a
shuffled preorder arity sequence), then give each child a value consistent with its parent. A child's value is a fixed
function of its parent's value (identity, constant or negation), so a leaf's value is the composition of these maps
along its root path, computed for all nodes at once by pointer doubling.
"""

from __future__ import annotations

import math

import numpy as np

from expressivity.tasks.base import Batch, Task, check_float, register, with_bos

# "#" is the padding symbol of the padded setting (not PAD: the model reads it); "=" is the query.
SYMBOLS = ["0", "1", "and", "or", "not", "(", ")", "#", "="]


def formula_size(length: int) -> int:
    """Formula size for `length`: `length` itself, or the largest reachable size below it (2, 3 -> 1; 6 -> 5)."""
    return {2: 1, 3: 1, 6: 5}.get(length, length)


def count_nots(rng: np.random.Generator, batch_size: int, n: int, not_share: float) -> np.ndarray:
    """Per example the number U of `not`s: about `not_share` of the operators, moved (by < 4) onto a U for which
    n = 4L - 3 + 3U has a solution with L >= 1 leaves. `n` must be reachable (see `formula_size`)."""
    u_max = (n - 1) // 3
    residue = (3 * n + 1) % 4  # n + 3 = 4L + 3U  =>  U = 3(n + 3) = 3n + 1 (mod 4)
    # n = (4 - s) * operators + 1 when a share s of the operators are nots.
    u = np.minimum(rng.binomial(int((n - 1) / (4 - not_share)), not_share, size=batch_size), u_max)
    u = u - (u - residue) % 4
    return np.where(u < 0, u + 4, u)


def _flat(idx: np.ndarray, width: int) -> np.ndarray:
    """Row-local indices (B, W) -> indices into the flattened (B, width) array (several times faster than
    take_along_axis)."""
    return idx + (np.arange(idx.shape[0]) * width)[:, None]


def random_trees(rng: np.random.Generator, leaves: np.ndarray, nots: np.ndarray) -> np.ndarray:
    """Uniformly random plane trees with `leaves` leaves, `nots` unary and `leaves - 1` binary nodes per example.

    Returns preorder arities int64 (B, W), W the largest tree, rows padded with -1 past their 2*leaves - 1 + nots nodes.
    """
    size = 2 * leaves - 1 + nots
    width = int(size.max())
    k = np.arange(width)
    arity = 2 - (k < leaves[:, None]) - (k < (leaves + nots)[:, None]).astype(np.int64) - 3 * (k >= size[:, None])
    arity = rng.permuted(arity, axis=1)
    # Move the padding back to the end, keeping the shuffled order of the real entries (a stable radix sort).
    arity = arity.reshape(-1)[_flat(np.argsort((arity < 0).astype(np.int8), axis=1, kind="stable"), width)]
    # Cycle lemma: the steps (arity - 1) sum to -1, and of the rotations exactly one is a preorder (every proper prefix
    # sum >= 0): the one starting just after the first minimum of the prefix sums. Hence uniform over shapes.
    valid = arity >= 0
    prefix = np.where(valid, np.cumsum(arity - 1, axis=1, dtype=np.int32), width)
    start = np.argmin(prefix, axis=1) + 1
    rotated = arity.reshape(-1)[_flat((k + start[:, None]) % size[:, None], width)]
    return np.where(valid, rotated, -1)


def preorder_parents(arity: np.ndarray) -> np.ndarray:
    """Parent index of every node of preorder arity rows (B, W); the root is its own parent, padding points at it.

    A node right after an internal node is its first child. A node right after a leaf fills the pending second slot of
    the last earlier node with the same number of pending slots (that node is binary), found with one stable sort.
    """
    width = arity.shape[1]
    valid = arity >= 0
    k = np.arange(width)
    steps = np.where(valid, arity - 1, 0)
    pending = np.where(valid, 1 + np.cumsum(steps, axis=1, dtype=np.int32) - steps, width + 2)
    # int16 keys let numpy use its radix sort, several times faster than the int64 merge sort.
    pending = pending.astype(np.int16 if width < 32000 else np.int64)
    order = np.argsort(pending, axis=1, kind="stable")
    sorted_pending = pending.reshape(-1)[_flat(order, width)]
    same = np.zeros(order.shape, bool)
    same[:, 1:] = sorted_pending[:, 1:] == sorted_pending[:, :-1]
    prev = order.copy()
    prev[:, 1:] = np.where(same[:, 1:], order[:, :-1], order[:, 1:])
    same_before = np.empty_like(order)
    same_before.reshape(-1)[_flat(order, width)] = prev
    after_internal = np.zeros(valid.shape, bool)
    after_internal[:, 1:] = arity[:, :-1] >= 1
    parent = np.where(after_internal, k - 1, same_before)
    return np.where(valid, parent, 0)


def values_and_depths(
    rng: np.random.Generator, arity: np.ndarray, parent: np.ndarray, answer: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-down values: node values (B, W) with the root equal to `answer`, node depths (B, W), and is_or (B, W), the
    operator of each binary node (True: `or`, False: `and`).

    A binary node of value v takes one of the 4 (operator, children) combinations consistent with v, uniformly: this is
    exactly the conditional law of a bottom-up formula with uniform iid leaves and uniform and/or (where `and` is 1 with
    odds 1/4), so answers are balanced and nothing but the formula's value tells them apart. A uniform code c in 0..3
    per node pairs the combinations of v = 0 and v = 1 so that each child's value is a fixed map of v:

        c   v = 1        v = 0        children
        0   or (1, 1)    and (0, 0)   (v, v)
        1   or (1, 0)    and (1, 0)   (1, 0)
        2   or (0, 1)    and (0, 1)   (0, 1)
        3   and (1, 1)   or (0, 0)    (v, v)

    A map x -> a ^ (b & x) (identity, constant or `not`) composes along root paths by pointer doubling.
    """
    b_size, width = arity.shape
    k = np.arange(width)
    code = rng.integers(0, 4, size=(b_size, width), dtype=np.int8)
    up = _flat(parent, width).reshape(-1)
    par_arity = arity.reshape(-1)[up].reshape(arity.shape)
    par_code = code.reshape(-1)[up].reshape(arity.shape)
    first = k == parent + 1
    a = np.where(par_arity == 1, True, np.where(first, par_code == 1, par_code == 2))
    b = (par_arity == 1) | (par_code == 0) | (par_code == 3)
    is_root = k == 0
    a = np.where(is_root, answer[:, None].astype(bool), a).reshape(-1)
    b = (b & ~is_root & (arity >= 0)).reshape(-1)
    depth = ((parent != k) & (arity >= 0)).astype(np.int32).reshape(-1)  # padding: depth 0, value unused
    # Invariant: value(k) = map_k(value(up_k)), map_k the composite of the maps from k up to (not including) up_k.
    roots = _flat(np.zeros((b_size, 1), np.int64), width).reshape(-1).repeat(width)
    for _ in range(max(width - 1, 0).bit_length()):  # 2^rounds > the deepest possible node
        if np.array_equal(up, roots):  # random trees are about sqrt(size) deep: stop once every jump hits the root
            break
        a, b = a ^ (b & a[up]), b & b[up]
        depth = depth + depth[up]
        up = up[up]
    a = a ^ (b & a[up])  # apply the root's map (the constant `answer`) where the last jump landed on the root
    value = a.reshape(arity.shape)
    return value.astype(np.int64), depth.reshape(arity.shape), value ^ (code == 3)


@register
class BooleanFormula(Task):
    """Evaluate a random fully parenthesised boolean formula. `length` counts formula symbols n (tokens of
    `0 1 and or not ( )`); 2, 3 and 6 are unreachable and give the largest reachable size below (1, 1, 5). Then come
    floor(pad_factor * n ** pad_power) pad symbols `#` (the padded setting) and the query `=`, scored with the value.

        input : <bos> ( ( not 0 ) and ( 0 or 1 ) ) # # =
        target:     . . .   . . .   . . .  . . . . . . 1      (length=12, pad_factor=0.2: floor(0.2 * 12) = 2 pads)

    Shapes are uniform over trees with the drawn numbers of leaves and nots, and about `not_share` of the operators are
    `not`. Given its shape, a formula has the law of uniform iid leaves and uniform and/or, conditioned on the answer;
    answers are exactly 50/50 within a batch (even batch sizes).
    """

    name = "boolean_formula"
    family = "boolean_formula"
    level = "NC1-complete"
    nonregular = True  # balanced parentheses of unbounded depth
    length_unit = "formula symbols"

    def __init__(self, *, pad_factor: float = 0, pad_power: float = 1, not_share: float = 0.2):
        check_float(self.name, "pad_factor", pad_factor, 0, 100)
        check_float(self.name, "pad_power", pad_power, 0, 3)
        check_float(self.name, "not_share", not_share, 0, 0.9)
        self.pad_factor, self.pad_power, self.not_share = pad_factor, pad_power, not_share
        self.growth = max(1.0, float(pad_power)) if pad_factor > 0 else 1.0  # T ~ n + pad_factor * n ** pad_power
        self.padded = pad_factor > 0
        self._set_symbols(SYMBOLS)

    @property
    def chance(self) -> float:
        return 0.5

    def num_pads(self, n: int) -> int:
        """Pad symbols after a formula of n symbols."""
        return math.floor(self.pad_factor * n**self.pad_power)

    def _sample(self, rng: np.random.Generator, batch_size: int, length: int) -> Batch:
        n = formula_size(length)
        tid = self.token_id
        # Exactly balanced answers; an odd batch gets one free draw.
        answer = rng.permutation(
            np.concatenate([np.arange(batch_size - batch_size % 2) % 2, rng.integers(0, 2, size=batch_size % 2)])
        )
        nots = count_nots(rng, batch_size, n, self.not_share)
        leaves = (n + 3 - 3 * nots) // 4
        arity = random_trees(rng, leaves, nots)
        parent = preorder_parents(arity)
        value, depth, is_or = values_and_depths(rng, arity, parent, answer)
        formula = self._infix(arity, parent, value, depth, is_or, n)
        pads = np.full((batch_size, self.num_pads(n)), tid["#"], np.int64)
        query = np.full((batch_size, 1), tid["="], np.int64)
        tokens = np.concatenate([formula, pads, query], axis=1)
        mask = np.zeros(tokens.shape, bool)
        mask[:, -1] = True
        targets = np.zeros(tokens.shape, np.int64)
        targets[:, -1] = tid["0"] + answer
        return with_bos(tokens, targets, mask)

    def _infix(self, arity, parent, value, depth, is_or, n: int) -> np.ndarray:
        """Token ids (B, n) of the preorder trees written as fully parenthesised infix.

        In preorder each node opens with `(` (binary), `( not` (unary) or its value (leaf). After a leaf come the `)` of
        every ancestor whose subtree it ends, depth(leaf) - depth(next node) of them, then the operator of the next
        node's parent (none after the last leaf). Everything but `)` is scattered onto rows of `)`; writes that do not
        apply go to a spare last column (padding nodes start at n), dropped at the end.
        """
        tid = self.token_id
        b_size, width = arity.shape
        valid, leaf, unary = arity >= 0, arity == 0, arity == 1
        depth_next = np.zeros_like(depth)  # padding has depth 0, so the last leaf closes all its ancestors
        depth_next[:, :-1] = depth[:, 1:]
        has_op = np.zeros_like(leaf)
        has_op[:, :-1] = leaf[:, :-1] & valid[:, 1:]
        closes = np.where(leaf, depth - depth_next, 0)
        seg = np.where(valid, 1 + unary + closes + has_op, 0)
        start = np.cumsum(seg, axis=1) - seg
        out = np.full((b_size, n + 1), tid[")"], np.int64)
        flat = out.reshape(-1)
        flat[_flat(start, n + 1)] = np.where(leaf, tid["0"] + value, tid["("])
        flat[_flat(np.where(unary, start + 1, n), n + 1)] = tid["not"]
        next_parent = np.zeros_like(parent)
        next_parent[:, :-1] = parent[:, 1:]
        next_or = is_or.reshape(-1)[_flat(next_parent, width)]
        flat[_flat(np.where(has_op, start + 1 + closes, n), n + 1)] = np.where(next_or, tid["or"], tid["and"])
        return out[:, :n]
