"""Straight-line programs: variable binding (chains of copies with distractor chains) and program traces mod p.

Token layout (see code_tokens): Python tokens, integers as digit tokens, one newline token ending each line. A final
query `assert x == _` is the last line; its blank(s) are scored with the answer's digits. With `trace=True`,
program_trace scores instead the newline ending every update line with the value that line wrote.
"""

from __future__ import annotations

import numpy as np

from expressivity.tasks.base import Batch, check_choice, check_int, register
from expressivity.tasks.code_tokens import LETTERS, NEWLINE, SKIP, CodeTask, digit_slots, pack
from expressivity.tasks.shortcut_math import best_of, majority_share


@register
class VariableBinding(CodeTask):
    """Chains of assignments `x3 = 7`, `x5 = x3`, ... interleaved with distractor chains; ask the value at the end of
    one chain. `length` counts hops (k): each chain is one constant line then k copy lines.

        x3 = 7
        x1 = 2
        x5 = x3
        x0 = x1
        x3 = x5          # x3 is rebound: its old value is no longer needed
        x2 = x0
        assert x3 == _        # answer: 7   (k = 2 hops, distractors = 1)

    There are distractors + 1 chains of equal length, their lines interleaved at random (order kept within a chain),
    and the queried chain is uniform among them, so every query needs exactly k hops. Names come from a fixed pool
    x0..x{num_names-1} and are reused: each hop binds a name that no chain currently needs (a chain's first line a
    name not used before), so the answer depends on the latest binding, as in Python. Values are uniform over
    0..num_values-1 (digit tokens); an answer of D digits gets D blanks, scored right-aligned (see code_tokens).
    """

    name = "variable_binding"
    level = "L (pointer chasing over k hops)"
    length_unit = "hops"
    finite_state = True  # fixed pools of names and values: the bindings of num_names names are the whole state

    def __init__(self, *, distractors: int = 2, num_names: int = 10, num_values: int = 10):
        check_int(self.name, "distractors", distractors, 0)
        check_int(self.name, "num_names (at most 100, at least distractors + 2)", num_names, distractors + 2, 100)
        check_int(self.name, "num_values", num_values, 2, 10**6)
        self.distractors, self.num_names, self.num_values = int(distractors), int(num_names), int(num_values)
        self.num_answers = self.num_values
        self.answer_width = len(str(self.num_values - 1))
        self._set_code_vocab([f"x{i}" for i in range(self.num_names)])

    def _shortcut_exact(self, length: int) -> tuple[float, str] | None:
        """The program writes distractors + 1 constants, one per chain, and the answer is one of them: the most
        frequent constant is right with E[top count] / chains, 0.43 for 3 chains of values 0-9, at every length (the
        hops do not dilute it), so this shortcut never vanishes. Values of several digits: measured."""
        if self.answer_width > 1:
            return None
        chains = self.distractors + 1
        one = 1 / chains + (1 - 1 / chains) / self.num_values  # copying the first (or last) constant
        share = majority_share(chains, self.num_values)
        return best_of({"position_prior": 1 / self.num_values, "majority_symbol": share, "first_symbol": one})

    def _sample(self, rng: np.random.Generator, batch_size: int, length: int) -> Batch:
        chains, per_chain, names = self.distractors + 1, length + 1, self.num_names
        b, lines = batch_size, chains * per_chain
        rows = np.arange(b)
        # A uniform interleaving: shuffle the multiset {chain c, k+1 times} per example.
        chain = np.repeat(np.arange(chains), per_chain)[rng.random((b, lines)).argsort(axis=1)]
        first = np.take_along_axis(np.cumsum(chain[..., None] == np.arange(chains), axis=1), chain[..., None], 2)
        first = first[..., 0] == 1
        values = rng.integers(0, self.num_values, size=(b, chains))
        # `order` is a random arrangement of the names: slot c holds chain c's current name (reserved before the
        # chain starts), the slots after the chains are the free names. A hop binds a free name and frees the old one.
        order = rng.random((b, names)).argsort(axis=1).ravel()
        head_at = (rows[:, None] * names + chain).T.copy()
        free_at = (rows * names)[:, None] + chains + (rng.random((b, lines)) * (names - chains)).astype(np.int64)
        free_at, hop = free_at.T.copy(), ~first.T
        lhs = np.empty((lines, b), np.int64)
        rhs = np.empty((lines, b), np.int64)
        # Sequential in lines only (each line's free names depend on the last), vectorised over the batch.
        for t in range(lines):
            old, new = order[head_at[t]], order[free_at[t]]
            bound = np.where(hop[t], new, old)
            order[free_at[t]] = np.where(hop[t], old, new)
            order[head_at[t]] = bound
            lhs[t], rhs[t] = bound, old
        lhs, rhs, heads = lhs.T, rhs.T, order.reshape(b, names)[:, :chains]
        width = self.answer_width
        constant = digit_slots(values[rows[:, None], chain], width, self.digit0)
        name = np.concatenate([(rhs + self.name0)[..., None], np.full((b, lines, width - 1), SKIP)], axis=2)
        line = np.concatenate(
            [
                (lhs + self.name0)[..., None],
                np.full((b, lines, 1), self.tok["="]),
                np.where(first[..., None], constant, name),
                np.full((b, lines, 1), self.tok[NEWLINE]),
            ],
            axis=2,
        )
        queried = rng.integers(0, chains, size=b)
        program = line.reshape(b, -1)
        query = [self.const(b, "assert"), heads[rows, queried, None] + self.name0]
        return self.with_query([program, *query], values[rows, queried])


@register
class ProgramTrace(CodeTask):
    """Straight-line programs over a few variables mod p. `length` counts update lines (after the first line).

        a, b, c = 3, 0, 6
        a = (a + c) % 7
        b = a
        c = (c * 3) % 7
        a, b = b, a
        assert b == _        # answer: 2

    Update lines, each kind with probability 1/5: `x = (x + y) % p`, `x = (x - y) % p` (y another variable or a
    constant, 50/50), `x = (x * u) % p` (u a constant unit mod p), the copy `x = y` and the swap `x, y = y, x`. The
    initial values are uniform and every written value is kept an affine function of them with a unit coefficient
    (where `x + y` or `x - y` would cancel to a non-uniform value, e.g. `x - y` right after `x = y`, the operand is a
    constant instead), so each written value and the answer are uniform mod p. Final mode asks one uniform variable
    (D digit blanks, see code_tokens). With trace=True there is no query: the newline ending each update line is scored
    with the value that line wrote (for a swap, its first target's), which needs p <= 10 (one digit per line).
    """

    name = "program_trace"
    level = "NC1 (word problem of affine maps mod p, non-solvable for num_vars >= 3)"
    length_unit = "update lines"
    finite_state = True  # num_vars values mod p: p ** num_vars states

    def __init__(self, *, num_vars: int = 3, p: int = 7, trace: bool = False):
        check_int(self.name, "num_vars", num_vars, 2, len(LETTERS))
        check_int(self.name, "p", p, 2, 1000)
        check_choice(self.name, "trace", trace, (False, True))
        if trace and p > 10:
            raise ValueError(f"{self.name}: trace=True needs p <= 10 (one digit per line's value), got p={p}")
        self.num_vars, self.p, self.trace = int(num_vars), int(p), bool(trace)
        if self.num_vars >= 3:
            # `x = (x + y) % p` lines are transvections, which generate SL_k(Z_p): for k >= 3 it maps onto the
            # non-solvable SL_k(F_q) for a prime q dividing p, so the word problem is NC1-complete (Barrington).
            self.complete_for = "NC1"
        self.num_answers, self.answer_width = self.p, len(str(self.p - 1))
        self.units = np.array([u for u in range(1, self.p) if np.gcd(u, self.p) == 1] or [1])
        self._set_code_vocab(list(LETTERS[: self.num_vars]))

    def _run(self, rng: np.random.Generator, b: int, n: int) -> tuple[np.ndarray, ...]:
        """Sample and execute n lines -> kind, x, y, operand-is-variable, constant, written value (all (B, n)),
        and the initial and final values (B, k). Kinds: 0 +, 1 -, 2 *, 3 copy, 4 swap."""
        k, p, shape, rows = self.num_vars, self.p, (b, n), np.arange(b)
        kind = rng.integers(0, 5, size=shape)
        x = rng.integers(0, k, size=shape)
        y = (x + rng.integers(1, k, size=shape)) % k
        use_var = (rng.integers(0, 2, size=shape) == 1) & (kind < 2)  # `*` always takes a constant unit
        const = np.where(kind == 2, self.units[rng.integers(0, len(self.units), size=shape)], rng.integers(0, p, shape))
        init = rng.integers(0, p, size=(b, k))
        # Each variable is a row [coefficients on the initial values | value], so one update rule serves both:
        # new x = a * x + s * y + c (mod p), with c added to the value column only.
        sign = np.where(kind == 1, -1, 1)
        a = np.select([kind < 2, kind == 2], [1, const], 0)
        s = np.where(kind < 2, sign * use_var, (kind > 2).astype(np.int64))
        c = np.where((kind < 2) & ~use_var, sign * const, 0)
        aug = np.concatenate([np.broadcast_to(np.eye(k, dtype=np.int64), (b, k, k)), init[..., None]], axis=2)
        flat = aug.reshape(b * k, k + 1)  # a view: row r * k + v is variable v of example r
        # Per-line columns, made contiguous (line-major) once, since the loop reads one line at a time.
        fx, fy = (np.ascontiguousarray((rows[:, None] * k + v).T) for v in (x, y))
        a_t, s_t = (np.ascontiguousarray(v.T[..., None]) for v in (a, s))
        c_t, swap_t = np.ascontiguousarray(c.T), np.ascontiguousarray((kind == 4).T[..., None])
        prime = all(p % d for d in range(2, int(p**0.5) + 1))
        written = np.empty((n, b), np.int64)
        # Sequential in lines only (each line reads the state the last one left), vectorised over the batch.
        for t in range(n):
            ax, ay = flat[fx[t]], flat[fy[t]]
            new = a_t[t] * ax + s_t[t] * ay
            new[:, k] += c_t[t]
            # x + y or x - y may cancel (x - y right after x = y): use the constant instead, keeping values uniform.
            coef = new[:, :k] % p
            bad = ~coef.any(axis=1) if prime else np.gcd(np.gcd.reduce(coef, axis=1), p) != 1
            if bad.any():
                use_var[bad, t] = False
                new[bad] = ax[bad]
                new[bad, k] += sign[bad, t] * const[bad, t]
            flat[fy[t]] = np.where(swap_t[t], ax, ay)
            new %= p
            flat[fx[t]] = new
            written[t] = new[:, k]
        return kind, x, y, use_var, const, written.T, init, aug[:, :, k]

    def _sample(self, rng: np.random.Generator, batch_size: int, length: int) -> Batch:
        b, n, k, w = batch_size, length, self.num_vars, self.answer_width
        kind, x, y, use_var, const, written, init, final = self._run(rng, b, n)
        tok = self.tok
        nx, ny = x + self.name0, y + self.name0

        # One row of slots per line: the arithmetic form is widest, `x = (x + y) % p`, with the operand in w slots and
        # p in lp; copies and swaps leave the tail SKIP. The newline is always the last slot (the trace's scored one).
        lp = len(str(self.p))
        arith, copy, swap = (kind < 3), (kind == 3), (kind == 4)
        operand = np.where(
            use_var[..., None],
            np.concatenate([ny[..., None], np.full((b, n, w - 1), SKIP)], axis=2),
            digit_slots(const, w, self.digit0),
        )
        grid = np.empty((b, n, 8 + w + lp), np.int64)
        grid[..., 0] = nx
        grid[..., 1] = np.where(swap, tok[","], tok["="])
        grid[..., 2] = np.where(arith, tok["("], ny)
        grid[..., 3] = np.where(arith, nx, np.where(copy, SKIP, tok["="]))
        grid[..., 4] = np.where(arith, np.choose(np.minimum(kind, 2), [tok["+"], tok["-"], tok["*"]]), SKIP)
        grid[..., 4] = np.where(swap, ny, grid[..., 4])
        grid[..., 5 : 5 + w] = np.where(arith[..., None], operand, SKIP)
        grid[..., 5 + w] = np.where(arith, tok[")"], SKIP)
        grid[..., 6 + w] = np.where(arith, tok["%"], SKIP)
        modulus = digit_slots(np.array(self.p), lp, self.digit0)
        grid[..., 7 + w : 7 + w + lp] = np.where(arith[..., None], modulus, SKIP)
        grid[..., 5] = np.where(swap, tok[","], grid[..., 5])  # x, y = y, x
        grid[..., 6] = np.where(swap, nx, grid[..., 6])
        grid[..., -1] = tok[NEWLINE]
        lines = grid.reshape(b, -1)

        names = np.stack([np.full(b, self.name0 + v) for v in range(k)], axis=1)[..., None]
        header = np.concatenate([names, np.full((b, k, 1), tok[","])], axis=2).reshape(b, -1)[:, :-1]
        values = digit_slots(init, w, self.digit0)
        values = np.concatenate([values, np.full((b, k, 1), tok[","])], axis=2).reshape(b, -1)[:, :-1]
        program = np.concatenate([header, self.const(b, "="), values, self.const(b, NEWLINE), lines], axis=1)
        if not self.trace:
            queried = rng.integers(0, k, size=b)
            rows = np.arange(b)
            query = [self.const(b, "assert"), queried[:, None] + self.name0]
            return self.with_query([program, *query], final[rows, queried])
        targets = np.zeros(program.shape, np.int64)
        mask = np.zeros(program.shape, bool)
        line_width = lines.shape[1] // n
        newline_cols = program.shape[1] - lines.shape[1] + line_width * np.arange(1, n + 1) - 1
        targets[:, newline_cols] = written + self.digit0
        mask[:, newline_cols] = True
        return pack(program, targets, mask)

    def to_python(self, batch: Batch, i: int) -> str:
        """Final mode: the program with `answer = x` for the query. Trace mode: `answer` collects, as a string, the
        value each update line wrote (the first name on the line), one digit per line, as the targets do."""
        if not self.trace:
            return super().to_python(batch, i)
        lines = self.source(self.example_ids(batch, i)).rstrip(NEWLINE).split(NEWLINE)
        out = ['answer = ""', lines[0]]
        for line in lines[1:]:
            target = line.split(",")[0].split("=")[0].strip()
            out += [line, f'answer = answer + f"{{{target}}}"']
        return NEWLINE.join(out) + NEWLINE

    def render(self, batch: Batch, i: int) -> str:
        if not self.trace:
            return super().render(batch, i)
        lines = self.source(self.example_ids(batch, i)).rstrip(NEWLINE).split(NEWLINE)
        values = self.scored_text(batch, i)
        width = max(len(line) for line in lines)
        shown = [lines[0]] + [f"{line.ljust(width)}  # -> {v}" for line, v in zip(lines[1:], values, strict=True)]
        return NEWLINE.join(shown)
