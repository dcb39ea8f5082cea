"""The pointer tasks' queries after every line, their fixed variable tokens (max_vars) and their list-size axis (m),
checked against the programs run in plain CPython; and their defaults against batches recorded before these existed."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from expressivity import tasks
from expressivity.runners.training.evaluate import last_scored
from expressivity.tasks.pointer_lines import compose, prefix_compose

LETTERS = "abcdefghijklmnopqrstuvwxyz"
OPS = ["swap", "assign", "mixed"]


# Digests of batches (8 examples, seed s, length n) drawn by the generators as they were before `queries` and
# `max_vars` existed (commit c1f9288): the defaults, and max_vars=None, must draw exactly these.
BEFORE = [
    ("state_based_recall", {}, 0, 1, "b3441c6da6370be6"),
    ("state_based_recall", {}, 3, 64, "c999d93e631eb49f"),
    ("state_based_recall", {"m": 16}, 1, 7, "10401c23da401b6f"),
    ("state_based_recall", {"ops": "mixed", "num_vars": 3}, 2, 16, "34766aba7a119de6"),
    ("state_based_recall", {"ops": "assign", "m": 1024}, 3, 64, "b240c8161d4c9ba0"),
    ("pointer_tracking", {}, 1, 7, "aff33405c48488d6"),
    ("pointer_tracking", {}, 3, 64, "0841739c95b6a9d6"),
    ("pointer_tracking", {"ops": "mixed", "num_vars": 2}, 2, 16, "556e2c02c6bb877a"),
]


@pytest.mark.parametrize("name, params, seed, length, expected", BEFORE)
def test_defaults_draw_the_batches_drawn_before(name, params, seed, length, expected, digest):
    for extra in ({}, {"queries": "final"}, {"max_vars": None}):
        task = tasks.make(name, **params, **extra)
        assert digest(task.sample(np.random.default_rng(seed), 8, length)) == expected


@pytest.mark.parametrize(("name", "size"), [("state_based_recall", 32), ("pointer_tracking", 32)])
def test_default_vocabulary_is_unchanged(name, size):
    assert len(tasks.make(name).vocab) == size and len(tasks.make(name, num_vars=2).vocab) == size - 3


def states_by_line(source: str) -> list[dict]:
    """The variables after each line of a program, its query lines left out (they would fail: `_` is unbound)."""
    namespace: dict = {"__builtins__": {}}
    out = []
    for line in source.split("\n"):
        if not line.startswith("assert "):
            exec(line, namespace)
        out.append({k: v for k, v in namespace.items() if k != "__builtins__"})
    return out


pointer_cases = st.tuples(
    st.sampled_from(["state_based_recall", "pointer_tracking"]),
    st.integers(2, 6),
    st.integers(0, 3),
    st.sampled_from(OPS),
    st.integers(1, 20),
    st.integers(0, 2**32 - 1),
).map(lambda t: {"name": t[0], "num_vars": t[1], "max_vars": t[1] + t[2], "ops": t[3], "length": t[4], "seed": t[5]})


@given(case=pointer_cases)
def test_every_line_asks_after_each_update_line_and_cpython_agrees(case):
    task = tasks.make(case["name"], num_vars=case["num_vars"], max_vars=case["max_vars"], ops=case["ops"],
                      queries="every_line")  # fmt: skip
    batch = task.sample(np.random.default_rng(case["seed"]), 3, case["length"])
    head = 2 if case["name"] == "state_based_recall" else 1
    for i in range(3):
        source = task.source(task.example_ids(batch, i))
        lines = source.split("\n")
        assert len(lines) == head + 2 * case["length"]
        queries = lines[head + 1 :: 2]
        assert len(queries) == case["length"] and all(q.startswith("assert ") for q in queries)
        assert not any(line.startswith("assert ") for line in lines[head::2])
        states = states_by_line(source)
        expected = []
        for j in range(head + 1, len(lines), 2):  # each query reads the state its preceding update line left
            expr = lines[j][len("assert ") : lines[j].rindex(" == ")]
            expected.append(str(eval(expr, {"__builtins__": {}}, dict(states[j - 1]))))
        assert task.scored_answers(batch, i) == expected
        namespace: dict = {"__builtins__": {}}
        exec(task.to_python(batch, i), namespace)
        if case["length"] == 1:  # one query binds `answer`, as every single-query program does
            assert [str(namespace["answer"])] == expected and "answers" not in namespace
        else:
            assert [str(a) for a in namespace["answers"]] == expected and "answer" not in namespace


def test_every_line_keeps_the_final_query_as_the_headline():
    task = tasks.make("state_based_recall", queries="every_line")
    batch = task.sample(np.random.default_rng(0), 16, 9)
    assert task.scored_by == "final" and tasks.make("state_based_recall").scored_by == "token"
    assert (batch.mask.sum(1) == 9).all()
    # the last scored position (what final_acc scores) is the final query's blank, the program's last token
    ends = (batch.inputs != 0).sum(1) - 1
    np.testing.assert_array_equal(last_scored(batch.mask), ends)
    for i in range(16):
        namespace: dict = {"__builtins__": {}}
        exec(task.to_python(batch, i), namespace)
        assert str(namespace["answers"][-1]) == task.decode([batch.targets[i, ends[i]]])[0]


def test_every_line_queries_are_uniform_and_independent_of_the_line():
    task = tasks.make("pointer_tracking", queries="every_line")
    batch = task.sample(np.random.default_rng(2), 400, 5)
    asked = np.array([[q.split()[1] for q in task.source(task.example_ids(batch, i)).split("\n")[2::2]]
                      for i in range(400)])  # fmt: skip
    for t in range(5):
        counts = np.array([(asked[:, t] == v).sum() for v in "abcde"])
        assert (abs(counts / 400 - 0.2) < 0.07).all()


@given(st.integers(1, 40), st.integers(2, 6), st.integers(0, 2**32 - 1))
def test_prefix_composition_is_the_running_composition(n, k, seed):
    rng = np.random.default_rng(seed)
    tables = np.stack([rng.permuted(np.tile(np.arange(k), (3, 1)), axis=1) for _ in range(n)], axis=1)  # (3, n, k)
    running = np.broadcast_to(np.arange(k), (3, k)).copy()
    prefix = prefix_compose(tables)
    for t in range(n):
        running = np.take_along_axis(running, tables[:, t], axis=1)  # whole[v] = earlier[later[v]]
        np.testing.assert_array_equal(prefix[:, t], running)
    np.testing.assert_array_equal(prefix[:, -1], compose(tables))


@pytest.mark.parametrize("name", ["state_based_recall", "pointer_tracking"])
@pytest.mark.parametrize("queries", ["final", "every_line"])
def test_max_vars_fixes_the_vocabulary_for_every_num_vars(name, queries):
    vocab = tasks.make(name, num_vars=5, queries=queries).vocab
    for k in range(2, 6):
        task = tasks.make(name, num_vars=k, max_vars=5, queries=queries)
        assert task.vocab == vocab and task.chance == tasks.make(name, num_vars=k).chance


@given(case=pointer_cases)
def test_max_vars_renames_the_program_it_would_draw_without(case):
    params = {"num_vars": case["num_vars"], "ops": case["ops"]}
    wide = tasks.make(case["name"], max_vars=case["max_vars"], **params)
    narrow = tasks.make(case["name"], **params)
    a = wide.sample(np.random.default_rng(case["seed"]), 4, case["length"])
    b = narrow.sample(np.random.default_rng(case["seed"]), 4, case["length"])
    np.testing.assert_array_equal(a.targets, b.targets)
    for i in range(4):
        renamed, plain = wide.decode(wide.example_ids(a, i)), narrow.decode(narrow.example_ids(b, i))
        used = sorted({t for t in renamed if len(t) == 1 and t in LETTERS})
        assert len(used) == case["num_vars"] and set(used) <= set(LETTERS[: case["max_vars"]])
        back = dict(zip(used, LETTERS, strict=False))
        assert [back.get(t, t) for t in renamed] == plain


def test_a_subset_of_the_letters_uses_every_one_of_them():
    task = tasks.make("state_based_recall", num_vars=2, max_vars=5)
    batch = task.sample(np.random.default_rng(0), 200, 3)
    seen = {t for i in range(200) for t in task.decode(task.example_ids(batch, i)) if t in "abcde"}
    assert seen == set("abcde")


@pytest.mark.parametrize("queries", ["final", "every_line"])
def test_a_fixed_m_moves_the_tracking_length_only(queries):
    # The list and the pointers are drawn before the lines, with shapes that depend on m alone: the same seed at
    # two lengths gives the same list and the same initial pointers, so a length test changes n and nothing else.
    task = tasks.make("state_based_recall", m=64, queries=queries)
    short, long = (task.sample(np.random.default_rng(5), 8, n) for n in (4, 64))
    for i in range(8):
        head_short = task.source(task.example_ids(short, i)).split("\n")[:2]
        assert task.source(task.example_ids(long, i)).split("\n")[:2] == head_short


def test_a_fixed_m_draws_every_index_value_in_training():
    # With m fixed, training at n <= 16 draws pointers uniform over range(m); with m = None (m = max(n, 5)) a test at
    # n = 64 shows index values (tens digits 2-6) that training never drew.
    def pointers(task, lengths, seed):
        values = set()
        for n in lengths:
            batch = task.sample(np.random.default_rng(seed + n), 64, n)
            for i in range(64):
                init = task.source(task.example_ids(batch, i)).split("\n")[1]
                values |= {int(v) for v in init.split("=")[1].split(",")}
        return values

    fixed = tasks.make("state_based_recall", m=64)
    assert pointers(fixed, [64], 0) <= pointers(fixed, range(1, 17), 1) == set(range(64))
    grows = tasks.make("state_based_recall")
    assert not pointers(grows, [64], 0) <= pointers(grows, range(1, 17), 1)


@pytest.mark.parametrize("queries", ["final", "every_line"])
def test_a_list_of_1024_bits(queries):
    task = tasks.make("state_based_recall", m=1024, queries=queries)
    batch = task.sample(np.random.default_rng(0), 4, 3)
    for i in range(4):
        states = states_by_line(task.source(task.example_ids(batch, i)))
        assert len(states[0]["bits"]) == 1024
        namespace: dict = {"__builtins__": {}}
        exec(task.to_python(batch, i), namespace)
        answers = namespace["answers"] if queries == "every_line" else [namespace["answer"]]
        assert [str(a) for a in answers] == task.scored_answers(batch, i)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"num_vars": 5, "max_vars": 4}, r"max_vars \(variable tokens, at least num_vars\) must be in \[5, 26\]"),
        ({"max_vars": 27}, r"max_vars .* must be in \[5, 26\], got 27"),
        ({"max_vars": 5.0}, "max_vars .* must be an integer"),
        ({"queries": "sometimes"}, "queries='sometimes' is not valid; choose one of final, every_line"),
    ],
)
@pytest.mark.parametrize("name", ["state_based_recall", "pointer_tracking"])
def test_bad_parameters_are_one_line_errors(name, params, message):
    with pytest.raises(ValueError, match=message) as err:
        tasks.make(name, **params)
    assert "\n" not in str(err.value)
