"""Python-token vocabulary, vectorised emission and decoding shared by the code-execution tasks (family "code").

Programs are tokenised at the level of Python tokens (identifiers, keywords, punctuation, the newline ending each line)
except that every integer literal is written as its decimal digits, one token each, so the vocabulary is fixed by a
task's parameters and never by `length`: `bits[42]` is `bits [ 4 2 ]` (the recall tasks' numbers="tokens" writes each
integer below 1000 as one token instead, `bits [ 42 ]`, as Olmo's tokenizer does).
The blank `_` marks where an answer goes; an answer of up to D digits gets D blanks (written `__` in source, one Python
name), each scored with one digit of the answer, right-aligned: for D = 2 the answer 7 scores only the last blank
(target "7"), 42 scores both ("4", "2"). So the scored targets always decode to `str(answer)` and the input never shows
how many digits the answer has.

Generators build a fixed-width grid of token slots per example, where SKIP marks an unused slot (the leading digits of a
short number, the tail of a short line), and `pack` squeezes the SKIPs out and right-pads with PAD.
"""

from __future__ import annotations

import io
import tokenize

import numpy as np

from expressivity.tasks.base import BOS_ID, PAD_ID, Batch, Task, with_bos

DIGITS = [str(d) for d in range(10)]
NEWLINE, BLANK = "\n", "_"
PUNCTUATION = ["=", "==", ",", "[", "]", "(", ")", "+", "-", "*", "%"]
KEYWORDS = ["assert", "bits"]
DICT_PUNCTUATION = ["{", "}", ":"]  # only in the vocabulary of a task that writes a dict (bits_format="dict")
# numbers="tokens": every integer below 1000 is one token, as Olmo's tokenizer writes it (dolma2, a variant of
# tiktoken's cl100k_base, whose pre-tokenizer cuts digit runs into chunks of at most three); 0-9 are the DIGITS.
NUMBERS = ("digits", "tokens")
NUMBER_LIMIT = 1000  # numbers="tokens" has a token for every integer below this
NUMBER_TOKENS = [str(v) for v in range(10, NUMBER_LIMIT)]
CORE = [*DIGITS, NEWLINE, BLANK, *PUNCTUATION, *KEYWORDS]
LETTERS = "abcdefghijklmnopqrstuvwxyz"
SKIP = -1  # an empty slot in the emission grid, removed by `pack`


def num_digits(values: np.ndarray) -> np.ndarray:
    """Decimal digits of each non-negative integer (0 has one)."""
    values = np.asarray(values)
    out = np.ones(values.shape, np.int64)
    power = 10
    while power <= max(int(values.max(initial=0)), 0):
        out += values >= power
        power *= 10
    return out


def digit_slots(values: np.ndarray, width: int, digit0: int) -> np.ndarray:
    """(...,) non-negative ints < 10**width -> (..., width) digit ids, right-aligned, SKIP in unused leading slots."""
    values = np.asarray(values, np.int64)
    places = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    slots = values[..., None] // places % 10 + digit0
    used = np.arange(width) >= width - num_digits(values)[..., None]
    return np.where(used, slots, SKIP)


def joined(items: np.ndarray, sep: int) -> np.ndarray:
    """(B, k, w) slot groups -> (B, k*(w+1) - 1): the groups with `sep` between them, as in `0, 1, 0`."""
    b, k, w = items.shape
    with_sep = np.concatenate([items, np.full((b, k, 1), sep, np.int64)], axis=2)
    return with_sep.reshape(b, k * (w + 1))[:, :-1]


def digit_chance(num_answers: int) -> float:
    """Accuracy of the best constant guess per scored answer digit when answers are uniform over range(num_answers).

    Each digit place is scored only for values that have it (right-aligned blanks), so the top digit's count is summed
    per place and divided by the number of scored places: 1/n for n <= 10, e.g. 20/184 for n = 97.
    """
    hits = total = 0
    for place in range(len(str(num_answers - 1))):
        values = np.arange(10**place if place else 0, num_answers)
        counts = np.bincount(values // 10**place % 10, minlength=10)
        hits += int(counts.max())
        total += len(values)
    return hits / total


def pack(tokens: np.ndarray, targets: np.ndarray, mask: np.ndarray) -> Batch:
    """(B, S) slot grids -> Batch: drop SKIP slots, right-pad each example with PAD, prepend BOS."""
    b, s = tokens.shape
    keep = tokens != SKIP
    if keep.all():
        return with_bos(tokens, targets, mask)
    skipped = np.cumsum(~keep, axis=1, dtype=np.int32)
    t = s - int(skipped[:, -1].min()) + 1
    # Slot (r, j) lands at flat position r * t + 1 + j - (SKIPs up to j) of the (B, t) output, after BOS.
    dest = (np.arange(b, dtype=np.int64) * t + 1)[:, None] + np.arange(s) - skipped
    inputs = np.full((b, t), PAD_ID, np.int64)
    inputs[:, 0] = BOS_ID
    inputs.ravel()[dest[keep]] = tokens[keep]
    out_targets = np.full((b, t), PAD_ID, np.int64)
    out_mask = np.zeros((b, t), bool)
    scored = dest[mask]  # scored slots are never SKIP
    out_targets.ravel()[scored] = targets[mask]
    out_mask.ravel()[scored] = True
    return Batch(inputs=inputs, targets=out_targets, mask=out_mask)


class CodeTask(Task):
    """Shared machinery of the code tasks: the Python-token vocabulary, source text, re-tokenising, `to_python`.

    Subclasses call `_set_code_vocab(names)` and set `answer_width` (D, the blanks per answer) and `num_answers`
    (answers are uniform over range(num_answers), which gives `chance`).
    """

    scored_by = "token"

    family = "code"
    answer_width: int = 1
    num_answers: int = 2
    numbers: str = "digits"  # how integer literals are tokenised: "digits" (one token each) or "tokens" (NUMBERS)

    def _set_code_vocab(self, names: list[str], extra: list[str] | tuple[str, ...] = ()) -> None:
        # Names come last and contiguous, so variable v's id is `name0 + v`; digits are contiguous from `digit0`.
        # `extra` tokens (a dict's braces and colon) go between CORE and the names: without them ids are as ever.
        self._set_symbols([*CORE, *extra, *names])
        self.digit0 = self.token_id["0"]
        self.name0 = self.token_id[names[0]] if names else -1
        self.tok = self.token_id

    def number_slots(self, values: np.ndarray, width: int) -> np.ndarray:
        """(...,) non-negative ints -> (..., slots): `width` digit slots (digit_slots), or with numbers="tokens" one
        slot holding the integer's own token (values below 1000)."""
        if self.numbers == "digits":
            return digit_slots(values, width, self.digit0)
        values = np.asarray(values, np.int64)
        ids = np.where(values < 10, self.digit0 + values, self.token_id["10"] + values - 10)
        return ids[..., None]

    @property
    def chance(self) -> float:
        return digit_chance(self.num_answers)

    # ---- emission helpers ---------------------------------------------------------------------------------------
    def const(self, batch_size: int, *tokens: str) -> np.ndarray:
        """(B, len(tokens)): the same tokens in every example."""
        row = np.array([self.tok[t] for t in tokens], np.int64)
        return np.broadcast_to(row, (batch_size, len(row)))

    def answer_slots(self, answers: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(B,) answers -> (tokens, targets, mask), each (B, D): D blanks scored with the right-aligned digits."""
        digits = digit_slots(answers, self.answer_width, self.digit0)
        blanks = np.full(digits.shape, self.tok[BLANK], np.int64)
        return blanks, np.where(digits == SKIP, PAD_ID, digits), digits != SKIP

    def with_query(self, blocks: list[np.ndarray], answers: np.ndarray) -> Batch:
        """Pack (B, *) slot blocks that end in `assert EXPR`, then `== _`; only the blank(s) are scored."""
        b = answers.shape[0]
        blanks, targets, scored = self.answer_slots(answers)
        tokens = np.concatenate([*blocks, self.const(b, "=="), blanks], axis=1)
        all_targets = np.zeros(tokens.shape, np.int64)
        all_mask = np.zeros(tokens.shape, bool)
        all_targets[:, -blanks.shape[1] :] = targets
        all_mask[:, -blanks.shape[1] :] = scored
        return pack(tokens, all_targets, all_mask)

    def with_queries(self, head: list[np.ndarray], asks: np.ndarray, answers: np.ndarray) -> Batch:
        """Pack (B, *) head blocks, then K blocks `ASK == _ \\n` from (B, K, W) slots `asks` (each an `assert EXPR`
        with what precedes it) and their (B, K) answers; every blank is scored and the last one ends the program."""
        b, k, _ = asks.shape
        blanks, targets, scored = self.answer_slots(answers.reshape(-1))
        d = blanks.shape[1]
        equals, nl = np.full((b, k, 1), self.tok["=="]), np.full((b, k, 1), self.tok[NEWLINE])
        grid = np.concatenate([asks, equals, blanks.reshape(b, k, d), nl], axis=2)
        width = grid.shape[2]
        tokens = np.concatenate([*head, grid.reshape(b, -1)[:, :-1]], axis=1)
        start = tokens.shape[1] + 1 - k * width  # the first block's column
        cols = start + width * np.arange(k)[:, None] + (width - 1 - d) + np.arange(d)  # (k, d): each block's blanks
        all_targets = np.zeros(tokens.shape, np.int64)
        all_mask = np.zeros(tokens.shape, bool)
        all_targets[:, cols.ravel()] = targets.reshape(b, k * d)
        all_mask[:, cols.ravel()] = scored.reshape(b, k * d)
        return pack(tokens, all_targets, all_mask)

    # ---- reading programs back ------------------------------------------------------------------------------------
    def source(self, ids) -> str:
        """Token ids -> the program as Python source (PAD and BOS dropped)."""
        out: list[str] = []
        prev = ""
        for tok in self.decode(ids):
            if tok in ("<pad>", "<bos>"):
                continue
            if tok == NEWLINE:
                out.append(NEWLINE)
                prev = ""
                continue
            tight = (
                not prev
                or tok in (",", "]", ")", "}", ":")
                or prev in ("[", "(", "{")
                or (tok == "[" and prev.isidentifier())
                or (tok.isdigit() and prev.isdigit())
                or (tok == BLANK and prev == BLANK)
            )
            out.append(tok if tight else " " + tok)
            prev = tok
        return "".join(out)

    def encode(self, source: str) -> np.ndarray:
        """Python source -> token ids (no BOS), via the standard tokenizer: numbers split into digits (or one token
        each, numbers="tokens"), `__` into blanks.

        A token outside the vocabulary raises ValueError naming it.
        """
        ids: list[int] = []
        skip = (tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT, tokenize.COMMENT, tokenize.ENCODING)
        for t in tokenize.generate_tokens(io.StringIO(source).readline):
            if t.type in skip or (t.type in (tokenize.NEWLINE, tokenize.NL) and not t.string):
                continue
            if t.type == tokenize.NUMBER:
                pieces = [t.string] if self.numbers == "tokens" else list(t.string)
            elif t.type == tokenize.NAME and set(t.string) == {BLANK}:
                pieces = list(t.string)
            else:
                pieces = [NEWLINE if t.type in (tokenize.NEWLINE, tokenize.NL) else t.string]
            for piece in pieces:
                if piece not in self.token_id or piece in ("<pad>", "<bos>"):
                    raise ValueError(f"{self.name}: token {piece!r} is not in the vocabulary")
                ids.append(self.token_id[piece])
        return np.array(ids, np.int64)

    def example_ids(self, batch: Batch, i: int) -> np.ndarray:
        """Example i's input ids without BOS and padding."""
        row = batch.inputs[i]
        return row[(row != PAD_ID) & (row != BOS_ID)]

    def scored_text(self, batch: Batch, i: int) -> str:
        """Example i's scored targets, decoded and joined: `str(answer)` of its `to_python`."""
        return "".join(self.decode(batch.targets[i][batch.mask[i]]))

    def scored_answers(self, batch: Batch, i: int) -> list[str]:
        """Example i's scored targets, one string per query: a query's scored blanks are adjacent, and two queries'
        blanks never are (other tokens stand between them)."""
        where = np.flatnonzero(batch.mask[i])
        runs = np.split(where, np.flatnonzero(np.diff(where) > 1) + 1)
        return ["".join(self.decode(batch.targets[i][run])) for run in runs if run.size]

    def to_python(self, batch: Batch, i: int) -> str:
        """Source that CPython runs (no builtins needed) to bind `answer`: the program with its last line
        `assert EXPR == _` turned into `answer = EXPR`. A program with several queries (a line `assert EXPR == _`
        wherever one is asked) binds `answers` instead, the list of their values in order, whose strings are
        `scored_answers`."""
        lines = self.source(self.example_ids(batch, i)).split(NEWLINE)
        queries = [j for j, line in enumerate(lines) if line.startswith("assert ")]
        if len(queries) <= 1:
            query = lines[-1]
            lines[-1] = "answer = " + query[len("assert ") : query.rindex(" == ")]
            return NEWLINE.join(lines) + NEWLINE
        for j in queries:
            lines[j] = f"answers = answers + [{lines[j][len('assert ') : lines[j].rindex(' == ')]}]"
        return NEWLINE.join(["answers = []", *lines]) + NEWLINE

    def render(self, batch: Batch, i: int) -> str:
        """The program as a person would write it, with the answer as a comment on the query line (on each one)."""
        source = self.source(self.example_ids(batch, i))
        answers = self.scored_answers(batch, i)
        if len(answers) <= 1:
            return f"{source}        # answer: {self.scored_text(batch, i)}"
        lines = source.split(NEWLINE)
        width = max(len(line) for line in lines)
        queries = iter(answers)
        shown = [f"{line.ljust(width)}  # answer: {next(queries)}" if line.startswith("assert ") else line
                 for line in lines]  # fmt: skip
        return NEWLINE.join(shown)
