"""Deterministic context-free tasks (Delétang et al.) against plain-Python oracles: `eval` of the decoded expression,
the unknown plugged back in, a list used as a stack, and the expression grammar's probabilities enumerated exactly."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from expressivity import tasks
from expressivity.tasks.context_free import random_expressions


@dataclass(frozen=True)
class Case:
    seed: int
    batch_size: int
    length: int


def cases(min_length: int = 1, max_length: int = 40):
    return st.builds(
        Case,
        seed=st.integers(0, 2**32 - 1),
        batch_size=st.integers(1, 8),
        length=st.integers(min_length, max_length),
    )


def sample(task, case):
    return task.sample(np.random.default_rng(case.seed), case.batch_size, case.length)


def final_answers(task, case):
    """Yield (tokens between BOS and the query, query, answer) per example; only the query may be scored."""
    batch = sample(task, case)
    for i in range(case.batch_size):
        tokens = task.decode(batch.inputs[i])
        assert tokens[0] == "<bos>" and "<pad>" not in tokens
        assert np.flatnonzero(batch.mask[i]).tolist() == [len(tokens) - 1]
        yield tokens[1:-1], tokens[-1], task.vocab[batch.targets[i, -1]]


def well_bracketed(tokens) -> bool:
    depth = 0
    for tok in tokens:
        depth += (tok == "(") - (tok == ")")
        if depth < 0:
            return False
    return depth == 0


@given(cases(), st.integers(2, 12), st.booleans())
def test_modular_arithmetic_brackets_matches_python_eval(case, modulus, mult):
    task = tasks.make("modular_arithmetic_brackets", modulus=modulus, mult=mult)
    for expression, query, answer in final_answers(task, case):
        assert query == "=" and len(expression) == case.length
        assert well_bracketed(expression)
        assert mult or "*" not in expression
        assert answer == str(eval(" ".join(expression)) % modulus)


@given(cases(min_length=3), st.integers(2, 12))
def test_solve_equation_answer_solves_it_uniquely(case, modulus):
    task = tasks.make("solve_equation", modulus=modulus)
    for equation, query, answer in final_answers(task, case):
        assert query == "_" and len(equation) == case.length
        assert equation.count("x") == 1 and equation[-2] == "=" and "*" not in equation
        expression, value = " ".join(equation[:-2]), int(equation[-1])
        assert well_bracketed(equation[:-2])
        solutions = [r for r in range(modulus) if eval(expression.replace("x", str(r))) % modulus == value]
        assert solutions == [int(answer)]


def test_solve_equation_picks_the_next_residue_after_a_random_position():
    # "( d + d )": of the 5 start positions, 0, 1 and 4 (wrapping round) lead to the first residue, 2 and 3 to the
    # second, as in Delétang et al.
    task = tasks.make("solve_equation")
    batch = task.sample(np.random.default_rng(3), 20000, 7)
    first = (batch.inputs[:, 2] == task.token_id["x"]).mean()
    assert abs(first - 0.6) < 0.02 and ((batch.inputs[:, [2, 4]] == task.token_id["x"]).sum(axis=1) == 1).all()


def transduction(task, case):
    """Yield (input tokens, blank count, scored targets) per example; blanks follow the input and nothing else."""
    batch = sample(task, case)
    for i in range(case.batch_size):
        tokens = task.decode(batch.inputs[i])
        assert tokens[0] == "<bos>" and "<pad>" not in tokens
        first_blank = tokens.index("_")
        assert set(tokens[first_blank:]) == {"_"} and "_" not in tokens[:first_blank]
        scored = np.flatnonzero(batch.mask[i])
        assert scored.min() == first_blank, "every output starts at the first blank"
        assert scored.tolist() == list(range(first_blank, first_blank + len(scored))), "scored blanks are contiguous"
        yield tokens[1:first_blank], len(tokens) - first_blank, task.decode(batch.targets[i, scored])


@given(cases(), st.integers(2, 10))
def test_reverse_string(case, alphabet_size):
    task = tasks.make("reverse_string", alphabet_size=alphabet_size)
    for string, blanks, targets in transduction(task, case):
        assert len(string) == case.length == blanks
        assert all(0 <= int(s) < alphabet_size for s in string)
        assert targets == [string[len(string) - 1 - j] for j in range(len(string))]


@pytest.mark.parametrize("alphabet_size", [2, 3])  # bits unpacked from random bytes; small integer draws
def test_reverse_string_symbols_iid_uniform(alphabet_size):
    """Each symbol uniform, and neighbours independent (across byte boundaries too): pairs uniform over k*k cells."""
    task = tasks.make("reverse_string", alphabet_size=alphabet_size)
    k, length, n = alphabet_size, 12, 20_000
    codes = task.sample(np.random.default_rng(4), n, length).inputs[:, 1 : length + 1] - task.token_id["0"]
    for j in range(length - 1):
        pairs = np.bincount(codes[:, j] * k + codes[:, j + 1], minlength=k * k)
        expected = n / (k * k)
        chi2 = ((pairs - expected) ** 2 / expected).sum()
        assert chi2 < k * k - 1 + 5 * np.sqrt(2 * (k * k - 1)), (j, pairs)


def run_stack(symbols):
    """(final stack bottom to top, pops on an empty stack) by a Python list, after checking the input's shape."""
    n_stack = next((k for k, s in enumerate(symbols) if s not in ("0", "1")), len(symbols))
    assert n_stack >= 1 and (n_stack < len(symbols) or len(symbols) == 1)
    stack, idle_pops = [int(s) for s in symbols[:n_stack]], 0
    for action in symbols[n_stack:]:
        if action == "pop":
            if stack:
                stack.pop()
            else:
                idle_pops += 1
        else:
            assert action in ("push0", "push1")
            stack.append(int(action[-1]))
    return stack, idle_pops


@given(cases())
def test_stack_manipulation_matches_a_list_stack(case):
    task = tasks.make("stack_manipulation")
    for symbols, blanks, targets in transduction(task, case):
        assert len(symbols) == case.length and blanks == case.length + 1
        stack, _ = run_stack(symbols)
        assert targets == [str(v) for v in reversed(stack)] + ["end"]


def test_stack_manipulation_pops_on_empty_stacks():
    # Pops on an empty stack are rare at random; a large batch of short inputs meets enough of them.
    task, idle = tasks.make("stack_manipulation"), 0
    for length in (4, 8, 12):
        case = Case(seed=length, batch_size=1000, length=length)
        for symbols, _, targets in transduction(task, case):
            stack, idle_pops = run_stack(symbols)
            idle += idle_pops > 0
            assert targets == [str(v) for v in reversed(stack)] + ["end"]
    assert idle > 50


def test_stack_manipulation_example():
    task = tasks.make("stack_manipulation")
    # Find Delétang's first example among draws of length 7: 0 1 1 0 push1 pop pop -> 1 1 0 end.
    batch = task.sample(np.random.default_rng(0), 20000, 7)
    want = task.ids("0 1 1 0 push1 pop pop")
    hits = np.flatnonzero((batch.inputs[:, 1:8] == want).all(axis=1))
    assert hits.size
    assert task.decode(batch.targets[hits[0]][batch.mask[hits[0]]]) == ["1", "1", "0", "end"]


# ---- the expression distribution, enumerated exactly from Delétang's recursion -----------------------------------
def shape_probabilities(length: int, ops: str) -> dict[str, Fraction]:
    """Probability of each expression shape (residues written `d`) under the recursive split."""
    leaves = {1: "d", 2: "-d", 3: "(d)", 4: "(-d)"}
    if length in leaves:
        return {leaves[length]: Fraction(1)}
    out: Counter = Counter()
    for left_size in range(1, length - 3):
        weight = Fraction(1, (length - 4) * len(ops))
        lefts, rights = shape_probabilities(left_size, ops), shape_probabilities(length - 3 - left_size, ops)
        for (a, pa), (b, pb), op in itertools.product(lefts.items(), rights.items(), ops):
            out[f"({a}{op}{b})"] += weight * pa * pb
    return dict(out)


@pytest.mark.parametrize("length,mult", [(10, False), (9, True)])  # <= 30 shapes: sampling noise ~0.01
def test_expression_shapes_follow_the_recursive_split(length, mult):
    m, n = 5, 20000
    codes, _ = random_expressions(np.random.default_rng(1), n, length, modulus=m, mult=mult)
    symbols = np.array([*"ddddd", "+", "-", "*", "(", ")"])
    seen = Counter("".join(row) for row in symbols[codes])
    want = shape_probabilities(length, "+-*" if mult else "+-")
    assert set(seen) <= set(want)
    total_variation = sum(abs(seen.get(s, 0) / n - float(p)) for s, p in want.items()) / 2
    assert total_variation < 0.03, total_variation


def test_answers_uniform():
    rng = np.random.default_rng(0)
    for name, length in [("modular_arithmetic_brackets", 30), ("solve_equation", 30)]:
        task = tasks.make(name)
        batch = task.sample(rng, 5000, length)
        share = np.bincount(batch.targets[:, -1], minlength=len(task.vocab))[task.ids("0 1 2 3 4")] / 5000
        assert np.all(np.abs(share - 0.2) < 0.03), (name, share)


def test_chance_with_products_is_the_limit_share_of_zero():
    task = tasks.make("modular_arithmetic_brackets", mult=True)
    assert task.chance == pytest.approx(1 / 3)
    batch = task.sample(np.random.default_rng(4), 5000, 101)
    share = (batch.targets[:, -1] == task.token_id["0"]).mean()
    assert 0.27 < share < task.chance + 0.015, share


def test_parameters_validated():
    for name, params, match in [
        ("modular_arithmetic_brackets", {"modulus": 1}, "modulus must be in"),
        ("modular_arithmetic_brackets", {"mult": "yes"}, "mult must be True or False"),
        ("solve_equation", {"modulus": 101}, "modulus must be in"),
        ("reverse_string", {"alphabet_size": 1}, "alphabet_size must be in"),
    ]:
        with pytest.raises(ValueError, match=match):
            tasks.make(name, **params)
    with pytest.raises(ValueError, match="length"):
        tasks.make("solve_equation").sample(np.random.default_rng(0), 2, 2)
