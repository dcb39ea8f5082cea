"""Delétang et al.'s context-sensitive binary arithmetic: binary addition, binary multiplication and the integer square
root, on little-endian bits (the family and level are context_sensitive's; this module holds the arithmetic apart
from the string transductions). Transductions like those: one blank per output symbol, each scored. Numbers are drawn
as in the paper (uniform over [1, 2**digits - 1], written with leading zeros) and computed on Python ints, one per
example: the only per-example loop, with bits moving in and out through packbits and bytes, never one token at a time.
"""

from __future__ import annotations

import abc
import math

import numpy as np

from expressivity.tasks.base import (
    Batch,
    Task,
    register,
)
from expressivity.tasks.context_sensitive import BLANK, FAMILY, LEVEL, with_blanks


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
