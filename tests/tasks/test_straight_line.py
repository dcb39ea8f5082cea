"""variable_binding and program_trace: hops, traces and uniform answers, read from the programs in plain Python."""

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from expressivity import tasks
from expressivity.tasks.code_tokens import digit_chance

LINE_FORMS = [
    r"(\w) = \(\1 [+-] (\w|\d+)\) % \d+",  # x = (x + y) % p, x = (x - 3) % p
    r"(\w) = \(\1 \* \d+\) % \d+",  # x = (x * u) % p
    r"\w = \w",  # copy
    r"(\w), (\w) = \2, \1",  # swap
]


def lines_of(task, batch, i):
    return task.source(task.example_ids(batch, i)).rstrip("\n").split("\n")


binding_cases = st.tuples(
    st.integers(0, 3), st.integers(0, 3), st.sampled_from([2, 10, 100]), st.integers(1, 12), st.integers(0, 2**32 - 1)
).map(lambda t: {"distractors": t[0], "num_names": t[0] + 2 + t[1], "num_values": t[2], "length": t[3], "seed": t[4]})


@given(case=binding_cases)
def test_variable_binding_answer_is_k_hops_back(case):
    params = {k: case[k] for k in ("distractors", "num_names", "num_values")}
    task = tasks.make("variable_binding", **params)
    k = case["length"]
    batch = task.sample(np.random.default_rng(case["seed"]), 4, k)
    for i in range(4):
        *program, query = lines_of(task, batch, i)
        pairs = [line.split(" = ") for line in program]
        assert len(pairs) == (case["distractors"] + 1) * (k + 1)
        assert sum(rhs.isdigit() for _, rhs in pairs) == case["distractors"] + 1, "one constant line per chain"
        assert all(int(rhs) < case["num_values"] for _, rhs in pairs if rhs.isdigit())
        name, at, hops = query.split()[1], len(pairs), 0
        while True:  # follow the latest binding of `name` before line `at`, back to a constant
            at = max(j for j in range(at) if pairs[j][0] == name)
            if pairs[at][1].isdigit():
                break
            name, hops = pairs[at][1], hops + 1
        assert hops == k
        assert task.scored_text(batch, i) == pairs[at][1]
        assert query.endswith("== " + "_" * len(str(case["num_values"] - 1)))


@pytest.mark.parametrize("num_values", [10, 100])
def test_variable_binding_values_are_uniform(num_values):
    task = tasks.make("variable_binding", num_values=num_values)
    batch = task.sample(np.random.default_rng(0), 4000, 3)
    answers = np.array([int(task.scored_text(batch, i)) for i in range(4000)])
    counts = np.bincount(answers, minlength=num_values) / 4000
    assert counts.size == num_values and np.abs(counts - 1 / num_values).max() < 4 * (1 / num_values / 4000) ** 0.5
    assert (batch.mask.sum(axis=1) == np.array([len(str(a)) for a in answers])).all(), "one scored blank per digit"


trace_cases = st.tuples(st.integers(2, 5), st.integers(2, 120), st.integers(1, 16), st.integers(0, 2**32 - 1)).map(
    lambda t: {"num_vars": t[0], "p": t[1], "length": t[2], "seed": t[3]}
)


@given(case=trace_cases, trace=st.booleans())
def test_program_trace_matches_running_each_line(case, trace):
    p = min(case["p"], 10) if trace else case["p"]
    task = tasks.make("program_trace", num_vars=case["num_vars"], p=p, trace=trace)
    batch = task.sample(np.random.default_rng(case["seed"]), 4, case["length"])
    for i in range(4):
        lines = lines_of(task, batch, i)
        namespace: dict = {"__builtins__": {}}
        exec(lines[0], namespace)
        written = []
        updates = lines[1:] if trace else lines[1:-1]
        assert len(updates) == case["length"]
        for line in updates:
            assert any(re.fullmatch(form, line) for form in LINE_FORMS), line
            assert line.endswith(f") % {p}") or "(" not in line
            exec(line, namespace)
            written.append(namespace[line[0]])
            assert all(0 <= namespace[v] < p for v in "abcde"[: case["num_vars"]])
        if trace:
            assert task.scored_text(batch, i) == "".join(map(str, written))
            newlines = np.flatnonzero(batch.inputs[i] == task.token_id["\n"])
            assert (np.flatnonzero(batch.mask[i]) == newlines[1:]).all(), "each update line's newline is scored"
        else:
            assert task.scored_text(batch, i) == str(namespace[lines[-1].split()[1]])


@pytest.mark.parametrize("trace", [False, True])
def test_program_trace_values_are_uniform_mod_p(trace):
    task = tasks.make("program_trace", p=7, trace=trace)
    batch = task.sample(np.random.default_rng(3), 3000, 24)
    values = np.array([int(v) for v in task.decode(batch.targets[batch.mask])])
    counts = np.bincount(values, minlength=7) / len(values)
    assert counts.size == 7 and np.abs(counts - 1 / 7).max() < 0.02
    assert task.chance == pytest.approx(1 / 7)


def test_program_trace_uses_every_line_form_and_variable_operands():
    task = tasks.make("program_trace")
    batch = task.sample(np.random.default_rng(0), 50, 20)
    lines = [line for i in range(50) for line in lines_of(task, batch, i)[1:-1]]
    for form in LINE_FORMS:
        assert sum(bool(re.fullmatch(form, line)) for line in lines) > len(lines) / 8
    assert sum(bool(re.fullmatch(r"(\w) = \(\1 [+-] [a-z]\) % 7", line)) for line in lines) > len(lines) / 10


def test_multi_digit_answers_score_one_blank_per_digit():
    task = tasks.make("program_trace", p=97)
    batch = task.sample(np.random.default_rng(0), 400, 6)
    for i in range(400):
        assert lines_of(task, batch, i)[-1].endswith(" == __")
        assert batch.mask[i].sum() == len(task.scored_text(batch, i))
    assert task.chance == pytest.approx(20 / 184) == digit_chance(97)
    assert digit_chance(2) == 0.5 and digit_chance(10) == 0.1


@pytest.mark.parametrize(
    "name, params, message",
    [
        ("program_trace", {"trace": True, "p": 11}, r"trace=True needs p <= 10 .* got p=11"),
        ("program_trace", {"p": 1}, r"p must be in \[2, 1000\]"),
        ("program_trace", {"num_vars": 1}, r"num_vars must be in \[2, 26\]"),
        ("program_trace", {"trace": "yes"}, "choose one of False, True"),
        ("variable_binding", {"distractors": 3, "num_names": 4}, r"num_names .* must be in \[5, 100\], got 4"),
        ("variable_binding", {"distractors": -1}, "distractors must be >= 0"),
        ("variable_binding", {"num_values": 1}, r"num_values must be in \[2, 1000000\]"),
    ],
)
def test_bad_parameters_name_what_is_allowed(name, params, message):
    with pytest.raises(ValueError, match=message):
        tasks.make(name, **params)
