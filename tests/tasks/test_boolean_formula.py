"""boolean_formula against independent oracles: CPython `eval`, a plain recursive-descent parser, hand counts."""

import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from expressivity import tasks

OPS = {"and": lambda x, y: x & y, "or": lambda x, y: x | y}


def split(task, batch, i):
    """Example i as (formula tokens, pad count, answer): drop BOS and check the tail is `#`... `=`."""
    toks = task.decode(batch.inputs[i])[1:]
    assert toks[-1] == "=" and batch.mask[i].sum() == 1 and batch.mask[i, -1]
    body = toks[:-1]
    n_formula = len(body) - body.count("#")
    assert all(t == "#" for t in body[n_formula:]), "pads come after the formula, never inside it"
    return body[:n_formula], len(body) - n_formula, int(task.vocab[batch.targets[i, -1]])


def parse(tokens):
    """Plain recursive descent over F := 0 | 1 | ( not F ) | ( F and F ) | ( F or F ); returns the value.
    Raises on anything that is not fully parenthesised infix."""
    pos = 0

    def formula():
        nonlocal pos
        tok = tokens[pos]
        pos += 1
        if tok in ("0", "1"):
            return int(tok)
        assert tok == "(", f"unexpected {tok!r} at {pos - 1}"
        if tokens[pos] == "not":
            pos += 1
            value = 1 - formula()
        else:
            left = formula()
            op = tokens[pos]
            assert op in OPS, f"expected an operator, got {op!r}"
            pos += 1
            value = OPS[op](left, formula())
        assert tokens[pos] == ")", f"expected ')' at {pos}"
        pos += 1
        return value

    value = formula()
    assert pos == len(tokens), "trailing tokens"
    return value


def largest_reachable(length):
    """Largest n <= length with n = 4L - 3 + 3U for some L >= 1, U >= 0 (brute force)."""
    sizes = {4 * leaves - 3 + 3 * nots for leaves in range(1, length + 2) for nots in range(length + 1)}
    return max(s for s in sizes if s <= length)


def skeleton(tokens):
    """The shape of a formula: leaves as x, operators as o (not kept)."""
    return " ".join("x" if t in "01" else "o" if t in OPS else t for t in tokens)


settings_strategy = st.builds(
    dict,
    pad_factor=st.sampled_from([0, 0.5, 1, 2.5]),
    pad_power=st.sampled_from([0, 0.5, 1, 1.5, 2]),
    not_share=st.floats(0, 0.9),
)


@given(params=settings_strategy, length=st.integers(1, 90), seed=st.integers(0, 2**32 - 1))
def test_formula_evaluates_to_target_with_exact_padding(params, length, seed):
    task = tasks.make("boolean_formula", **params)
    batch = task.sample(np.random.default_rng(seed), 8, length)
    n = largest_reachable(length)
    assert batch.inputs.shape[1] == 1 + n + math.floor(params["pad_factor"] * n ** params["pad_power"]) + 1
    for i in range(8):
        formula, pads, answer = split(task, batch, i)
        assert len(formula) == n
        assert pads == math.floor(params["pad_factor"] * n ** params["pad_power"])
        depth = 0
        for tok in formula:
            depth += (tok == "(") - (tok == ")")
            assert depth >= 0
        assert depth == 0, "parentheses balanced"
        assert int(eval(" ".join(formula), {"__builtins__": {}}, {})) == answer
        assert parse(formula) == answer


@pytest.mark.parametrize("batch_size", [1000, 1001])
def test_answers_balanced(batch_size):
    task = tasks.make("boolean_formula")
    batch = task.sample(np.random.default_rng(0), batch_size, 41)
    ones = (batch.targets[:, -1] == task.token_id["1"]).sum()
    assert abs(ones - batch_size / 2) <= 0.5


@pytest.mark.parametrize(("length", "formulas"), [(5, 8), (8, 24), (9, 64)])
def test_law_of_uniform_iid_leaves(length, formulas):
    """Top-down generation must give the law of uniform shapes, uniform iid leaves and uniform and/or: every formula of
    a small size equally likely (size 5: 2 ops x 4 leaf pairs; 8: 3 shapes x 2 x 4; 9: 2 shapes x 4 x 8)."""
    task = tasks.make("boolean_formula")
    per = 200
    batch = task.sample(np.random.default_rng(length), per * formulas, length)
    counts = Counter(" ".join(split(task, batch, i)[0]) for i in range(per * formulas))
    assert len(counts) == formulas and all(abs(c - per) < 5 * per**0.5 for c in counts.values()), counts


def test_leaves_half_ones():
    task = tasks.make("boolean_formula")
    batch = task.sample(np.random.default_rng(2), 200, 121)
    ids = batch.inputs[:, 1:-1]
    ones, zeros = (ids == task.token_id["1"]).sum(), (ids == task.token_id["0"]).sum()
    assert abs(ones / (ones + zeros) - 0.5) < 0.03


@pytest.mark.parametrize(
    ("length", "expected"),
    [
        (9, {"( ( x o x ) o x )": 1 / 2, "( x o ( x o x ) )": 1 / 2}),
        (8, {"( not ( x o x ) )": 1 / 3, "( ( not x ) o x )": 1 / 3, "( x o ( not x ) )": 1 / 3}),
    ],
)
def test_shapes_uniform(length, expected):
    """Uniform over shapes, not only left-deep: the shapes of size 9 (3 leaves) and 8 (2 leaves, 1 not) by hand."""
    task = tasks.make("boolean_formula", not_share=0.0)
    batch = task.sample(np.random.default_rng(3), 3000, length)
    counts = Counter(skeleton(split(task, batch, i)[0]) for i in range(3000))
    assert set(counts) == set(expected)
    for shape, p in expected.items():
        assert abs(counts[shape] / 3000 - p) < 0.04, counts


def test_not_share_is_respected():
    for share in (0.0, 0.5):
        task = tasks.make("boolean_formula", not_share=share)
        batch = task.sample(np.random.default_rng(4), 200, 201)  # 201 = 4*51 - 3: no `not` needed
        ids = batch.inputs[:, 1:-1]
        nots = (ids == task.token_id["not"]).sum()
        binary = (ids == task.token_id["and"]).sum() + (ids == task.token_id["or"]).sum()
        assert abs(nots / (nots + binary) - share) < 0.1


def test_deep_shapes_occur():
    """Random shapes reach well past a constant depth but stay far from a path (about sqrt(n) deep)."""
    task = tasks.make("boolean_formula")
    batch = task.sample(np.random.default_rng(5), 64, 201)
    depths = []
    for i in range(64):
        formula = split(task, batch, i)[0]
        depths.append(max(np.cumsum([(t == "(") - (t == ")") for t in formula])))
    assert 6 < np.median(depths) < 60


@pytest.mark.parametrize(
    "params", [{"pad_factor": -1}, {"pad_power": 4}, {"not_share": 1.0}, {"pad_factor": "1"}, {"not_share": True}]
)
def test_rejects_bad_parameters(params):
    with pytest.raises(ValueError, match=next(iter(params))):
        tasks.make("boolean_formula", **params)
