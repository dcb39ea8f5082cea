"""Task-specific shortcut guessers (see shortcuts.py for the contract): each reads a task's input layout, documented in
its module, and skips the computation the task tests."""

from __future__ import annotations

import numpy as np

from expressivity.tasks.base import PAD_ID, Batch
from expressivity.tasks.shortcuts import SPECIFIC, Reference, fitted, guesser, per_row, row_mode, symbols


def _line(inputs: np.ndarray, newline: int) -> np.ndarray:
    """(B, T) line number of each token of a program (a newline belongs to the line it ends)."""
    is_nl = inputs == newline
    return np.cumsum(is_nl, axis=1) - is_nl


def _digits(ref: Reference, inputs: np.ndarray) -> np.ndarray:
    d0 = ref.task.tok["0"]
    return (inputs >= d0) & (inputs <= d0 + 9)


def _majority_of(ref: Reference, batch: Batch, ids: np.ndarray, keep: np.ndarray) -> np.ndarray:
    mode, _ = row_mode(ids, keep, len(ref.task.vocab))
    return per_row(batch, mode)


# ---- counting bits ------------------------------------------------------------------------------------------------
@guesser
def count_tie(ref: Reference, batch: Batch) -> np.ndarray:
    """The most frequent answer given whether the input's two commonest symbols tie (as many 1s as 0s): a tie fixes
    the count, hence the answer; without one, the other answers are likelier. Needs counting to a threshold only."""

    def tie(inputs: np.ndarray) -> np.ndarray:
        counts = np.zeros((inputs.shape[0], len(ref.task.vocab)), np.int64)
        keep = symbols(ref, inputs)
        rows = np.broadcast_to(np.arange(inputs.shape[0])[:, None], inputs.shape)
        np.add.at(counts, (rows[keep], inputs[keep]), 1)
        top = np.sort(counts, axis=1)[:, -2:]
        return ((top[:, 0] == top[:, 1]) & (top[:, 1] > 0)).astype(np.int64)

    return fitted(ref, batch, tie)


# ---- code tasks ---------------------------------------------------------------------------------------------------
def _list_bits(ref: Reference, inputs: np.ndarray) -> np.ndarray:
    """(B, T) bool: the bits of the first line, `bits = [...]`, or of `bits = {0: 1, ...}` the digit after each `:`
    (bits_format="dict": the keys' digits are not bits)."""
    keep = (_line(inputs, ref.task.tok["\n"]) == 0) & _digits(ref, inputs)
    if ref.task.bits_format == "dict":
        keep[:, 1:] &= inputs[:, :-1] == ref.task.tok[":"]  # position 0 is BOS, never a digit
    return keep


@guesser
def list_majority(ref: Reference, batch: Batch) -> np.ndarray:
    """The majority bit of the list `bits = [...]` or dict `bits = {...}` (the first line), ties "0": the asked bit is
    one of them."""
    return _majority_of(ref, batch, batch.inputs, _list_bits(ref, batch.inputs))


def _number_tokens(ref: Reference) -> tuple[np.ndarray, np.ndarray]:
    """Per vocabulary id: the integer a number token writes (-1: not a number) and 10 ** its digits, so a number
    written as several tokens reads as value = value * scale + token's value (a digit: scale 10; numbers="tokens"
    writes each integer below 1000 as one token)."""
    vocab = ref.task.vocab
    value = np.array([int(t) if t.isdigit() else -1 for t in vocab], np.int64)
    scale = np.array([10 ** len(t) if t.isdigit() else 1 for t in vocab], np.int64)
    return value, scale


def _line_numbers(ref: Reference, inputs: np.ndarray, line: int, count: int) -> np.ndarray:
    """(B, count) the integers after `=` on a program line `x, y, ... = 6, 12, ...`, read token by token."""
    tok = ref.task.tok
    value, scale = _number_tokens(ref)
    on_line = _line(inputs, tok["\n"]) == line
    after_eq = on_line & (np.cumsum(on_line & (inputs == tok["="]), axis=1) > 0)
    which = np.cumsum(after_eq & (inputs == tok[","]), axis=1)
    number = after_eq & (value[inputs] >= 0)
    values = np.zeros((inputs.shape[0], count + 1), np.int64)
    rows = np.arange(inputs.shape[0])
    for col in np.flatnonzero(number.any(axis=0)):  # a few dozen columns: the numbers of one line
        r = rows[number[:, col]]
        g = np.minimum(which[r, col], count)
        ids = inputs[r, col]
        values[r, g] = values[r, g] * scale[ids] + value[ids]
    return values[:, :count]


def _initial_values(ref: Reference, inputs: np.ndarray, first: int, k: int) -> np.ndarray:
    """(B, k) the values a pointer program's k variables start with, from line `first`: one line
    `a, b, ... = 6, 2, ...` (init_format="tuple"), or k lines `a = 6`, `b = 2`, ... from there on ("lines")."""
    if ref.task.init_format == "lines":
        return np.concatenate([_line_numbers(ref, inputs, first + v, 1) for v in range(k)], axis=1)
    return _line_numbers(ref, inputs, first, k)


def _tracked_values(ref: Reference, inputs: np.ndarray) -> np.ndarray:
    """(B, k) the values the pointer variables start with, in the order the program names them: bits, or indices
    (pointer_tracking with m set); for state_based_recall, the bits at the initial pointers."""
    task, k = ref.task, ref.task.num_vars
    if task.name == "pointer_tracking":
        return _initial_values(ref, inputs, 0, k)
    in_list = _list_bits(ref, inputs)  # state_based_recall: after the bits line
    bits = np.zeros(inputs.shape, np.int64)
    bits[:, : in_list.sum(axis=1).max()] = _packed(inputs - task.tok["0"], in_list)
    return np.take_along_axis(bits, _initial_values(ref, inputs, 1, k), axis=1)


def _commonest_digit(values: np.ndarray) -> np.ndarray:
    """(B,) the commonest units digit of each row of (B, k) values, ties the smallest: of bits, the majority, ties 0."""
    counts = np.zeros((values.shape[0], 10), np.int64)
    np.add.at(counts, (np.arange(values.shape[0])[:, None], values % 10), 1)
    return counts.argmax(axis=1)


@guesser
def pointer_majority(ref: Reference, batch: Batch) -> np.ndarray:
    """The majority of the values the pointer variables start with (for state_based_recall, the bits at the initial
    pointers), ties "0": the answer is one of them, which one the update lines decide (the pointer tasks' chance).
    Of index values (pointer_tracking with m set), the commonest units digit, the digit the headline scores."""
    return per_row(batch, ref.task.tok["0"] + _commonest_digit(_tracked_values(ref, batch.inputs)))


def _last_query(ref: Reference, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """((B,) which of the k variables the last `assert` asks about, 0 for the first the program names; (B,) whether
    an update line names it). The names are written in alphabetical order (pointer_lines.py), so a variable's place
    is how many of the row's names sort before it; an update line is one with a name after its `=` (an initial value
    is a number, and an assert has `==`)."""
    tok, b, t = ref.task.tok, *inputs.shape
    rows, cols = np.arange(b)[:, None], np.arange(t)[None, :]
    row_of, col_of = np.broadcast_to(rows, inputs.shape), np.broadcast_to(cols, inputs.shape)
    is_name = inputs >= ref.task.name0
    blank = np.where(inputs == tok["_"], cols, -1).max(axis=1)  # the last query's blank
    asked = inputs[np.arange(b), np.where(is_name & (cols < blank[:, None]), cols, -1).max(axis=1)]
    present = np.zeros((b, len(ref.task.vocab)), bool)
    present[row_of[is_name], inputs[is_name]] = True
    place = (present & (np.arange(len(ref.task.vocab)) < asked[:, None])).sum(axis=1)
    line = _line(inputs, tok["\n"])
    first_eq = np.full((b, int(line.max()) + 1), t)
    eq = inputs == tok["="]
    np.minimum.at(first_eq, (row_of[eq], line[eq]), col_of[eq])
    after_eq = cols > np.take_along_axis(first_eq, line, axis=1)
    update = np.zeros_like(first_eq, dtype=bool)
    np.logical_or.at(update, (row_of, line), is_name & after_eq)
    named = np.take_along_axis(update, line, axis=1) & (inputs == asked[:, None])
    return place, named.any(axis=1)


@guesser
def pointer_untouched(ref: Reference, batch: Batch) -> np.ndarray:
    """Where no update line names the variable the last query asks about, its own initial value (it still holds
    it); elsewhere the majority, as pointer_majority: checks whether a name occurs, composes no line."""
    tracked = _tracked_values(ref, batch.inputs)
    place, touched = _last_query(ref, batch.inputs)
    own = tracked[np.arange(len(place)), place] % 10  # of an index, the units digit the headline scores
    return per_row(batch, ref.task.tok["0"] + np.where(touched, _commonest_digit(tracked), own))


def _packed(values: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """(B, max kept) the kept values of each row, in order, left-aligned (rows keep the same number here)."""
    width = keep.sum(axis=1)
    out = np.zeros((values.shape[0], int(width.max())), np.int64)
    out[np.arange(int(width.max())) < width[:, None]] = values[keep]
    return out


# ---- dyck ---------------------------------------------------------------------------------------------------------
def _brackets(ref: Reference, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(is a bracket, step +1 open / -1 close / 0) of each token: kind k opens with open0 + 2k, closes with +1."""
    rel = inputs - ref.task.token_id["("]
    is_bracket = (rel >= 0) & (rel < 2 * ref.task.kinds)
    return is_bracket, np.where(is_bracket, 1 - 2 * (rel % 2), 0)


def _yes_no(ref: Reference, batch: Batch, yes: np.ndarray) -> np.ndarray:
    tid = ref.task.token_id
    return per_row(batch, np.where(yes, tid["yes"], tid["no"]))


@guesser
def counts_balance(ref: Reference, batch: Batch) -> np.ndarray:
    """ "yes" iff there are as many opening as closing brackets (catches the negatives that flip a bracket)."""
    _, step = _brackets(ref, batch.inputs)
    return _yes_no(ref, batch, step.sum(axis=1) == 0)


@guesser
def depth_check(ref: Reference, batch: Batch) -> np.ndarray:
    """ "yes" iff the brackets balance as one kind (depth never below 0, back to 0 at the end): a counter, blind to
    kinds, which catches flipped and moved brackets but not a changed kind."""
    _, step = _brackets(ref, batch.inputs)
    depth = np.cumsum(step, axis=1)
    return _yes_no(ref, batch, (depth[:, -1] == 0) & (depth.min(axis=1) >= 0))


# ---- graphs -------------------------------------------------------------------------------------------------------
@guesser
def direct_edge(ref: Reference, batch: Batch) -> np.ndarray:
    """ "yes" iff the query pair `? s t` is itself an edge (either way round for connectivity): no path is followed."""
    inputs, tid = batch.inputs, ref.task.token_id
    rows = np.arange(inputs.shape[0])
    query = np.argmax(inputs == tid["?"], axis=1)  # edges `u v ,` end at the query
    s, t = inputs[rows, query + 1], inputs[rows, query + 2]
    col = np.arange(inputs.shape[1])
    edge_start = ((col - 1) % 3 == 0) & (col < query[:, None])
    u = inputs
    v = np.concatenate([inputs[:, 1:], np.full((inputs.shape[0], 1), PAD_ID)], axis=1)
    hit = edge_start & (u == s[:, None]) & (v == t[:, None])
    if not ref.task.directed:
        hit |= edge_start & (u == t[:, None]) & (v == s[:, None])
    return _yes_no(ref, batch, hit.any(axis=1))


# ---- boolean formulas ---------------------------------------------------------------------------------------------
def _spine_guess(ref: Reference, batch: Batch, leaf_at: np.ndarray, enclosing_nots: np.ndarray) -> np.ndarray:
    tid, inputs = ref.task.token_id, batch.inputs
    leaf = inputs[np.arange(inputs.shape[0]), leaf_at] - tid["0"]
    return per_row(batch, tid["0"] + (leaf ^ (enclosing_nots % 2)))


@guesser
def left_spine(ref: Reference, batch: Batch) -> np.ndarray:
    """The first leaf's value, negated by every `not` before it (all of them enclose it): the formula's leftmost path
    with its `and`s and `or`s ignored."""
    tid, inputs = ref.task.token_id, batch.inputs
    first = np.argmax((inputs == tid["0"]) | (inputs == tid["1"]), axis=1)
    nots = ((inputs == tid["not"]) & (np.arange(inputs.shape[1]) < first[:, None])).sum(axis=1)
    return _spine_guess(ref, batch, first, nots)


@guesser
def right_spine(ref: Reference, batch: Batch) -> np.ndarray:
    """The last leaf's value, negated by every `not` whose brackets enclose it: the rightmost path, operators
    ignored."""
    tid, inputs = ref.task.token_id, batch.inputs
    t = np.arange(inputs.shape[1])
    leaf = (inputs == tid["0"]) | (inputs == tid["1"])
    last = inputs.shape[1] - 1 - np.argmax(leaf[:, ::-1], axis=1)
    depth = np.cumsum((inputs == tid["("]).astype(np.int64) - (inputs == tid[")"]), axis=1)
    # The `(` before a `not` is still open at the last leaf iff the depth never falls below its own until then.
    upto = np.where(t <= last[:, None], depth, np.iinfo(np.int64).max)
    later_min = np.minimum.accumulate(upto[:, ::-1], axis=1)[:, ::-1]
    opener = np.zeros(inputs.shape, bool)
    opener[:, :-1] = inputs[:, 1:] == tid["not"]
    nots = (opener & (t < last[:, None]) & (later_min >= depth)).sum(axis=1)
    return _spine_guess(ref, batch, last, nots)


# ---- binary addition ----------------------------------------------------------------------------------------------
def _operands(ref: Reference, batch: Batch) -> tuple[np.ndarray, ...]:
    """Both operands as (B, W) bits, little-endian, 0 past each one's digits; their digit counts (B,); each blank's
    index j (B, T), -1 elsewhere; and (B, T) whether a position is the example's last blank (where `end` goes)."""
    tid, inputs = ref.task.token_id, batch.inputs
    b, t = inputs.shape
    op = np.argmax(inputs == tid[ref.task.operator], axis=1)
    blank = inputs == tid["_"]
    first_blank = np.argmax(blank, axis=1)
    j = np.arange(int(first_blank.max()))
    bits = inputs - tid["0"]

    def digits(start: np.ndarray, stop: np.ndarray) -> np.ndarray:
        at = start[:, None] + j
        return np.where(at < stop[:, None], np.take_along_axis(bits, np.minimum(at, t - 1), axis=1), 0)

    first, second = digits(np.ones(b, np.int64), op), digits(op + 1, first_blank)
    index = np.where(blank, np.arange(t) - first_blank[:, None], -1)
    last_blank = blank & ~np.concatenate([blank[:, 1:], np.zeros((b, 1), bool)], axis=1)
    return first, second, op - 1, first_blank - op - 1, index, last_blank


def _result_guess(ref: Reference, batch: Batch, digits: np.ndarray, width: np.ndarray, index, last_blank):
    """Blank j gets digits[j] while j < width, then "1" (the top bit of a result longer than both operands), and
    `end` at the last blank: the input's blanks give the result's length away."""
    tid = ref.task.token_id
    padded = np.concatenate([digits, np.zeros((len(digits), 1), np.int64)], axis=1)
    at = np.take_along_axis(padded, np.clip(index, 0, digits.shape[1]), axis=1)
    guess = np.where(index < width[:, None], tid["0"] + at, tid["1"])
    return np.where(last_blank, tid["end"], guess)


@guesser
def longer_operand(ref: Reference, batch: Batch) -> np.ndarray:
    """Copy the longer operand into the result (its high bits pass through unless a carry reaches them)."""
    first, second, n_first, n_second, index, last_blank = _operands(ref, batch)
    longer = np.where((n_first >= n_second)[:, None], first, second)
    return _result_guess(ref, batch, longer, np.maximum(n_first, n_second), index, last_blank)


@guesser
def carry_free_sum(ref: Reference, batch: Batch) -> np.ndarray:
    """Add bit by bit without carrying (the operands' xor): right wherever no carry arrives."""
    first, second, n_first, n_second, index, last_blank = _operands(ref, batch)
    return _result_guess(ref, batch, first ^ second, np.maximum(n_first, n_second), index, last_blank)


SPECIFIC.update(
    {
        "parity": ("count_tie",),
        "parity_check": ("count_tie",),
        "modular_counting": ("count_tie",),
        "indexed_recall": ("list_majority",),
        "pointer_tracking": ("pointer_majority", "pointer_untouched"),
        "state_based_recall": ("pointer_majority", "pointer_untouched", "list_majority"),
        "dyck": ("counts_balance", "depth_check"),
        "reachability": ("direct_edge",),
        "connectivity": ("direct_edge",),
        "boolean_formula": ("left_spine", "right_spine"),
        "binary_addition": ("longer_operand", "carry_free_sum"),
    }
)
