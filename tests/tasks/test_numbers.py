"""numbers of state_based_recall and indexed_recall: "digits" (the default) draws what the tasks drew before it existed;
"tokens" writes every index as one token (as Olmo's BPE tokenizer writes integers below 1000): the same draws, the same
program text, the same answers, each number one token; checked against plain CPython."""

import io
import tokenize
from token import NUMBER

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from recall_formats import RECALL, assert_same_guesses, cases, cpython_answers

from expressivity import tasks
from expressivity.tasks.code_tokens import CORE, NUMBER_TOKENS


@given(case=cases, bits_format=st.sampled_from(["list", "dict"]))
def test_a_tokens_program_is_the_digits_program_with_each_number_one_token(case, bits_format):
    digits = tasks.make(case["name"], bits_format=bits_format, **case["params"])
    tokens = tasks.make(case["name"], bits_format=bits_format, numbers="tokens", **case["params"])
    a, b = (t.sample(np.random.default_rng(case["seed"]), 3, case["length"]) for t in (tokens, digits))
    for i in range(3):
        ids = tokens.example_ids(a, i)
        source = tokens.source(ids)
        assert source == digits.source(digits.example_ids(b, i)), "the same program text"
        literals = [t.string for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type == NUMBER]
        assert [t for t in tokens.decode(ids) if t.isdigit()] == literals, "each integer literal is one token"
        np.testing.assert_array_equal(tokens.encode(source), ids)
        assert tokens.scored_answers(a, i) == digits.scored_answers(b, i)
        assert cpython_answers(tokens, a, i) == tokens.scored_answers(a, i)


@pytest.mark.parametrize("name", RECALL)
def test_the_default_is_digits_and_tokens_add_the_numbers_10_to_999_before_the_names(name, digest):
    default, digits, tokens = tasks.make(name), tasks.make(name, numbers="digits"), tasks.make(name, numbers="tokens")
    assert default.vocab == digits.vocab and default.numbers == "digits"
    batch = default.sample(np.random.default_rng(3), 8, 12)
    assert digest(batch) == digest(digits.sample(np.random.default_rng(3), 8, 12))
    split = 2 + len(CORE)  # PAD, BOS, the Python tokens; then the names
    assert tokens.vocab == [*default.vocab[:split], *NUMBER_TOKENS, *default.vocab[split:]]
    assert tokens.vocab[tokens.name0] == "a" and tokens.digit0 == default.digit0


def test_an_index_is_one_token_at_any_list_size_below_1000():
    task = tasks.make("indexed_recall", numbers="tokens")
    for m in (10, 100, 1000):
        batch = task.sample(np.random.default_rng(m), 64, m)
        lengths = (batch.inputs != 0).sum(axis=1)
        assert (lengths == lengths[0]).all(), "every program of one m has one length"
        # bits = [ m bits with m - 1 commas ] \n a = INDEX \n assert bits [ a ] == _, plus BOS
        assert lengths[0] == 1 + 3 + (2 * m - 1) + 1 + 1 + 3 + 1 + 5 + 2


@pytest.mark.parametrize("name", RECALL)
def test_the_shortcut_guessers_read_tokens_as_digits(name):
    params = {"m": 64} if name == "state_based_recall" else {}
    digits, tokens = tasks.make(name, **params), tasks.make(name, numbers="tokens", **params)
    assert_same_guesses(tokens, digits, (3, 40))
    for length in (3, 40):
        assert tokens.shortcut_acc(length) == digits.shortcut_acc(length) and tokens.chance == digits.chance


@pytest.mark.parametrize("name", RECALL)
def test_bad_numbers_are_one_line_errors(name):
    with pytest.raises(ValueError, match=f"{name}: numbers='bytes' is not valid; choose one of digits, tokens") as err:
        tasks.make(name, numbers="bytes")
    assert "\n" not in str(err.value)
    too_long = "indices below 1000 as tokens; a list of 1001 bits needs numbers='digits'"
    if name == "state_based_recall":  # a fixed m is checked when the task is made, before any run starts
        with pytest.raises(ValueError, match=too_long):
            tasks.make(name, numbers="tokens", m=1001)
    task = tasks.make(name, numbers="tokens")  # m grows with the length (n = m) or is the length
    with pytest.raises(ValueError, match=too_long):
        task.sample(np.random.default_rng(0), 2, 1001)
