"""bits_format of state_based_recall and indexed_recall: "list" draws what the tasks drew before it existed, "dict"
writes the same bits as `bits = {0: 1, 1: 0, ...}` (same draws, same answers), checked against plain CPython."""

import numpy as np
import pytest
from hypothesis import given
from recall_formats import RECALL, assert_same_guesses, cases, cpython_answers

from expressivity import tasks
from expressivity.tasks.code_tokens import CORE

# Digests of batches (8 examples, seed s, length n) drawn before bits_format existed (commit 5eef2d4); the
# state_based_recall defaults are pinned in test_pointer_lines.py too.
BEFORE = [
    ("indexed_recall", {}, 0, 1, "f4ab2c95fe564c3d"),
    ("indexed_recall", {}, 3, 64, "e431dc373125c8f3"),
    ("indexed_recall", {}, 1, 1000, "d53e5b3133f9740c"),
    ("state_based_recall", {"queries": "every_line", "m": 12}, 4, 9, "3d688c22d70f1004"),
    ("state_based_recall", {"max_vars": 7, "num_vars": 3}, 5, 20, "00c0c2b6d06fd11a"),
]


@pytest.mark.parametrize("name, params, seed, length, expected", BEFORE)
def test_the_list_format_draws_the_batches_drawn_before(name, params, seed, length, expected, digest):
    for extra in ({}, {"bits_format": "list"}):
        task = tasks.make(name, **params, **extra)
        assert digest(task.sample(np.random.default_rng(seed), 8, length)) == expected


@pytest.mark.parametrize("name, size", [("state_based_recall", 32), ("indexed_recall", 28)])
def test_the_dict_vocabulary_adds_braces_and_a_colon_before_the_names(name, size):
    listed, keyed = tasks.make(name), tasks.make(name, bits_format="dict")
    assert len(listed.vocab) == size and tasks.make(name, bits_format="list").vocab == listed.vocab
    split = 2 + len(CORE)  # PAD, BOS, the Python tokens; then the names
    assert keyed.vocab == [*listed.vocab[:split], "{", "}", ":", *listed.vocab[split:]]
    assert keyed.vocab[keyed.name0] == "a" and keyed.digit0 == listed.digit0


def test_indexed_recall_dict_shares_state_based_recall_dicts_token_ids():
    recall = tasks.make("indexed_recall", bits_format="dict").vocab
    assert tasks.make("state_based_recall", bits_format="dict").vocab[: len(recall)] == recall


def run(source: str) -> list[dict]:
    """The variables after each line of a program, its query lines left out (`_` is unbound), in plain CPython."""
    namespace: dict = {"__builtins__": {}}
    out = []
    for line in source.split("\n"):
        if not line.startswith("assert "):
            exec(line, namespace)
        out.append({k: v for k, v in namespace.items() if k != "__builtins__"})
    return out


@given(case=cases)
def test_a_dict_program_is_the_list_program_with_its_bits_keyed_by_index(case):
    keyed = tasks.make(case["name"], bits_format="dict", **case["params"])
    listed = tasks.make(case["name"], **case["params"])
    a, b = (t.sample(np.random.default_rng(case["seed"]), 3, case["length"]) for t in (keyed, listed))
    for i in range(3):
        source, plain = keyed.source(keyed.example_ids(a, i)), listed.source(listed.example_ids(b, i))
        first, rest = source.split("\n", 1)
        bits = run(source)[0]["bits"]
        assert isinstance(bits, dict) and list(bits) == list(range(len(bits)))
        assert plain == f"bits = {list(bits.values())}\n{rest}", "only the bits line differs"
        assert first == "bits = {" + ", ".join(f"{k}: {v}" for k, v in bits.items()) + "}"
        # each key is its index's digit tokens, as every index value of the program is written
        tokens = keyed.decode(keyed.example_ids(a, i))
        items = " ".join(tokens[3 : tokens.index("}")]).split(" , ")
        assert items == [f"{' '.join(str(k))} : {v}" for k, v in bits.items()]
        # the same answers, which CPython computes from the dict program
        assert keyed.scored_answers(a, i) == listed.scored_answers(b, i)
        assert cpython_answers(keyed, a, i) == keyed.scored_answers(a, i)


@pytest.mark.parametrize(
    "name, params",
    [
        ("state_based_recall", {}),
        ("state_based_recall", {"num_vars": 4, "ops": "mixed"}),
        ("state_based_recall", {"m": 64, "queries": "every_line"}),
        ("indexed_recall", {}),
    ],
)
def test_chance_and_shortcuts_do_not_depend_on_the_format(name, params):
    listed, keyed = tasks.make(name, **params), tasks.make(name, bits_format="dict", **params)
    assert keyed.chance == listed.chance and keyed.info["chance"] == listed.info["chance"]
    for length in (1, 8, 64):
        assert keyed.shortcut_acc(length) == listed.shortcut_acc(length)
        assert keyed.shortcut_name(length) == listed.shortcut_name(length)


@pytest.mark.parametrize("name", RECALL)
def test_the_shortcut_guessers_read_a_dicts_bits_as_a_lists(name):
    assert_same_guesses(tasks.make(name, bits_format="dict"), tasks.make(name), (3, 16))


@pytest.mark.parametrize("name", RECALL)
def test_a_bad_bits_format_is_a_one_line_error(name):
    with pytest.raises(ValueError, match=f"{name}: bits_format='set' is not valid; choose one of list, dict") as err:
        tasks.make(name, bits_format="set")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("name", RECALL)
def test_encode_reads_a_dict_program_back(name):
    task = tasks.make(name, bits_format="dict")
    batch = task.sample(np.random.default_rng(0), 2, 12)
    ids = task.example_ids(batch, 0)
    np.testing.assert_array_equal(task.encode(task.source(ids)), ids)
    with pytest.raises(ValueError, match="'{' is not in the vocabulary"):
        tasks.make(name).encode("bits = {0: 1}")
