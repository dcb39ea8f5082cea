"""benchmarks/quotient_probe.py: answers scored modulo each normal subgroup of the derived series and factor by factor
read back exactly what a synthetic model knew, and a stored run's checkpoint gives its own final accuracy on the full
group's line."""

import numpy as np
import pytest

from expressivity.runners.execution.store import Store
from expressivity.runners.training.config import resolve, run_key
from expressivity.runners.training.train import train
from expressivity.tasks.groups import group


def by_modulo(rows):
    return {r["modulo"]: r for r in rows}


def test_answers_right_up_to_the_commutator_subgroup_read_as_the_abelianisation(load_benchmark):
    """A4xZ5: each answer is the target times a random element of G' = V4 x 1, so it is right modulo G' always, in
    its Z5 factor always, and in full (and in its A4 factor) only where that element was the identity: about 1/4."""
    probe = load_benchmark("quotient_probe")
    g, rng = group("A4xZ5"), np.random.default_rng(0)
    series = g.derived_series
    assert [len(s) for s in series] == [60, 4, 1]
    target = rng.integers(0, g.order, 4000)
    shift = rng.choice(series[1], len(target))
    rows = by_modulo(probe.quotient_accuracy(g, g.table[target, shift], target))
    full = float((shift == g.identity).mean())
    assert rows["G', of order 4"]["accuracy"] == 1.0 and rows["G', of order 4"]["quotient_order"] == 15
    assert rows["{1}: the full group"]["accuracy"] == pytest.approx(full) and 0.2 < full < 0.3
    assert rows["the Z5 factor alone"]["accuracy"] == 1.0 and rows["the Z5 factor alone"]["chance"] == 1 / 5
    assert rows["the A4 factor alone"]["accuracy"] == pytest.approx(full)
    lo, hi = rows["{1}: the full group"]["interval"]
    assert lo < full < hi


def test_a_non_element_answer_is_wrong_modulo_everything_and_a_perfect_group_has_one_line(load_benchmark):
    """S3 > A3 > 1: answers of the right sign only are right modulo A3 alone; an argmax on no element (-1) is wrong on
    every line. A5 is perfect (A5' = A5), so only the full group is scored."""
    probe = load_benchmark("quotient_probe")
    g = group("S3")
    a3 = g.derived_series[1]
    target = np.arange(g.order)
    rotated = g.table[target, a3[(target % 2) + 1]]  # times a non-identity element of A3: same coset, wrong element
    rows = by_modulo(probe.quotient_accuracy(g, rotated, target))
    assert rows["G', of order 3"]["accuracy"] == 1.0 and rows["{1}: the full group"]["accuracy"] == 0.0
    none = by_modulo(probe.quotient_accuracy(g, np.full(g.order, -1), target))
    assert all(r["accuracy"] == 0.0 for r in none.values())
    a5 = group("A5")
    assert [r["modulo"] for r in probe.quotient_accuracy(a5, np.arange(a5.order), np.arange(a5.order))] == [
        "{1}: the full group"
    ]


def test_a_checkpoint_gives_its_runs_final_accuracy_on_the_full_groups_line(tmp_path, load_benchmark):
    probe = load_benchmark("quotient_probe")
    sets = {"steps": 8, "batch_size": 8, "train_min_length": 6, "train_max_length": 6, "eval_lengths": [6],
            "eval_examples": 40, "eval_batch_size": 16, "checkpoint_every": 8, "group": "S3", "d_model": 32,
            "n_layers": 1}  # fmt: skip
    config = resolve("word_problem", "transformer", sets)
    store, ckpt = tmp_path / "s.sqlite", tmp_path / "run.pt"
    with Store(store) as st:
        st.enqueue([config])
    result = train(config, device="cpu", checkpoint=ckpt)
    out = probe.main(["--store", str(store), "--key", run_key(config), "--checkpoint", str(ckpt)])
    assert out["length"] == 6 and out["examples"] == 40 and out["step"] == 8
    assert by_modulo(out["quotients"])["{1}: the full group"]["accuracy"] == result["metrics"][6]["final_acc"]


def test_a_run_on_another_task_is_refused(tmp_path, load_benchmark):
    probe = load_benchmark("quotient_probe")
    sets = {"steps": 2, "batch_size": 4, "train_max_length": 6, "eval_lengths": [6], "eval_examples": 4,
            "checkpoint_every": 2, "d_model": 32, "n_layers": 1}  # fmt: skip
    config = resolve("parity", "transformer", sets)
    store, ckpt = tmp_path / "s.sqlite", tmp_path / "run.pt"
    with Store(store) as st:
        st.enqueue([config])
    train(config, device="cpu", checkpoint=ckpt)
    with pytest.raises(ValueError, match="on parity, not a word problem"):
        probe.main(["--store", str(store), "--key", run_key(config), "--checkpoint", str(ckpt)])
