"""indexed_recall's `lookups`: K lookups a program, each index drawn on its own and every answer scored (dense
supervision for the recall half); the default 1 draws what the task drew before it existed. Checked against CPython."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from recall_formats import cpython_answers

from expressivity import tasks
from expressivity.runners.training.config import keyed, resolve, run_key


@given(
    lookups=st.integers(1, 9),
    length=st.integers(1, 40),
    bits_format=st.sampled_from(["list", "dict"]),
    numbers=st.sampled_from(["digits", "tokens"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_every_lookup_is_scored_with_the_bit_cpython_reads(lookups, length, bits_format, numbers, seed):
    task = tasks.make("indexed_recall", lookups=lookups, bits_format=bits_format, numbers=numbers)
    batch = task.sample(np.random.default_rng(seed), 3, length)
    for i in range(3):
        answers = task.scored_answers(batch, i)
        assert len(answers) == lookups and set(answers) <= {"0", "1"}
        assert cpython_answers(task, batch, i) == answers
        source = task.source(task.example_ids(batch, i))
        assert source.count("assert bits[a] == _") == lookups and source.endswith("== _")
        np.testing.assert_array_equal(task.encode(source), task.example_ids(batch, i))


def test_one_lookup_is_the_default_program_and_more_add_blocks_after_it(digest):
    default, one = tasks.make("indexed_recall"), tasks.make("indexed_recall", lookups=1)
    batch = default.sample(np.random.default_rng(3), 8, 12)
    assert digest(batch) == digest(one.sample(np.random.default_rng(3), 8, 12))
    four = tasks.make("indexed_recall", lookups=4).sample(np.random.default_rng(3), 8, 12)
    # the same bits (drawn first), then 4 blocks `a = I`, `assert bits[a] == _` where the default has one
    task = tasks.make("indexed_recall", lookups=4)
    for i in range(8):
        lines = task.source(task.example_ids(four, i)).split("\n")
        assert lines[0] == default.source(default.example_ids(batch, i)).split("\n")[0]
        assert [line.split(" = ")[0] for line in lines[1::2]] == ["a"] * 4
        assert lines[2::2] == ["assert bits[a] == _"] * 4
    assert four.mask.sum(axis=1).tolist() == [4] * 8 and batch.mask.sum(axis=1).tolist() == [1] * 8


def test_a_dense_run_is_tested_on_one_lookup_and_its_key_differs():
    sets = {"steps": 10, "train_min_length": 16, "train_max_length": 16, "eval_lengths": [16]}
    plain = resolve("indexed_recall", "gdn", sets)
    dense = resolve("indexed_recall", "gdn", {**sets, "task.lookups": 8, "eval.lookups": 1})
    assert dense["task_params"]["lookups"] == 8 and dense["eval_task_params"] == {"lookups": 1}
    assert "lookups" not in keyed(plain)["task_params"], "the default stays out of the key: committed keys stand"
    assert run_key(plain) != run_key(dense)


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "8"])
def test_bad_lookups_are_one_line_errors(bad):
    with pytest.raises(ValueError, match="indexed_recall: lookups must be") as err:
        tasks.make("indexed_recall", lookups=bad)
    assert "\n" not in str(err.value)
