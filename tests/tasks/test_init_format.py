"""init_format of the two pointer tasks: "tuple" draws what the tasks drew before it existed, "lines" writes the same
initial values one assignment a line (`a = 6`), with the same draws, answers, vocabulary and shortcuts."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from expressivity import tasks
from expressivity.tasks import shortcuts

POINTER = ["state_based_recall", "pointer_tracking"]


# Digests of batches (8 examples, seed s, length n) drawn before init_format existed (commit 73c1f15).
BEFORE = [
    ("state_based_recall", {}, 0, 1, "b3441c6da6370be6"),
    ("state_based_recall", {}, 7, 12, "a3514d3364a50327"),
    ("state_based_recall", {"queries": "every_line", "max_vars": 7}, 2, 9, "26bdf03e1da45de0"),
    ("state_based_recall", {"ops": "mixed", "m": 16, "bits_format": "dict"}, 4, 20, "7fafee75f16bc01b"),
    ("pointer_tracking", {}, 5, 3, "276d4aeff0cf58bc"),
    ("pointer_tracking", {"queries": "every_line", "ops": "assign", "num_vars": 3, "max_vars": 6}, 6, 17,
     "5c1d0abf58cbac16"),
]  # fmt: skip


@pytest.mark.parametrize("name, params, seed, length, expected", BEFORE)
def test_the_tuple_format_draws_the_batches_drawn_before(name, params, seed, length, expected, digest):
    for extra in ({}, {"init_format": "tuple"}):
        task = tasks.make(name, **params, **extra)
        assert digest(task.sample(np.random.default_rng(seed), 8, length)) == expected


cases = st.tuples(
    st.sampled_from(POINTER),
    st.integers(2, 7),
    st.sampled_from([None, 0, 3]),
    st.sampled_from(["swap", "assign", "mixed"]),
    st.sampled_from(["final", "every_line"]),
    st.sampled_from([None, 0, 9, 120]),
    st.integers(1, 20),
    st.integers(0, 2**32 - 1),
).map(
    lambda t: {
        "name": t[0],
        "params": {
            "num_vars": t[1],
            "max_vars": None if t[2] is None else t[1] + t[2],
            "ops": t[3],
            "queries": t[4],
            **({"m": None if t[5] is None else t[1] + t[5]} if t[0] == "state_based_recall" else {}),
        },
        "length": t[6],
        "seed": t[7],
    }
)


def as_lines(init: str) -> list[str]:
    """`a, c, d = 6, 12, 0` -> ["a = 6", "c = 12", "d = 0"]."""
    names, values = init.split(" = ")
    return [f"{n} = {v}" for n, v in zip(names.split(", "), values.split(", "), strict=True)]


@given(case=cases)
def test_a_lines_program_is_the_tuple_program_one_assignment_a_line(case):
    lines, plain = (tasks.make(case["name"], init_format=f, **case["params"]) for f in ("lines", "tuple"))
    a, b = (t.sample(np.random.default_rng(case["seed"]), 3, case["length"]) for t in (lines, plain))
    np.testing.assert_array_equal(a.targets[a.mask], b.targets[b.mask])  # same answers, in order
    np.testing.assert_array_equal(a.mask.sum(axis=1), b.mask.sum(axis=1))
    at = 1 if case["name"] == "state_based_recall" else 0  # the init line comes after the bits line
    k = case["params"]["num_vars"]
    for i in range(3):
        written = lines.source(lines.example_ids(a, i)).split("\n")
        tuple_lines = plain.source(plain.example_ids(b, i)).split("\n")
        assert written == [*tuple_lines[:at], *as_lines(tuple_lines[at]), *tuple_lines[at + 1 :]]
        assert all(line.count("=") == 1 and "," not in line for line in written[at : at + k])
        assert lines.scored_answers(a, i) == plain.scored_answers(b, i)
        np.testing.assert_array_equal(lines.encode("\n".join(written)), lines.example_ids(a, i))


def test_the_rendered_example_writes_one_assignment_a_line():
    recall = tasks.make("state_based_recall", num_vars=3, m=12, init_format="lines")
    assert recall.render(recall.sample(np.random.default_rng(1), 1, 2), 0) == (
        "bits = [0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 1, 0]\n"
        "a = 3\n"
        "b = 10\n"
        "c = 8\n"
        "c, b = b, c\n"
        "a, b = b, a\n"
        "assert bits[a] == _        # answer: 0"
    )
    tracking = tasks.make("pointer_tracking", num_vars=3, init_format="lines")
    expected = "a = 1\nb = 0\nc = 0\na, c = c, a\nb, c = c, b\nassert a == _        # answer: 0"
    assert tracking.render(tracking.sample(np.random.default_rng(2), 1, 2), 0) == expected
    plain = tasks.make("pointer_tracking", num_vars=3)
    expected = "a, b, c = 1, 0, 0\na, c = c, a\nb, c = c, b\nassert a == _        # answer: 0"
    assert plain.render(plain.sample(np.random.default_rng(2), 1, 2), 0) == expected


@pytest.mark.parametrize("name", POINTER)
def test_the_vocabulary_chance_and_shortcuts_do_not_depend_on_the_format(name):
    for params in ({}, {"num_vars": 3, "max_vars": 6, "ops": "mixed"}, {"queries": "every_line"}):
        plain, lines = tasks.make(name, **params), tasks.make(name, init_format="lines", **params)
        assert lines.vocab == plain.vocab and lines.chance == plain.chance
        assert lines.info["chance"] == plain.info["chance"]
        for length in (1, 8, 64):
            assert lines.shortcut_acc(length) == plain.shortcut_acc(length)
            assert lines.shortcut_name(length) == plain.shortcut_name(length)


@pytest.mark.parametrize(
    "name, params",
    [
        ("state_based_recall", {}),
        ("state_based_recall", {"m": 40, "max_vars": 7, "num_vars": 4, "queries": "every_line"}),
        ("state_based_recall", {"bits_format": "dict", "ops": "mixed"}),
        ("pointer_tracking", {}),
        ("pointer_tracking", {"num_vars": 3, "max_vars": 6, "ops": "assign"}),
    ],
)
def test_the_pointer_majority_guesser_reads_the_lines_as_the_tuple(name, params):
    # Same seed, same initial values and answers: the guesser reads the k lines and guesses what it guessed before.
    plain, lines = tasks.make(name, **params), tasks.make(name, init_format="lines", **params)
    for length in (3, 16):
        a, b = (t.sample(np.random.default_rng(length), 256, length) for t in (lines, plain))
        ref_a, ref_b = shortcuts.Reference(lines, length, a), shortcuts.Reference(plain, length, b)
        guess_a = shortcuts.GUESSERS["pointer_majority"](ref_a, a)[a.mask]
        guess_b = shortcuts.GUESSERS["pointer_majority"](ref_b, b)[b.mask]
        np.testing.assert_array_equal(guess_a, guess_b)
        assert 0.55 < (guess_a == a.targets[a.mask]).mean() < 0.85  # near the majority guess's 11/16 (k = 5)


@pytest.mark.parametrize("name", POINTER)
def test_a_bad_init_format_is_a_one_line_error(name):
    with pytest.raises(ValueError, match=f"^{name}: init_format='x' is not valid; choose one of tuple, lines$") as e:
        tasks.make(name, init_format="x")
    assert "\n" not in str(e.value)
