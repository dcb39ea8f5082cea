"""Shortcuts (tasks/shortcuts.py): every guesser, run on sampled batches, against each task's declared `shortcut_acc`.

Both checks allow 3 standard errors of the measurement (binomial at the declared figure for a final answer; over
examples for pooled tokens), so a declaration is neither too low (a guesser beats it) nor too high (its named guesser
falls short). Sizes are fixed, so nothing depends on machine speed.
"""

import math

import numpy as np
import pytest

from expressivity import tasks
from expressivity.tasks import Batch, shortcuts
from expressivity.tasks.base import SHORTCUT_TOLERANCE

ALL = tasks.names()
EXAMPLES = 3000
# Layouts other than the default, which the guessers must read too: the same function in other tokens.
LAYOUTS = [
    ("indexed_recall", {"bits_format": "dict"}),
    ("state_based_recall", {"bits_format": "dict"}),
    ("state_based_recall", {"init_format": "lines"}),
    ("pointer_tracking", {"init_format": "lines"}),
    ("pointer_tracking", {"m": 64}),
    ("pointer_tracking", {"m": 256, "queries": "every_line", "init_format": "lines"}),
]
CASES = [pytest.param(name, {}, id=name) for name in ALL] + [
    pytest.param(name, params, id=f"{name}-{'-'.join(map(str, params.values()))}") for name, params in LAYOUTS
]


def _length(task, which: str) -> int:
    """A short length (8, or the task's shortest) and a long one (64, or its longest)."""
    want = 8 if which == "short" else 64
    hi = want if task.max_length is None else min(want, task.max_length)
    return max(task.min_length, hi)


def _error(task, declared: float, se: float) -> float:
    """The standard error to test against: for a final answer, the binomial one at the declared accuracy (the
    measured one is 0 when a guesser happens never to hit); for pooled tokens, the measured one over examples."""
    if task.scored_by == "final":
        return max(se, math.sqrt(declared * (1 - declared) / EXAMPLES))
    return se


@pytest.mark.parametrize("which", ["short", "long"])
@pytest.mark.parametrize(("name", "params"), CASES)
def test_declared_shortcut_is_the_best_guesser_within_3_se(name, params, which):
    task = tasks.make(name, **params)
    length = _length(task, which)
    scores = shortcuts.measure(task, length, np.random.default_rng([14, length]), EXAMPLES, errors=True)
    declared, named = task.shortcut_acc(length), task.shortcut_name(length)
    assert named in scores, f"{named} is not a guesser of {name}"
    beaten = {g: (acc, se) for g, (acc, se) in scores.items() if acc > declared + 3 * _error(task, declared, se)}
    assert not beaten, f"{name} at {length}: declared {declared:.4f} ({named}), but {beaten}"
    acc, se = scores[named]
    off = abs(acc - declared) > 3 * _error(task, declared, se)
    assert not off, f"{name} at {length}: {named} measured {acc:.4f} +- {se:.4f}, declared {declared:.4f}"


POINTER_LAYOUTS = [
    ("pointer_tracking", {}),
    ("pointer_tracking", {"init_format": "lines", "max_vars": 8, "queries": "every_line"}),
    ("pointer_tracking", {"ops": "mixed"}),
    ("state_based_recall", {"m": 16, "bits_format": "dict", "queries": "every_line"}),
    ("state_based_recall", {"init_format": "lines"}),
    ("pointer_tracking", {"m": 256}),
]


@pytest.mark.parametrize("length", [1, 4])
@pytest.mark.parametrize(("name", "params"), POINTER_LAYOUTS)
def test_the_untouched_pointer_shortcut_beats_the_majority_where_few_lines_name_it(name, params, length):
    """At 1 and 4 update lines (the m axis's n) the queried variable is often named by none: its own value is the
    answer there, 0.875 and 0.728 in all with bits, against the majority's 0.6875 (the lengths 8 and 64 above barely
    see it); with index values the same rule over the units digit the headline scores."""
    task = tasks.make(name, **params)
    scores = shortcuts.measure(task, length, np.random.default_rng([15, length]), EXAMPLES, errors=True)
    declared = task.shortcut_acc(length)
    assert task.shortcut_name(length) == "pointer_untouched"
    assert declared == pytest.approx(task.chance + (1 - task.chance) * 0.6**length)
    acc, se = scores["pointer_untouched"]
    assert abs(acc - declared) <= 3 * _error(task, declared, se)
    majority, _ = scores["pointer_majority"]
    assert acc - majority > 3 * _error(task, declared, se)


@pytest.mark.parametrize("name", ALL)
def test_guessers_never_read_targets_or_mask(name):
    task = tasks.make(name)
    length = _length(task, "short")
    rng = np.random.default_rng(3)
    ref = shortcuts.Reference(task, length, task.sample(rng, 64, length))
    batch = task.sample(rng, 32, length)
    blind = Batch(inputs=batch.inputs.copy(), targets=np.zeros_like(batch.targets), mask=np.zeros_like(batch.mask))
    for guesser in shortcuts.guessers_for(task):
        guess = shortcuts.GUESSERS[guesser](ref, batch)
        assert guess.shape == batch.inputs.shape and guess.dtype == np.int64
        np.testing.assert_array_equal(guess, shortcuts.GUESSERS[guesser](ref, blind), err_msg=guesser)
        assert ((guess >= 0) & (guess < len(task.vocab)))[batch.mask].all(), guesser


def test_registry_names_real_tasks_and_guessers():
    assert set(shortcuts.SPECIFIC) <= set(ALL)
    for name in ALL:
        assert set(shortcuts.guessers_for(name)) <= set(shortcuts.GUESSERS)
    for guesser in shortcuts.GUESSERS.values():
        assert guesser.__doc__, "a guesser says what it does"


@pytest.mark.parametrize("name", ALL)
def test_shortcut_in_info_and_chance_unchanged(name):
    task = tasks.make(name)
    info = task.info
    assert info["shortcut_length"] == task.shortcut_length == _length(task, "short")
    assert info["shortcut_acc"] == task.shortcut_acc(task.shortcut_length)
    assert 0 < info["shortcut_acc"] <= 1 and info["shortcut_name"] in shortcuts.guessers_for(task)
    assert info["shortcut_acc"] >= info["chance"] - 1e-9, "at default parameters no task's chance exceeds its shortcut"


def test_shortcut_rejects_a_bad_length():
    with pytest.raises(ValueError, match="length"):
        tasks.make("needle").shortcut_acc(8)


@pytest.mark.parametrize(
    "name, vanishes_at",
    [
        ("even_pairs", 2),  # length 1 has no pairs: always "0"
        ("word_problem", 2),  # one element is its own product
        ("modular_arithmetic_brackets", 4),  # `d` and `(d)`
        ("solve_equation", 6),  # `x = v _` and `( x ) = v _`
        ("missing_duplicate", 3184),  # w's majority at odd |w|, 1/2 + ~0.4/sqrt(|w|): not before |w| = 1591
        ("pointer_tracking", 7),  # the untouched variable's own value: 5/16 * 0.6^n above chance, < 0.01 from 7
        ("dyck", None),  # a one-kind counter: 5/6 at every length
        ("flip_flop", None),  # the bit just before the query: 0.6 at every length
        ("needle", None),  # the last needle's digit: 0.325
        ("selective_copy", None),  # the most frequent of 16 letters
        ("variable_binding", None),  # the most frequent constant
    ],
)
def test_where_shortcuts_vanish(name, vanishes_at):
    task = tasks.make(name)
    assert task.shortcut_vanishes_at == vanishes_at
    if vanishes_at is not None:
        assert task.shortcut_acc(vanishes_at) - task.chance <= SHORTCUT_TOLERANCE
        if vanishes_at > task.min_length:
            assert task.shortcut_acc(vanishes_at - 1) - task.chance > SHORTCUT_TOLERANCE


def test_closed_forms_match_hand_counts():
    # Copy of 2 of 16 letters: the top count is 2 with probability 1/16, so (1 * 15/16 + 2 * 1/16) / 2.
    assert tasks.make("copy").shortcut_acc(2) == pytest.approx((15 / 16 + 2 / 16) / 2)
    # Parity of 8 bits: 70/256 ties (always even), and the odd half of the rest.
    assert tasks.make("parity_check").shortcut_acc(8) == pytest.approx(70 / 256 + 1 / 2)
    # Flip-flop at length 8: the first write's bit survives the 6 middle instructions with probability 0.9**6.
    assert tasks.make("flip_flop").shortcut_acc(8) == pytest.approx(0.5 + 0.5 * 0.9**6)
    assert tasks.make("dyck", negatives="swap").shortcut_acc(8) == 0.5
    assert tasks.make("dyck", negatives="flip").shortcut_acc(8) == 1.0
    # Pointers: the queried variable is named by no update line with probability (3/5)^n, and then holds its own
    # value; elsewhere the majority guess is right 11/16 of the time.
    assert tasks.make("state_based_recall").chance == tasks.make("pointer_tracking").chance == 0.6875
    assert tasks.make("pointer_tracking").shortcut_acc(1) == pytest.approx(3 / 5 + 2 / 5 * 11 / 16)
    assert tasks.make("state_based_recall").shortcut_acc(4) == pytest.approx(11 / 16 + 5 / 16 * 0.6**4)


def test_every_protocols_test_length_is_tabulated_for_every_measured_task():
    # A table or a check of a store reads each test length's shortcut; a measured task's is a minute's measurement at
    # length 400 unless its table holds it (CI ran 800 s of such measurements before the test lengths were tabulated).
    from expressivity.tasks.shortcut_tables import TABLE_LENGTHS, TABLES, TEST_LENGTHS
    from expressivity.theory.published import PROTOCOLS

    wanted = {n for p in PROTOCOLS.values() for n in p.train.get("eval_lengths", ())}
    assert wanted <= set(TABLE_LENGTHS + TEST_LENGTHS), sorted(wanted - set(TABLE_LENGTHS + TEST_LENGTHS))
    for name, table in TABLES.items():
        task = tasks.make(name)
        allowed = {n for n in TABLE_LENGTHS + TEST_LENGTHS if task.min_length <= n <= (task.max_length or n)}
        assert allowed <= set(table), (name, sorted(allowed - set(table)))
