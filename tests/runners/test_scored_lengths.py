"""A protocol that scores some test lengths only (theory.published.Protocol.scored_lengths: olmo-hybrid's n axis at
2x n): the table, `check` and `reproduce` read a run there, from its per-length figures; and `check` keeps runs of a
grid name's earlier protocol in a cell of their own. Synthetic stores written through the real Store API."""

import pytest
from typer.testing import CliRunner

from expressivity.runners.cli import app
from expressivity.runners.execution.owners import owner_id
from expressivity.runners.execution.store import Store
from expressivity.runners.reports import presets
from expressivity.runners.reports.tables import table_cells

runner = CliRunner()


def _summary(value: float, lengths) -> dict:
    return {**dict.fromkeys(("final_acc", "token_acc", "seq_acc", "scaled_acc"), value), "lengths": list(lengths)}


def _write_by_length(path, configs, grid_name, by_length_of) -> None:
    """One finished run per config, under `grid_name`, with the per-length figures by_length_of(config) and the
    stored summary as training would write it (the mean over every length above training)."""
    from expressivity.runners.training.config import run_key

    with Store(path) as st_:
        st_.enqueue(configs, grid=grid_name)
        owner = owner_id()
        for config in configs:
            key = run_key(config)
            st_.claim(owner, [key])
            by_length = by_length_of(config)
            top = config["train"]["train_max_length"]
            metrics = {n: _summary(v, []) for n, v in by_length.items()}
            ood = [n for n in by_length if n > top]
            summary = {"id": _summary(by_length[top], [n for n in by_length if n <= top])}
            if ood:  # an in-distribution sweep (the m axis) tests at its trained length alone
                summary["ood"] = _summary(sum(by_length[n] for n in ood) / len(ood), ood)
            st_.finish(key, owner, {"status": "done", "metrics": metrics, "summary": summary, "steps": 1})


def test_a_protocol_that_scores_one_length_reads_it_in_the_table_and_the_check(tmp_path):
    """olmo-hybrid's dense protocol scores 2x n (32) only (Protocol.scored_lengths): a hybrid at 0.95 there and 0.2
    at 4x learns, and GGGA [0,1] at 0 fails beside it (agree); the stored summary (mean 0.575) is not what is read.
    `check` over the whole store reads the same; the testbed-v1 grid scores every length above training."""
    olmo = presets.get("olmo-hybrid")
    grid = olmo.grid(protocol="reduced", columns=["hybrid GGGA[-1,1]", "hybrid GGGA[0,1]"])
    assert set(olmo.scored_lengths("reduced")) >= set(grid.keys) and olmo.scored_lengths("testbed-v1") == {}
    assert set(olmo.scored_lengths("reduced").values()) == {(32,)}
    store = tmp_path / "r.sqlite"

    def by_length(config):
        good = config["model_params"]["neg_eigval"]
        return {8: 1.0, 16: 1.0, 32: 0.95, 64: 0.2} if good else dict.fromkeys((8, 16, 32, 64), 0.0)

    _write_by_length(store, grid.configs, grid.name, by_length)
    with Store(store, readonly=True) as opened:
        rows = opened.rows()
    cells = {c.column: c for c in table_cells(olmo, rows, protocol="reduced") if c.done}
    assert cells["hybrid GGGA[-1,1]"].best == pytest.approx(0.95) and cells["hybrid GGGA[-1,1]"].verdict == "agree"
    assert cells["hybrid GGGA[0,1]"].best == pytest.approx(0.0) and cells["hybrid GGGA[0,1]"].verdict == "agree"
    assert cells["hybrid GGGA[-1,1]"].curve[64] == pytest.approx(0.2)  # the curve keeps every length
    checked = runner.invoke(app, ["check", "--store", str(store)], terminal_width=250)
    assert checked.exit_code == 0, checked.output
    assert "learns: 0.950" in checked.output and checked.output.count("agree") == 2


def test_check_keeps_runs_of_an_earlier_protocol_under_a_grids_name_apart(tmp_path):
    """The reduced grid's name once held a 4000-step protocol. A transformer run of it (another key, same grid name)
    must not be scored beside today's GGGA [-1,1] control: its cell is its own, named so, and no control learned
    there; the table, which reads the grid's keys, does not show it at all."""
    olmo = presets.get("olmo-hybrid")
    grid = olmo.grid(protocol="reduced", columns=["hybrid GGGA[-1,1]"])
    old = olmo.grid(protocol="reduced", columns=["transformer"]).configs[0]
    old = {**old, "train": {**old["train"], "steps": 4000}}
    store = tmp_path / "r.sqlite"
    _write_by_length(store, grid.configs, grid.name, lambda c: {8: 1.0, 16: 1.0, 32: 0.95, 64: 0.95})
    _write_by_length(store, [old], grid.name, lambda c: dict.fromkeys((8, 16, 32, 64), 0.0))
    checked = runner.invoke(app, ["check", "--store", str(store)], terminal_width=300)
    assert checked.exit_code == 0, checked.output
    line = next(x for x in checked.output.splitlines() if "transformer" in x)
    assert "earlier protocol #" in line and "nothing learned" in line and "agree" not in line, line
    with Store(store, readonly=True) as opened:
        cells = table_cells(olmo, opened.rows(), protocol="reduced")
    assert next(c for c in cells if c.column == "transformer").done == 0


def test_checks_list_size_sweep_leaves_an_earlier_protocols_run_in_a_sweep_of_its_own(tmp_path):
    """The m axis's m = 256 cell changed protocol (the list held at 16 first) and its earlier runs keep the grid's
    name in the store: the sweep over m reads today's runs at 16, 64 and 256 alone, and the earlier m = 256 run is a
    sweep line of its own, named so, not a second run of today's cell."""
    olmo = presets.get("olmo-hybrid")
    rows = [f"state-based recall, m = {m}" for m in (16, 64, 256)]
    grid = olmo.grid(protocol="full", rows=rows, columns=["hybrid GGGA[-1,1]"], seeds=[0])
    latest = next(c for c in grid.configs if c["task_params"]["m"] == 256)
    old = {**latest, "train": {k: v for k, v in latest["train"].items() if not k.startswith("curriculum_also_")}}
    store = tmp_path / "r.sqlite"
    _write_by_length(store, grid.configs, grid.name, lambda c: {4: 1.0})
    _write_by_length(store, [old], grid.name, lambda c: {4: -0.5})
    checked = runner.invoke(app, ["check", "--store", str(store)], terminal_width=300)
    assert checked.exit_code == 0, checked.output
    sweep = checked.output.split("state against list size")[1].splitlines()
    today = next(x for x in sweep if "16:" in x)
    assert "256:1.00(1)" in today and "earlier protocol" not in today and today.rstrip().endswith("agree"), today
    earlier = next(x for x in sweep if "earlier protocol #" in x)
    assert "256:-0.50(1)" in earlier and "16:" not in earlier, earlier


def test_an_earlier_protocols_hash_ignores_keys_added_since_at_their_default():
    """Rows come back from the store with today's defaults filled in (config.complete): a training key added after
    the runs, at its default, must not rename their cell (curriculum_also did, on 2026-12-04, before this)."""
    olmo = presets.get("olmo-hybrid")
    grid = olmo.grid(protocol="reduced", columns=["transformer"])
    old = grid.configs[0]
    old = {**old, "train": {**old["train"], "steps": 4000}}
    row = {"grid": grid.name, "key": "not-in-the-grid", "config": old}
    leaner = {**row, "config": {**old, "train": {k: v for k, v in old["train"].items() if k != "curriculum_also"}}}
    named = [r["grid"] for r in presets.earlier_protocols_apart([row, leaner])]
    assert named[0] == named[1] and named[0].startswith(f"{grid.name} (earlier protocol #")
    other = {**row, "config": {**old, "train": {**old["train"], "steps": 3000}}}
    assert presets.earlier_protocols_apart([other])[0]["grid"] != named[0]  # a setting that differs still tells


def test_reproduce_prints_each_run_at_its_protocols_scored_length(tmp_path):
    """Each finished run's line reads what the table reads: olmo-hybrid's n axis at 2x n only ("ood@32")."""
    args = ["reproduce", "olmo-hybrid", "--row", "state-based recall (n)", "--column", "hybrid GGGA[-1,1]",
            "--set", "steps=2", "--set", "eval_examples=4", "--set", "batch_size=2", "--cpu", "--cpu-workers", "1",
            "--store", str(tmp_path / "r.sqlite")]  # fmt: skip
    shown = runner.invoke(app, args, terminal_width=200)
    assert shown.exit_code == 0, shown.output
    assert shown.output.count("ood@32 scaled_acc") == 3, shown.output


def test_each_cell_of_a_list_size_sweep_says_what_its_sweep_reads(tmp_path):
    """An m-axis cell tests at its trained n alone, so alone it is inconclusive; its sweep over m decides (GDN
    [-1,1] holding 16 entries and not 256 beside a hybrid that holds both: agree). `check`'s line for each cell says
    so, as the table's cell does."""
    olmo = presets.get("olmo-hybrid")
    rows = [f"state-based recall, m = {m}" for m in (16, 256)]
    grid = olmo.grid(protocol="full", rows=rows, columns=["hybrid GGGA[-1,1]", "gdn[-1,1]"], seeds=[0])
    store = tmp_path / "r.sqlite"

    def by_length(config):
        bounded = config["arch"] == "gdn" and config["task_params"]["m"] == 256
        return {4: -0.2 if bounded else 1.0}

    _write_by_length(store, grid.configs, grid.name, by_length)
    checked = runner.invoke(app, ["check", "--store", str(store)], terminal_width=300)
    assert checked.exit_code == 0, checked.output
    cells_part, sweep_part = checked.output.split("state against list size")
    cell_lines = [x for x in cells_part.splitlines() if x.startswith("state_based_recall")]
    assert len(cell_lines) == 4, cells_part
    assert all(x.rstrip().endswith("; over m: agree") for x in cell_lines), cell_lines
    assert sum("agree" in x for x in sweep_part.splitlines()) == 2, sweep_part
    with Store(store, readonly=True) as opened:
        cells = table_cells(olmo, opened.rows(), protocol="full")
    assert {c.verdict for c in cells if c.done} == {"agree"}  # the table reads the sweep the same way
