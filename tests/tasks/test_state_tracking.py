"""State-tracking tasks against plain-Python oracles that read the decoded tokens of each example."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from expressivity import tasks
from expressivity.tasks import PAD

GROUPS = ["Z2", "Z5", "Z60", "S3", "S4", "S5", "A5", "D6", "Q8", "A4xZ5", "S3xZ2"]
MODES = ["running", "final"]


def compose(name: str, a: str, b: str) -> str:
    """ "a then b" on tokens: residues add mod m, one-line permutations compose as i -> b(a(i)), products by part."""
    out = []
    for part, x, y in zip(name.split("x"), a.split("x"), b.split("x"), strict=True):
        out.append(str((int(x) + int(y)) % int(part[1:])) if part.startswith("Z") else "".join(y[int(c)] for c in x))
    return "x".join(out)


def draws(**params):
    """A task's keyword choices plus seed, batch size and length, as one dict."""
    return st.builds(dict, seed=st.integers(0, 2**32 - 1), batch=st.integers(1, 6), length=st.integers(1, 40), **params)


def sample(task, case):
    return task.sample(np.random.default_rng(case["seed"]), case["batch"], case["length"])


def rows(task, batch):
    """Per example: decoded inputs, decoded targets and mask after BOS (no padding in these tasks)."""
    for i in range(batch.batch_size):
        yield task.decode(batch.inputs[i, 1:]), task.decode(batch.targets[i, 1:]), batch.mask[i, 1:]


def check_running(task, batch, expected_per_row, mode):
    """Targets equal the oracle's states where scored: every step (running) or the last (final); PAD elsewhere."""
    for (inputs, targets, mask), expected in zip(rows(task, batch), expected_per_row(batch), strict=True):
        assert len(expected) == len(inputs)
        if mode == "running":
            assert mask.all() and targets == expected
        else:
            assert mask[-1] and not mask[:-1].any()
            assert targets[-1] == expected[-1] and set(targets[:-1]) <= {PAD}


def fold(name, inputs):
    state, out = None, []
    for x in inputs:
        state = x if state is None else compose(name, state, x)
        out.append(state)
    return out


@given(draws(group=st.sampled_from(GROUPS), targets=st.sampled_from(MODES)))
def test_word_problem_matches_plain_composition(case):
    task = tasks.make("word_problem", group=case["group"], targets=case["targets"])
    batch = sample(task, case)
    assert batch.seq_len == case["length"] + 1

    def expected(b):
        return [fold(case["group"], inputs) for inputs, _, _ in rows(task, b)]

    check_running(task, batch, expected, case["targets"])


@given(draws(n=st.integers(3, 6), targets=st.sampled_from(MODES)))
def test_swap_word_problem_uses_only_transpositions(case):
    n = case["n"]
    task = tasks.make("swap_word_problem", n=n, targets=case["targets"])
    assert len(task.vocab) == 2 + math.factorial(n)
    batch = sample(task, case)
    identity = "".join(map(str, range(n)))
    for inputs, _, _ in rows(task, batch):
        assert all(sum(a != b for a, b in zip(x, identity, strict=True)) == 2 for x in inputs)

    def expected(b):
        return [fold(f"S{n}", inputs) for inputs, _, _ in rows(task, b)]

    check_running(task, batch, expected, case["targets"])


@given(draws(m=st.integers(2, 12), targets=st.sampled_from(MODES)))
def test_modular_counting_matches_a_plain_count(case):
    task = tasks.make("modular_counting", m=case["m"], targets=case["targets"])
    batch = sample(task, case)

    def expected(b):
        out = []
        for inputs, _, _ in rows(task, b):
            assert set(inputs) <= {"0", "1"}
            count, states = 0, []
            for bit in inputs:
                count = (count + int(bit)) % case["m"]
                states.append(str(count))
            out.append(states)
        return out

    check_running(task, batch, expected, case["targets"])


@given(draws(targets=st.sampled_from(MODES)))
def test_parity_matches_a_plain_xor(case):
    task = tasks.make("parity", targets=case["targets"])
    batch = sample(task, case)

    def expected(b):
        return [[str(sum(map(int, inputs[: t + 1])) % 2) for t in range(len(inputs))] for inputs, _, _ in rows(task, b)]

    check_running(task, batch, expected, case["targets"])


probabilities = st.builds(lambda w, r: (w, (1 - w) * r), st.floats(0, 1), st.floats(0, 1))


@given(
    st.builds(
        lambda c, p: {**c, "length": c["length"] + 1, "p": p}, draws(targets=st.sampled_from(MODES)), probabilities
    )
)
def test_flip_flop_reads_return_the_last_write(case):
    p_write, p_read = case["p"]
    task = tasks.make("flip_flop", p_write=p_write, p_read=p_read, targets=case["targets"])
    batch = sample(task, case)
    length = case["length"]
    assert batch.seq_len == 2 * length
    for inputs, targets, mask in rows(task, batch):
        instructions, bits = inputs[0::2], inputs[1::2]
        assert len(instructions) == length and len(bits) == length - 1
        assert instructions[0] == "w" and instructions[-1] == "r" and set(instructions) <= {"w", "i", "r"}
        assert set(bits) <= {"0", "1"} and not mask[1::2].any()
        memory, reads = None, []
        for k, op in enumerate(instructions):
            if op == "w":
                memory = bits[k]
            elif op == "r":
                reads.append(k)
                if k < length - 1:
                    assert bits[k] == memory, "a read's data bit is the bit it reads"
                assert targets[2 * k] == memory or (case["targets"] == "final" and k < length - 1)
        scored = [k for k in range(length) if mask[2 * k]]
        assert scored == (reads if case["targets"] == "running" else [length - 1])
        assert all(targets[j] == PAD for j in range(len(targets)) if not mask[j])


def test_flip_flop_extremes():
    rng = np.random.default_rng(0)
    only_writes = tasks.make("flip_flop", p_write=1.0, p_read=0.0)
    ops = only_writes.decode(only_writes.sample(rng, 4, 10).inputs[:, 1::2])
    assert set(ops) == {"w", "r"} and ops.count("r") == 4
    ignores = tasks.make("flip_flop", p_write=0.0, p_read=0.0).sample(rng, 4, 10)
    assert ignores.mask.sum() == 4  # only the final read is scored
    assert tasks.make("flip_flop").info["params"] == {"p_write": 0.1, "p_read": 0.1, "targets": "running"}


def test_levels_and_chance():
    assert tasks.make("word_problem").level == "NC1-complete"
    assert tasks.make("word_problem", group="A5").level == "NC1-complete"
    assert tasks.make("word_problem", group="A4xZ5").level == "TC0"
    assert tasks.make("word_problem", group="Z60").info["chance"] == pytest.approx(1 / 60)
    assert tasks.make("word_problem", group="S5").info["chance"] == pytest.approx(1 / 120)
    assert tasks.make("swap_word_problem", n=4).level == "TC0"
    assert tasks.make("swap_word_problem").level == "NC1-complete"
    assert tasks.make("modular_counting", m=5).info["chance"] == pytest.approx(0.2)
    assert all(tasks.make(n).family == "state_tracking" for n in ["word_problem", "swap_word_problem", "flip_flop"])


def test_word_problem_inputs_cover_the_group():
    task = tasks.make("word_problem", group="A4xZ5")
    batch = task.sample(np.random.default_rng(1), 64, 64)
    assert len(np.unique(batch.inputs[:, 1:])) == 60 and len(np.unique(batch.targets[:, 1:])) == 60


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("word_problem", {"group": "S7"}, "valid forms"),
        ("word_problem", {"group": 5}, "valid forms"),
        ("word_problem", {"targets": "all"}, "running, final"),
        ("swap_word_problem", {"n": 7}, r"\[3, 6\]"),
        ("swap_word_problem", {"n": 2}, r"\[3, 6\]"),
        ("flip_flop", {"p_write": 1.5}, "p_write"),
        ("flip_flop", {"p_read": -0.1}, "p_read"),
        ("flip_flop", {"p_write": 0.6, "p_read": 0.6}, "<= 1"),
        ("flip_flop", {"targets": "reads"}, "running, final"),
        ("modular_counting", {"m": 1}, r"\[2, 100\]"),
        ("modular_counting", {"m": 3.0}, "integer"),
    ],
)
def test_bad_parameters_say_what_is_allowed(name, params, match):
    with pytest.raises(ValueError, match=match):
        tasks.make(name, **params)


def test_flip_flop_needs_two_instructions():
    with pytest.raises(ValueError, match="length"):
        tasks.make("flip_flop").sample(np.random.default_rng(0), 2, 1)
