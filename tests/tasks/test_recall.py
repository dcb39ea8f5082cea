"""Recall tasks against plain-Python oracles: a dict for key -> value, list slicing for copies, a scan for induction."""

import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from expressivity import tasks
from expressivity.tasks import PAD_ID

seeds = st.integers(0, 2**32 - 1)


def examples(task, batch):
    """Each example as (tokens, targets, scored) lists of strings / bools, BOS dropped; no PAD (fixed lengths)."""
    assert (batch.inputs != PAD_ID).all()
    for i in range(batch.batch_size):
        yield task.decode(batch.inputs[i, 1:]), task.decode(batch.targets[i, 1:]), list(batch.mask[i, 1:])


def at_least(lo, hi):
    """(pool, length) with 1 <= length <= pool: a length drawn as a fraction of the pool, no filtering."""
    return st.tuples(st.integers(lo, hi), st.floats(0, 1)).map(lambda t: (t[0], 1 + int(t[1] * (t[0] - 1))))


@given(pool_and_length=at_least(1, 40), num_values=st.integers(2, 20), num_queries=st.integers(1, 8), seed=seeds)
def test_associative_recall_matches_dict(pool_and_length, num_values, num_queries, seed):
    num_keys, length = pool_and_length
    task = tasks.make("associative_recall", num_keys=num_keys, num_values=num_values, num_queries=num_queries)
    batch = task.sample(np.random.default_rng(seed), 6, length)
    queries = min(num_queries, length)
    for tokens, targets, scored in examples(task, batch):
        assert len(tokens) == 2 * length + queries
        pairs = tokens[: 2 * length]
        keys, values = pairs[0::2], pairs[1::2]
        assert all(k.startswith("k") for k in keys) and all(v.startswith("v") for v in values)
        assert len(set(keys)) == length, "keys are distinct"
        table = dict(zip(keys, values, strict=True))
        asked = tokens[2 * length :]
        assert len(set(asked)) == queries and set(asked) <= set(keys)
        assert scored == [False] * (2 * length) + [True] * queries
        assert targets[2 * length :] == [table[k] for k in asked]


def _chi2_below_bound(counts: Counter, cells: int) -> None:
    """The counts over `cells` equally likely outcomes pass a chi-square bound 5 sd above its mean."""
    total = sum(counts.values())
    expected = total / cells
    assert len(counts) == cells, (len(counts), cells)
    chi2 = sum((c - expected) ** 2 / expected for c in counts.values())
    assert chi2 < cells - 1 + 5 * np.sqrt(2 * (cells - 1)), (chi2, cells)


@pytest.mark.parametrize(
    ("num_keys", "length", "num_queries"),
    # Shuffled draws (pools under 64, or length^2 > pool) and redrawn repeats (64 keys: 2, or 8 with several rounds).
    [(3, 2, 2), (9, 3, 3), (64, 2, 2), (64, 8, 2)],
)
def test_associative_recall_keys_and_queries_uniform(num_keys, length, num_queries):
    """Keys are uniform over ordered tuples of distinct keys (the first and last key where the tuples are too many to
    count), queries over ordered tuples of distinct pairs."""
    task = tasks.make("associative_recall", num_keys=num_keys, num_values=2, num_queries=num_queries)
    batch = task.sample(np.random.default_rng(5), 100_000, length)
    keys = batch.inputs[:, 1 : 2 * length + 1 : 2] - task.token_id["k0"]
    asked = batch.inputs[:, 2 * length + 1 :] - task.token_id["k0"]
    where = np.argmax(asked[:, :, None] == keys[:, None, :], axis=2)  # which pair each query asks
    _chi2_below_bound(Counter(map(tuple, where.tolist())), math.perm(length, num_queries))
    ends = keys if length <= 3 else keys[:, [0, -1]]
    _chi2_below_bound(Counter(map(tuple, ends.tolist())), math.perm(num_keys, ends.shape[1]))


def test_associative_recall_caps_length_at_key_pool():
    task = tasks.make("associative_recall", num_keys=10)
    assert task.max_length == 10
    task.sample(np.random.default_rng(0), 2, 10)
    with pytest.raises(ValueError, match="length"):
        task.sample(np.random.default_rng(0), 2, 11)


@given(alphabet_size=st.integers(2, 26), length=st.integers(1, 60), seed=seeds)
def test_copy_matches_slicing(alphabet_size, length, seed):
    task = tasks.make("copy", alphabet_size=alphabet_size)
    batch = task.sample(np.random.default_rng(seed), 6, length)
    for tokens, targets, scored in examples(task, batch):
        assert len(tokens) == 2 * length and tokens[length:] == ["_"] * length
        assert set(tokens[:length]) <= set("abcdefghijklmnopqrstuvwxyz"[:alphabet_size])
        assert targets[length:] == tokens[:length]
        assert scored == [False] * length + [True] * length


@given(num_tokens=st.integers(1, 40), extra=st.integers(0, 30), alphabet_size=st.integers(2, 26), seed=seeds)
def test_selective_copy_matches_filtered_list(num_tokens, extra, alphabet_size, seed):
    length = num_tokens + extra
    task = tasks.make("selective_copy", num_tokens=num_tokens, alphabet_size=alphabet_size)
    batch = task.sample(np.random.default_rng(seed), 6, length)
    for tokens, targets, scored in examples(task, batch):
        region, tail = tokens[:length], tokens[length:]
        letters = [t for t in region if t != "-"]
        assert len(letters) == num_tokens and tail == ["_"] * num_tokens
        assert set(letters) <= set("abcdefghijklmnopqrstuvwxyz"[:alphabet_size])
        assert targets[length:] == letters
        assert scored == [False] * length + [True] * num_tokens


def test_selective_copy_scatters_uniformly():
    task = tasks.make("selective_copy", num_tokens=4)
    batch = task.sample(np.random.default_rng(0), 2000, 40)
    places = np.nonzero(batch.inputs[:, 1:41] != task.token_id["-"])[1]
    counts = np.bincount(places, minlength=40)
    assert counts.sum() == 8000 and abs(counts - 200).max() < 70, counts


def induction_oracle(tokens):
    """Scan back from the last token to its previous occurrence; the answer is the token after it."""
    last = tokens[-1]
    for i in range(len(tokens) - 2, -1, -1):
        if tokens[i] == last:
            return tokens[i + 1]
    raise AssertionError("the query never occurred before")


@given(alphabet_size=st.integers(2, 26), length=st.integers(2, 60), seed=seeds)
def test_induction_matches_scan(alphabet_size, length, seed):
    task = tasks.make("induction", alphabet_size=alphabet_size)
    batch = task.sample(np.random.default_rng(seed), 6, length)
    for tokens, targets, scored in examples(task, batch):
        assert len(tokens) == length + 1 and tokens[-1] == "@" and tokens.count("@") == 2
        assert tokens.index("@") < length - 1, "the first trigger is followed by a letter"
        assert targets[-1] == induction_oracle(tokens)
        assert scored == [False] * length + [True]


def needle_oracle(tokens, value_digits):
    """Every key token starts a needle: the next value_digits tokens are its value. Returns the dict, the queried key
    and the tokens that are neither in a needle nor the question."""
    table, rest, i = {}, [], 0
    question = tokens.index("?")
    while i < question:
        if tokens[i].startswith("k"):
            assert tokens[i] not in table, "needle keys are distinct"
            table[tokens[i]] = tokens[i + 1 : i + 1 + value_digits]
            i += 1 + value_digits
        else:
            rest.append(tokens[i])
            i += 1
    return table, tokens[question + 1], rest


needle_settings = st.builds(
    dict, num_needles=st.integers(1, 5), value_digits=st.integers(1, 6), num_fillers=st.integers(1, 10)
)


@given(settings=needle_settings, extra=st.integers(0, 40), seed=seeds)
def test_needle_matches_dict(settings, extra, seed):
    task = tasks.make("needle", num_keys=8, **settings)
    digits = settings["value_digits"]
    length = settings["num_needles"] * (1 + digits) + extra
    assert task.min_length == length - extra
    batch = task.sample(np.random.default_rng(seed), 6, length)
    for tokens, targets, scored in examples(task, batch):
        assert len(tokens) == length + 2 + digits and tokens[length] == "?"
        table, key, rest = needle_oracle(tokens, digits)
        assert len(table) == settings["num_needles"] and key in table
        assert all(d in "0123456789" for value in table.values() for d in value)
        assert len(rest) == extra and all(t.startswith("f") and int(t[1:]) < settings["num_fillers"] for t in rest)
        assert tokens[length + 2 :] == ["_"] * digits
        assert targets[length + 2 :] == table[key]
        assert scored == [False] * (length + 2) + [True] * digits


def test_needles_land_everywhere():
    task = tasks.make("needle", num_needles=1, value_digits=1)
    batch = task.sample(np.random.default_rng(0), 3000, 30)
    keys = batch.inputs[:, 1:31] < task.token_id["0"]  # key tokens come right after BOS in the vocabulary
    places = np.nonzero(keys)[1]
    assert len(places) == 3000 and set(places) == set(range(29)), "a needle of width 2 can start at 0..28"


@pytest.mark.parametrize(
    ("name", "params", "length", "answers"),
    [
        ("associative_recall", {"num_values": 16}, 20, 16),
        ("copy", {"alphabet_size": 8}, 10, 8),
        ("selective_copy", {"num_tokens": 4, "alphabet_size": 8}, 20, 8),
        ("induction", {"alphabet_size": 8}, 10, 8),
        ("needle", {}, 30, 10),
    ],
)
def test_answers_uniform(name, params, length, answers):
    """Answers are uniform over the answer alphabet, so `chance` is 1 / |answers|."""
    task = tasks.make(name, **params)
    batch = task.sample(np.random.default_rng(1), 2000, length)
    counts = Counter(batch.targets[batch.mask].tolist())
    mean = batch.mask.sum() / answers
    assert len(counts) == answers and all(abs(c - mean) < 0.15 * mean for c in counts.values()), counts
    assert task.chance == pytest.approx(1 / answers)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("associative_recall", {"num_keys": 0}),
        ("associative_recall", {"num_values": 1}),
        ("associative_recall", {"num_queries": 2.5}),
        ("copy", {"alphabet_size": 27}),
        ("selective_copy", {"num_tokens": 0}),
        ("selective_copy", {"alphabet_size": 1}),
        ("induction", {"alphabet_size": True}),
        ("needle", {"num_needles": 9, "num_keys": 8}),
        ("needle", {"value_digits": 0}),
        ("needle", {"num_fillers": 0}),
    ],
)
def test_rejects_bad_parameters(name, params):
    with pytest.raises(ValueError, match=next(iter(params))):
        tasks.make(name, **params)


@pytest.mark.parametrize(
    ("name", "params", "length"),
    [("selective_copy", {"num_tokens": 5}, 4), ("needle", {"num_needles": 2, "value_digits": 3}, 7)],
)
def test_rejects_lengths_below_parameter_minimum(name, params, length):
    task = tasks.make(name, **params)
    assert task.min_length == length + 1
    with pytest.raises(ValueError, match="length"):
        task.sample(np.random.default_rng(0), 2, length)
