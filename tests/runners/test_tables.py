"""Tables from a small synthetic store written through the real Store API (synthetic_runs.py): our numbers against a
plain oracle, the published column, the theory verdicts, each format, and the `table` / `reproduce` commands. The
PNGs: test_plots.py."""

import csv
import io
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from synthetic_runs import write_runs
from typer.testing import CliRunner

from expressivity.runners.cli import app
from expressivity.runners.execution.merge import with_reruns
from expressivity.runners.execution.store import Store
from expressivity.runners.reports import presets
from expressivity.runners.reports.tables import render, table_cells

NEG = presets.get("negative-eigenvalues")
QUICK = NEG.grid(quick=True)  # parity (running) x transformer, gdn[0,1], gdn[-1,1] x seeds 0, 1
# What theory expects of each quick column on parity (checked by hand against `expressivity predict`):
EXPECTED = {"transformer": "fails", "gdn[0,1]": "impossible-if-learns", "gdn[-1,1]": "learns"}


def _column(config) -> str:
    if config["arch"] == "gdn":
        return "gdn[-1,1]" if config["model_params"]["neg_eigval"] else "gdn[0,1]"
    return config["arch"]


def _oracle_verdict(column: str, by_column: dict[str, list[float]]) -> str:
    """The verdict by hand. The synthetic runs score the same in and out of distribution, so a cell's own model
    learned in distribution exactly when it learns beyond; the row's positive control is GDN [-1,1] (EXPECT learns)."""
    best = max(by_column[column])
    seen = "learns" if best >= 0.9 else "fails" if best <= 0.1 else "partial"
    taught = best >= 0.9 or max(by_column["gdn[-1,1]"]) >= 0.9
    expected = EXPECTED[column]
    if seen == "partial":
        return "inconclusive"
    if expected == "impossible-if-learns" and seen == "learns":
        return "suspect"  # EXPRESS = no by finite precision, learned beyond the trained lengths
    if seen == "fails" and not taught:
        return "inconclusive (nothing learned)"
    expected = "fails" if expected == "impossible-if-learns" else expected
    return "agree" if seen == expected else "contradict"


values_strategy = st.lists(st.sampled_from([0.0, 0.05, 0.1, 0.5, 0.9, 0.95, 1.0]), min_size=len(QUICK.configs),
                           max_size=len(QUICK.configs))  # fmt: skip


@settings(max_examples=12)
@given(values=values_strategy)
def test_cells_summarise_seeds_like_a_plain_oracle(tmp_path_factory, values):
    path = tmp_path_factory.mktemp("store") / "r.sqlite"
    write_runs(path, QUICK, values)
    with Store(path) as store:
        cells = table_cells(NEG, store.rows(), quick=True)
    by_column: dict[str, list[float]] = {}
    for config, value in zip(QUICK.configs, values, strict=True):
        by_column.setdefault(_column(config), []).append(value)
    assert [c.column for c in cells] == ["transformer", "gdn[0,1]", "gdn[-1,1]"]
    for cell in cells:
        seen = by_column[cell.column]
        assert cell.row == "parity (running)" and cell.done == cell.runs == 2
        assert cell.best == pytest.approx(max(seen)) and cell.mean == pytest.approx(sum(seen) / len(seen))
        assert cell.verdict == _oracle_verdict(cell.column, by_column)
        assert set(cell.curve) == set(QUICK.configs[0]["train"]["eval_lengths"])  # a point per test length


def test_published_numbers_sit_beside_ours_and_runs_not_done_are_not_scored(tmp_path):
    path = tmp_path / "r.sqlite"
    failed = {
        k for k, c in zip(QUICK.keys, QUICK.configs, strict=True) if c["arch"] == "transformer" and c["seed"] == 1
    }
    write_runs(path, QUICK, [0.5] * len(QUICK.configs), status=dict.fromkeys(failed, "failed"))
    with Store(path) as store:
        cells = {c.column: c for c in table_cells(NEG, store.rows(), quick=True)}
    # The quick row (running parity) is compared with the table's parity row.
    assert cells["gdn[-1,1]"].published.value == 1.0 and cells["gdn[-1,1]"].published.source == "mamba3"
    assert cells["transformer"].published.value == 0.022 and cells["gdn[0,1]"].published is None
    assert (cells["transformer"].done, cells["transformer"].runs) == (1, 2)


def test_runs_made_with_other_settings_are_not_the_protocols_even_under_its_grid_name(tmp_path):
    path = tmp_path / "r.sqlite"
    write_runs(path, QUICK, [1.0] * len(QUICK.configs))
    other = NEG.grid(quick=True, sets={"steps": 7})
    assert other.name.startswith(f"{QUICK.name}-set-") and set(other.keys).isdisjoint(QUICK.keys)
    # queued under the protocol's own grid name, as `reproduce --set` did before grids with sets had their own names
    write_runs(path, replace(other, name=QUICK.name), [0.0] * len(other.configs))
    with Store(path) as store:
        rows = store.rows()
    assert {(c.best, c.mean, c.done) for c in table_cells(NEG, rows, quick=True)} == {(1.0, 1.0, 2)}
    assert {(c.best, c.mean, c.done) for c in table_cells(NEG, rows, quick=True, sets={"steps": 7})} == {(0.0, 0.0, 2)}
    shown = runner.invoke(app, ["table", "negative-eigenvalues", "--quick", "--set", "steps=7", "--store", str(path)])
    assert shown.exit_code == 0 and other.name in shown.output and "--set steps=7" in shown.output, shown.output


def test_markdown_csv_and_latex_render_every_cell(tmp_path):
    path = tmp_path / "r.sqlite"
    values = [0.0 if _column(c) in ("transformer", "gdn[0,1]") else 1.0 for c in QUICK.configs]
    write_runs(path, QUICK, values)
    with Store(path) as store:
        cells = table_cells(NEG, store.rows(), quick=True)
    md = render(cells, NEG, "markdown", quick=True)
    head = "| parity (running) |"
    assert head + " gdn[-1,1] | 1.000 | - | 1.000 | [1.000, 1.000] | 2/2 | 0 / 0.17 | 1.000 (proxy) | mamba3 |" in md
    assert head + " transformer | 0.000 | - | 0.000 | [0.000, 0.000] | 2/2 | 0 / 0.17 | 0.022 (proxy) |" in md
    assert "Sources:" in md and "Mamba-3" in md
    assert "(proxy) parity (running): the published figure is for parity_check" in md
    rows = list(csv.DictReader(io.StringIO(render(cells, NEG, "csv", quick=True))))
    assert len(rows) == 3 and {r["preset"] for r in rows} == {"negative-eigenvalues-quick"}
    for protocol, name in (("testbed-v1", "negative-eigenvalues"), (None, "negative-eigenvalues-reduced")):
        named = csv.DictReader(io.StringIO(render(cells, NEG, "csv", protocol=protocol)))
        assert {r["preset"] for r in named} == {name}  # the grid of the protocol the table shows
    assert {r["model"]: r["verdict"] for r in rows} == {"transformer": "agree", "gdn[0,1]": "agree",
                                                         "gdn[-1,1]": "agree"}  # fmt: skip
    tex = render(cells, NEG, "latex", quick=True)
    assert tex.count("\\\\") == 4 and "\\begin{tabular}" in tex and "\\end{tabular}" in tex
    assert (
        "parity (running) & gdn[-1,1] & 1.000 & - & 1.000 & [1.000, 1.000] & 2/2 & 0 / 0.17 & 1.000 (proxy) & mamba3"
        in tex
    )
    with pytest.raises(ValueError, match="markdown, csv, latex"):
        render(cells, NEG, "html")


def test_reruns_from_another_store_widen_a_cells_spread_and_are_counted_apart(tmp_path):
    """`table --also`: every run of the grid run again elsewhere (same keys, other results): best, mean and spread
    read all four runs of a cell, its done count stays 2 of 2, and the table says 2 reruns."""
    ours, theirs = tmp_path / "r.sqlite", tmp_path / "rerun.sqlite"
    write_runs(ours, QUICK, [1.0] * len(QUICK.configs))
    write_runs(theirs, QUICK, [0.5] * len(QUICK.configs))
    with Store(ours) as store:
        rows = with_reruns(store.rows(), theirs)
    cells = {c.column: c for c in table_cells(NEG, rows, quick=True)}
    cell = cells["gdn[-1,1]"]
    assert (cell.best, cell.mean, cell.worst, cell.done, cell.runs, cell.reruns) == (1.0, 0.75, 0.5, 2, 2, 2)
    md = render(list(cells.values()), NEG, "markdown", quick=True)
    assert "| gdn[-1,1] | 1.000 | - | 0.750 | [0.500, 1.000] | 2/2 +2 reruns |" in md
    assert "counts its GPU reruns (same run keys) in best, mean and spread" in md
    assert "GPU reruns" not in render(table_cells(NEG, rows[: len(QUICK.configs)], quick=True), NEG, quick=True)
    table = ["table", "negative-eigenvalues", "--quick", "--store", str(ours), "--also"]
    shown = runner.invoke(app, [*table, str(theirs)])
    assert shown.exit_code == 0 and "2/2 +2 reruns" in shown.output, shown.output
    itself = runner.invoke(app, [*table, str(ours)])
    assert itself.exit_code != 0 and "is the --store itself" in itself.output


def test_depth_metric_is_the_smallest_depth_whose_best_seed_passes(tmp_path):
    illusion = presets.get("illusion-of-state")
    grid = illusion.grid(quick=True)
    # depth 2 passes for every cell, depth 1 only for A5 @ 8 (row 0)
    shallow_ok = {("A5", 8)}
    values = [
        0.95
        if c["model_params"]["n_layers"] == 2
        or (c["task_params"]["group"], c["train"]["train_max_length"]) in shallow_ok
        else 0.3
        for c in grid.configs
    ]
    write_runs(tmp_path / "r.sqlite", grid, values)
    with Store(tmp_path / "r.sqlite") as store:
        cells = table_cells(illusion, store.rows(), quick=True)
    assert {(c.row, c.best) for c in cells} == {("A5 @ 8", 1.0), ("A5 @ 16", 2.0), ("Z60 @ 8", 2.0), ("Z60 @ 16", 2.0)}
    md = render(cells, illusion, "markdown", quick=True)
    assert "| A5 @ 8 | transformer | 1 | - | - | [1, 1] |" in md  # one seed: its min depth is the spread


def test_rows_of_one_task_split_runs_by_their_parameters(tmp_path):
    # alternations has padded and unpadded BFE rows: the unpadded one (defaults) must not also take the padded runs.
    alternations = presets.get("alternations")
    grid = alternations.grid()
    write_runs(tmp_path / "r.sqlite", grid, [0.5] * len(grid.configs))
    with Store(tmp_path / "r.sqlite") as store:
        cells = table_cells(alternations, store.rows())
    assert len(cells) == 15
    assert {(c.done, c.runs) for c in cells} == {(3, 3)}


def test_a_depth_cell_shows_the_spread_of_its_seeds_min_depths(tmp_path):
    from dataclasses import replace

    illusion = presets.get("illusion-of-state")
    full = illusion.grid(protocol="reduced")

    def a5_8_transformer(c):
        return c["arch"] == "transformer" and c["task_params"]["group"] == "A5" and c["train"]["train_max_length"] == 8

    grid = replace(full, configs=[c for c in full.configs if a5_8_transformer(c)])  # depths 1-4 x seeds 0-2
    assert {(c["model_params"]["n_layers"], c["seed"]) for c in grid.configs} == {
        (d, s) for d in (1, 2, 3, 4) for s in (0, 1, 2)
    }
    passing = {0: 1, 1: 3, 2: None}  # seed -> the smallest depth that passes (and every deeper one); 2: none does
    values = [
        0.95 if passing[c["seed"]] is not None and c["model_params"]["n_layers"] >= passing[c["seed"]] else 0.2
        for c in grid.configs
    ]
    write_runs(tmp_path / "r.sqlite", grid, values)
    with Store(tmp_path / "r.sqlite") as store:
        cells = table_cells(illusion, store.rows(), protocol="reduced")
    (cell,) = [c for c in cells if c.done]
    assert (cell.row, cell.column, cell.best, cell.worst) == ("A5 @ 8", "transformer", 1.0, float("inf"))
    line = next(
        line for line in render(cells, illusion, protocol="reduced").splitlines() if "| A5 @ 8 | transformer" in line
    )
    assert "| 1 | - | - | [1, > 4] |" in line
    values = [0.95 if c["model_params"]["n_layers"] >= (1 if c["seed"] == 0 else 3) else 0.2 for c in grid.configs]
    write_runs(tmp_path / "s.sqlite", grid, values)
    with Store(tmp_path / "s.sqlite") as store:
        (cell,) = [c for c in table_cells(illusion, store.rows(), protocol="reduced") if c.done]
    assert (cell.best, cell.worst) == (1.0, 3.0)


def test_a_row_whose_length_no_model_learned_reads_inconclusive_not_the_sweeps_agree(tmp_path):
    from dataclasses import replace

    illusion = presets.get("illusion-of-state")
    full = illusion.grid(protocol="reduced")
    lstm_s5 = [c for c in full.configs if c["arch"] == "lstm" and c["task_params"]["group"] == "S5"]
    grid = replace(full, configs=lstm_s5)  # lengths 8-64 x seeds 0-2: the control learns all but 64
    write_runs(tmp_path / "r.sqlite", grid, [0.99 if c["train"]["train_max_length"] < 64 else 0.5 for c in lstm_s5])
    with Store(tmp_path / "r.sqlite") as store:
        verdicts = {c.row: c.verdict for c in table_cells(illusion, store.rows(), protocol="reduced") if c.done}
    left_out = "agree (no model learned length 64: left out)"
    assert verdicts == {"S5 @ 8": left_out, "S5 @ 16": left_out, "S5 @ 32": left_out,
                        "S5 @ 64": "inconclusive (no model learned length 64)"}  # fmt: skip


def test_a_row_whose_depth_sweep_is_unfinished_reads_so_not_the_sweeps_agree(tmp_path):
    from dataclasses import replace

    illusion = presets.get("illusion-of-state")
    full = illusion.grid(protocol="reduced")
    a5 = [c for c in full.configs if c["arch"] == "transformer" and c["task_params"]["group"] == "A5"]
    length, depth = (lambda c: c["train"]["train_max_length"]), (lambda c: c["model_params"]["n_layers"])
    ran = [c for c in a5 if length(c) < 64 or depth(c) == 1]  # at 64 only depth 1 has run, as --next-depths leaves it
    needed = {8: 1, 16: 2, 32: 3}  # and at 64 depth 1 fails
    write_runs(tmp_path / "r.sqlite", replace(full, configs=ran),
           [0.95 if length(c) < 64 and depth(c) >= needed[length(c)] else 0.2 for c in ran])  # fmt: skip
    with Store(tmp_path / "r.sqlite") as store:
        verdicts = {c.row: c.verdict for c in table_cells(illusion, store.rows(), protocol="reduced") if c.done}
    grows = "agree (sweep unfinished at length 64: left out)"
    assert verdicts == {"A5 @ 8": grows, "A5 @ 16": grows, "A5 @ 32": grows,
                        "A5 @ 64": "inconclusive (sweep unfinished at length 64)"}  # fmt: skip


runner = CliRunner()


def test_table_command_formats_plots_and_errors(tmp_path):
    store = tmp_path / "r.sqlite"
    write_runs(store, QUICK, [1.0] * len(QUICK.configs))
    shown = runner.invoke(app, ["table", "--store", str(store)], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    assert "negative-eigenvalues-quick" in shown.output and "olmo-hybrid" not in shown.output
    out = tmp_path / "t.csv"
    args = ["table", "negative-eigenvalues", "--store", str(store), "--format", "csv", "--out", str(out)]
    written = runner.invoke(app, [*args, "--plot", str(tmp_path / "png")])
    assert written.exit_code == 0, written.output
    assert len(list(csv.DictReader(out.open()))) == 3
    if __import__("importlib").util.find_spec("matplotlib"):
        assert (tmp_path / "png" / "heatmap.png").is_file()
    bad = runner.invoke(app, ["table", "nope", "--store", str(store)])
    assert bad.exit_code == 2 and "valid: olmo-hybrid, negative-eigenvalues" in bad.output
    assert runner.invoke(app, ["table", "--format", "html", "--store", str(store)]).exit_code == 2
    assert runner.invoke(app, ["table", "--store", str(tmp_path / "none.sqlite")]).exit_code == 2


def test_a_protocol_asked_for_is_shown_even_before_it_has_runs(tmp_path):
    """Only quick runs in the store: without --protocol the table falls back to the quick grid; `--protocol reduced`
    shows the reduced table, its cells "no runs", rather than the quick one under another name."""
    store = tmp_path / "r.sqlite"
    write_runs(store, QUICK, [1.0] * len(QUICK.configs))
    plain = runner.invoke(app, ["table", "negative-eigenvalues", "--store", str(store)], terminal_width=200)
    assert plain.exit_code == 0 and "negative-eigenvalues-quick" in plain.output, plain.output
    asked = ["table", "negative-eigenvalues", "--protocol", "reduced", "--store", str(store)]
    shown = runner.invoke(app, asked, terminal_width=200)
    assert shown.exit_code == 0, shown.output
    assert "negative-eigenvalues-reduced" in shown.output and "negative-eigenvalues-quick" not in shown.output
    assert "no runs" in shown.output


def test_reproduce_dry_run_lists_runs_with_their_stored_status(tmp_path):
    store = tmp_path / "r.sqlite"
    write_runs(store, QUICK, [1.0] * len(QUICK.configs))
    result = runner.invoke(app, ["reproduce", "negative-eigenvalues", "--quick", "--dry-run", "--store", str(store)])
    assert result.exit_code == 0, result.output
    assert (
        result.output.count(" done ") == len(QUICK.configs) and "6 runs in negative-eigenvalues-quick" in result.output
    )
    assert "GPU grid is needed" in result.output
    full = runner.invoke(app, ["reproduce", "chomsky", "--dry-run", "--store", str(store)])
    assert full.exit_code == 0 and " done " not in full.output
    assert "90 runs in chomsky-reduced (steps 10000)" in full.output  # the default protocol: Deletang et al.'s, reduced
    seed = runner.invoke(app, ["reproduce", "chomsky", "--dry-run", "--seed", "1", "--store", str(store)])
    assert seed.exit_code == 0 and "30 runs in chomsky-reduced" in seed.output and "/seed0" not in seed.output


def test_reproduce_only_checkpointed_lists_only_the_runs_whose_checkpoints_are_beside_the_store(tmp_path):
    from expressivity.runners.training.config import run_key
    from expressivity.runners.training.train import train

    store = tmp_path / "r.sqlite"
    grid = NEG.grid(quick=True, sets={"steps": 2, "eval_examples": 8}, columns=["transformer"])
    args = ["reproduce", "negative-eigenvalues", "--quick", "--set", "steps=2", "--set", "eval_examples=8",
            "--column", "transformer", "--only-checkpointed", "--store", str(store)]  # fmt: skip
    refused = runner.invoke(app, [*args, "--dry-run"])
    assert refused.exit_code != 0 and "none of the 2 runs selected has a checkpoint" in refused.output
    carried = grid.configs[1]
    train(carried, device="cpu", checkpoint=tmp_path / "checkpoints" / f"{run_key(carried)}.pt")
    listed = runner.invoke(app, [*args, "--dry-run"], terminal_width=200)
    assert listed.exit_code == 0 and "1 runs in negative-eigenvalues-quick" in listed.output, listed.output
    assert run_key(carried) in listed.output and run_key(grid.configs[0]) not in listed.output


def test_reproduce_keep_checkpoints_leaves_each_finished_runs_weights_beside_the_store(tmp_path):
    # A pilot's final weights are what benchmarks/attention_probe.py reads: without the flag they are deleted.
    grid = NEG.grid(quick=True, sets={"steps": 2, "eval_examples": 8}, columns=["transformer"])
    for folder, flag in (("plain", []), ("kept", ["--keep-checkpoints"])):
        store = tmp_path / folder / "r.sqlite"
        args = ["reproduce", "negative-eigenvalues", "--quick", "--set", "steps=2", "--set", "eval_examples=8",
                "--column", "transformer", "--store", str(store), "--cpu", "--cpu-workers", "1", *flag]  # fmt: skip
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    assert not list((tmp_path / "plain" / "checkpoints").glob("*.pt"))
    assert {p.stem for p in (tmp_path / "kept" / "checkpoints").glob("*.pt")} == set(grid.keys)


def test_reproduce_retry_failed_runs_a_failed_run_again_and_leaves_done_ones_and_logs_where_told(tmp_path):
    store = tmp_path / "r.sqlite"
    grid = NEG.grid(quick=True, sets={"steps": 2, "eval_examples": 8}, columns=["transformer"])
    failed, done = grid.keys
    write_runs(store, grid, [0.5, 0.5], status={failed: "failed"})
    args = ["reproduce", "negative-eigenvalues", "--quick", "--set", "steps=2", "--set", "eval_examples=8",
            "--column", "transformer", "--store", str(store), "--cpu", "--cpu-workers", "1"]  # fmt: skip
    again = runner.invoke(app, args)  # without the flag a failed run is finished: nothing runs
    assert again.exit_code == 1 and "1 done, 1 failed" in again.output
    retried = runner.invoke(app, [*args, "--retry-failed", "--log-dir", str(tmp_path / "pilot-logs")])
    assert retried.exit_code == 0, retried.output
    assert list((tmp_path / "pilot-logs").glob("worker-*.log"))  # the worker's log where --log-dir said
    with Store(store) as st:
        rows = {r["key"]: r for r in st.rows(keys=grid.keys)}
    assert rows[failed]["status"] == "done" and rows[failed]["steps"] == 2
    assert rows[done]["steps"] == 1  # the done run was not trained again


def test_a_cell_of_a_grid_under_way_counts_its_runs_done_against_all_the_grid_plans():
    # Illusion of State's GDN cell is a depth sweep (1-4) of 3 seeds: with only its depth-1 runs made, the cell
    # says 3 of 12 done, not 3 of 3; a cell with no run made says 0 of 12.
    preset = presets.get("illusion-of-state")
    one = preset.grid(protocol="reduced", rows=["A5 @ 8"], columns=["gdn[-1,1]"], depths=[1])
    rows = [{"key": k, "config": c, "status": "done", "summary": {"id": {"final_acc": 0.02}}}
            for k, c in zip(one.keys, one.configs, strict=True)]  # fmt: skip
    cells = {(c.row, c.column): c for c in table_cells(preset, rows, protocol="reduced")}
    assert (cells["A5 @ 8", "gdn[-1,1]"].done, cells["A5 @ 8", "gdn[-1,1]"].runs) == (3, 12)
    assert (cells["A5 @ 16", "gdn[-1,1]"].done, cells["A5 @ 16", "gdn[-1,1]"].runs) == (0, 12)
    assert cells["A5 @ 16", "lstm"].runs == 3 and cells["A5 @ 16", "lstm"].verdict == "no runs"


def test_the_metric_line_names_the_rows_that_read_another_split():
    hybrid = presets.get("olmo-hybrid")  # the m axis's rows are tested in distribution, the n axis's beyond it
    text = render(table_cells(hybrid, [], protocol="full"), hybrid, protocol="full")
    metric = next(line for line in text.splitlines() if line.startswith("Metric:"))
    assert metric.startswith("Metric: ood scaled_acc")
    assert all(f"row state-based recall, m = {m}: id scaled_acc" in metric for m in (16, 64, 256))
    assert "state-based recall (n):" not in metric
