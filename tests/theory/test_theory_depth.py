"""Depth against length (theory/depth.py): the verdict rule, table-driven, and a synthetic depth sweep."""

import pytest

from expressivity.runners.training.config import resolve
from expressivity.theory.depth import depth_growth, depth_verdict

CASES = [  # expected, min depth by length, shallowest tried -> (verdict, reason)
    ("depth-grows", {8: 1, 16: 2, 32: 3, 64: None}, 1, ("agree", "")),
    ("depth-grows", {8: 1, 16: 1, 32: 2}, 1, ("agree", "")),  # non-decreasing, and deeper at the longest
    ("depth-grows", {8: 2, 16: 2, 32: 2}, 1, ("contradict", "")),  # one depth serves every length
    ("depth-grows", {8: 2, 16: 1, 32: 3}, 1, ("inconclusive", "")),  # falls somewhere
    ("depth-grows", {8: None, 16: None}, 1, ("inconclusive", "nothing learned")),
    ("depth-grows", {8: 1}, 1, ("inconclusive", "")),  # one length says nothing about growth
    ("learns", {8: 1, 16: 1, 32: 1}, 1, ("agree", "")),
    ("learns", {8: 1, 16: None}, 1, ("contradict", "")),
    ("learns", {8: 1, 16: 2}, 1, ("inconclusive", "")),
    ("unknown", {8: 1, 16: 2}, 1, ("inconclusive", "")),
]


@pytest.mark.parametrize("expected, min_depths, shallowest, verdict", CASES)
def test_depth_verdicts(expected, min_depths, shallowest, verdict):
    assert depth_verdict(expected, min_depths, shallowest) == verdict


def _row(arch, depth, length, acc, **params):
    sets = {"n_layers": depth, "train_min_length": length, "train_max_length": length, "eval_lengths": [length]}
    config = resolve("word_problem", arch, {**sets, "group": "A5", **params})
    summary = {"id": {"final_acc": acc, "scaled_acc": acc, "lengths": [length]}}
    return {"key": f"{arch}{depth}-{length}", "grid": "g", "config": config, "status": "done", "summary": summary}


def test_a_transformer_sweep_whose_depth_grows_agrees_and_one_that_does_not_is_said():
    # depth needed: 1 at length 8, 2 at 16, nothing up to 3 at 32
    needed = {8: 1, 16: 2, 32: 4}
    rows = [_row("transformer", d, n, 0.95 if d >= needed[n] else 0.3) for d in (1, 2, 3) for n in needed]
    (cell,) = depth_growth(rows)
    assert cell.family == "transformer" and dict(cell.min_depths) == {8: 1, 16: 2, 32: None}
    assert cell.expect.value == "depth-grows" and cell.label == "agree (no model learned length 32: left out)"
    flat = [_row("transformer", d, n, 0.95) for d in (1, 2) for n in needed]
    assert depth_growth(flat)[0].verdict == "contradict"
    nothing = [_row("transformer", d, n, 0.2) for d in (1, 2) for n in needed]
    assert depth_growth(nothing)[0].label == "inconclusive (nothing learned)"


def test_a_length_no_model_learned_counts_only_beside_a_positive_control():
    # depth 2 passes at length 8; at 16 no depth tried passes
    sweep = [_row("transformer", d, n, 0.95 if (d, n) == (2, 8) else 0.3) for d in (1, 2) for n in (8, 16)]
    (alone,) = depth_growth(sweep)
    assert dict(alone.min_depths) == {8: 2, 16: None}
    # nothing learned 16: the protocol may be what failed there, so one length is left and growth is not shown
    assert alone.label == "inconclusive (no model learned length 16: left out)"
    # an LSTM (the positive control) learned 16 under the same protocol: "no depth up to 2" there is evidence
    control = [_row("lstm", 1, n, 0.99) for n in (8, 16)]
    cells = {c.family: c for c in depth_growth(sweep + control)}
    assert cells["transformer"].label == "agree"
    # a control in another scope (another task parameter) teaches nothing about this row
    other = [_row("lstm", 1, 16, 0.99, group="Z60")]
    assert {c.family: c for c in depth_growth(sweep + other)}["transformer"].verdict == "inconclusive"


def test_a_control_that_fails_only_where_nothing_learned_is_not_a_contradiction():
    # the LSTM (EXPECT learns) passes at 8 and 16 and misses 64, e.g. under a step cap
    lstm = [_row("lstm", 1, n, 0.99 if n < 64 else 0.5) for n in (8, 16, 64)]
    (alone,) = depth_growth(lstm)
    assert alone.expect.value == "learns" and dict(alone.min_depths) == {8: 1, 16: 1, 64: None}
    assert alone.label == "agree (no model learned length 64: left out)" and alone.left_out == (64,)
    # another model learned 64 under the same protocol: the LSTM's miss there is evidence
    learned_64 = [_row("transformer", d, 64, 0.95) for d in (1, 2)]
    cells = {c.family: c for c in depth_growth(lstm + learned_64)}
    assert cells["lstm"].label == "contradict"


def test_a_model_without_a_claim_that_fails_beside_a_learning_control_is_not_nothing_learned():
    gdn = [_row("gdn", 1, n, 0.02, neg_eigval=True) for n in (8, 16)]
    (alone,) = depth_growth(gdn)
    assert alone.expect.value == "unknown" and alone.label == "inconclusive (nothing learned)"
    cells = {c.family: c for c in depth_growth(gdn + [_row("lstm", 1, n, 0.99) for n in (8, 16)])}
    assert cells["gdn[-1,1]"].label == "inconclusive" and dict(cells["gdn[-1,1]"].min_depths) == {8: None, 16: None}


def test_a_length_whose_sweep_is_unfinished_is_left_out_of_the_verdict():
    # depth needed: 2 at 8, 3 at 16; at 32 only depth 1 has run (reproduce --next-depths walks a sweep down)
    needed = {8: 2, 16: 3}
    rows = [_row("transformer", d, n, 0.95 if d >= needed[n] else 0.3) for d in (1, 2, 3) for n in needed]
    rows += [_row("transformer", 1, 32, 0.3), _row("lstm", 1, 32, 0.99)]  # 32 is taught: the control learned it
    (cell,) = [c for c in depth_growth(rows) if c.family == "transformer"]
    assert dict(cell.min_depths) == {8: 2, 16: 3, 32: None} and cell.unfinished == (32,)
    assert cell.label == "agree (sweep unfinished at length 32: left out)"  # from 8 and 16 alone
    # a passing depth with a shallower one not run: only an upper bound, so left out too
    skipped = [r for r in rows if r["key"] != "transformer1-16"]
    (cell,) = [c for c in depth_growth(skipped) if c.family == "transformer"]
    assert cell.unfinished == (16, 32) and cell.label == "inconclusive (sweep unfinished at length 16, 32: left out)"
    # the sweep finished at 32 with no depth passing: deeper than the sweep, as before
    finished = rows + [_row("transformer", d, 32, 0.3) for d in (2, 3)]
    (cell,) = [c for c in depth_growth(finished) if c.family == "transformer"]
    assert cell.unfinished == () and cell.label == "agree"


def test_a_deeper_model_trained_at_one_depth_is_no_depth_sweep():
    """A model trained at one depth above 1 (olmo-hybrid's m axis: a 4-layer hybrid at n = 4) is not read as "depth
    against length": its min depth would be the depth it was built with, and a "learns" EXPECT would agree on that
    alone. A one-layer control (the LSTM) still is, as the Illusion of State table reads it."""
    assert depth_growth([_row("lstm", 4, 4, 0.95)]) == []
    assert [c.family for c in depth_growth([_row("lstm", 1, 4, 0.95)])] == ["lstm"]
