"""Dyck recognition against a plain stack: labels, depth bound, 50/50 classes, negatives one edit from a positive,
and positives uniform over the balanced strings (enumerated by brute force for short lengths)."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from expressivity import tasks
from expressivity.tasks import dyck

PAIRS = {"(": ")", "[": "]", "{": "}", "<": ">"}


@dataclass(frozen=True)
class Case:
    seed: int
    batch_size: int
    length: int
    kinds: int
    max_depth: int | None
    negatives: str


def cases(max_length: int = 40):
    return st.builds(
        Case,
        seed=st.integers(0, 2**32 - 1),
        batch_size=st.integers(1, 12),
        length=st.integers(2, max_length),
        kinds=st.integers(1, 4),
        max_depth=st.one_of(st.none(), st.integers(1, 14)),
        negatives=st.sampled_from(["mixed", "flip", "swap", "move"]),
    ).map(lambda c: c if c.kinds > 1 or c.negatives != "swap" else Case(**{**c.__dict__, "kinds": 2}))


def opener_of(task):
    """close token -> open token, read from the vocabulary, which lists each kind's open then close."""
    brackets = task.vocab[2:-3]
    return {brackets[i + 1]: brackets[i] for i in range(0, len(brackets), 2)}


def stack_check(tokens, opener, max_depth=None):
    """(balanced ignoring the depth bound, deepest nesting reached) by a plain stack."""
    stack, deepest = [], 0
    for tok in tokens:
        if tok in opener:
            if not stack or stack.pop() != opener[tok]:
                return False, deepest
        else:
            stack.append(tok)
            deepest = max(deepest, len(stack))
    return not stack, deepest


def in_language(tokens, opener, max_depth):
    balanced, deepest = stack_check(tokens, opener)
    return balanced and (max_depth is None or deepest <= max_depth)


def examples(case):
    task = tasks.make("dyck", kinds=case.kinds, max_depth=case.max_depth, negatives=case.negatives)
    batch = task.sample(np.random.default_rng(case.seed), case.batch_size, case.length)
    for i in range(case.batch_size):
        tokens = task.decode(batch.inputs[i])
        assert tokens[0] == "<bos>" and tokens[-1] == "=" and "<pad>" not in tokens
        assert np.flatnonzero(batch.mask[i]).tolist() == [len(tokens) - 1]
        yield task, tokens[1:-1], task.vocab[batch.targets[i, -1]]


@given(cases())
def test_label_matches_stack_and_depth_bound(case):
    for task, brackets, answer in examples(case):
        opener = opener_of(task)
        assert len(brackets) == case.length - case.length % 2
        assert answer in ("yes", "no")
        assert (answer == "yes") == in_language(brackets, opener, case.max_depth)
        if answer == "yes" and case.max_depth is not None:
            assert stack_check(brackets, opener)[1] <= case.max_depth


def one_edit_repairs(brackets, opener, alphabet):
    """Is some substitution of one bracket, or some move of one bracket, enough to balance the string?"""
    n = len(brackets)
    for i, tok in itertools.product(range(n), alphabet):
        if stack_check(brackets[:i] + [tok] + brackets[i + 1 :], opener)[0]:
            return True
    for j, i in itertools.product(range(n), range(n)):
        rest = brackets[:j] + brackets[j + 1 :]
        if stack_check(rest[:i] + [brackets[j]] + rest[i:], opener)[0]:
            return True
    return False


@given(cases(max_length=12))
def test_negatives_are_one_edit_from_balanced(case):
    for task, brackets, answer in examples(case):
        if answer == "yes":
            continue
        opener = opener_of(task)
        assert not stack_check(brackets, opener)[0]
        assert one_edit_repairs(brackets, opener, task.vocab[2:-3])
        roles = ["close" if tok in opener else "open" for tok in brackets]
        shape_ok = stack_check(["(" if r == "open" else ")" for r in roles], {")": "("})[0]
        if case.negatives == "flip":
            assert roles.count("open") != roles.count("close")
        elif case.negatives == "swap":
            assert shape_ok, "a swapped kind keeps the bracket shape of a positive"
        elif case.negatives == "move":
            assert roles.count("open") == roles.count("close") and not shape_ok


@pytest.mark.parametrize("max_depth", [None, 3])
def test_classes_balanced_and_every_edit_used(max_depth):
    task = tasks.make("dyck", kinds=3, max_depth=max_depth)
    batch = task.sample(np.random.default_rng(5), 4000, 40)
    answers = task.decode(batch.targets[:, -1])
    assert abs(answers.count("yes") / 4000 - 0.5) < 0.03
    opener = opener_of(task)
    seen = Counter()
    for i in np.flatnonzero(np.array(answers) == "no")[:600]:
        roles = ["c" if tok in opener else "o" for tok in task.decode(batch.inputs[i, 1:-1])]
        if roles.count("o") != roles.count("c"):
            seen["flip"] += 1
        elif stack_check(["(" if r == "o" else ")" for r in roles], {")": "("})[0]:
            seen["swap"] += 1
        else:
            seen["move"] += 1
    assert all(abs(seen[k] / 600 - 1 / 3) < 0.07 for k in ("flip", "swap", "move")), seen


def balanced_strings(n, kinds, max_depth):
    alphabet = [b for o, c in list(PAIRS.items())[:kinds] for b in (o, c)]
    opener = {c: o for o, c in list(PAIRS.items())[:kinds]}
    return [s for s in itertools.product(alphabet, repeat=n) if in_language(list(s), opener, max_depth)]


def assert_uniform_positives(n, kinds, max_depth):
    language = balanced_strings(n, kinds, max_depth)
    task = tasks.make("dyck", kinds=kinds, max_depth=max_depth)
    batch = task.sample(np.random.default_rng(11), 12000, n)
    positives = batch.targets[:, -1] == task.token_id["yes"]
    seen = Counter(tuple(task.decode(row)) for row in batch.inputs[positives, 1:-1])
    assert set(seen) == set(language)
    # Chi-square against uniform: mean K - 1, sd sqrt(2 (K - 1)); a skewed sampler lands far beyond 5 sd.
    k, expected = len(language), positives.sum() / len(language)
    chi2 = sum((seen[s] - expected) ** 2 / expected for s in language)
    assert chi2 < k - 1 + 5 * np.sqrt(2 * (k - 1)), (chi2, k)


@pytest.mark.parametrize("n,kinds,max_depth", [(8, 1, None), (10, 1, 3), (6, 2, None), (6, 2, 1)])
def test_positives_uniform_over_balanced_strings(n, kinds, max_depth):
    assert_uniform_positives(n, kinds, max_depth)


@pytest.mark.parametrize("n,kinds,max_depth", [(10, 1, 2), (10, 1, 3), (6, 2, 1)])
def test_positives_uniform_when_drawn_by_rejection(monkeypatch, n, kinds, max_depth):
    # Loose bounds are met by redrawing paths over the bound; force that route on short, tightly bounded strings.
    monkeypatch.setattr(dyck, "REJECTION_ABOVE", 0.0)
    assert_uniform_positives(n, kinds, max_depth)


def test_long_lengths_and_parameters():
    for params in ({}, {"max_depth": 4}):
        task = tasks.make("dyck", **params)
        batch = task.sample(np.random.default_rng(2), 4, 1001)
        assert batch.seq_len == 1 + 1000 + 1
    assert tasks.make("dyck").info["level"] == "DCF" and tasks.make("dyck", max_depth=3).info["level"] == "R"
    for params, match in [
        ({"kinds": 0}, "kinds must be in"),
        ({"max_depth": 0}, "max_depth must be"),
        ({"max_depth": 2.0}, "max_depth must be an integer"),
        ({"negatives": "random"}, "choose one of mixed, flip, swap, move"),
        ({"kinds": 1, "negatives": "swap"}, "needs kinds >= 2"),
    ]:
        with pytest.raises(ValueError, match=match):
            tasks.make("dyck", **params)
