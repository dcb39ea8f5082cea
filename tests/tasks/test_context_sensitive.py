"""Context-sensitive tasks (Delétang et al. 2022) against plain-Python oracles that read each decoded input."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from expressivity import tasks
from expressivity.tasks import PAD_ID


def _example(task, batch, i):
    """Example i as (input symbols after BOS, the input tokens at scored positions, their target symbols)."""
    inputs = task.decode(batch.inputs[i])
    scored = batch.mask[i]
    return inputs, [inputs[t] for t in np.flatnonzero(scored)], task.decode(batch.targets[i][scored])


def _split_transduction(task, batch, i):
    """A transduction example as (input symbols, target symbols), checking that exactly the blanks are scored."""
    tokens, scored_inputs, targets = _example(task, batch, i)
    assert tokens[0] == "<bos>"
    body = [t for t in tokens[1:] if t != "<pad>"]
    n_blank = body.count("_")
    source = body[: len(body) - n_blank]
    # Every blank is scored, nothing else is, and the blanks come after the whole input.
    assert body[len(source) :] == ["_"] * n_blank and "_" not in source
    assert scored_inputs == ["_"] * n_blank and len(targets) == n_blank
    return source, targets


def _draw(name, *, max_length, params=st.just({})):
    """Strategy: (task, batch, length) for random seeds, batch sizes, lengths and parameters."""
    task_cls = tasks.get(name)
    return st.builds(
        lambda seed, batch_size, length, kw: (tasks.make(name, **kw), seed, batch_size, length),
        st.integers(0, 2**32 - 1),
        st.integers(1, 6),
        st.integers(task_cls.min_length, max_length),
        params,
    ).map(lambda a: (a[0], a[0].sample(np.random.default_rng(a[1]), a[2], a[3]), a[3]))


ALPHABETS = st.integers(2, 10).map(lambda k: {"alphabet_size": k})


# ---- string transductions -----------------------------------------------------------------------------------------
STRING_ORACLES = {
    "duplicate_string": lambda s: s + s,
    "odds_first": lambda s: s[0::2] + s[1::2],  # 1-indexed odd positions s1 s3 ... are 0-indexed even ones
    "bucket_sort": sorted,
}


@pytest.mark.parametrize("name", sorted(STRING_ORACLES))
@given(data=st.data())
def test_string_transductions_match_oracle(name, data):
    task, batch, length = data.draw(_draw(name, max_length=40, params=ALPHABETS))
    symbols = {str(d) for d in range(task.alphabet_size)}
    for i in range(batch.batch_size):
        source, targets = _split_transduction(task, batch, i)
        assert len(source) == length and set(source) <= symbols
        assert targets == list(STRING_ORACLES[name](source))
    assert batch.seq_len == 1 + length + len(STRING_ORACLES[name]([0] * length))


def test_string_symbols_are_uniform():
    """All symbols appear, about equally often (the oracle tests would pass for a constant string)."""
    task = tasks.make("bucket_sort")
    batch = task.sample(np.random.default_rng(0), 64, 100)
    counts = np.bincount(batch.targets[batch.mask], minlength=len(task.vocab))
    digits = counts[[task.token_id[str(d)] for d in range(5)]]
    assert digits.sum() == 6400 and (abs(digits - 1280) < 150).all()


# ---- missing duplicate --------------------------------------------------------------------------------------------
@given(data=st.data())
def test_missing_duplicate_matches_oracle(data):
    task, batch, length = data.draw(_draw("missing_duplicate", max_length=40, params=ALPHABETS))
    assert batch.seq_len == length + 2
    for i in range(batch.batch_size):
        tokens, scored_inputs, targets = _example(task, batch, i)
        assert scored_inputs == ["="] and tokens[-1] == "="  # the query is last and is the only scored position
        body = tokens[1:-1]
        assert len(body) == length
        half = length // 2
        assert body[2 * half :] == ["#"] * (length % 2)
        # Plain loop: find the gap, read the same position in the other copy.
        gap, answer = None, None
        for j in range(2 * half):
            if body[j] == "?":
                assert gap is None, "exactly one gap"
                gap = j
                answer = body[j + half] if j < half else body[j - half]
        assert gap is not None and targets == [answer]
        filled = body[: 2 * half]
        filled[gap] = answer
        assert filled[:half] == filled[half:], "the string is w w"


def test_missing_duplicate_answers_and_gaps_are_uniform():
    task = tasks.make("missing_duplicate")
    batch = task.sample(np.random.default_rng(0), 4000, 10)
    answers = batch.targets[:, -1]
    assert abs((answers == task.token_id["1"]).mean() - 0.5) < 0.03
    gaps = np.argmax(batch.inputs == task.token_id["?"], axis=1) - 1
    assert set(gaps.tolist()) == set(range(10)) and np.bincount(gaps).min() > 300


# ---- binary arithmetic --------------------------------------------------------------------------------------------
def _little_endian(digits):
    return int("".join(reversed(digits)), 2)


@pytest.mark.parametrize(("name", "operator", "apply"), [
    ("binary_addition", "+", lambda a, b: a + b),
    ("binary_multiplication", "*", lambda a, b: a * b),
])  # fmt: skip
@given(data=st.data())
def test_binary_operations_match_oracle(name, operator, apply, data):
    task, batch, length = data.draw(_draw(name, max_length=120))
    widest = 0
    for i in range(batch.batch_size):
        source, targets = _split_transduction(task, batch, i)
        assert len(source) == length and source.count(operator) == 1
        k = source.index(operator)
        first, second = source[:k], source[k + 1 :]
        assert first and second and set(first + second) <= {"0", "1"}
        a, b = _little_endian(first), _little_endian(second)
        assert a >= 1 and b >= 1, "numbers are drawn from [1, 2**digits - 1]"
        result = apply(a, b)
        expected = list(reversed(bin(result)[2:])) + ["end"]
        assert targets == expected
        widest = max(widest, len(expected))
    assert batch.seq_len == 1 + length + widest, "T is the longest example"


def test_binary_operation_splits_cover_all_digits():
    """The first number's digit count is uniform over 1..length-2 (as in the paper), not fixed."""
    task = tasks.make("binary_addition")
    batch = task.sample(np.random.default_rng(0), 2000, 12)
    first_len = np.argmax(batch.inputs == task.token_id["+"], axis=1) - 1
    assert set(first_len.tolist()) == set(range(1, 11)) and np.bincount(first_len)[1:].min() > 120


@given(data=st.data())
def test_compute_sqrt_matches_oracle(data):
    task, batch, length = data.draw(_draw("compute_sqrt", max_length=120))
    for i in range(batch.batch_size):
        source, targets = _split_transduction(task, batch, i)
        assert len(source) == length and set(source) <= {"0", "1"}
        x = int("".join(source), 2)  # big-endian, leading zeros kept
        assert 1 <= x < 2**length
        root_len = math.ceil(length / 2)
        assert targets == list(format(math.isqrt(x), f"0{root_len}b"))
    assert batch.seq_len == 1 + length + math.ceil(length / 2)


def test_long_binary_numbers():
    """Hundreds of digits: the Python-int path is exact where floats would not be."""
    rng = np.random.default_rng(3)
    for name in ("binary_addition", "binary_multiplication", "compute_sqrt"):
        batch = tasks.make(name).sample(rng, 4, 600)
        assert batch.mask.sum(axis=1).min() >= 2 and not (batch.mask & (batch.inputs == PAD_ID)).any()
    task = tasks.make("compute_sqrt")
    batch = task.sample(rng, 8, 300)
    for i in range(8):
        source, targets = _split_transduction(task, batch, i)
        assert int("".join(targets), 2) == math.isqrt(int("".join(source), 2))


# ---- parameters ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["duplicate_string", "odds_first", "bucket_sort", "missing_duplicate"])
@pytest.mark.parametrize("bad", [1, 11, 2.0, "2"])
def test_alphabet_size_is_validated(name, bad):
    with pytest.raises(ValueError, match="alphabet_size"):
        tasks.make(name, alphabet_size=bad)


def test_defaults_follow_the_paper():
    assert tasks.make("bucket_sort").alphabet_size == 5
    for name in ("duplicate_string", "odds_first", "missing_duplicate"):
        assert tasks.make(name).alphabet_size == 2
    for name in ("duplicate_string", "binary_addition", "compute_sqrt", "missing_duplicate"):
        assert tasks.make(name).info["family"] == "context_sensitive" and tasks.make(name).level == "CS"
