"""Context-sensitive tasks of Delétang et al. 2022, "Neural Networks and the Chomsky Hierarchy" (their tasks/cs/).

Duplicate string, odds first and bucket sort are transductions: after the input comes one blank `_` per output symbol,
and each blank is scored with the output symbol at that position, so the model never sees an answer token (as in the
paper, whose models read an "empty" token while they write). So are the binary-arithmetic tasks (addition,
multiplication, square root), which live in binary_arithmetic.py. Missing duplicate is a final-answer task: its input
ends with the query token `=`, the only scored position.
"""

from __future__ import annotations

import abc

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
    with_bos,
)
from expressivity.tasks.shortcut_math import best_of, binomial_pmf, majority_share

FAMILY = "context_sensitive"
LEVEL = "CS"
BLANK = "_"
DIGITS = [str(d) for d in range(10)]


def with_blanks(
    inputs: np.ndarray, outputs: np.ndarray, blank_id: int, out_len: np.ndarray | None = None, *, offset: int = 0
) -> Batch:
    """<bos>, the (B, n) input ids, then one scored blank per output symbol, labelled with the (B, m) output ids.

    `out_len` (B,) gives each example's output length where it varies (at most m, and m == out_len.max() so no
    column is wholly padded); the blanks past it are PAD, unscored. With `offset`, `inputs` and `outputs` hold small
    codes of any integer dtype whose ids are code + offset.
    """
    (b, n), m = inputs.shape, outputs.shape[1]
    # Filled in place rather than through `with_bos`: same layout, one pass over memory fewer. The offset is added
    # while writing, so the ids never exist as an int64 temporary.
    tokens, targets, mask = empty_batch(b, 1 + n + m)
    tokens[:, 0] = BOS_ID
    put_ids(tokens[:, 1 : n + 1], inputs, offset)
    targets[:, : n + 1] = PAD_ID
    mask[:, : n + 1] = False
    if out_len is None:
        tokens[:, n + 1 :] = blank_id
        put_ids(targets[:, n + 1 :], outputs, offset)
        mask[:, n + 1 :] = True
    else:
        scored = np.arange(m) < out_len[:, None]
        tokens[:, n + 1 :] = np.where(scored, blank_id, PAD_ID)
        targets[:, n + 1 :] = np.where(scored, outputs + offset if offset else outputs, PAD_ID)
        mask[:, n + 1 :] = scored
    return Batch(inputs=tokens, targets=targets, mask=mask)


class _StringTransduction(Task):
    """A uniform random string over the digits "0".."alphabet_size-1", mapped to an output string of those symbols."""

    scored_by = "token"

    family = FAMILY
    level = LEVEL
    length_unit = "input symbols"

    def __init__(self, *, alphabet_size: int = 2):
        check_int(self.name, "alphabet_size", alphabet_size, 2, 10)
        self.alphabet_size = alphabet_size
        self._set_symbols([*DIGITS[:alphabet_size], BLANK])

    @property
    def chance(self) -> float:
        # Every output position holds an input symbol; over all scored positions the symbols are uniform.
        return 1.0 / self.alphabet_size

    def _shortcut_exact(self, length: int) -> tuple[float, str]:
        """Every output symbol is an input symbol (each input symbol as often), so writing the input's most frequent
        symbol everywhere is right at E[top count] / length of the positions: 0.637 at length 8, 0.550 at 64, 0.518
        at 500 for bits. It fades like 1/sqrt(length): within 0.01 of chance only from length ~1600."""
        return best_of({"position_prior": self.chance, "majority_symbol": majority_share(length, self.alphabet_size)})

    @abc.abstractmethod
    def _transduce(self, strings: np.ndarray) -> np.ndarray:
        """(B, n) symbol codes 0..alphabet_size-1 (uint8) -> (B, m) output codes."""

    def _sample(self, rng: np.random.Generator, batch_size: int, length: int) -> Batch:
        strings = uniform_symbols(rng, batch_size, length, self.alphabet_size)
        # Codes become ids as they are written: the digits are adjacent ids from "0".
        return with_blanks(strings, self._transduce(strings), self.token_id[BLANK], offset=self.token_id["0"])


@register
class DuplicateString(_StringTransduction):
    """Write the input string twice: s -> s s. `length` counts input symbols; 2*length blanks follow (T = 3*length + 1).

        input : <bos> 1 0 0 _ _ _ _ _ _
        target:     . . . . 1 0 0 1 0 0

    The paper uses binary strings (the default alphabet_size=2).
    """

    name = "duplicate_string"
    recall = "position"  # blank j reads input position j mod length
    in_tc0 = "each output symbol is the input symbol at a position computed from its own and the length"

    def _transduce(self, strings: np.ndarray) -> np.ndarray:
        return np.concatenate([strings, strings], axis=1)


@register
class OddsFirst(_StringTransduction):
    """The symbols at odd positions (1-indexed) first, then those at even ones: s1 s2 s3 s4 s5 -> s1 s3 s5 s2 s4.
    `length` counts input symbols; as many blanks follow.

        input : <bos> 0 0 1 1 0 _ _ _ _ _
        target:     . . . . . . 0 1 0 0 1

    This follows the paper's text and its docstring examples (00110101 -> 0100 0111); the reference code slices
    the other way round (s2 s4 ... first), which is the same task up to renaming positions.
    """

    name = "odds_first"
    recall = "position"  # blank j reads input 2j (0-indexed) while j < ceil(n / 2), then 2(j - ceil(n / 2)) + 1
    in_tc0 = "each output symbol is the input symbol at a position computed from its own and the length"

    def _transduce(self, strings: np.ndarray) -> np.ndarray:
        return np.concatenate([strings[:, 0::2], strings[:, 1::2]], axis=1)


@register
class BucketSort(_StringTransduction):
    """Sort the input symbols in increasing order. `length` counts input symbols; as many blanks follow.

        input : <bos> 3 0 4 3 1 _ _ _ _ _
        target:     . . . . . . 0 1 3 3 4

    The paper uses 5 symbols (the default). `chance` is the marginal 1/alphabet_size; a guesser that knows the
    position (small symbols come first) does better.
    """

    name = "bucket_sort"
    # Output j is the smallest symbol s with #{input symbols <= s} > j: counting over a fixed alphabet.
    in_tc0 = "sorting by counting: output j is the smallest symbol whose count of smaller-or-equal symbols exceeds j"

    def __init__(self, *, alphabet_size: int = 5):
        super().__init__(alphabet_size=alphabet_size)

    def _shortcut_exact(self, length: int) -> tuple[float, str]:
        """Output position j holds the j-th smallest input symbol, which concentrates as length grows: the commonest
        symbol at each position is right at 0.56 of them at length 8 and 0.83 at 64, rising towards 1, so this
        shortcut never vanishes (up to the boundaries between runs, the sorted output is known from the length alone).
        Short strings: the input's most frequent symbol (0.60 at length 2)."""
        n, a = length, self.alphabet_size
        # sorted[j] <= s iff at least j + 1 symbols are <= s: P(Bin(n, (s+1)/a) >= j + 1).
        at_most = np.stack([np.cumsum(binomial_pmf(n, (s + 1) / a)[::-1])[::-1][1:] for s in range(a)])  # (a, n)
        prior = float(np.diff(at_most, axis=0, prepend=0.0).max(axis=0).mean())
        copy = (1 + (n - 1) / a) / n  # the first (or last) input symbol: right at its own copies
        return best_of({"position_prior": prior, "majority_symbol": majority_share(n, a), "first_symbol": copy})

    def _transduce(self, strings: np.ndarray) -> np.ndarray:
        # Stable means radix sort on these uint8 codes; numpy's default quicksort is several times slower on uint8.
        return np.sort(strings, axis=1, kind="stable")


@register
class MissingDuplicate(Task):
    """A string w written twice with one symbol replaced by `?`; answer the missing symbol at the query `=`.

        input : <bos> 0 1 1 0 0 ? 1 0 =
        target:     . . . . . . . . . 1

    `length` counts the input symbols as in the paper: the duplicated string w w with its gap (|w| = length // 2),
    plus one filler `#` at the end when length is odd; BOS and `=` come on top (T = length + 2). The gap position is
    uniform over w w, so the answers are uniform over the alphabet.
    """

    name = "missing_duplicate"
    family = FAMILY
    level = LEVEL
    length_unit = "input symbols (w w with its gap, plus a filler # when odd)"
    recall = "position"  # the answer sits half the string away from the gap `?`
    in_tc0 = "the answer is the symbol half the string away from the gap: a lookup at a computed position"
    min_length = 2

    def __init__(self, *, alphabet_size: int = 2):
        check_int(self.name, "alphabet_size", alphabet_size, 2, 10)
        self.alphabet_size = alphabet_size
        self._set_symbols([*DIGITS[:alphabet_size], "?", "#", "="])

    @property
    def chance(self) -> float:
        return 1.0 / self.alphabet_size

    def _shortcut_exact(self, length: int) -> tuple[float, str] | None:
        """Copying the first (or last) visible symbol is right when the gap is w's matching place in the other copy,
        probability 1/(2h) for h = length // 2, else by luck: 1/(2h) + (1 - 1/(2h))/alphabet_size, 0.5625 at length
        8. Bits: the visible string's majority symbol is the answer iff the answer is w's strict majority, which for
        odd h is E[max(K, h-K)] / h (0.6875 at length 10, 0.57 at 66) and less for even h (ties): the shortcut comes
        and goes with the parity of h and is within 0.01 of chance only from length 3184. Other alphabets: measured."""
        h, a = length // 2, self.alphabet_size
        if a != 2:
            return None
        hits = 2 if h == 1 else 1  # with |w| = 1 both symbols are w[0]: either gap leaves the answer in view
        copy = hits / (2 * h) + (1 - hits / (2 * h)) / a
        ones = np.arange(h + 1)
        top = np.maximum(ones, h - ones) * (2 * ones != h)
        majority = float((binomial_pmf(h) * top).sum() / h)
        return best_of({"position_prior": 0.5, "first_symbol": copy, "majority_symbol": majority})

    def _sample(self, rng: np.random.Generator, batch_size: int, length: int) -> Batch:
        half = length // 2
        w = rng.integers(0, self.alphabet_size, size=(batch_size, half), dtype=np.int64) + self.token_id["0"]
        gap = rng.integers(0, 2 * half, size=batch_size)
        rows = np.arange(batch_size)
        tokens = np.empty((batch_size, length + 1), np.int64)
        tokens[:, :half] = w
        tokens[:, half : 2 * half] = w
        answer = tokens[rows, gap]
        tokens[rows, gap] = self.token_id["?"]
        tokens[:, 2 * half : length] = self.token_id["#"]  # empty unless length is odd
        tokens[:, length] = self.token_id["="]
        targets = np.zeros_like(tokens)
        targets[:, length] = answer
        mask = np.zeros(tokens.shape, bool)
        mask[:, length] = True
        return with_bos(tokens, targets, mask)
