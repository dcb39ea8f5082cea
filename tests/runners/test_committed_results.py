"""The committed GPU results (results/): each store opens under the current schema, holds the runs its README
reports, renders its table, and no cell is IMPOSSIBLE under the current theory. A change to the schema, the presets or
the predictions that breaks this must update results/ too."""

from pathlib import Path

import pytest

from expressivity.runners.cli.shared import rows_with_reruns
from expressivity.runners.execution.store import Store
from expressivity.runners.reports import presets
from expressivity.runners.reports.tables import render, select, table_cells
from expressivity.theory.check import check

RESULTS = Path(__file__).resolve().parents[2] / "results"


def _rows(path: Path) -> list[dict]:
    assert path.is_file(), f"{path} is committed with results/README.md and must stay"
    with Store(path, readonly=True) as st:
        return st.rows()


def _rows_and_reruns(name: str) -> list[dict]:
    """A preset's store rows with the GPU reruns beside it (rerun-*.sqlite), as results/render.sh reads them."""
    return rows_with_reruns(RESULTS / name / "runs.sqlite", sorted((RESULTS / name).glob("rerun-*.sqlite")))


# A preset's results are checked once its folder is committed: a new preset does not fail the suite before its GPU
# store exists, and a committed folder must keep its store. Its PROTOCOL file names the protocol variant it ran.
COMMITTED = [name for name in presets.names() if (RESULTS / name).is_dir()]


def _protocol(name: str) -> str:
    path = RESULTS / name / "PROTOCOL"
    return path.read_text().strip() if path.is_file() else "testbed-v1"


def test_negative_eigenvalues_is_complete_and_renders_what_results_readme_reports():
    rows = _rows(RESULTS / "negative-eigenvalues" / "runs.sqlite")
    preset, protocol = presets.get("negative-eigenvalues"), _protocol("negative-eigenvalues")
    chosen = select(preset, rows, protocol=protocol)
    assert len(chosen) == len(preset.grid(protocol=protocol).keys) == 96
    assert all(r["status"] == "done" and "H200" in r["device"] for r in chosen)
    assert all(r["status"] in ("done", "queued") for r in rows)  # a paper-protocol grid may be under way beside it
    cells = {(c.row, c.column): c for c in table_cells(preset, rows, protocol=protocol)}
    assert cells[("parity (running)", "gdn[-1,1]")].best > 0.8 > 0.1 > cells[("parity (running)", "gdn[0,1]")].best
    assert (RESULTS / "negative-eigenvalues" / "table.md").read_text().strip() == render(
        list(cells.values()), preset, protocol=protocol
    ).strip()


@pytest.mark.parametrize("name", COMMITTED)
def test_every_preset_is_complete_and_its_committed_table_renders_from_its_store(name):
    # The table.md under results/ is what `expressivity table NAME --store results/NAME/runs.sqlite` (with --also for
    # each rerun-*.sqlite beside it) prints today: a change to scoring, matching or rendering must regenerate it
    # (results/render.sh; results/PRESET/PROVENANCE.md has the commands).
    rows = _rows(RESULTS / name / "runs.sqlite")
    preset, protocol = presets.get(name), _protocol(name)
    chosen = select(preset, rows, protocol=protocol)
    assert len(chosen) == len(preset.grid(protocol=protocol).keys)
    # The committed protocol's runs are all done on the card; runs of a reduced grid under way may be queued.
    assert all(r["status"] == "done" and "H200" in r["device"] for r in chosen)
    assert all(r["status"] in ("done", "queued") for r in rows)
    cells = table_cells(preset, _rows_and_reruns(name), protocol=protocol)
    assert all(c.done == c.runs > 0 for c in cells), "every cell has its runs, each done"
    assert (RESULTS / name / "table.md").read_text().strip() == render(cells, preset, protocol=protocol).strip()


PAPER_TABLES = sorted(f"{p.parent.name}/{p.stem.removeprefix('table-')}" for p in RESULTS.glob("*/table-*.md"))


@pytest.mark.parametrize("table", PAPER_TABLES)
def test_a_committed_paper_protocol_table_renders_from_its_store(table):
    # A grid under way at a paper's protocol (reduced or full): its table-VARIANT.md (results/render.sh) shows the
    # runs done so far.
    name, variant = table.split("/")
    rows = _rows_and_reruns(name)
    preset = presets.get(name)
    cells = table_cells(preset, rows, protocol=variant)
    assert any(c.done for c in cells), f"a {variant} table is committed once some of its runs are"
    committed = (RESULTS / name / f"table-{variant}.md").read_text().strip()
    assert committed == render(cells, preset, protocol=variant).strip()


STORES = [f"{name}/runs.sqlite" for name in COMMITTED]
STORES += ["negative-eigenvalues/curriculum.sqlite", "illusion-of-state/probe.sqlite"]
STORES += ["olmo-hybrid/curriculum-cpu.sqlite", "olmo-hybrid/tracking-probe-cpu.sqlite"]


@pytest.mark.parametrize("store", STORES)
def test_no_committed_result_beats_an_expressivity_bound(store):
    rows = [r for r in _rows(RESULTS / store) if r["status"] == "done"]
    assert rows and not [c for c in check(rows) if c.verdict == "impossible"]
