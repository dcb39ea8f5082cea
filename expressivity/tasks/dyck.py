"""Dyck languages: is a string over `kinds` bracket pairs balanced (within `max_depth`, where given)?

A final-answer task: the brackets, then the query `=`, scored with `yes` or `no`.

    input : <bos> ( [ ] ) [ ( ) ]   =
    target:     . . . . . . . . . yes

Positives are uniform over the balanced strings of the given length (and depth bound); negatives are one edit away
from a positive, so that they sit near the boundary of the language (see `Dyck`).
"""

from __future__ import annotations

import functools

import numpy as np

from expressivity.tasks.base import Batch, Task, check_choice, check_int, register
from expressivity.tasks.regular import final_answer
from expressivity.tasks.shortcut_math import best_of

BRACKETS = ["()", "[]", "{}", "<>"]
MAX_KINDS = 16
NEGATIVES = ("mixed", "flip", "swap", "move")
REJECTION_ABOVE = 2.0  # depth bounds >= this * sqrt(length) sample by rejection (see `_uniform_paths`)


def _pair(k: int) -> tuple[str, str]:
    """Open and close token of bracket kind k: "()", "[]", "{}", "<>", then "(4" ")4", "(5" ")5", ..."""
    return (BRACKETS[k][0], BRACKETS[k][1]) if k < len(BRACKETS) else (f"({k}", f"){k}")


@register
class Dyck(Task):
    """Recognise balanced strings over `kinds` bracket pairs whose nesting depth is at most `max_depth` (None:
    unbounded; a bound makes the language regular, and `info["level"]` says "R"). `length` counts brackets, and an odd
    length is lowered by one, so that positives exist and length parity gives nothing away. Answers are `yes`/`no`,
    drawn 50/50 per example.

        input : <bos> ( [ ) ) [ ( ) ]  =
        target:     . . . . . . . . . no      (a kind swapped: the first `]` became `)`)

    Positives are uniform over balanced strings of the length and depth bound: the bracket path by the cycle lemma
    (with rejection for loose bounds) or by exact path counts (tight bounds), then a uniform kind per pair. A
    negative is a positive with one edit, drawn uniformly among those `negatives` allows ("mixed": every kind below
    that applies):
      - "flip": one bracket turned from opening to closing or back (same kind); the counts of opens and closes differ;
      - "swap": one bracket changes kind (kinds >= 2); counts and depth profile are those of a positive, only
        matching kinds tells them apart;
      - "move": a closing bracket moved earlier, to before the start of the outermost pair it sits in, so that some
        prefix closes more than it opens; counts stay equal.
    Each of these is unbalanced by construction; the tests check it with a stack.
    """

    name = "dyck"
    family = "context_free"
    level = "DCF"
    length_unit = "brackets (an odd length is lowered by one)"
    min_length = 2
    in_tc0 = (
        "balanced iff no prefix closes more than it opens, the total depth is 0 and each closing bracket's kind is "
        "that of the last earlier opening bracket at its depth: counts and comparisons"
    )

    def __init__(self, *, kinds: int = 2, max_depth: int | None = None, negatives: str = "mixed"):
        check_int(self.name, "kinds", kinds, lo=1, hi=MAX_KINDS)
        if max_depth is not None:
            check_int(self.name, "max_depth", max_depth, lo=1)
        check_choice(self.name, "negatives", negatives, NEGATIVES)
        if negatives == "swap" and kinds < 2:
            raise ValueError(f"{self.name}: negatives='swap' needs kinds >= 2; with kinds=1 choose mixed, flip or move")
        self.kinds = int(kinds)
        self.max_depth = None if max_depth is None else int(max_depth)
        self.negatives = negatives
        self.level = "DCF" if max_depth is None else "R"  # bounded depth: finitely many stack contents
        # A bounded stack never cycles: a block's net effect (pop its unmatched closers, push its unmatched openers)
        # repeated either overflows, underflows or settles after one more step, so the automaton is aperiodic.
        self.star_free = max_depth is not None
        self._set_symbols([*(tok for k in range(self.kinds) for tok in _pair(k)), "=", "yes", "no"])
        self._open0 = self.token_id[_pair(0)[0]]  # kind k opens with id open0 + 2k and closes with open0 + 2k + 1
        edits = ["flip", "swap", "move"] if self.kinds > 1 else ["flip", "move"]
        self._edits = edits if negatives == "mixed" else [negatives]

    @property
    def chance(self) -> float:
        return 0.5

    def _shortcut_exact(self, length: int) -> tuple[float, str]:
        """Half the examples are negatives, each one edit drawn uniformly among `negatives`. Counting opens against
        closes catches every flip; a one-kind depth counter (blind to kinds) catches flips and moves; only a changed
        kind needs the stack. So by default (kinds >= 2, "mixed") the counter alone is right at 1/2 + 1/2 * 2/3 = 5/6
        at every length: this shortcut never vanishes."""
        share = {edit: 1 / len(self._edits) if edit in self._edits else 0.0 for edit in NEGATIVES}
        return best_of(
            {
                "position_prior": 0.5,
                "counts_balance": 0.5 + 0.5 * share["flip"],
                "depth_check": 0.5 + 0.5 * (share["flip"] + share["move"]),
            }
        )

    def _sample(self, rng: np.random.Generator, batch_size: int, length: int) -> Batch:
        b, n = batch_size, length - length % 2
        depth = n // 2 if self.max_depth is None else min(self.max_depth, n // 2)
        up = _uniform_paths(rng, b, n, depth)
        step = up.view(np.int8) * np.int8(2) - np.int8(1)
        height = np.cumsum(step, axis=1, dtype=np.int16 if n < 2**15 else np.int32)  # after each bracket; int16 sorts
        # Match brackets: an open from height h pairs with the next close back to h; call h the level of both (the
        # height before an open, after a close). Sorted stably by level, each level's brackets alternate open, close,
        # open, close, ... so neighbours are pairs. Kinds are laid out in that sorted order and scattered back.
        level = height - up  # by radix sort
        order = np.argsort(level, axis=1, kind="stable")
        by_level = np.empty((b, n), np.int64)
        by_level[:, 0::2] = self._open0 + 2 * rng.integers(0, self.kinds, size=(b, n // 2))
        by_level[:, 1::2] = by_level[:, 0::2] + 1
        tokens = np.empty((b, n), np.int64)
        tokens.reshape(-1)[(order + n * np.arange(b)[:, None]).reshape(-1)] = by_level.reshape(-1)

        negative = rng.random(b) < 0.5
        edit = np.where(negative, rng.integers(0, len(self._edits), size=b), -1)
        at = rng.integers(0, n, size=b)  # the bracket that a flip or a swap changes
        r = np.arange(b)
        flip = edit == self._edit_code("flip")
        tokens[r[flip], at[flip]] ^= 1  # open0 is even, so xor 1 toggles open and close of one kind
        swap = edit == self._edit_code("swap")
        if swap.any():
            old = tokens[r[swap], at[swap]] - self._open0
            shift = rng.integers(1, max(self.kinds, 2), size=int(swap.sum()))
            tokens[r[swap], at[swap]] = self._open0 + 2 * ((old // 2 + shift) % self.kinds) + old % 2
        move = edit == self._edit_code("move")
        if move.any():
            tokens[move] = _move_close_earlier(rng, tokens[move], order[move, 1::2], level[move] + ~up[move])

        answer = np.where(negative, self.token_id["no"], self.token_id["yes"])
        return final_answer(tokens, answer, self.token_id["="])

    def _edit_code(self, edit: str) -> int:
        return self._edits.index(edit) if edit in self._edits else -2


def _move_close_earlier(rng: np.random.Generator, tokens: np.ndarray, closes: np.ndarray, before: np.ndarray):
    """Move a uniform closing bracket (position j, drawn from `closes`) to a uniform position i <= z, where z is the
    start of the outermost pair holding it (the last position <= j with height 0 before it). Every prefix ending in
    [i, j) then closes one more than before, and the one ending at z reaches -1: unbalanced for any kinds."""
    b, n = tokens.shape
    rows = np.arange(b)
    j = closes[rows, rng.integers(0, n // 2, size=b)]
    pos = np.arange(n)
    last_zero = np.maximum.accumulate(np.where(before == 0, pos, 0), axis=1)
    z = last_zero[rows, j]
    i = np.minimum((rng.random(b) * (z + 1)).astype(np.int64), z)
    # Output position q reads input q (q < i or q > j), j (q == i), or q - 1 (i < q <= j).
    i, j = i[:, None], j[:, None]
    src = np.where((pos < i) | (pos > j), pos, np.where(pos == i, j, pos - 1))
    return tokens.reshape(-1)[src + n * rows[:, None]]


def _uniform_paths(rng: np.random.Generator, batch_size: int, n: int, depth: int) -> np.ndarray:
    """(B, n) bool, True = open: uniform over balanced paths of length n with heights <= depth.

    A bound of about 2 sqrt(n) or more almost never binds (a uniform path's peak is ~ sqrt(n)), so those paths come
    from the vectorised cycle-lemma sampler, redrawing the rare rows over the bound (rejection keeps it uniform);
    tighter bounds take the exact step-by-step sampler."""
    if depth < min(n // 2, REJECTION_ABOVE * np.sqrt(n)):
        return _bounded_paths(rng, batch_size, n, depth)
    up = _cycle_lemma_paths(rng, batch_size, n)
    over = np.flatnonzero(_peak(up) > depth)
    while over.size:
        redrawn = _cycle_lemma_paths(rng, over.size, n)
        up[over] = redrawn
        over = over[_peak(redrawn) > depth]
    return up


def _peak(up: np.ndarray) -> np.ndarray:
    """(B, n) bool paths -> (B,) greatest height."""
    return np.cumsum(up.view(np.int8) * np.int8(2) - np.int8(1), axis=1, dtype=np.int32).max(axis=1)


def _cycle_lemma_paths(rng: np.random.Generator, batch_size: int, n: int) -> np.ndarray:
    """(B, n) bool, True = open: uniform balanced paths. Of the n + 1 rotations of a uniform sequence of n/2 ups and
    n/2 + 1 downs exactly one keeps every proper prefix >= 0: the one starting after the first minimum of the prefix
    sums. Dropping its final down leaves a uniform Dyck path."""
    # The positions of the n/2 smallest of n + 1 uniform keys are a uniform n/2-subset: the ups.
    ups = np.argpartition(rng.random((batch_size, n + 1)), n // 2 - 1, axis=1)[:, : n // 2]
    up = np.zeros((batch_size, n + 1), bool)
    up[np.arange(batch_size)[:, None], ups] = True
    step = up.view(np.int8) * np.int8(2) - np.int8(1)
    first_min = np.argmin(np.cumsum(step, axis=1, dtype=np.int32), axis=1)
    # Rotate by reading a doubled copy from first_min + 1 on.
    doubled = np.concatenate([up, up], axis=1)
    src = first_min[:, None] + 1 + np.arange(n) + (2 * n + 2) * np.arange(batch_size)[:, None]
    return doubled.reshape(-1)[src]


def _bounded_paths(rng: np.random.Generator, batch_size: int, n: int, depth: int) -> np.ndarray:
    """(B, n) bool, True = open: uniform over balanced paths of length n with heights <= depth, one step at a time
    over the whole batch, each step up with the exact probability that a uniform completion goes up."""
    p_up = _up_probabilities(n, depth)
    u = rng.random((n, batch_size))
    up = np.empty((n, batch_size), bool)
    h = np.zeros(batch_size, np.int64)
    for t in range(n):
        np.less(u[t], p_up[t].take(h), out=up[t])
        h += up[t]
        h += up[t]
        h -= 1
    return np.ascontiguousarray(up.T)


@functools.lru_cache(maxsize=32)
def _up_probabilities(n: int, depth: int) -> np.ndarray:
    """(n, depth + 1): at step t and height h, the share of valid completions (back to 0 at n, heights in
    [0, depth]) whose next step is up. Counted in log space, as counts reach ~2**n."""
    log_count = np.full(depth + 3, -np.inf)  # heights -1 .. depth + 1, the two ends never valid
    log_count[1] = 0.0  # at step n, height 0
    p_up = np.zeros((n, depth + 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        for t in range(n - 1, -1, -1):
            up, down = log_count[2:], log_count[:-2]
            now = np.logaddexp(up, down)
            p_up[t] = np.nan_to_num(np.exp(up - now), nan=0.0)
            log_count = np.concatenate([[-np.inf], now, [-np.inf]])
    p_up.setflags(write=False)
    return p_up
