"""state_based_recall, pointer_tracking, indexed_recall: the programs read back and run in plain Python."""

import itertools
from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from expressivity import tasks
from expressivity.tasks.pointer_lines import units_majority_accuracy

OPS = ["swap", "assign", "mixed"]


def run(source: str) -> list[dict]:
    """The variables after each line of a program (its query line left out), by running it in plain CPython."""
    namespace: dict = {"__builtins__": {}}
    states = []
    for line in source.split("\n")[:-1]:
        exec(line, namespace)
        states.append({k: v for k, v in namespace.items() if k != "__builtins__"})
    return states


recall_cases = st.tuples(
    st.integers(2, 7), st.integers(0, 10), st.sampled_from(OPS), st.integers(1, 24), st.integers(0, 2**32 - 1)
).map(lambda t: {"num_vars": t[0], "m": t[0] + t[1], "ops": t[2], "length": t[3], "seed": t[4]})


@given(case=recall_cases)
def test_state_based_recall_program_shape_and_pointers(case):
    task = tasks.make("state_based_recall", m=case["m"], num_vars=case["num_vars"], ops=case["ops"])
    batch = task.sample(np.random.default_rng(case["seed"]), 4, case["length"])
    names = "abcdefghijklmnopqrstuvwxyz"[: case["num_vars"]]
    for i in range(4):
        source = task.source(task.example_ids(batch, i))
        lines = source.split("\n")
        assert len(lines) == 2 + case["length"] + 1, "length counts update lines"
        states = run(source)
        assert len(states[0]["bits"]) == case["m"] and set(states[0]["bits"]) <= {0, 1}
        start = [states[1][v] for v in names]
        assert len(set(start)) == len(start) and all(0 <= p < case["m"] for p in start), "distinct indices into bits"
        for line, state in zip(lines[2:-1], states[2:], strict=True):
            is_swap = "," in line
            assert is_swap if case["ops"] == "swap" else (not is_swap if case["ops"] == "assign" else True)
            pointers = [state[v] for v in names]
            if case["ops"] == "swap":
                assert sorted(pointers) == sorted(start), "swaps keep the pointers a permutation of distinct indices"
            assert set(pointers) <= set(start)
        queried = lines[-1].split("[")[1].split("]")[0]
        assert queried in names
        assert task.scored_text(batch, i) == str(states[-1]["bits"][states[-1][queried]])


def test_m_defaults_to_max_of_length_and_num_vars():
    task = tasks.make("state_based_recall")
    for length, m in ((2, 5), (9, 9)):
        batch = task.sample(np.random.default_rng(0), 2, length)
        assert len(run(task.source(task.example_ids(batch, 0)))[0]["bits"]) == m


def test_assignments_can_duplicate_pointers():
    task = tasks.make("state_based_recall", ops="assign")
    batch = task.sample(np.random.default_rng(0), 16, 12)
    final = [run(task.source(task.example_ids(batch, i)))[-1] for i in range(16)]
    assert any(len({state[v] for v in "abcde"}) < 5 for state in final)


@given(num_vars=st.integers(2, 7), ops=st.sampled_from(OPS), length=st.integers(1, 24), seed=st.integers(0, 2**32 - 1))
def test_pointer_tracking_answers_the_tracked_bit(num_vars, ops, length, seed):
    task = tasks.make("pointer_tracking", num_vars=num_vars, ops=ops)
    batch = task.sample(np.random.default_rng(seed), 4, length)
    for i in range(4):
        source = task.source(task.example_ids(batch, i))
        lines = source.split("\n")
        assert len(lines) == 1 + length + 1
        states = run(source)
        assert set(states[0].values()) <= {0, 1}
        queried = lines[-1].split()[1]
        assert task.scored_text(batch, i) == str(states[-1][queried])


@given(length=st.integers(1, 150), seed=st.integers(0, 2**32 - 1))
def test_indexed_recall_reads_the_indexed_bit(length, seed):
    task = tasks.make("indexed_recall")
    batch = task.sample(np.random.default_rng(seed), 4, length)
    for i in range(4):
        states = run(task.source(task.example_ids(batch, i)))
        assert len(states[0]["bits"]) == length and 0 <= states[1]["a"] < length
        assert task.scored_text(batch, i) == str(states[1]["bits"][states[1]["a"]])


@pytest.mark.parametrize("name", ["state_based_recall", "pointer_tracking", "indexed_recall"])
def test_answers_are_balanced_bits(name):
    task = tasks.make(name)
    batch = task.sample(np.random.default_rng(0), 4000, 8)
    answers = np.array([task.decode([t])[0] for t in batch.targets[batch.mask]]).astype(int)
    assert set(answers) == {0, 1} and abs(answers.mean() - 0.5) < 0.03


@pytest.mark.parametrize("ops", OPS)
@pytest.mark.parametrize(
    "name, num_vars", [("state_based_recall", 5), ("pointer_tracking", 5), ("pointer_tracking", 4)]
)
def test_chance_is_the_majority_guess_that_tracks_nothing(name, num_vars, ops):
    # A guess that reads the initial values but no update line: the majority of the tracked bits (ties: 0). Its
    # accuracy, measured on programs run in plain Python, is the task's chance (11/16 for 5 variables, not 1/2).
    task = tasks.make(name, num_vars=num_vars, ops=ops)
    batch = task.sample(np.random.default_rng(7), 3000, 6)
    names = "abcdefghijklmnopqrstuvwxyz"[:num_vars]
    hits = 0
    for i in range(3000):
        states = run(task.source(task.example_ids(batch, i)))
        if name == "state_based_recall":
            tracked = [states[0]["bits"][states[1][v]] for v in names]
        else:
            tracked = [states[0][v] for v in names]
        guess = int(2 * sum(tracked) > num_vars)
        hits += str(guess) == task.scored_text(batch, i)
    assert abs(hits / 3000 - task.chance) < 0.03
    assert task.chance == 0.6875  # E[max(K, k-K)] / k for k = 4 and for k = 5


@pytest.mark.parametrize(("k", "m"), [(3, 23), (5, 64), (2, 9), (4, 100)])
def test_index_values_chance_is_the_commonest_units_digit_counted_over_every_draw(k, m):
    # Every set of k distinct values below m is equally likely: the top count of their units digits, over k.
    subsets = list(itertools.combinations(range(m), k))
    top = [max(Counter(v % 10 for v in s).values()) for s in subsets]
    expected = sum(top) / (k * len(subsets))
    assert units_majority_accuracy(k, m) == pytest.approx(expected, rel=1e-12)
    assert tasks.make("pointer_tracking", num_vars=k, m=m).chance == pytest.approx(expected, rel=1e-12)
    assert units_majority_accuracy(k, 10) == pytest.approx(1 / k)  # ten values, ten digits: all differ


def test_index_values_are_distinct_and_the_answer_is_the_held_index_in_digit_blanks():
    task = tasks.make("pointer_tracking", m=256)
    batch = task.sample(np.random.default_rng(4), 64, 6)
    assert task.answer_width == 3 and task.scored_by == "final"
    for i in range(64):
        source = task.source(task.example_ids(batch, i))
        states = run(source)
        assert len(set(states[0].values())) == 5 and all(0 <= v < 256 for v in states[0].values())
        queried = source.split("\n")[-1].split()[1]
        assert task.scored_text(batch, i) == str(states[-1][queried])  # the digits a shorter index has, no more
    assert ((batch.inputs == task.tok["_"]).sum(axis=1) == 3).all()  # three blanks, whatever the index
    scored = set(batch.mask.sum(axis=1))  # ... of which an index below 100 scores its last one or two
    assert scored <= {1, 2, 3} and {2, 3} <= scored


def test_indexed_recall_chance_is_a_coin():
    assert tasks.make("indexed_recall").chance == 0.5


def test_queried_variable_is_uniform():
    task = tasks.make("state_based_recall")
    batch = task.sample(np.random.default_rng(1), 2000, 4)
    queried = [task.source(task.example_ids(batch, i)).split("[")[-1][0] for i in range(2000)]
    counts = np.array([queried.count(v) for v in "abcde"])
    assert (abs(counts / 2000 - 0.2) < 0.04).all()


@pytest.mark.parametrize(
    "params, message",
    [
        ({"m": 4}, r"m \(list size, at least num_vars\) must be >= 5, got 4"),
        ({"m": 2, "num_vars": 3}, "must be >= 3, got 2"),
        ({"ops": "rotate"}, "ops='rotate' is not valid; choose one of swap, assign, mixed"),
        ({"num_vars": 27}, r"num_vars must be in \[2, 26\]"),
        ({"m": 7.5}, "m .* must be an integer"),
    ],
)
def test_bad_parameters_name_what_is_allowed(params, message):
    with pytest.raises(ValueError, match=message):
        tasks.make("state_based_recall", **params)


@pytest.mark.parametrize("name", ["state_based_recall", "pointer_tracking", "indexed_recall"])
def test_bad_length_is_refused(name):
    with pytest.raises(ValueError, match=r"length for .* must be >= 1"):
        tasks.make(name).sample(np.random.default_rng(0), 2, -3)
