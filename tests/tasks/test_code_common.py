"""Properties every code-execution task keeps, checked against CPython itself (ast, tokenize, exec).

The task list is derived from the registry (family "code"); each task has a hypothesis strategy of valid parameters.
"""

import ast
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from expressivity import tasks
from expressivity.runners.cli import app

CODE = [name for name in tasks.names() if tasks.make(name).family == "code"]

PARAMS = {
    "state_based_recall": st.tuples(
        st.integers(2, 8),
        st.integers(0, 12),
        st.booleans(),
        st.sampled_from(["swap", "assign", "mixed"]),
        st.sampled_from([None, 0, 3]),
        st.sampled_from(["final", "every_line"]),
        st.sampled_from(["list", "dict"]),
        st.sampled_from(["tuple", "lines"]),
        st.sampled_from(["digits", "tokens"]),
    ).map(
        lambda t: {
            "num_vars": t[0],
            "m": t[0] + t[1] if t[2] else None,
            "ops": t[3],
            "max_vars": None if t[4] is None else t[0] + t[4],
            "queries": t[5],
            "bits_format": t[6],
            "init_format": t[7],
            "numbers": t[8],
        }
    ),
    "pointer_tracking": st.tuples(
        st.integers(2, 8),
        st.sampled_from(["swap", "assign", "mixed"]),
        st.sampled_from([None, 0, 3]),
        st.sampled_from(["final", "every_line"]),
        st.sampled_from(["tuple", "lines"]),
        st.sampled_from([None, 0, 5, 300]),  # index values: none (bits), as many as variables, two and three digits
    ).map(
        lambda t: {
            "num_vars": t[0],
            "ops": t[1],
            "max_vars": None if t[2] is None else t[0] + t[2],
            "queries": t[3],
            "init_format": t[4],
            **({} if t[5] is None else {"m": t[0] + t[5]}),
        }
    ),
    "indexed_recall": st.builds(
        dict, bits_format=st.sampled_from(["list", "dict"]), numbers=st.sampled_from(["digits", "tokens"])
    ),
    "variable_binding": st.tuples(st.integers(0, 3), st.integers(0, 4), st.sampled_from([2, 7, 10, 11, 100, 1000])).map(
        lambda t: {"distractors": t[0], "num_names": t[0] + 2 + t[1], "num_values": t[2]}
    ),
    "program_trace": st.tuples(st.integers(2, 5), st.integers(2, 150), st.booleans()).map(
        lambda t: {"num_vars": t[0], "p": t[1] if not t[2] else min(t[1], 10), "trace": t[2]}
    ),
}


def examples(name: str):
    """(task, batch) for random valid parameters, seed and length."""
    return st.tuples(PARAMS[name], st.integers(0, 2**32 - 1), st.integers(1, 20)).map(
        lambda t: (tasks.make(name, **t[0]), t[1], t[2])
    )


def draw(example, batch_size=4):
    task, seed, length = example
    return task, task.sample(np.random.default_rng(seed), batch_size, length)


def test_every_code_task_has_a_strategy():
    assert set(CODE) == set(PARAMS), "a new code task needs a parameter strategy here"


@pytest.mark.parametrize("name", CODE)
@given(data=st.data())
def test_programs_parse_and_cpython_agrees_with_targets(name, data):
    task, batch = draw(data.draw(examples(name)))
    for i in range(batch.batch_size):
        ast.parse(task.source(task.example_ids(batch, i)))
        namespace = {"__builtins__": {}}
        exec(task.to_python(batch, i), namespace)
        if "answers" in namespace:  # several queries: one value each, in order
            assert [str(a) for a in namespace["answers"]] == task.scored_answers(batch, i)
        else:
            assert str(namespace["answer"]) == task.scored_text(batch, i)
        assert task.render(batch, i).startswith(task.source(task.example_ids(batch, i)).split("\n")[0])


@pytest.mark.parametrize("name", CODE)
@given(data=st.data())
def test_retokenising_the_source_gives_the_same_ids(name, data):
    task, batch = draw(data.draw(examples(name)))
    for i in range(batch.batch_size):
        ids = task.example_ids(batch, i)
        np.testing.assert_array_equal(task.encode(task.source(ids)), ids)


@pytest.mark.parametrize("name", CODE)
@given(data=st.data())
def test_same_seed_same_batch(name, data):
    task, seed, length = data.draw(examples(name))
    a, b = (task.sample(np.random.default_rng(seed), 3, length) for _ in range(2))
    for field in ("inputs", "targets", "mask"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


@pytest.mark.parametrize("name", CODE)
@given(data=st.data())
def test_vocabulary_is_fixed_by_parameters(name, data):
    params = data.draw(PARAMS[name])
    task = tasks.make(name, **params)
    vocab = list(task.vocab)
    for length in (1, 7, 64):
        batch = task.sample(np.random.default_rng(length), 2, length)
        assert task.vocab == vocab and batch.inputs.max() < len(vocab)
    assert tasks.make(name, **params).vocab == vocab


@pytest.mark.parametrize("name", CODE)
def test_short_training_lengths_cover_every_token_of_long_ones(name):
    """A model trained at lengths <= 16 sees no new token at length 64 (numbers are digit tokens)."""
    task = tasks.make(name)
    seen = set()
    for length in range(1, 17):
        batch = task.sample(np.random.default_rng(length), 64, length)
        seen |= set(batch.inputs.ravel().tolist()) | set(batch.targets.ravel().tolist())
    long = task.sample(np.random.default_rng(99), 64, 64)
    assert set(long.inputs.ravel().tolist()) | set(long.targets.ravel().tolist()) <= seen


@pytest.mark.parametrize("name", CODE)
def test_encode_names_a_foreign_token(name):
    with pytest.raises(ValueError, match="'while' is not in the vocabulary"):
        tasks.make(name).encode("while 1")


def test_cli_samples_state_based_recall_like_the_theory_note():
    result = CliRunner().invoke(app, ["sample", "state_based_recall", "--length", "6", "-n", "2"])
    assert result.exit_code == 0, result.output
    program = result.output.split("\n\n")[0].split("\n")[1:]
    assert program[0].startswith("bits = [") and program[1].startswith("a, b, c, d, e = ")
    assert len(program) == 2 + 6 + 1 and program[-1].startswith("assert bits[")
    assert all(line.count("=") == 1 and line.count(",") == 2 for line in program[2:8]), "swap lines `a, c = c, a`"


def test_cli_samples_the_dict_format():
    args = ["sample", "state_based_recall", "--length", "3", "-n", "1", "--set", "bits_format=dict", "--set", "m=12"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    header, first, init = result.output.split("\n")[:3]
    bits = ast.literal_eval(first.removeprefix("bits = "))
    assert "bits_format='dict'" in header and list(bits) == list(range(12)) and set(bits.values()) <= {0, 1}
    assert first == "bits = {" + ", ".join(f"{k}: {v}" for k, v in bits.items()) + "}"
    assert init.startswith("a, b, c, d, e = ")


@pytest.mark.parametrize("name", ["state_based_recall", "pointer_tracking"])
def test_cli_samples_one_assignment_a_line(name):
    args = ["sample", name, "--set", "init_format=lines", "--length", "3", "-n", "1", "--set", "num_vars=4"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    header, *program = result.output.strip().split("\n")
    assert "init_format='lines'" in header
    head = 1 if name == "state_based_recall" else 0
    assert program[0].startswith("bits = [") == (head == 1) and len(program) == head + 4 + 3 + 1
    assert [line.split(" = ")[0] for line in program[head : head + 4]] == ["a", "b", "c", "d"]
    assert all(re.fullmatch(r"[abcd] = \d+", line) for line in program[head : head + 4]), program
    assert all(line.count(",") == 2 for line in program[head + 4 : head + 7]), "swap lines `a, c = c, a`"
    assert program[-1].startswith("assert ")


@pytest.mark.parametrize(
    "args, allowed",
    [
        (["--set", "m=3"], "m .*>= 5, got 3"),
        (["--set", "ops=rotate"], "choose one of swap, assign, mixed"),
        (["--length", "-1"], "length for state_based_recall must be >= 1"),
        (["--set", "num_vars=1"], r"num_vars must be in \[2, 26\]"),
        (["--set", "bits_format=set"], "bits_format='set' is not valid; choose one of list, dict"),
        (["--set", "init_format=x"], "init_format='x' is not valid; choose one of tuple, lines"),
    ],
)
def test_cli_bad_input_is_one_line_naming_what_is_allowed(args, allowed):
    result = CliRunner().invoke(app, ["sample", "state_based_recall", *args])
    assert result.exit_code == 2
    lines = result.output.strip().split("\n")
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert re.search(allowed, lines[0]), lines[0]
