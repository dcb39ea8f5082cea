"""Context-sensitive tasks of Delétang et al. 2022, "Neural Networks and the Chomsky Hierarchy" (their tasks/cs/).

Duplicate string, odds first and bucket sort are transductions: after the input comes one blank `_` per output symbol,
and each blank is scored with the output symbol at that position, so the model never sees an answer token (as in the
paper, whose models read an "empty" token while they write). So are the binary-arithmetic tasks (addition,
multiplication, square root), whose numbers are drawn as in the paper (uniform over [1, 2**digits - 1], written with
leading zeros) and computed on Python ints, one per example: the only per-example loop, with bits moving in and out
through packbits and bytes, never one token at a time. Missing duplicate is a final-answer task: its input ends with
the query token `=`, the only scored position.
"""

from __future__ import annotations

import abc
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


# ---- binary arithmetic --------------------------------------------------------------------------------------------


def bits_to_ints(bits: np.ndarray) -> list[int]:
    """(B, n) uint8 array of 0/1, least significant bit first along axis 1 -> B Python ints."""
    packed = np.packbits(bits, axis=1, bitorder="little")
    width, buf = packed.shape[1], packed.tobytes()
    return [int.from_bytes(buf[i * width : (i + 1) * width], "little") for i in range(packed.shape[0])]


def ints_to_bits(values: list[int], nbits: int) -> np.ndarray:
    """B Python ints below 2**nbits -> (B, nbits) int64 array of 0/1, least significant bit first."""
    width = (nbits + 7) // 8
    buf = b"".join(v.to_bytes(width, "little") for v in values)
    packed = np.frombuffer(buf, np.uint8).reshape(len(values), width)
    return np.unpackbits(packed, axis=1, bitorder="little")[:, :nbits].astype(np.int64)


def _redraw_zero_rows(rng: np.random.Generator, bits: np.ndarray, parts: list[np.ndarray]) -> None:
    """Redraw (in place) each row of `bits` in which some number, selected by a (B, n) bool mask, is all zeros.

    A number of d digits is then uniform over [1, 2**d - 1], as in the paper; redraws are rare beyond a few digits.
    """
    while True:
        bad = np.zeros(bits.shape[0], bool)
        for part in parts:
            bad |= ~(bits.view(bool) & part).any(axis=1)
        if not bad.any():
            return
        bits[bad] = rng.integers(0, 2, size=(int(bad.sum()), bits.shape[1]), dtype=bits.dtype)


class _BinaryOperation(Task):
    """Two little-endian binary numbers joined by an operator; the output is the result, little-endian, without
    leading zeros, followed by the end token `end` (the paper's termination token). The output length varies, so shorter
    outputs are right-padded with PAD."""

    scored_by = "token"

    family = FAMILY
    level = LEVEL
    length_unit = "expression symbols (both numbers' digits and the operator)"
    min_length = 3  # one digit on each side of the operator
    operator = ""

    def __init__(self):
        self._set_symbols(["0", "1", self.operator, BLANK, "end"])

    @property
    def chance(self) -> float:
        # A constant guess "1" is right at about half the result bits (and never at `end`): 1/2 at long lengths.
        return 0.5

    @staticmethod
    @abc.abstractmethod
    def _apply(a: int, b: int) -> int:
        """The arithmetic on Python ints: a + b or a * b."""

    def _sample(self, rng: np.random.Generator, batch_size: int, length: int) -> Batch:
        digits = length - 1
        first_len = rng.integers(1, digits, size=batch_size)  # [1, length - 2]: both numbers get a digit
        col = np.arange(digits)
        in_first = col < first_len[:, None]
        bits = rng.integers(0, 2, size=(batch_size, digits), dtype=np.uint8)
        _redraw_zero_rows(rng, bits, [in_first, ~in_first])

        # Expression: the operator at column first_len; a boolean-mask assignment fills the other columns, row by
        # row in order, with the digits.
        expr = np.full((batch_size, length), self.token_id[self.operator], np.int64)
        expr[np.arange(length) != first_len[:, None]] = bits.reshape(-1) + self.token_id["0"]

        # One Python int per row holds both numbers: the low first_len bits are the first, the rest the second.
        both = bits_to_ints(bits)
        split = first_len.tolist()
        results = [self._apply(x & ((1 << k) - 1), x >> k) for x, k in zip(both, split, strict=True)]
        res_len = np.array([r.bit_length() for r in results])
        width = int(res_len.max())
        outputs = np.zeros((batch_size, width + 1), np.int64)  # past an example's `end`: unscored, PAD
        outputs[:, :width] = ints_to_bits(results, width) + self.token_id["0"]
        outputs[np.arange(width + 1) == res_len[:, None]] = self.token_id["end"]
        return with_blanks(expr, outputs, self.token_id[BLANK], res_len + 1)


@register
class BinaryAddition(_BinaryOperation):
    """Add two binary numbers, little-endian (least significant bit first). `length` counts the expression's symbols
    (both numbers' digits and `+`); the first number gets a uniform 1..length-2 digits. Then one blank per result
    digit and one for `end`, PAD after that (T <= 2*length + 1).

        input : <bos> 0 0 1 + 0 1 1 0 1 _ _ _ _ _   _
        target:     . . . . . . . . . . 0 1 0 1 1 end      (4 + 22 = 26)
    """

    name = "binary_addition"
    operator = "+"
    in_tc0 = (
        "binary addition is in AC0 (carry-lookahead: the carry into bit i is a_j for the highest j < i with a_j = b_j)"
    )

    @staticmethod
    def _apply(a: int, b: int) -> int:
        return a + b


@register
class BinaryMultiplication(_BinaryOperation):
    """Multiply two binary numbers, little-endian (least significant bit first). `length` counts the expression's
    symbols (both numbers' digits and `*`); the first number gets a uniform 1..length-2 digits. Then one blank per
    result digit and one for `end`, PAD after that (T <= 2*length + 1).

        input : <bos> 0 0 1 * 0 1 1 0 1 _ _ _ _ _ _ _   _
        target:     . . . . . . . . . . 0 0 0 1 1 0 1 end      (4 * 22 = 88)
    """

    name = "binary_multiplication"
    operator = "*"
    in_tc0 = "multiplication is iterated addition of shifted copies, which reduces to majority (Chandra et al. 1984)"

    @staticmethod
    def _apply(a: int, b: int) -> int:
        return a * b


@register
class ComputeSqrt(Task):
    """Floor of the square root of a binary number, big-endian (most significant bit first) in and out. `length`
    counts the input's digits (uniform over [1, 2**length - 1], leading zeros kept); ceil(length / 2) blanks follow,
    one per digit of the root, also with leading zeros (T = length + ceil(length / 2) + 1).

        input : <bos> 1 0 0 1 0 1 _ _ _
        target:     . . . . . . . 1 1 0      (isqrt(37) = 6)

    The root's leading bits lean (its top bit is 1 for 3/4 of the inputs): input-only guesses beat chance on short
    inputs (`shortcut_acc`, a measured table: 0.64 at length 8, 0.52 at 64).
    """

    scored_by = "token"

    name = "compute_sqrt"
    family = FAMILY
    level = LEVEL
    length_unit = "input digits"
    # An approximation to n bits from a power series (iterated multiplication and division are in uniform TC0), then
    # an exact correction by checking r^2 <= x < (r + 1)^2 for the few candidates r near it (multiplications).
    in_tc0 = (
        "an integer square root: a power-series approximation in TC0 (Reif & Tate 1992; Hesse et al. 2002) corrected "
        "by multiplications"
    )

    def __init__(self):
        self._set_symbols(["0", "1", BLANK])

    @property
    def chance(self) -> float:
        # The root's bits are near-uniform except its top one: a constant guess is right about half the time.
        return 0.5

    def _sample(self, rng: np.random.Generator, batch_size: int, length: int) -> Batch:
        bits = rng.integers(0, 2, size=(batch_size, length), dtype=np.uint8)
        _redraw_zero_rows(rng, bits, [np.ones((1, length), bool)])
        roots = [math.isqrt(x) for x in bits_to_ints(bits[:, ::-1])]  # reversed: bits_to_ints reads LSB first
        root_len = (length + 1) // 2
        outputs = ints_to_bits(roots, root_len)[:, ::-1]
        return with_blanks(bits, outputs, self.token_id[BLANK], offset=self.token_id["0"])
