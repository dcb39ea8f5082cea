"""A depth sweep run shallowest first (depth_order.py, `reproduce --next-depths`): in each cell, the shallowest depth
not yet finished, and nothing where a finished depth passes; the runs keep their keys."""

import pytest
from typer.testing import CliRunner

from expressivity.runners.cli.app import app
from expressivity.runners.execution.store import Store
from expressivity.runners.reports import presets
from expressivity.runners.reports.depth_order import next_depth_configs
from expressivity.runners.reports.preset import run_depth

PRESET = presets.get("illusion-of-state")
CELL = {"protocol": "reduced", "rows": ["Z60 @ 8"], "columns": ["gdn[-1,1]"]}


def _row(key, acc, status="done"):
    return {"key": key, "status": status, "summary": {"id": {"final_acc": acc}}}


def _next(rows, **selection):
    grid = PRESET.grid(**{**CELL, **selection})
    by_depth = {}
    for key, config in zip(grid.keys, grid.configs, strict=True):
        by_depth.setdefault(run_depth(config), []).append(key)
    kept = next_depth_configs(grid, rows(by_depth), PRESET.metric)
    return sorted({run_depth(c) for c in kept}), len(kept), grid, kept


def test_each_cell_takes_the_shallowest_depth_not_yet_finished_and_stops_at_a_pass():
    # nothing run: depth 1, all seeds
    assert _next(lambda d: [])[:2] == ([1], 3)
    # depth 1 finished without a pass (0.5 < 0.9; a diverged run counts as finished): depth 2
    assert _next(lambda d: [_row(k, 0.5) for k in d[1][:2]] + [_row(d[1][2], None, "diverged")])[:2] == ([2], 3)
    # depth 1 half finished: only its unfinished seed, even though depth 2 waits
    assert _next(lambda d: [_row(k, 0.5) for k in d[1][:2]])[:2] == ([1], 1)
    # a failed run (an error, not an outcome) leaves its depth the next step: depth 1's failed seed, not depth 2
    assert _next(lambda d: [_row(k, 0.5) for k in d[1][:2]] + [_row(d[1][2], None, "failed")])[:2] == ([1], 1)
    # one seed of depth 2 passes: the cell is settled, depths 3 and 4 are never run
    assert _next(lambda d: [_row(k, 0.5) for k in d[1]] + [_row(d[2][0], 0.95)])[:2] == ([], 0)
    # every depth finished without a pass: nothing left ("> 4" in the table)
    assert _next(lambda d: [_row(k, 0.2) for ks in d.values() for k in ks])[:2] == ([], 0)


def test_cells_move_on_their_own_and_keep_their_keys():
    """Two cells (two lengths): one settled at depth 1, the other goes on to depth 2; the kept runs are the grid's
    own configs, so the whole grid later reuses them."""
    two = {"rows": ["Z60 @ 8", "Z60 @ 16"]}
    grid = PRESET.grid(**{**CELL, **two})
    rows = []
    for key, config in zip(grid.keys, grid.configs, strict=True):
        if run_depth(config) == 1:
            rows.append(_row(key, 0.99 if config["train"]["train_max_length"] == 8 else 0.4))
    kept = next_depth_configs(grid, rows, PRESET.metric)
    assert {(c["train"]["train_max_length"], run_depth(c)) for c in kept} == {(16, 2)} and len(kept) == 3
    assert all(c in grid.configs for c in kept)


def test_reproduce_next_depths_lists_the_next_step_and_refuses_a_preset_without_a_depth_table(tmp_path):
    store = tmp_path / "runs.sqlite"
    runner = CliRunner()
    args = ["reproduce", "illusion-of-state", "--protocol", "reduced", "--row", "Z60 @ 8", "--column", "gdn[-1,1]"]
    shown = runner.invoke(app, [*args, "--next-depths", "--dry-run", "--store", str(store)], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    assert "3 runs in illusion-of-state-reduced" in shown.output
    grid = PRESET.grid(**CELL)
    with Store(store) as st:  # depth 1 finished, one seed passing: settled
        st.enqueue(grid.configs, grid=grid.name)
        first = [k for k, c in zip(grid.keys, grid.configs, strict=True) if run_depth(c) == 1]
        for _ in first:
            key, _config = st.claim("test", keys=first)
            assert st.finish(key, "test", {"status": "done", "summary": {"id": {"final_acc": 0.95}}})
    settled = runner.invoke(app, [*args, "--next-depths", "--dry-run", "--store", str(store)], terminal_width=200)
    assert settled.exit_code == 0 and "every depth sweep of this selection is settled" in settled.output
    refused = runner.invoke(app, ["reproduce", "olmo-hybrid", "--next-depths", "--dry-run", "--store", str(store)])
    assert refused.exit_code != 0
    assert "not a min depth; valid: illusion-of-state" in refused.output


@pytest.mark.parametrize("name", ["olmo-hybrid", "negative-eigenvalues"])
def test_a_table_that_is_not_a_min_depth_has_no_next_depths(name):
    preset = presets.get(name)
    grid = preset.grid(quick=True)
    with pytest.raises(ValueError, match="needs a min-depth table"):
        next_depth_configs(grid, [], preset.metric)
