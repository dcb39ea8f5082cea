"""`expressivity merge` (execution/merge.py): another store's runs come in where they are further along, with their
events; nothing either store holds is lost; a bad source changes nothing. And `check --also`: a rerun that a merge
keeps out is scored beside the run it repeats."""

import shutil
from pathlib import Path

from typer.testing import CliRunner

from expressivity.runners.cli import app
from expressivity.runners.execution.merge import merge, with_reruns
from expressivity.runners.execution.owners import owner_id
from expressivity.runners.execution.store import Store
from expressivity.runners.training.config import resolve, run_key

CONFIGS = [resolve("parity", "lstm", {"steps": 1, "seed": i, "eval_lengths": [8]}) for i in range(5)]
KEYS = [run_key(c) for c in CONFIGS]


def _finish(store: Store, i: int, acc: float, status: str = "done") -> None:
    owner = owner_id()
    store.claim(owner, [KEYS[i]])
    metrics = {8: {"final_acc": acc, "token_acc": acc, "seq_acc": 0.0, "scaled_acc": acc}}
    store.finish(KEYS[i], owner, {"status": status, "metrics": metrics, "steps": 1, "device": "cpu", "error": None})


def _stores(tmp_path):
    """Ours: run 0 done (0.9), runs 1-2 queued. Theirs, copied from ours and run on: run 0 done again with another
    result (a rerun), run 1 done, run 2 failed; runs 3 and 4 new, 3 left running by a cut-off call, 4 done."""
    ours, theirs = tmp_path / "ours.sqlite", tmp_path / "theirs.sqlite"
    with Store(ours) as st:
        st.enqueue(CONFIGS[:3], grid="g")
        _finish(st, 0, 0.9)
        st.claim(owner_id(), [KEYS[1]])  # a drive stopped early gave run 1 back: its "claimed" event stays
        st.release(KEYS[1], owner_id())
    shutil.copy(ours, theirs)
    with Store(theirs) as st:
        st.conn.execute("UPDATE runs SET status = 'queued' WHERE key = ?", (KEYS[0],))  # a rerun of one key
        _finish(st, 0, 0.7)
        _finish(st, 1, 0.8)
        _finish(st, 2, 0.0, status="failed")
        st.enqueue(CONFIGS[3:], grid="g")
        st.claim(owner_id(), [KEYS[3]])
        _finish(st, 4, 1.0)
    return ours, theirs


def test_runs_further_along_come_in_with_their_events_and_ours_are_kept(tmp_path):
    ours, theirs = _stores(tmp_path)
    with Store(ours) as st:
        counts = merge(st, theirs)
        rows = {r["key"]: r for r in st.rows()}
        events = {k: [e["event"] for e in st.events(k)] for k in KEYS}
    assert counts == {"added": 2, "updated": 2, "kept": 1, "differing": 1}
    assert [rows[k]["status"] for k in KEYS] == ["done", "done", "failed", "queued", "done"]
    assert rows[KEYS[0]]["metrics"][8]["final_acc"] == 0.9  # finished in both: ours stays
    assert rows[KEYS[1]]["metrics"][8]["final_acc"] == 0.8 and rows[KEYS[4]]["metrics"][8]["final_acc"] == 1.0
    assert rows[KEYS[3]]["owner"] is None and events[KEYS[3]] == ["claimed"]  # left running there: queued here
    # the events the copy shared with ours are not doubled
    assert events[KEYS[0]] == ["claimed", "done"] and events[KEYS[1]] == ["claimed", "claimed", "done"]
    assert events[KEYS[4]] == ["claimed", "done"]
    with Store(ours) as st:  # merging again changes nothing
        assert merge(st, theirs) == {"added": 0, "updated": 0, "kept": 3, "differing": 1}
        assert len(st.events()) == sum(map(len, events.values()))


def test_merge_command_reports_and_a_bad_source_changes_nothing(tmp_path):
    ours, theirs = _stores(tmp_path)
    runner = CliRunner()
    done = runner.invoke(app, ["merge", str(theirs), "--store", str(ours)])
    said = "2 added, 2 updated, 1 finished in both kept as ours (1 of them differ)"
    assert done.exit_code == 0 and said in done.output, done.output
    before = ours.read_bytes()
    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_bytes(b"not a database" * 100)
    for bad, says in ((corrupt, "not a usable results database"), (tmp_path / "none.sqlite", "no result store")):
        result = runner.invoke(app, ["merge", str(bad), "--store", str(ours)])
        assert result.exit_code == 2 and says in result.output, result.output
    assert ours.read_bytes() == before


def test_merge_grid_files_a_pilots_runs_under_the_preset_grid_they_belong_to(tmp_path):
    """A pilot grid whose runs have a preset grid's keys joins that grid (`--grid`); a run that is not one of the
    grid's, or a name that is no preset grid, is a one-line error that changes nothing."""
    from expressivity.runners.reports import presets

    configs = presets.get("olmo-hybrid").grid(protocol="full").configs[:2]
    pilot, stray, ours = tmp_path / "pilot.sqlite", tmp_path / "stray.sqlite", tmp_path / "ours.sqlite"
    with Store(pilot) as st:
        st.enqueue(configs, grid="olmo-hybrid-pilot-x")
    with Store(stray) as st:
        st.enqueue([*configs, CONFIGS[0]], grid="olmo-hybrid-pilot-y")
    with Store(ours) as st:
        st.enqueue(CONFIGS[:1], grid="g")
    runner = CliRunner()
    before = ours.read_bytes()
    for args, says in (
        ([str(stray), "--grid", "olmo-hybrid-full"], f"1 run(s) are not in grid olmo-hybrid-full (e.g. {KEYS[0]})"),
        ([str(pilot), "--grid", "olmo-hybrid-huge"], "valid: olmo-hybrid-reduced, olmo-hybrid-full, olmo-hybrid,"),
    ):
        result = runner.invoke(app, ["merge", *args, "--store", str(ours)])
        assert result.exit_code == 2 and says in result.output, result.output
    assert ours.read_bytes() == before
    done = runner.invoke(app, ["merge", str(pilot), "--grid", "olmo-hybrid-full", "--store", str(ours)])
    assert done.exit_code == 0 and "2 added" in done.output, done.output
    with Store(ours, readonly=True) as st:
        grids = {r["key"]: r["grid"] for r in st.rows()}
    assert grids == {KEYS[0]: "g", **{run_key(c): "olmo-hybrid-full" for c in configs}}


def test_reruns_join_the_grid_of_the_run_they_repeat_and_other_runs_keep_theirs(tmp_path):
    ours, theirs = _stores(tmp_path)
    with Store(theirs) as st:
        st.conn.execute("UPDATE runs SET grid = 'rerun'")
    with Store(ours) as st:
        rows = st.rows()
    joined = with_reruns(rows, theirs)
    assert joined[: len(rows)] == rows
    added = [(r["key"], r["grid"], r["metrics"][8]["final_acc"]) for r in joined[len(rows) :]]
    # run 0 again (a rerun: 0.7 beside ours 0.9) and run 1 in ours' grid; run 4, a key ours lacks, in its own; the
    # failed run 2 and the running run 3 are not results
    assert sorted(added) == sorted([(KEYS[0], "g", 0.7), (KEYS[1], "g", 0.8), (KEYS[4], "rerun", 1.0)])
    with Store(ours) as st:
        assert st.rows() == rows  # only read


RESULTS = Path(__file__).resolve().parents[2] / "results" / "olmo-hybrid"


def test_check_also_scores_the_committed_gpu_rerun_beside_the_m_64_run_it_repeats():
    """The m axis's m = 64 hybrid, seed 0, run again on a card with the same key (rerun-m-axis-m64.sqlite): 0.942
    committed, 0.605 rerun. Its cell then holds 4 runs, best still 1.00 (seed 2), mean 0.61, not 3 with 0.90."""
    runner, wide = CliRunner(), {"COLUMNS": "250"}
    alone = runner.invoke(app, ["check", "--store", str(RESULTS / "runs.sqlite")], env=wide)
    both = runner.invoke(
        app, ["check", "--store", str(RESULTS / "runs.sqlite"), "--also", str(RESULTS / "rerun-m-axis-m64.sqlite")],
        env=wide,
    )  # fmt: skip
    assert alone.exit_code == both.exit_code == 0, both.output
    assert " 64:1.00/0.90(3) " in alone.output and " 64:1.00/0.61(4) " in both.output
    listed = runner.invoke(
        app,
        [
            "check",
            "--store",
            str(RESULTS / "runs.sqlite"),
            "--also",
            str(RESULTS / "rerun-m-axis-m64.sqlite"),
            "--runs",
        ],
        env=wide,
    )
    assert "492c08cd0075c464 (seed 0, done), " in listed.output  # the committed run, then its rerun marked as one
    assert "492c08cd0075c464 (seed 0, done, rerun)" in listed.output
    for other, says in (("none.sqlite", "no result store at"), ("runs.sqlite", "is the --store itself")):
        bad = runner.invoke(app, ["check", "--store", str(RESULTS / "runs.sqlite"), "--also", str(RESULTS / other)])
        assert bad.exit_code != 0 and says in bad.output and len(bad.output.strip().splitlines()) == 1
