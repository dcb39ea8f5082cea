"""The run commands as a user types them: train, status (with CSV export and the runs that resume from checkpoints),
and their one-line errors."""

import csv
import sqlite3

from typer.testing import CliRunner

from expressivity.runners.cli import app
from expressivity.runners.execution.store import SCHEMA_VERSION, Store
from expressivity.runners.training.config import resolve, run_key
from expressivity.runners.training.train import train

runner = CliRunner()
SHORT = [
    "--set",
    "steps=8",
    "--set",
    "batch_size=32",
    "--set",
    "check_every=4",
    "--set",
    "eval_lengths=5,50",
    "--set",
    "eval_examples=8",
]


def _train(tmp_path, *extra):
    store = str(tmp_path / "r.sqlite")
    return runner.invoke(
        app, ["train", "parity", "lstm", *SHORT, "--store", store, "--quiet", *extra], terminal_width=200
    )


def test_train_prints_accuracy_by_length_stores_the_run_and_skips_a_repeat(tmp_path):
    first = _train(tmp_path)
    assert first.exit_code == 0, first.output
    assert "accuracy by test length" in first.output and "ood" in first.output and "status=done" in first.output
    with Store(tmp_path / "r.sqlite") as st:
        (row,) = st.rows()
    assert row["status"] == "done" and sorted(row["metrics"]) == [5, 50] and row["version"] and row["device"]
    assert not list(tmp_path.glob("checkpoints/*")), "the finished run's checkpoint is removed"
    again = _train(tmp_path)
    assert again.exit_code == 0 and "already done" in again.output
    rerun = _train(tmp_path, "--rerun", "--keep-checkpoint")
    assert rerun.exit_code == 0 and "already" not in rerun.output
    assert list(tmp_path.glob("checkpoints/*.pt"))
    with Store(tmp_path / "r.sqlite") as st:
        assert [e["event"] for e in st.events()] == ["claimed", "done", "requeued", "claimed", "done"]


def test_status_counts_runs_and_exports_csv(tmp_path):
    _train(tmp_path)
    _train(tmp_path, "--set", "lr=1e6", "--set", "warmup=0", "--set", "clip=0")
    out = tmp_path / "runs.csv"
    result = runner.invoke(
        app, ["status", "--store", str(tmp_path / "r.sqlite"), "--csv", str(out)], terminal_width=200
    )
    assert result.exit_code == 0, result.output
    assert "2 runs; 1 done, 1 diverged" in result.output
    assert "grids: (no grid: train) 1/2 done" in result.output
    with Store(tmp_path / "r.sqlite") as st:  # runs of a grid (a preset's protocol, a --set variant) by name
        st.enqueue([resolve("parity", "lstm", {"seed": s}) for s in (5, 6)], grid="g-set-0123abcd")
    shown = runner.invoke(app, ["status", "--store", str(tmp_path / "r.sqlite")], terminal_width=200)
    assert "grids: (no grid: train) 1/2 done; g-set-0123abcd 0/2 done" in shown.output, shown.output
    with open(out) as f:
        rows = list(csv.DictReader(f))
    assert sorted((r["status"], r["length"]) for r in rows) == [("diverged", ""), ("done", "5"), ("done", "50")]


def _one_line_error(args, *expected):
    result = runner.invoke(app, args)
    lines = [line for line in result.output.strip().splitlines() if line]
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error:"), result.output
    for text in expected:
        assert text in lines[0]


def test_unknown_set_key_names_the_valid_ones(tmp_path):
    _one_line_error(
        ["train", "parity", "lstm", "--set", "lrr=1", "--store", str(tmp_path / "r")], "lrr", "lr", "targets"
    )


def test_a_corrupt_or_newer_store_is_a_one_line_error(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_text("not sqlite at all " * 200)
    _one_line_error(["status", "--store", str(bad)], "not a usable results database")
    _one_line_error(["train", "parity", "lstm", *SHORT, "--store", str(bad)], "not a usable results database")
    newer = tmp_path / "newer.sqlite"
    Store(newer).close()
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION + 1),))
    _one_line_error(["status", "--store", str(newer)], "newer")


def test_status_without_a_store(tmp_path):
    _one_line_error(["status", "--store", str(tmp_path / "none.sqlite")], "no result store")


def test_rescore_derives_scaled_accuracy_with_the_tasks_current_chance(tmp_path):
    # A pointer_tracking run scored as if chance were 1/2 (stores made before its chance became the majority guess)
    # is rescored; a parity run, already scored with its chance, is left alone.
    store = str(tmp_path / "r.sqlite")
    _train(tmp_path)
    tracking = ["train", "pointer_tracking", "lstm", *SHORT, "--store", store, "--quiet"]
    assert runner.invoke(app, tracking).exit_code == 0
    with Store(store) as st:
        (parity, old) = st.rows()
        as_if_half = {n: {**m, "scaled_acc": 2 * m["final_acc"] - 1} for n, m in old["metrics"].items()}
        st.rescore(old["key"], as_if_half, old["summary"])
    result = runner.invoke(app, ["rescore", "--store", store])
    assert result.exit_code == 0, result.output
    assert "rescored 1 of 2 runs" in result.output
    with Store(store) as st:
        again_parity, new = st.rows()
        assert again_parity["metrics"] == parity["metrics"]
        for m in new["metrics"].values():
            assert abs(m["scaled_acc"] - (m["final_acc"] - 0.6875) / 0.3125) < 1e-12
        assert new["summary"] == old["summary"]
        assert [e["event"] for e in st.events(new["key"])] == ["claimed", "done", "rescored", "rescored"]
    missing = runner.invoke(app, ["rescore", "--store", str(tmp_path / "none.sqlite")])
    assert missing.exit_code != 0 and "no result store" in missing.output


def test_status_lists_queued_runs_that_resume_from_their_checkpoints_with_the_step(tmp_path):
    configs = [resolve("parity", "lstm", {"steps": 8, "batch_size": 32, "seed": s}) for s in (0, 1, 2)]
    keys = [run_key(c) for c in configs]
    with Store(tmp_path / "r.sqlite") as st:
        st.enqueue(configs)
    folder = tmp_path / "checkpoints"  # as a GPU call's checkpoints come back, beside the store
    train(configs[1], device="cpu", checkpoint=folder / f"{keys[1]}.pt")
    # seed 1's checkpoint under seed 2's name is not seed 2's: a resume would start seed 2 at step 0
    (folder / f"{keys[2]}.pt").write_bytes((folder / f"{keys[1]}.pt").read_bytes())
    result = runner.invoke(app, ["status", "--store", str(tmp_path / "r.sqlite")], terminal_width=300)
    assert result.exit_code == 0, result.output
    resumes = [line for line in result.output.splitlines() if "resumes from its checkpoint" in line]
    assert len(resumes) == 1 and keys[1] in resumes[0] and "at step 8" in resumes[0]
