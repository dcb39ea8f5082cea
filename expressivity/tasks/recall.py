"""Recall: tasks whose answer is a token seen earlier, found by content (a key) or position (copying).

Attention does these by lookup; a recurrent model must hold what it will be asked in its state, so a fixed-size state
fails once the items to hold outgrow it (Wen et al. 2024, Arora et al. 2023). Keys, values and symbols come from pools
fixed by the parameters, so longer test lengths bring no unseen tokens.
"""

from __future__ import annotations

import string

import numpy as np

from expressivity.tasks.base import Batch, Task, check_int, register, with_bos
from expressivity.tasks.shortcut_math import best_of, majority_share

BLANK = "_"  # one per output symbol of a transduction answer; the model never sees the answer tokens


def _letters(count: int) -> list[str]:
    return list(string.ascii_lowercase[:count])


def _pool(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{i}" for i in range(count)]


def _distinct(rng: np.random.Generator, batch_size: int, pool: int, count: int) -> np.ndarray:
    """(B, count) distinct draws from range(pool) per row, in random order: uniform over ordered distinct tuples."""
    if pool < 64 or count * count > pool:  # small or dense: a shuffle of the pool is the cheaper exact draw
        return rng.permuted(np.broadcast_to(np.arange(pool), (batch_size, pool)), axis=1)[:, :count]
    # Sparse (16 keys of 4096): a shuffle would cost O(pool) per row. Draw iid instead and redraw every repeat of an
    # earlier draw in its row until none is left. Each step depends only on which draws are equal, never on their
    # values, so the result's law is invariant under relabelling the pool, hence uniform over ordered distinct
    # tuples, as the shuffle's; count^2 <= pool keeps repeats rare (under half a repeat per row).
    draws = rng.integers(0, pool, size=(batch_size, count))
    shift = count.bit_length()  # low bits of a sort key hold the position 0..count-1
    rows = np.arange(batch_size)
    while rows.size:
        sub = draws[rows]
        # Sorting keys (draw, position) puts equal draws side by side, earliest first (a plain sort, not an argsort:
        # several times faster on short rows); each one equal to its left neighbour is a repeat, redrawn.
        key = (sub << shift) | np.arange(count)
        key.sort(axis=1)
        r, c = np.nonzero((key[:, 1:] >> shift) == (key[:, :-1] >> shift))
        sub[r, key[r, c + 1] & ((1 << shift) - 1)] = rng.integers(0, pool, size=r.size)
        draws[rows] = sub
        rows = rows[np.unique(r)]  # rows that drew afresh: check them again
    return draws


def _exactly(rng: np.random.Generator, batch_size: int, total: int, count: int) -> np.ndarray:
    """(B, total) bool with exactly `count` True per row, at uniformly random places."""
    return rng.permuted(np.broadcast_to(np.arange(total) < count, (batch_size, total)), axis=1)


def _scored_tail(tokens: np.ndarray, answers: np.ndarray) -> Batch:
    """BOS + tokens, scoring the last answers.shape[1] positions with `answers`."""
    targets = np.zeros(tokens.shape, np.int64)
    mask = np.zeros(tokens.shape, bool)
    targets[:, tokens.shape[1] - answers.shape[1] :] = answers
    mask[:, tokens.shape[1] - answers.shape[1] :] = True
    return with_bos(tokens, targets, mask)


@register
class AssociativeRecall(Task):
    """Multi-query associative recall (MQAR; Arora et al. 2023, zoology's multiquery_ar): `length` counts key-value
    pairs, with distinct keys, so length <= num_keys. Then min(num_queries, length) distinct keys of the pairs, in
    random order; each query position is scored with the value its key was paired with.

        input : <bos> k2 v0 k11 v1 k25 v6 k25 k11
        target:     .  .  .   .  .   .  .  v6  v1      (length=3, num_queries=2)
    """

    name = "associative_recall"
    family = "recall"
    level = "TC0 (needs state growing with length)"
    state_grows = True
    recall = "key"  # each query finds its key among the pairs and reads the value after it
    length_unit = "key-value pairs"

    def __init__(self, *, num_keys: int = 256, num_values: int = 256, num_queries: int = 4):
        check_int(self.name, "num_keys", num_keys, 1, 100_000)
        check_int(self.name, "num_values", num_values, 2, 100_000)
        check_int(self.name, "num_queries", num_queries, 1, 100_000)
        self.num_keys, self.num_values, self.num_queries = num_keys, num_values, num_queries
        self.max_length = num_keys  # keys are distinct
        self._set_symbols(_pool("k", num_keys) + _pool("v", num_values))

    @property
    def chance(self) -> float:
        return 1 / self.num_values

    def _shortcut_exact(self, length: int) -> tuple[float, str]:
        """The asked pair is uniform among the `length` pairs and independent of the values, so copying the most
        frequent value is right with E[top count] / length (`majority_share`): 1/length + O(1/num_values), e.g. 0.138
        at length 8 and 0.038 at 64; copying the last value, 1/length + (1 - 1/length)/num_values."""
        share = 1 / length + (1 - 1 / length) / self.num_values
        return best_of(
            {
                "position_prior": 1 / self.num_values,
                "majority_symbol": majority_share(length, self.num_values),
                "last_symbol": share,
            }
        )

    def _sample(self, rng: np.random.Generator, batch_size: int, length: int) -> Batch:
        key0, value0 = self.token_id["k0"], self.token_id["v0"]
        keys = key0 + _distinct(rng, batch_size, self.num_keys, length)
        values = value0 + rng.integers(0, self.num_values, size=(batch_size, length))
        asked = _distinct(rng, batch_size, length, min(self.num_queries, length))
        tokens = np.empty((batch_size, 2 * length + asked.shape[1]), np.int64)
        tokens[:, 0 : 2 * length : 2] = keys
        tokens[:, 1 : 2 * length : 2] = values
        tokens[:, 2 * length :] = np.take_along_axis(keys, asked, axis=1)
        return _scored_tail(tokens, np.take_along_axis(values, asked, axis=1))


@register
class Copy(Task):
    """Copy a string: `length` counts its symbols (uniform over the first `alphabet_size` letters); then one blank `_`
    per symbol, blank i scored with symbol i.

        input : <bos> n k i _ _ _
        target:     . . . . n k i      (length=3)
    """

    scored_by = "token"

    name = "copy"
    family = "recall"
    level = "TC0 (needs state growing with length)"
    state_grows = True
    recall = "position"  # blank i reads input position i
    length_unit = "symbols"

    def __init__(self, *, alphabet_size: int = 16):
        check_int(self.name, "alphabet_size", alphabet_size, 2, 26)
        self.alphabet_size = alphabet_size
        self._set_symbols([*_letters(alphabet_size), BLANK])

    @property
    def chance(self) -> float:
        return 1 / self.alphabet_size

    def _shortcut_exact(self, length: int) -> tuple[float, str]:
        """Writing the input's most frequent letter everywhere is right at E[top count] / length of the blanks:
        0.258 at length 8, 0.123 at 64 (16 letters); it fades like 1/sqrt(length)."""
        share = majority_share(length, self.alphabet_size)
        return best_of({"position_prior": 1 / self.alphabet_size, "majority_symbol": share})

    def _sample(self, rng: np.random.Generator, batch_size: int, length: int) -> Batch:
        symbols = self.token_id["a"] + rng.integers(0, self.alphabet_size, size=(batch_size, length))
        blanks = np.full((batch_size, length), self.token_id[BLANK], np.int64)
        return _scored_tail(np.concatenate([symbols, blanks], axis=1), symbols)


@register
class SelectiveCopy(Task):
    """Selective copying (Mamba, Gu & Dao 2023): `num_tokens` letters scattered at random places among noise tokens `-`,
    `length` counting the whole scattered region (letters and noise, so length >= num_tokens); then one blank `_` per
    letter, blank i scored with the i-th letter in order.

        input : <bos> - h i - - - _ _
        target:     . . . . . . . h i      (length=6, num_tokens=2)
    """

    scored_by = "token"

    name = "selective_copy"
    family = "recall"
    level = "TC0 (needs state of num_tokens symbols)"
    recall = "position"  # blank i reads the i-th letter: the position where the count of letters reaches i
    # At most num_tokens letters to hold, written in order: a counter that stops at num_tokens and one set/reset
    # register per slot, so the transition monoid is aperiodic (w^k = w^(k+1) for every block w and large k).
    star_free = True
    length_unit = "tokens of the scattered region (letters and noise)"

    def __init__(self, *, num_tokens: int = 16, alphabet_size: int = 16):
        check_int(self.name, "num_tokens", num_tokens, 1, 100_000)
        check_int(self.name, "alphabet_size", alphabet_size, 2, 26)
        self.num_tokens, self.alphabet_size = num_tokens, alphabet_size
        self.min_length = num_tokens
        self._set_symbols([*_letters(alphabet_size), "-", BLANK])

    @property
    def chance(self) -> float:
        return 1 / self.alphabet_size

    def _shortcut_exact(self, length: int) -> tuple[float, str]:
        """Writing the most frequent of the num_tokens letters everywhere: E[top count] / num_tokens, 0.193 for 16 of
        16 letters, at every length (the noise does not dilute it): this shortcut never vanishes."""
        share = majority_share(self.num_tokens, self.alphabet_size)
        return best_of({"position_prior": 1 / self.alphabet_size, "majority_symbol": share})

    def _sample(self, rng: np.random.Generator, batch_size: int, length: int) -> Batch:
        letters = self.token_id["a"] + rng.integers(0, self.alphabet_size, size=(batch_size, self.num_tokens))
        region = np.full((batch_size, length), self.token_id["-"], np.int64)
        # Boolean assignment fills row by row, left to right, so each row's letters keep their order.
        region[_exactly(rng, batch_size, length, self.num_tokens)] = letters.reshape(-1)
        blanks = np.full((batch_size, self.num_tokens), self.token_id[BLANK], np.int64)
        return _scored_tail(np.concatenate([region, blanks], axis=1), letters)


@register
class Induction(Task):
    """Induction heads (Olsson et al. 2022; the Mamba paper's version): `length` counts the random letters before the
    final trigger, among which the trigger `@` appears once, at a random place before the last; the final `@` is the
    query, scored with the letter that followed the first `@`.

        input : <bos> n k @ e e @
        target:     . . . . . . e      (length=5)
    """

    name = "induction"
    family = "recall"
    level = "TC0 (constant state suffices: one letter)"
    recall = "key"  # the final trigger finds the earlier trigger and reads the letter after it (an induction head)
    # One register set once, by the letter after the first trigger: a set/reset automaton, aperiodic.
    star_free = True
    length_unit = "tokens before the final trigger"
    min_length = 2

    def __init__(self, *, alphabet_size: int = 16):
        check_int(self.name, "alphabet_size", alphabet_size, 2, 26)
        self.alphabet_size = alphabet_size
        self._set_symbols([*_letters(alphabet_size), "@"])

    @property
    def chance(self) -> float:
        return 1 / self.alphabet_size

    def _shortcut_exact(self, length: int) -> tuple[float, str]:
        """The answer is one of the length - 1 letters, in effect a uniform one, so the most frequent letter is right
        with E[top count] / (length - 1): 0.272 at length 8, 0.121 at 64 (16 letters)."""
        share = majority_share(length - 1, self.alphabet_size)
        return best_of({"position_prior": 1 / self.alphabet_size, "majority_symbol": share})

    def _sample(self, rng: np.random.Generator, batch_size: int, length: int) -> Batch:
        trigger = self.token_id["@"]
        tokens = np.full((batch_size, length + 1), trigger, np.int64)
        tokens[:, :length] = self.token_id["a"] + rng.integers(0, self.alphabet_size, size=(batch_size, length))
        rows = np.arange(batch_size)
        first = rng.integers(0, length - 1, size=batch_size)
        tokens[rows, first] = trigger
        return _scored_tail(tokens, tokens[rows, first + 1][:, None])


@register
class Needle(Task):
    """Multi-key needle in a haystack (RULER's niah_multikey): `length` counts haystack tokens, random fillers with
    `num_needles` needles `key d d d` (distinct keys, values of `value_digits` uniform digits) at random places, so
    length >= num_needles * (1 + value_digits). Then `?`, one of the needles' keys, and one blank `_` per value digit,
    blank i scored with digit i of that key's value.

        input : <bos> f1 f6 f3 k4 2 7 k29 8 0 ? k4 _ _
        target:     .  .  .  .  . . .   . . . .  . 2 7      (length=9, num_needles=2, value_digits=2)
    """

    name = "needle"
    family = "recall"
    level = "TC0 (needs state of num_needles values, not growing with length)"
    recall = "key"  # the queried key finds its needle and reads the digits after it
    # With fixed pools: one set/reset register per (key, digit place) and a counter of digits since the last key that
    # stops at value_digits: an aperiodic automaton, so star-free (its state grows with num_keys, not with length).
    star_free = True
    length_unit = "haystack tokens (fillers and needles)"

    def __init__(self, *, num_needles: int = 4, value_digits: int = 4, num_keys: int = 32, num_fillers: int = 8):
        check_int(self.name, "num_keys", num_keys, 1, 10_000)
        check_int(self.name, "num_needles", num_needles, 1, num_keys)
        check_int(self.name, "value_digits", value_digits, 1, 64)
        check_int(self.name, "num_fillers", num_fillers, 1, 10_000)
        self.num_needles, self.value_digits = num_needles, value_digits
        self.num_keys, self.num_fillers = num_keys, num_fillers
        self.min_length = num_needles * (1 + value_digits)
        self._set_symbols(_pool("k", num_keys) + list(string.digits) + _pool("f", num_fillers) + ["?", BLANK])

    @property
    def chance(self) -> float:
        return 0.1

    def _shortcut_exact(self, length: int) -> tuple[float, str]:
        """The headline is the last digit of the asked value. The last digit of the haystack is the last needle's, the
        asked one with probability 1/num_needles: 1/4 + 3/4 * 1/10 = 0.325 by default, at every length (the needles
        do not grow with it), so this shortcut never vanishes. The most frequent value digit: E[top count] / digits."""
        n = self.num_needles
        last = 1 / n + (1 - 1 / n) / 10
        share = majority_share(n * self.value_digits, 10)
        scores = {"position_prior": 0.1, "majority_symbol": share, "last_symbol": last}
        if self.value_digits == 1:
            scores["first_symbol"] = last
        return best_of(scores)

    def _sample(self, rng: np.random.Generator, batch_size: int, length: int) -> Batch:
        tid = self.token_id
        width, count = 1 + self.value_digits, self.num_needles
        rows = np.arange(batch_size)
        # Needle i goes after s_i - i fillers, where s is a sorted random `count`-subset of the fillers + needles slots.
        slots = _exactly(rng, batch_size, length - count * width + count, count)
        starts = np.nonzero(slots)[1].reshape(batch_size, count) + np.arange(count) * (width - 1)
        keys = tid["k0"] + _distinct(rng, batch_size, self.num_keys, count)
        digits = tid["0"] + rng.integers(0, 10, size=(batch_size, count, self.value_digits))
        haystack = tid["f0"] + rng.integers(0, self.num_fillers, size=(batch_size, length))
        places = starts[:, :, None] + np.arange(width)
        haystack[rows[:, None, None], places] = np.concatenate([keys[:, :, None], digits], axis=2)
        asked = rng.integers(0, count, size=batch_size)
        question = np.stack([np.full(batch_size, tid["?"]), keys[rows, asked]], axis=1)
        blanks = np.full((batch_size, self.value_digits), tid[BLANK], np.int64)
        return _scored_tail(np.concatenate([haystack, question, blanks], axis=1), digits[rows, asked])
