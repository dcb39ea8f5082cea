"""The grid files committed beside the results (pilots and probes, run with `expressivity grid FILE` or
benchmarks/gpu_pilot.sh's GRID=) stay runnable, and the cap probes are what their headers and results/README.md say:
a preset cell's runs with only the step cap changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from expressivity.runners.execution import grid
from expressivity.runners.execution.store import Store
from expressivity.runners.training.config import canonical, run_key

RESULTS = Path(__file__).parents[2] / "results"
GRID_FILES = sorted(RESULTS.rglob("*.toml"))

# Probes of the illusion-of-state reduced grid that change only `steps` (8000 -> 24000): does the cap decide the row?
CAP_PROBES = [
    "pilot-s5-64-lstm.toml",
    "pilot-s5-64-dp.toml",
    "pilot-z60-32-transformer.toml",
    "pilot-z60-64-transformer.toml",
]


@pytest.mark.parametrize("path", GRID_FILES, ids=lambda p: str(p.relative_to(RESULTS)))
def test_every_committed_grid_file_loads(path):
    """Every key in it is one `grid` accepts today, so the file still runs as its header says."""
    assert grid.load(path).configs


@pytest.mark.parametrize("name", CAP_PROBES)
def test_a_cap_probe_is_its_preset_cell_with_only_the_step_cap_raised(name):
    """Each probe run, with `steps` put back to the reduced protocol's 8000, is a run the committed store holds in
    the reduced grid: same model, data, seed and every other training key."""
    probe = grid.load(RESULTS / "illusion-of-state" / name)
    with Store(RESULTS / "illusion-of-state" / "runs.sqlite", readonly=True) as store:
        rows = store.conn.execute("SELECT key FROM runs WHERE grid = 'illusion-of-state-reduced'")
        reduced = {key for (key,) in rows}
    assert len(probe.configs) == 3
    for config in probe.configs:
        assert config["train"]["steps"] == 24000
        as_preset = json.loads(canonical(config))
        as_preset["train"]["steps"] = 8000
        assert run_key(as_preset) in reduced, f"{name} seed {config['seed']}: no reduced-grid run with its config"
