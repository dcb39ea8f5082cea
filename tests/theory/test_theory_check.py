"""The checker on synthetic result rows: one row shape per source, every verdict, and the summary over seeds."""

from hypothesis import given
from hypothesis import strategies as st

from expressivity.theory import check
from expressivity.theory.check import FAILS, LEARNS, RunResult, observe

NEG = {"neg_eigval": True}


def row(task, arch, ood, *, seed=0, status="done", model_params=None, task_params=None):
    """A row as the store yields it: the resolved config, the status and the id/ood summary."""
    summary = None if ood is None else {"id": {"scaled_acc": 1.0}, "ood": {"scaled_acc": ood, "lengths": [64, 256]}}
    config = {"task": task, "task_params": task_params or {}, "arch": arch, "model_params": model_params or {}}
    return {"key": f"{task}-{arch}-{seed}", "config": {**config, "seed": seed}, "status": status, "summary": summary}


def cell_of(cells, task, arch_label):
    (cell,) = [c for c in cells if c.task == task and c.arch == arch_label]
    return cell


def test_each_verdict():
    cells = check(
        [
            row("parity", "lstm", 0.99),  # EXPECT learns, learns: agree
            row("parity", "gdn", 0.0, model_params=NEG),  # EXPECT learns, fails: contradict
            row("parity", "gdn", 0.97),  # EXPRESS no, learns: impossible
            row("parity", "transformer", 0.5),  # EXPECT fails, partial: inconclusive
            row("state_based_recall", "hybrid", 1.0, model_params=NEG),  # EXPECT unknown: inconclusive
            row("parity", "diagonal", None, status="diverged"),  # no finished run: inconclusive
        ]
    )
    verdicts = {(c.task, c.arch): c.verdict for c in cells}
    assert verdicts == {
        ("parity", "lstm"): "agree",
        ("parity", "gdn[-1,1]"): "contradict",
        ("parity", "gdn[0,1]"): "impossible",
        ("parity", "transformer"): "inconclusive",
        ("state_based_recall", "hybrid GGGA [-1,1]"): "inconclusive",
        ("parity", "diagonal[0,1]"): "inconclusive",
    }
    assert [c.verdict for c in cells][:2] == ["impossible", "contradict"]  # loudest first
    impossible = cell_of(cells, "parity", "gdn[0,1]")
    assert impossible.express.value == "no" and impossible.observed.category == "learns"
    assert cell_of(cells, "parity", "diagonal[0,1]").observed is None


def test_an_asymptotic_bound_beaten_at_test_lengths_is_a_note_not_an_impossibility():
    """A bounded state cannot recall m bits for every m, but a big state covers the m tested: no bug is implied."""
    cells = check([row("dyck", "lstm", 0.95), row("indexed_recall", "lstm", 0.95)])
    dyck, recall = cell_of(cells, "dyck", "lstm"), cell_of(cells, "indexed_recall", "lstm")
    assert dyck.express.value == recall.express.value == "no" and dyck.express.asymptotic
    assert dyck.verdict == "inconclusive" and "asymptotic" in dyck.note  # EXPECT unknown decides
    assert recall.verdict == "contradict" and recall.note  # EXPECT state-bound decides
    assert not cell_of(check([row("parity", "gdn", 0.97)]), "parity", "gdn[0,1]").express.asymptotic


def test_cells_group_seeds_and_keep_their_runs():
    rows = [row("parity", "gdn", v, seed=s, model_params=NEG) for s, v in enumerate((0.2, 0.95, 0.5))]
    rows.append(row("parity", "gdn", None, seed=3, status="failed", model_params=NEG))
    rows.append(row("parity", "gdn", 0.1, seed=0, model_params=NEG, task_params={"targets": "final"}))
    cells = check(rows)
    assert len(cells) == 2  # task parameters split cells, seeds do not
    (main,) = [c for c in cells if not c.task_params]
    assert [r.seed for r in main.runs] == [0, 1, 2, 3]
    assert main.observed.runs == 3 and main.observed.best == 0.95 and main.verdict == "agree"
    assert main.as_dict()["runs"][3]["status"] == "failed"


def test_flat_rows_are_accepted_too():
    flat = {"task": "parity", "arch": "lstm", "seed": 1, "status": "done", "ood_scaled": 0.0, "key": "k"}
    (cell,) = check([flat])
    assert cell.verdict == "contradict" and cell.runs[0] == RunResult.from_row(flat)


def test_unknown_task_or_architecture_does_not_stop_the_check():
    (cell,) = check([row("no_such_task", "lstm", 0.9)])
    assert cell.express.value == "unknown" and "no_such_task" in cell.express.reason


@given(st.lists(st.floats(-0.2, 1.0, allow_nan=False), min_size=1, max_size=6))
def test_observed_is_best_mean_worst_over_runs(values):
    runs = [RunResult("k", "parity", {}, "lstm", {}, i, "done", v) for i, v in enumerate(values)]
    obs = observe(runs)
    assert obs.best == max(values) and obs.worst == min(values) and obs.runs == len(values)
    assert abs(obs.mean - sum(values) / len(values)) < 1e-12
    expected = "learns" if max(values) >= LEARNS else "fails" if max(values) <= FAILS else "partial"
    assert obs.category == expected


def test_runs_trained_differently_are_never_one_cell():
    from expressivity.runners.training.config import resolve

    def row(grid, steps, key):
        config = resolve("parity", "gdn", {"steps": steps, "neg_eigval": True})
        return {"key": key, "grid": grid, "config": config, "status": "done", "summary": {"ood": {"scaled_acc": 0.95}}}

    same_grid = check([row("g", 1000, "a"), row("g", 1000, "b")])
    assert len(same_grid) == 1 and same_grid[0].observed.runs == 2
    alone = check([row("g", 1000, "a"), row(None, 300, "c"), row(None, 300, "d"), row(None, 1000, "e")])
    assert sorted(c.observed.runs for c in alone) == [1, 1, 2]  # the grid, the 300-step pair, the 1000-step one
