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

# Probes of the illusion-of-state reduced grid that change only `steps` (from 8000): does the cap decide the row?
# Each file with the cap it sets and its seeds (a rerun file repeats one seed's key).
CAP_PROBES = {
    "pilot-s5-64-lstm.toml": (24000, 3),
    "pilot-s5-64-dp.toml": (24000, 3),
    "pilot-z60-32-transformer.toml": (24000, 3),
    "pilot-z60-64-transformer.toml": (24000, 3),
    **{f"pilot-z60-{length}-transformer-48k.toml": (48000, 3) for length in (8, 16, 32, 64)},
    "pilot-z60-64-transformer-48k-rerun.toml": (48000, 1),
    **{f"pilot-a5-{length}-transformer{depth}-48k.toml": (48000, 3) for length in (8, 64) for depth in ("", "-d2")},
}


@pytest.mark.parametrize("path", GRID_FILES, ids=lambda p: str(p.relative_to(RESULTS)))
def test_every_committed_grid_file_loads(path):
    """Every key in it is one `grid` accepts today, so the file still runs as its header says."""
    assert grid.load(path).configs


@pytest.mark.parametrize("name", sorted(CAP_PROBES))
def test_a_cap_probe_is_its_preset_cell_with_only_the_step_cap_raised(name):
    """Each probe run, with `steps` put back to the reduced protocol's 8000, is a run the committed store holds in
    the reduced grid: same model, data, seed and every other training key."""
    probe = grid.load(RESULTS / "illusion-of-state" / name)
    with Store(RESULTS / "illusion-of-state" / "runs.sqlite", readonly=True) as store:
        rows = store.conn.execute("SELECT key FROM runs WHERE grid = 'illusion-of-state-reduced'")
        reduced = {key for (key,) in rows}
    steps, seeds = CAP_PROBES[name]
    assert len(probe.configs) == seeds
    for config in probe.configs:
        assert config["train"]["steps"] == steps
        as_preset = json.loads(canonical(config))
        as_preset["train"]["steps"] = 8000
        assert run_key(as_preset) in reduced, f"{name} seed {config['seed']}: no reduced-grid run with its config"


STORED_GRID_FILES = [path for path in GRID_FILES if path.with_suffix(".sqlite").is_file()]


@pytest.mark.parametrize("path", STORED_GRID_FILES, ids=lambda p: str(p.relative_to(RESULTS)))
def test_a_grid_files_store_holds_only_its_runs(path):
    """The store beside a grid file (FILE.sqlite, where gpu_pilot.sh's GRID= writes) holds no run the file does not
    make: a store renamed or filed beside the wrong grid would mislabel every figure quoted from it. (Some pilots
    stopped part-way, so a store may hold fewer.)"""
    keys = {run_key(config) for config in grid.load(path).configs}
    with Store(path.with_suffix(".sqlite"), readonly=True) as store:
        stored = {key for (key,) in store.conn.execute("SELECT key FROM runs")}
    assert stored <= keys, f"{path.name}: {len(stored - keys)} stored runs are not this grid's"
