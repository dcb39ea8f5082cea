"""State tracking: group word problems, swap-only S_n, flip-flop, modular counting and parity.

Every task in this module scores the running state after each input token (`targets="running"`) or only the state
after the last one (`targets="final"`); flip-flop scores its reads (every read, or only the last).
"""

from __future__ import annotations

import math

import numpy as np

from expressivity.tasks.base import (
    BOS_ID,
    PAD_ID,
    Batch,
    Task,
    check_choice,
    check_float,
    check_int,
    register,
    with_bos,
)
from expressivity.tasks.groups import group as make_group
from expressivity.tasks.shortcut_math import best_of, bit_count_shortcuts, walk_distribution

TARGET_MODES = ("running", "final")
OFFSET = 2  # ids 0 and 1 are PAD and BOS; a task's symbols start at id 2


def _running_mask(batch_size: int, length: int, targets: str) -> np.ndarray:
    """(B, length) bool: every step scored, or only the last."""
    mask = np.zeros((batch_size, length), bool)
    if targets == "running":
        mask[:] = True
    else:
        mask[:, -1] = True
    return mask


def _running_batch(symbols: np.ndarray, states: np.ndarray, targets: str, offset: int = OFFSET) -> Batch:
    """BOS, then (B, L) symbols, each scored with its state (running) or only the last (final); both are shifted by
    `offset` into token ids.

    Builds the arrays in place instead of `with_bos`, whose concatenations and masked assignment cost about a third
    of a word problem's sampling time at B=256; symbols and states may come in small dtypes.
    """
    b, length = symbols.shape
    inputs = np.empty((b, length + 1), np.int64)
    inputs[:, 0] = BOS_ID
    np.add(symbols, offset, out=inputs[:, 1:])
    labels = np.zeros((b, length + 1), np.int64)  # PAD_ID is 0: unscored positions stay PAD
    mask = np.zeros((b, length + 1), bool)
    if targets == "running":
        np.add(states, offset, out=labels[:, 1:])
        mask[:, 1:] = True
    else:
        labels[:, -1] = states[:, -1] + offset
        mask[:, -1] = True
    return Batch(inputs=inputs, targets=labels, mask=mask)


@register
class Parity(Task):
    """Running parity of a bit string. `length` counts bits.

    input : <bos> 1 0 1 1
    target:     . 1 1 0 1      (targets="running": parity of the bits read so far)
    """

    name = "parity"
    family = "state_tracking"
    level = "regular (TC0)"
    length_unit = "bits"

    def __init__(self, *, targets: str = "running"):
        check_choice(self.name, "targets", targets, TARGET_MODES)
        self.targets = targets
        self._set_symbols(["0", "1"])

    @property
    def word_group(self) -> str:
        return "Z2"

    @property
    def chance(self) -> float:
        return 0.5

    def _shortcut_exact(self, length: int) -> tuple[float, str]:
        """As parity_check's (the headline is the parity of all the bits): a tie between 1s and 0s fixes it, 0.773 at
        length 8, 0.599 at 64; fades like 1/sqrt(length)."""
        return best_of(bit_count_shortcuts(length, 2))

    def _sample(self, rng: np.random.Generator, batch_size: int, length: int) -> Batch:
        bits = rng.integers(0, 2, size=(batch_size, length), dtype=np.int64)
        parity = np.bitwise_xor.accumulate(bits, axis=1)
        zero = self.token_id["0"]  # "0" and "1" are adjacent ids
        return with_bos(bits + zero, parity + zero, _running_mask(batch_size, length, self.targets))


@register
class WordProblem(Task):
    """Word problem of a finite group: inputs are group elements drawn uniformly, the target at step t is the running
    product "apply x_1 first, then x_2, ..., then x_t" (state_t(i) = x_t(state_{t-1}(i)); for Z_m the running sum mod
    m). `length` counts group elements. Tokens are the group's elements (`expressivity.tasks.groups`), e.g. S3:

        input : <bos> 201 201 012 201
        target:     . 201 120 120 012      (targets="running"; "201 then 201" is i -> 201[201[i]] = "120")

    The level is NC1-complete for a non-solvable group (S5, A5: Barrington) and TC0 otherwise (Z_m, S4, A4xZ5).
    """

    name = "word_problem"
    family = "state_tracking"
    level = "TC0 or NC1-complete (by group)"
    length_unit = "group elements"

    def __init__(self, *, group: str = "S5", targets: str = "running"):
        try:
            self.elements = make_group(group)  # its elements, in token order (`tasks.groups.Group`)
        except ValueError as err:
            raise ValueError(f"{self.name}: group={group!r}: {err}") from None
        check_choice(self.name, "targets", targets, TARGET_MODES)
        self.group, self.targets = group, targets
        self.level = "TC0" if self.elements.is_solvable else "NC1-complete"
        self._set_symbols(list(self.elements.tokens))

    @property
    def word_group(self) -> str:
        return self.elements.name

    @property
    def chance(self) -> float:
        # Uniform inputs make every running product exactly uniform over G.
        return 1.0 / self.elements.order

    def _shortcut_exact(self, length: int) -> tuple[float, str]:
        """At length 1 the product is the one input element (copying it solves the task); from 2 on the product is
        uniform given any one element, so chance. (Given the most frequent element, products lean by far less than
        the sampling error of any test here, e.g. through the sign in S_n; not declared.)"""
        return (1.0, "last_symbol") if length == 1 else (self.chance, "position_prior")

    def _sample(self, rng: np.random.Generator, batch_size: int, length: int) -> Batch:
        # int16 ids (orders are <= 2048): less memory traffic, which is most of the cost at this size
        x = rng.integers(0, self.elements.order, size=(batch_size, length), dtype=np.int16)
        return _running_batch(x, self.elements.running_product(x), self.targets)


@register
class SwapWordProblem(Task):
    """Swap-only word problem over S_n: inputs are transpositions drawn uniformly, the target at step t is the running
    product in S_n (same convention as `word_problem`). `length` counts transpositions. Inputs and targets are S_n
    tokens in one-line notation (the vocabulary is all of S_n), e.g. n=3:

        input : <bos> 210 210 021 210
        target:     . 210 012 021 201      (targets="running")

    Tracking the pointer swaps of the code-execution task is this problem; a 1-layer DeltaNet with beta in [0, 2]
    solves it (a transposition is the reflection I - 2kk^T). NC1-complete for n >= 5 (the transpositions generate the
    non-solvable S_n), TC0 for n <= 4.
    """

    name = "swap_word_problem"
    family = "state_tracking"
    level = "NC1-complete (n >= 5) or TC0 (n <= 4)"
    length_unit = "transpositions"
    swap_word_problem = True

    def __init__(self, *, n: int = 5, targets: str = "running"):
        check_int(self.name, "n", n, 3, 6)
        check_choice(self.name, "targets", targets, TARGET_MODES)
        self.n, self.targets = n, targets
        self.elements = make_group(f"S{n}")  # its elements, in token order (`tasks.groups.Group`)
        self.level = "NC1-complete" if n >= 5 else "TC0"
        # A transposition moves exactly two points.
        moved = (self.elements.perms != np.arange(n)).sum(axis=1)
        self._swaps = np.flatnonzero(moved == 2)
        self._set_symbols(list(self.elements.tokens))

    @property
    def swap_items(self) -> int:
        return self.n

    @property
    def chance(self) -> float:
        # After t swaps the state's sign is (-1)^t, known from the position alone; the walk then mixes over that
        # coset of A_n, so a guesser reaches about 2/n! (more on the first few steps).
        return 2.0 / math.factorial(self.n)

    def _shortcut_exact(self, length: int) -> tuple[float, str]:
        """Exact laws of the random walk of transpositions: its commonest state after `length` steps, or copying the
        last (or first) swap, right when the other length - 1 swaps multiply to the identity (1.0 at length 1;
        0.1 at 3 for S5). Within 0.01 of 2/n! from length 6 (S5)."""
        laws = walk_distribution(
            self.elements.table,
            self._swaps,
            np.full(len(self._swaps), 1 / len(self._swaps)),
            self.elements.identity,
            length,
        )
        copy = float(laws[length - 1][self.elements.identity])
        return best_of({"position_prior": float(laws[length].max()), "last_symbol": copy})

    def _sample(self, rng: np.random.Generator, batch_size: int, length: int) -> Batch:
        x = self._swaps.astype(np.int16)[rng.integers(0, len(self._swaps), size=(batch_size, length), dtype=np.int16)]
        return _running_batch(x, self.elements.running_product(x), self.targets)


@register
class FlipFlop(Task):
    """Flip-flop language (Liu et al. 2023): instructions w (write), i (ignore), r (read), each followed by a bit; a
    read must output the last written bit. `length` counts instructions; the first is always w and the last always r,
    the others are w / r / i with probabilities p_write / p_read / 1 - p_write - p_read, and bits are uniform.

    Layout: BOS, then each instruction token followed by its data bit, except the last read, whose bit is the answer and
    is left out, so the input ends with the query `r` and T = 2 * length. The scored position is the `r` token, its
    target the bit to be read; inside the sequence a read's data bit is that same bit, as in the flip-flop language.

        input : <bos> w 1 i 0 r 1 w 0 i 1 r
        target:     . . . . . 1 . . . . . 0      (targets="running": every read; "final": the last read only)
    """

    name = "flip_flop"
    family = "state_tracking"
    level = "star-free regular (TC0)"
    star_free = True
    length_unit = "instructions"
    min_length = 2

    def __init__(self, *, p_write: float = 0.1, p_read: float = 0.1, targets: str = "running"):
        check_float(self.name, "p_write", p_write, 0.0, 1.0)
        check_float(self.name, "p_read", p_read, 0.0, 1.0)
        if p_write + p_read > 1.0 + 1e-9:  # tolerance: p_read = 1 - p_write computed in floats may overshoot by an ulp
            raise ValueError(f"{self.name}: p_write + p_read must be <= 1, got {p_write} + {p_read}")
        check_choice(self.name, "targets", targets, TARGET_MODES)
        self.p_write, self.p_read, self.targets = p_write, p_read, targets
        self._set_symbols(["0", "1", "w", "r", "i"])

    @property
    def chance(self) -> float:
        return 0.5  # written bits are uniform

    def _shortcut_exact(self, length: int) -> tuple[float, str]:
        """The bit to read is the first write's unless a later write came (probability (1 - p_write)**(length - 2)):
        copying the first data bit, 1/2 + (1 - p_write)**(length - 2) / 2, 0.766 at length 8 by default. The data bit
        just before the query is the answer when its instruction was a write or a read: copying it scores
        1/2 + (p_write + p_read)/2, 0.6 by default, at every length, so this shortcut never vanishes. The majority data
        bit: exact by a walk over (memory, ones - zeros)."""
        if length == 2:
            return 1.0, "first_symbol"
        p_w, p_r = float(self.p_write), float(self.p_read)
        first = 0.5 + 0.5 * (1 - p_w) ** (length - 2)
        last = 0.5 + 0.5 * (p_w + p_r)
        # law[m, d + n]: memory m and (ones - zeros) d among the data bits so far; the first instruction writes.
        n = length - 1
        law = np.zeros((2, 2 * n + 1))
        law[0, n - 1] = law[1, n + 1] = 0.5
        for _ in range(length - 2):  # the middle instructions: write, read or ignore
            up, down = np.roll(law, 1, axis=1), np.roll(law, -1, axis=1)
            write = np.stack([down.sum(axis=0), up.sum(axis=0)]) / 2
            read = np.stack([down[0], up[1]])
            ignore = (up + down) / 2
            law = p_w * write + p_r * read + (1 - p_w - p_r) * ignore
        majority = law[0, : n + 1].sum() + law[1, n + 1 :].sum()  # a tie copies "0"
        return best_of({"first_symbol": first, "last_symbol": last, "majority_symbol": float(majority)})

    def _sample(self, rng: np.random.Generator, batch_size: int, length: int) -> Batch:
        w, zero = self.token_id["w"], self.token_id["0"]
        # One uniform draw u per instruction: write if u < p_write, read in the next p_read, else ignore.
        u = rng.random((batch_size, length))
        is_write = u < self.p_write
        is_read = (u >= self.p_write) & (u < self.p_write + self.p_read)
        is_write[:, 0], is_read[:, 0] = True, False
        is_write[:, -1], is_read[:, -1] = False, True
        # Small dtypes throughout: at B=256 the cost is mostly memory traffic, not arithmetic.
        instr = (w + 2) - (is_write.view(np.int8) << 1) - is_read.view(np.int8)  # symbols are ordered w, r, i
        bits = rng.integers(0, 2, size=(batch_size, length), dtype=np.int8)
        # Memory after instruction t = bit of the latest write at or before t: a running max over (2 * step + bit)
        # at writes (0 elsewhere) keeps the latest write, and its low bit is that write's bit.
        stamp = (np.arange(length, dtype=np.int64 if length >= 2**30 else np.int32) << 1) + bits
        memory = (np.maximum.accumulate(stamp * is_write, axis=1) & 1).astype(np.int8)
        # Built in place (BOS, then instruction k at 1 + 2k and its bit at 2 + 2k) rather than through `with_bos`,
        # whose copies of these (B, 2 * length) arrays would cost a third of the sampling time.
        inputs = np.empty((batch_size, 2 * length), np.int64)
        inputs[:, 0] = BOS_ID
        inputs[:, 1::2] = instr
        inputs[:, 2::2] = np.where(is_read, memory, bits)[:, :-1] + zero  # a read's data bit is the bit it reads
        targets = np.full(inputs.shape, PAD_ID, np.int64)
        mask = np.zeros(inputs.shape, bool)
        if self.targets == "running":
            targets[:, 1::2] = (memory + zero) * is_read  # PAD_ID (0) where not a read
            mask[:, 1::2] = is_read
        else:
            targets[:, -1] = memory[:, -1] + zero
            mask[:, -1] = True
        return Batch(inputs=inputs, targets=targets, mask=mask)


@register
class ModularCounting(Task):
    """Running count of 1s modulo m over a bit string. `length` counts bits. Bits are the tokens "0" and "1", counts
    the residues "0".."m-1" (shared tokens), e.g. m=3:

        input : <bos> 1 1 0 1 1
        target:     . 1 2 2 0 1      (targets="running")
    """

    name = "modular_counting"
    family = "state_tracking"
    level = "regular (TC0)"
    length_unit = "bits"

    def __init__(self, *, m: int = 3, targets: str = "running"):
        check_int(self.name, "m", m, 2, 100)
        check_choice(self.name, "targets", targets, TARGET_MODES)
        self.m, self.targets = m, targets
        self._set_symbols([str(r) for r in range(m)])

    @property
    def word_group(self) -> str:
        return f"Z{self.m}"  # bits 0 and 1 are the identity and a generator of Z_m

    @property
    def chance(self) -> float:
        # The count of 1s after t steps, mod m, is near uniform once t is more than a few m (more on early steps).
        return 1.0 / self.m

    def _shortcut_exact(self, length: int) -> tuple[float, str]:
        """As parity's: a tie between 1s and 0s fixes the count (length / 2), and without one the other residues gain:
        0.605 at length 8, 0.43 at 64 (m = 3). Exact from the binomial law of the count."""
        return best_of(bit_count_shortcuts(length, self.m))

    def _sample(self, rng: np.random.Generator, batch_size: int, length: int) -> Batch:
        bits = rng.integers(0, 2, size=(batch_size, length), dtype=np.int8)
        count = np.cumsum(bits, axis=1, dtype=np.int64) % self.m
        return _running_batch(bits, count, self.targets, offset=self.token_id["0"])  # residues: consecutive ids
