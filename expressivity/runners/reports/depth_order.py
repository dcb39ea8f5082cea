"""A depth sweep run shallowest first: of a grid's runs, those that can still change a min-depth cell.

    grid = preset.grid(protocol="reduced")
    kept = next_depth_configs(grid, store.rows(keys=grid.keys), preset.metric)   # `reproduce --next-depths`

A min-depth cell (a preset whose metric has `depth_threshold`: illusion-of-state) reads the smallest depth whose best
seed reaches the threshold. So in each cell (one task and length, one column: the runs that differ only in depth and
seed), depths are taken in increasing order: a depth whose finished runs include a pass settles the cell (deeper runs
cannot change it); a depth with runs not yet finished is the cell's next step (those runs are kept); a depth finished
without a pass sends the cell one depth deeper. A failed run (an error, not a training outcome: 2026-12-07, a GPU
call's compile lost its device) says nothing about its depth, so its depth stays the next step, and `reproduce
--retry-failed` runs it again; a diverged run is an outcome, and counts as finished without a pass. Repeating
`reproduce --next-depths` after each call walks every sweep down to its answer, running no depth beyond the first
that passes. The runs keep their keys, so the full grid later reuses them, and the tables read an unfinished sweep as
they always do ("> 2" when depths 1 and 2 ran and neither passed).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from expressivity.runners.execution.grid import Grid
from expressivity.runners.execution.store import OUTCOMES
from expressivity.runners.reports.preset import Metric, run_depth
from expressivity.runners.reports.tables import metric_value


def _cell(config: Mapping[str, Any]) -> str:
    """The cell a run belongs to: its config without its seed and its depth."""
    params = {k: v for k, v in config["model_params"].items() if k != "n_layers"}
    return json.dumps({**config, "seed": None, "model_params": params}, sort_keys=True, default=str)


def next_depth_configs(grid: Grid, rows: Iterable[Mapping[str, Any]], metric: Metric) -> list[dict[str, Any]]:
    """The configs of `grid` that are each cell's next step (module docstring), in grid order. `rows`: the store's
    rows of the grid's keys (others are ignored); `metric`: the preset's (its split, field, scale, depth_threshold).
    """
    if metric.depth_threshold is None:
        raise ValueError(f"--next-depths needs a min-depth table; this preset's metric is {metric.describe}")
    status = {r["key"]: r for r in rows}
    cells: dict[str, dict[int, list[str]]] = {}
    for key, config in zip(grid.keys, grid.configs, strict=True):
        cells.setdefault(_cell(config), {}).setdefault(run_depth(config), []).append(key)

    def passes(key: str) -> bool:
        row = status.get(key)
        value = None if row is None or row["status"] != "done" else metric_value(row, metric)
        return value is not None and value >= metric.depth_threshold

    kept: set[str] = set()
    for by_depth in cells.values():
        for depth in sorted(by_depth):
            keys = by_depth[depth]
            if any(passes(k) for k in keys):
                break  # settled: no deeper run can change the cell
            # a failed run has not answered for its depth (module docstring): it waits with the unfinished
            waiting = [k for k in keys if k not in status or status[k]["status"] not in OUTCOMES]
            if waiting:
                kept.update(waiting)
                break
    return [c for k, c in zip(grid.keys, grid.configs, strict=True) if k in kept]
