"""State-based recall (the Olmo Hybrid paper's code-execution task) and its two primitives, as Python programs.

- `state_based_recall`: a list of m bits, pointer variables holding distinct indices, n lines that swap (or reassign)
  pointers, then `assert bits[a] == _`. Tracking the pointers is a swap word problem (S_k, NC1-complete for k >= 5);
  reading bits[address] is recall over m items.
- `pointer_tracking`: the same update lines over variables that hold bits; `assert a == _` (tracking only).
- `indexed_recall`: `bits = [...]`, `a = 42`, `assert bits[a] == _` (recall only).

Token layout (see code_tokens): Python tokens, integers as digit tokens, one newline token ending each line; the query
blank `_` is the last token and the only scored position; its target is the answer bit. The two tracking tasks can
instead query after every update line (`queries="every_line"`), fix their variable tokens apart from how many
variables a program uses (`max_vars`) and write their initial values one assignment a line (`init_format="lines"`);
pointer_lines.py, which holds what they share, says how.

The two recall tasks can write their bits as a dict keyed by index (`bits_format="dict"`, default "list"):
`bits = {0: 0, 1: 1, 2: 1}`, each key in the digit tokens the program writes that index with anywhere else. The
program computes the same function (a dict indexed by the pointer value gives the bit a list would), but the lookup
becomes content-addressed: attention can match the query value's digit tokens against a key's exactly, where reading
an unindexed list needs the index value turned into an absolute position. Comparing the two formats tests whether
that conversion is what blocks learning the composition.

They can also write each index as one token (`numbers="tokens"`, default "digits"): `a = 42` is `a = 42`, three
tokens, not `a = 4 2`, as Olmo's own tokenizer writes integers below 1000 (dolma2, a variant of tiktoken's
cl100k_base, cuts digit runs into chunks of at most three). Same draws, program text and answers; the vocabulary gains
the 990 tokens 10-999, and a list of more than 1000 bits is an error. Reading digits into a number is then no part
of the lookup: with a dict, recall becomes an exact one-token key match (associative recall).

The answers of the two tracking tasks are fair coins, yet a model that tracks nothing is right more often than half the
time: the answer is the initial value of some variable, which variable depends only on the update lines, so guessing
the majority of the k initial values (for state_based_recall, the bits at the k initial pointers) is right with
probability E[max(K, k-K)] / k, K ~ Binomial(k, 1/2): 11/16 for k = 5. That guess is their `chance`, so a scaled
accuracy of 0 means no tracking (the first GPU grid, results/olmo-hybrid, found every model at that guess). Short
programs allow a little more without composing any line (`shortcut_acc`, pointer_lines.py): a variable that no update
line names still holds its own value, so answering that where it applies and the majority elsewhere is right with
chance + (1 - chance) (1 - 2/k)^n, 0.875 at one line, 0.728 at four, within 0.01 of chance from seven.
"""

from __future__ import annotations

import numpy as np

from expressivity.tasks.base import Batch, check_choice, check_int, register
from expressivity.tasks.code_tokens import (
    DICT_PUNCTUATION,
    NEWLINE,
    NUMBER_LIMIT,
    NUMBER_TOKENS,
    NUMBERS,
    CodeTask,
    joined,
)
from expressivity.tasks.pointer_lines import PointerProgram, majority_guess_accuracy, units_majority_accuracy
from expressivity.tasks.shortcut_math import majority_share

__all__ = ["BITS_FORMATS", "IndexedRecall", "PointerTracking", "StateBasedRecall", "majority_guess_accuracy"]


BITS_FORMATS = ("list", "dict")


def _check_bits_format(task: CodeTask, bits_format: str) -> tuple[str, ...]:
    """Validate and store `bits_format`; the tokens its layout adds to the vocabulary (none for a list)."""
    check_choice(task.name, "bits_format", bits_format, BITS_FORMATS)
    task.bits_format = bits_format
    return tuple(DICT_PUNCTUATION) if bits_format == "dict" else ()


def _check_numbers(task: CodeTask, numbers: str) -> tuple[str, ...]:
    """Validate and store `numbers`; the tokens it adds to the vocabulary (none for digits)."""
    check_choice(task.name, "numbers", numbers, NUMBERS)
    task.numbers = numbers
    return tuple(NUMBER_TOKENS) if numbers == "tokens" else ()


def _check_list_size(task: CodeTask, m: int) -> None:
    """With numbers="tokens" an index is one token only below 1000: a longer list is a one-line error."""
    if task.numbers == "tokens" and m > NUMBER_LIMIT:  # indices 0 .. m - 1
        raise ValueError(f"{task.name}: numbers='tokens' writes indices below 1000 as tokens; a list of {m} bits "
                         "needs numbers='digits'")  # fmt: skip


def _bits_line(task: CodeTask, bits: np.ndarray, width: int) -> np.ndarray:
    """`bits = [0, 1, 1] \\n`, or as a dict `bits = {0: 0, 1: 1, 2: 1} \\n`, from (B, m) bits. A dict's keys take
    `width` digit slots (one token with numbers="tokens"), as the program's index values are written, so a key's
    tokens are the query's."""
    b, m = bits.shape
    items = (bits + task.digit0)[..., None]
    brackets = ("[", "]")
    if task.bits_format == "dict":
        keys = task.number_slots(np.arange(m), width)
        keys = np.broadcast_to(keys, (b, *keys.shape))
        items = np.concatenate([keys, np.full((b, m, 1), task.tok[":"]), items], axis=2)
        brackets = ("{", "}")
    parts = [task.const(b, "bits", "=", brackets[0]), joined(items, task.tok[","]), task.const(b, brackets[1], NEWLINE)]
    return np.concatenate(parts, axis=1)


@register
class StateBasedRecall(PointerProgram):
    """Pointers into a bit list, permuted by n update lines, then one lookup. `length` counts update lines (n).

        bits = [0, 1, 0, 0, 1, 1, 0, 1]
        a, b, c, d, e = 6, 2, 0, 7, 3
        a, c = c, a
        b, e = e, b
        assert bits[a] == _        # answer: 0   (a now holds 0, and bits[0] = 0)

    Tokens: `bits = [ 0 , 1 , ... ] \\n a , b , ... = 6 , 2 , ... \\n a , c = c , a \\n ... assert bits [ a ] == _`,
    indices as digit tokens; only the final `_` is scored (target: the bit). ops: "swap" (`a, c = c, a`: the pointers
    stay a permutation of distinct indices), "assign" (`a = c`, which can duplicate pointers) or "mixed" (each line
    either, 50/50). The queried variable is uniform and the bits are fair coins, so the answer is 0 or 1 with
    probability 1/2. With queries="every_line", `assert bits[x] == _` follows every update line (pointer_lines.py).

    m, the list size, is one of two axes (Olmo Hybrid Theorem 1 separates on both). m=None (the default) is the
    paper's n = m sweep: m = max(n, num_vars), so a longer test also brings a longer list and index values, and digits
    in the tens place, that training at n <= 16 never drew. A fixed m decouples them: the pointers are distinct indices
    uniform over range(m) at every n, so a length test moves the tracking length n only, and every index value (every
    digit token of it) a test shows is one training draws too. A sweep over m at a small n is a sweep of this
    parameter (m up to thousands; at m = 1024 a batch costs about 8 ms per 128 examples on one core).

    bits_format="dict" writes the list as a dict keyed by index, the rest unchanged (same draws, same answers):

        bits = {0: 0, 1: 1, 2: 0, 3: 0, 4: 1, 5: 1, 6: 0, 7: 1}
        a, b, c, d, e = 6, 2, 0, 7, 3
        a, c = c, a
        b, e = e, b
        assert bits[a] == _        # answer: 0

    Content-addressed recall: a key's digit tokens equal those of the pointer value that names it, so attention can
    match them exactly instead of turning an index value into an absolute list position. It changes the token layout
    (and adds `{ } :` to the vocabulary), not the function computed, nor `chance` or the shortcuts.

    init_format="lines" writes the pointers' initial values one assignment a line, each next to its name, instead of
    pairing the k-th name with the k-th value of one tuple line (same draws, answers, vocabulary and `chance`):

        bits = [0, 1, 0, 0, 1, 1, 0, 1]
        a = 6
        b = 2
        c = 0
        d = 7
        e = 3
        a, c = c, a
        b, e = e, b
        assert bits[a] == _        # answer: 0
    """

    name = "state_based_recall"
    level = "NC1 (S_k swap tracking, NC1-complete for k >= 5) + recall of m bits"
    length_unit = "update lines"
    recall = "state"

    def __init__(
        self,
        *,
        m: int | None = None,
        num_vars: int = 5,
        ops: str = "swap",
        max_vars: int | None = None,
        queries: str = "final",
        bits_format: str = "list",
        init_format: str = "tuple",
        numbers: str = "digits",
    ):
        extra = _check_bits_format(self, bits_format) + _check_numbers(self, numbers)
        self._check_pointer_params(num_vars, max_vars, ops, queries, init_format, extra)
        if m is not None:
            check_int(self.name, "m (list size, at least num_vars)", m, self.num_vars)
            m = int(m)
            _check_list_size(self, m)  # a fixed list too long for its numbers fails here, before any run starts
        self.m = m
        self.state_grows = m is None  # m = max(n, num_vars) bits grow with the lines unless m is fixed

    def _query_slots(self, queried_names: np.ndarray) -> np.ndarray:
        """`assert bits [ a ]` for each (B, q) queried name id."""
        b, q = queried_names.shape
        before = np.broadcast_to(self.const(1, "assert", "bits", "[")[0], (b, q, 3))
        after = np.full((b, q, 1), self.tok["]"])
        return np.concatenate([before, queried_names[..., None], after], axis=2)

    def _sample(self, rng: np.random.Generator, batch_size: int, length: int) -> Batch:
        m = self.m if self.m is not None else max(length, self.num_vars)
        _check_list_size(self, m)
        bits = rng.integers(0, 2, size=(batch_size, m))
        pointers = rng.random((batch_size, m)).argsort(axis=1)[:, : self.num_vars]  # distinct indices, uniform
        lines, held, names, queried_names = self._sample_pointers(rng, batch_size, length)
        rows = np.arange(batch_size)[:, None]
        answers = bits[rows, pointers[rows, held]]
        width = len(str(m - 1))
        init = self._names_equal_values(names, self.number_slots(pointers, width))
        return self._program([_bits_line(self, bits, width), init], lines, queried_names, answers)


@register
class PointerTracking(PointerProgram):
    """Variables holding bits, permuted by n update lines; ask one variable's bit. `length` counts update lines.

        a, b, c, d, e = 0, 1, 0, 0, 1
        a, c = c, a
        b, e = e, b
        assert a == _        # answer: 0

    With m set, the variables hold distinct indices below m instead of bits, drawn and written as state_based_recall's
    pointers, and each query is answered with the held index in digits, one blank a digit place, all scored at once
    (`assert a == _ _ _`; a shorter index leaves its leading blanks unscored): to answer, the state must carry the
    index itself, as state_based_recall's lookup needs it, not one bit a variable. The headline (the last blank) is
    the units digit, so `chance` is the commonest units digit among the k values.

    The tracking half of state_based_recall (same update lines, `ops`, `max_vars`, `queries` and `init_format`); only
    the final `_` is scored (target: the bit), or with queries="every_line" an `assert x == _` after every update line.
    The initial bits are fair coins and the queried variable uniform, so the answer is 50/50. With
    init_format="lines" each variable gets its bit on a line of its own (same draws and answers):

        a = 0
        b = 1
        c = 0
        d = 0
        e = 1
        a, c = c, a
        b, e = e, b
        assert a == _        # answer: 0
    """

    name = "pointer_tracking"
    level = "NC1 (S_k swap word problem, NC1-complete for k >= 5)"
    length_unit = "update lines"
    finite_state = True  # finitely many variables holding bits

    def __init__(
        self,
        *,
        num_vars: int = 5,
        ops: str = "swap",
        max_vars: int | None = None,
        queries: str = "final",
        init_format: str = "tuple",
        m: int | None = None,
    ):
        self._check_pointer_params(num_vars, max_vars, ops, queries, init_format)
        if m is not None:
            check_int(self.name, "m (index values, at least num_vars)", m, self.num_vars, 10**6)
            m = int(m)
            self.answer_width, self.num_answers = len(str(m - 1)), m
            self.scored_by = "final"  # the headline is the last blank, whose digit `chance` is about
        self.m = m

    @property
    def chance(self) -> float:
        """Bits: the majority of the k tracked bits (11/16 for 5). Index values (m set): the headline scores the last
        blank, the answer's units digit, so the commonest units digit among the k values."""
        return super().chance if self.m is None else units_majority_accuracy(self.num_vars, self.m)

    def _query_slots(self, queried_names: np.ndarray) -> np.ndarray:
        """`assert a` for each (B, q) queried name id."""
        b, q = queried_names.shape
        return np.concatenate([np.full((b, q, 1), self.tok["assert"]), queried_names[..., None]], axis=2)

    def _sample(self, rng: np.random.Generator, batch_size: int, length: int) -> Batch:
        if self.m is None:
            values = rng.integers(0, 2, size=(batch_size, self.num_vars))
            slots = (values + self.digit0)[..., None]
        else:  # distinct indices, uniform, drawn and written as state_based_recall's pointers
            values = rng.random((batch_size, self.m)).argsort(axis=1)[:, : self.num_vars]
            slots = self.number_slots(values, self.answer_width)
        lines, held, names, queried_names = self._sample_pointers(rng, batch_size, length)
        answers = np.take_along_axis(values, held, axis=1)
        return self._program([self._names_equal_values(names, slots)], lines, queried_names, answers)


@register
class IndexedRecall(CodeTask):
    """Look up one bit by index. `length` counts the bits in the list (m).

        bits = [0, 1, 0, 0, 1, 1, 0, 1]
        a = 5
        assert bits[a] == _        # answer: 1

    The recall half of state_based_recall; the index is written as digit tokens and uniform over the list; only the
    final `_` is scored (target: the bit, a fair coin). bits_format="dict" writes the list as a dict keyed by index
    (content-addressed recall, see the module docstring; same draws and answers, the vocabulary gains `{ } :`):

        bits = {0: 0, 1: 1, 2: 0, 3: 0, 4: 1, 5: 1, 6: 0, 7: 1}
        a = 5
        assert bits[a] == _        # answer: 1

    lookups=K asks K times, each index drawn on its own, every answer scored (dense supervision, as associative-recall
    benchmarks ask every key: one answer a program taught GGGA nothing at m = 64 in 576k programs, 2026-12-05);
    a run trains with K > 1 and is tested with the default 1 through its eval-task override:

        bits = [0, 1, 0, 0, 1, 1, 0, 1]
        a = 5
        assert bits[a] == _        # answer: 1
        a = 2
        assert bits[a] == _        # answer: 0
    """

    name = "indexed_recall"
    level = "TC0 (recall: state must grow with m)"
    length_unit = "bits in the list"
    recall = "indexed"
    state_grows = True  # every one of the `length` bits may be asked

    def __init__(self, *, bits_format: str = "list", numbers: str = "digits", lookups: int = 1):
        self._set_code_vocab(["a"], _check_bits_format(self, bits_format) + _check_numbers(self, numbers))
        check_int(self.name, "lookups", lookups, 1)
        self.lookups = lookups

    def _shortcut_exact(self, length: int) -> tuple[float, str]:
        """The asked bit is a uniform one of the list, so the list's majority bit is right with E[max(K, m - K)] / m:
        0.637 at length 8, 0.550 at 64; it fades like 1/sqrt(length) (within 0.01 of chance only from ~1600)."""
        return majority_share(length, 2), "list_majority"

    def _sample(self, rng: np.random.Generator, batch_size: int, length: int) -> Batch:
        _check_list_size(self, length)
        bits = rng.integers(0, 2, size=(batch_size, length))
        index = rng.integers(0, length, size=(batch_size, self.lookups))  # K = 1: the draws of a (B,) index
        width = len(str(length - 1))
        b, k = index.shape
        asks = np.concatenate(  # (B, K, W): `a = I \n assert bits [ a ]`, each followed by `== _`
            [
                np.broadcast_to(self.const(b, "a", "=")[:, None], (b, k, 2)),
                self.number_slots(index, width),
                np.broadcast_to(self.const(b, NEWLINE, "assert", "bits", "[", "a", "]")[:, None], (b, k, 6)),
            ],
            axis=2,
        )
        return self.with_queries([_bits_line(self, bits, width)], asks, np.take_along_axis(bits, index, axis=1))
