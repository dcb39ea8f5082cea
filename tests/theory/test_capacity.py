"""The list-size reading (theory/capacity.py): every branch of the verdict rule, table-driven, and the cells built
from store-like rows of an m sweep."""

import pytest

from expressivity.theory.capacity import capacity, capacity_verdict

HELD = {16: 1.0, 64: 0.97, 256: 0.95, 1024: 0.92}  # a control that learns at every m
FALLING = {16: 1.0, 64: 0.9, 256: 0.55, 1024: 0.2}

CASES = [
    # expected, the model's sweep, the controls' sweeps, verdict, reason contains
    ("state-bound", FALLING, [HELD], "agree", ""),
    ("state-bound", FALLING, [], "inconclusive", "nothing learned"),
    ("state-bound", FALLING, [{**HELD, 1024: 0.6}], "inconclusive", "nothing learned"),  # no control holds everywhere
    ("state-bound", {16: 1.0, 1024: 0.95}, [HELD], "suspect", "largest value, 1024"),
    ("state-bound", {16: 1.0, 1024: 0.7}, [HELD], "inconclusive", "0.70 at the largest value, between 0.5 and 0.9"),
    ("learns", HELD, [], "agree", ""),
    ("learns", FALLING, [HELD], "contradict", ""),
    ("learns", FALLING, [], "inconclusive", "below 0.9 at 256: 0.55, 1024: 0.20; no other model held at every value"),
    ("learns", {16: 1.0, 64: 0.7}, [HELD], "inconclusive", "below 0.9 at 64: 0.70; none below 0.5"),
    ("unknown", FALLING, [HELD], "inconclusive", ""),
    ("state-bound", {16: 0.1}, [HELD], "inconclusive", "one value"),
]


@pytest.mark.parametrize("expected, sweep, controls, verdict, reason", CASES)
def test_the_verdict_rule(expected, sweep, controls, verdict, reason):
    got, why = capacity_verdict(expected, sweep, controls)
    assert got == verdict and reason in why


def _row(arch: str, model: dict, m: int, seed: int, scaled: float) -> dict:
    train = {"train_min_length": 4, "train_max_length": 4, "eval_lengths": [4]}
    return {
        "key": f"{arch}-{m}-{seed}",
        "grid": "olmo-hybrid-reduced",
        "status": "done",
        "config": {
            "task": "state_based_recall",
            "task_params": {"m": m, "num_vars": 5, "queries": "every_line"},
            "arch": arch,
            "model_params": model,
            "seed": seed,
            "train": train,
        },
        "summary": {"id": {"scaled_acc": scaled, "final_acc": 0.5 + scaled / 2}},
    }


def test_a_gdn_that_falls_beside_a_hybrid_that_holds_agrees_with_state_bound():
    gdn, hybrid = {"neg_eigval": True}, {"pattern": "GGGA", "neg_eigval": True, "pos": "nope"}
    rows = [_row("gdn", gdn, m, s, v - 0.1 * s) for m, v in FALLING.items() for s in range(3)]
    rows += [_row("hybrid", hybrid, m, s, v) for m, v in HELD.items() for s in range(3)]
    rows.append({**_row("gdn", gdn, 16, 9, 1.0), "status": "failed"})  # not scored
    cells = {c.arch: c for c in capacity(rows)}
    assert set(cells) == {"gdn[-1,1]", "hybrid GGGA [-1,1]"}
    cell = cells["gdn[-1,1]"]
    assert cell.expect.value == "state-bound" and cell.by_value == FALLING  # best of the seeds at each m
    assert cell.runs_by_value[16] == (1.0, 0.9, 0.8)  # every seed's, best first
    assert cell.verdict == "agree" and cell.axis == "m" and "m" not in cell.task_params
    assert len(cell.keys) == 12


def test_runs_trained_over_a_range_of_lengths_or_of_other_tasks_are_not_a_sweep():
    row = _row("gdn", {"neg_eigval": True}, 16, 0, 1.0)
    ranged = {**row, "config": {**row["config"], "train": {"train_min_length": 1, "train_max_length": 4}}}
    other = {**row, "config": {**row["config"], "task": "indexed_recall", "task_params": {}}}
    assert capacity([ranged, other]) == []
