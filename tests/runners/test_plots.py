"""The PNGs of a preset's table (runners/reports/plots.py), from a small synthetic store (synthetic_runs.py): each
figure written, and none for a group or sweep with no finished run."""

import pytest
from synthetic_runs import write_runs

from expressivity.runners.execution.store import Store
from expressivity.runners.reports import presets
from expressivity.runners.reports.tables import table_cells

NEG = presets.get("negative-eigenvalues")
QUICK = NEG.grid(quick=True)  # parity (running) x transformer, gdn[0,1], gdn[-1,1] x seeds 0, 1


def test_plots_write_pngs(tmp_path):
    pytest.importorskip("matplotlib")
    from expressivity.runners.reports.plots import write_plots

    write_runs(tmp_path / "r.sqlite", QUICK, [0.5] * len(QUICK.configs))
    with Store(tmp_path / "r.sqlite") as store:
        cells = table_cells(NEG, store.rows(), quick=True)
    paths = write_plots(cells, NEG, tmp_path / "plots", quick=True)
    assert sorted(p.name for p in paths) == ["curves-parity-running.png", "heatmap.png"]
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_min_depth_plots_leave_out_a_group_whose_runs_have_not_finished(tmp_path):
    pytest.importorskip("matplotlib")
    from expressivity.runners.reports.plots import min_depths

    illusion = presets.get("illusion-of-state")
    grid = illusion.grid(quick=True)  # A5 and Z60 @ 8, 16 x transformer, gdn[-1,1] x depths 1, 2
    unfinished = {
        k: "failed" for k, c in zip(grid.keys, grid.configs, strict=True) if c["task_params"]["group"] == "Z60"
    }
    assert unfinished and len(unfinished) < len(grid.keys)
    write_runs(tmp_path / "r.sqlite", grid, [0.3] * len(grid.configs), status=unfinished)
    with Store(tmp_path / "r.sqlite") as store:
        cells = table_cells(illusion, store.rows(), quick=True)
    paths = min_depths(cells, illusion, tmp_path, quick=True)
    assert [p.name for p in paths] == ["min-depth-a5.png"]  # no empty Z60 figure


def test_a_swept_parameter_gets_its_plot_once_a_run_of_the_sweep_has_finished(tmp_path):
    pytest.importorskip("matplotlib")
    from expressivity.runners.reports.plots import along_axes

    hybrid = presets.get("olmo-hybrid")
    m_rows = [f"state-based recall, m = {m}" for m in (16, 64, 256)]  # the m axis: state-based recall along m
    grid = hybrid.grid(protocol="full", rows=m_rows, columns=["hybrid GGGA[-1,1]"])
    for name, status in (("none", "failed"), ("some", "done")):
        statuses = dict.fromkeys(grid.keys, status)
        write_runs(tmp_path / f"{name}.sqlite", grid, [0.95] * len(grid.configs), status=statuses)
        with Store(tmp_path / f"{name}.sqlite") as store:
            cells = table_cells(hybrid, store.rows(), protocol="full")
        paths = along_axes(cells, hybrid, tmp_path, protocol="full")
        assert [p.name for p in paths] == ([] if name == "none" else ["against-m.png"])
