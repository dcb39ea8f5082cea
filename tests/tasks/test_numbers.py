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

from expressivity import tasks
from expressivity.tasks import shortcuts
from expressivity.tasks.code_tokens import CORE, NUMBER_TOKENS

RECALL = ["state_based_recall", "indexed_recall"]

cases = st.tuples(
    st.sampled_from(RECALL),
    st.sampled_from(["list", "dict"]),
    st.sampled_from([None, 0, 9, 120]),
    st.sampled_from(["final", "every_line"]),
    st.integers(1, 24),
    st.integers(0, 2**32 - 1),
).map(
    lambda t: {
        "name": t[0],
        "params": {"bits_format": t[1]}
        | ({} if t[0] == "indexed_recall" else {"m": None if t[2] is None else 5 + t[2], "queries": t[3]}),
        "length": t[4],
        "seed": t[5],
    }
)


@given(case=cases)
def test_a_tokens_program_is_the_digits_program_with_each_number_one_token(case):
    digits = tasks.make(case["name"], **case["params"])
    tokens = tasks.make(case["name"], numbers="tokens", **case["params"])
    a, b = (t.sample(np.random.default_rng(case["seed"]), 3, case["length"]) for t in (tokens, digits))
    for i in range(3):
        ids = tokens.example_ids(a, i)
        source = tokens.source(ids)
        assert source == digits.source(digits.example_ids(b, i)), "the same program text"
        literals = [t.string for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type == NUMBER]
        assert [t for t in tokens.decode(ids) if t.isdigit()] == literals, "each integer literal is one token"
        np.testing.assert_array_equal(tokens.encode(source), ids)
        assert tokens.scored_answers(a, i) == digits.scored_answers(b, i)
        namespace: dict = {"__builtins__": {}}
        exec(tokens.to_python(a, i), namespace)
        answers = namespace["answers"] if "answers" in namespace else [namespace["answer"]]
        assert [str(x) for x in answers] == tokens.scored_answers(a, i)


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
    for length in (3, 40):
        a, b = (t.sample(np.random.default_rng(length), 256, length) for t in (tokens, digits))
        ref_a, ref_b = shortcuts.Reference(tokens, length, a), shortcuts.Reference(digits, length, b)
        for guesser in ("list_majority", "pointer_majority") if name == "state_based_recall" else ("list_majority",):
            guess_a = shortcuts.GUESSERS[guesser](ref_a, a)[a.mask]
            guess_b = shortcuts.GUESSERS[guesser](ref_b, b)[b.mask]
            np.testing.assert_array_equal(tokens.decode(guess_a), digits.decode(guess_b), err_msg=guesser)
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
