"""Regular tasks (Delétang et al.) against plain-Python oracles: loops over the decoded string, `eval` for sums."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from expressivity import tasks


@dataclass(frozen=True)
class Case:
    seed: int
    batch_size: int
    length: int


def cases(max_length: int = 40):
    return st.builds(
        Case, seed=st.integers(0, 2**32 - 1), batch_size=st.integers(1, 8), length=st.integers(1, max_length)
    )


def examples(task, case):
    """Yield (input tokens between BOS and the query, query token, answer token) per example; checks the layout."""
    batch = task.sample(np.random.default_rng(case.seed), case.batch_size, case.length)
    for i in range(case.batch_size):
        tokens = task.decode(batch.inputs[i])
        assert tokens[0] == "<bos>" and "<pad>" not in tokens
        scored = np.flatnonzero(batch.mask[i])
        assert scored.tolist() == [len(tokens) - 1], "only the final query is scored"
        yield tokens[1:-1], tokens[-1], task.vocab[batch.targets[i, -1]]


@given(cases())
def test_parity_check(case):
    task = tasks.make("parity_check")
    for bits, query, answer in examples(task, case):
        assert query == "=" and len(bits) == case.length and set(bits) <= {"0", "1"}
        ones = 0
        for bit in bits:
            ones += bit == "1"
        assert answer == str(ones % 2)


@given(cases())
def test_even_pairs(case):
    task = tasks.make("even_pairs")
    for bits, query, answer in examples(task, case):
        assert query == "=" and len(bits) == case.length and set(bits) <= {"0", "1"}
        unequal = sum(1 for i in range(len(bits) - 1) if bits[i] != bits[i + 1])
        assert answer == str(unequal % 2)


@given(cases(), st.integers(2, 12))
def test_cycle_navigation(case, cycle_length):
    task = tasks.make("cycle_navigation", cycle_length=cycle_length)
    move = {"left": -1, "stay": 0, "right": 1}
    for actions, query, answer in examples(task, case):
        assert query == "=" and len(actions) == case.length
        position = 0
        for action in actions:
            position = (position + move[action]) % cycle_length
        assert answer == str(position)


OPERATOR_SETS = ["+-*", "+", "-", "+-", "*-", "+*"]


@given(cases(), st.integers(2, 12), st.sampled_from(OPERATOR_SETS))
def test_modular_arithmetic_matches_python_eval(case, modulus, operators):
    task = tasks.make("modular_arithmetic", modulus=modulus, operators=operators)
    for expression, query, answer in examples(task, case):
        assert query == "="
        assert len(expression) == case.length - (1 - case.length % 2), "an even length is lowered by one"
        residues, ops = expression[0::2], expression[1::2]
        assert all(0 <= int(r) < modulus for r in residues) and set(ops) <= set(operators)
        assert answer == str(eval(" ".join(expression)) % modulus)


def test_answers_balanced():
    rng = np.random.default_rng(0)
    for name, params, answers in [
        ("parity_check", {}, 2),
        ("even_pairs", {}, 2),
        ("cycle_navigation", {}, 5),
        ("modular_arithmetic", {}, 5),
    ]:
        task = tasks.make(name, **params)
        batch = task.sample(rng, 4000, 41)
        counts = np.bincount(batch.targets[:, -1], minlength=len(task.vocab))
        share = counts[counts > 0] / 4000
        assert len(share) == answers and np.all(np.abs(share - 1 / answers) < 0.04), (name, share)
        assert task.chance == pytest.approx(1 / answers)


def test_parameters_validated():
    for name, params, match in [
        ("modular_arithmetic", {"modulus": 1}, "modulus must be in"),
        ("modular_arithmetic", {"operators": "+/"}, "'\\+-\\*'"),
        ("modular_arithmetic", {"operators": ""}, "non-empty"),
        ("modular_arithmetic", {"operators": "++"}, "repeat"),
        ("modular_arithmetic", {"operators": "*"}, "alone"),
        ("cycle_navigation", {"cycle_length": 1}, "cycle_length must be in"),
        ("cycle_navigation", {"cycle_length": 2.5}, "integer"),
    ]:
        with pytest.raises(ValueError, match=match):
            tasks.make(name, **params)


def test_info_levels():
    for name in ("parity_check", "even_pairs", "cycle_navigation", "modular_arithmetic"):
        info = tasks.make(name).info
        assert info["family"] == "regular" and info["level"] == "R"
