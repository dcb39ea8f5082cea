"""The SQLite result store: schema checks, the claim / finish protocol, concurrent writers, CSV export."""

import csv
import multiprocessing
import sqlite3
import subprocess
import sys

import pytest

from expressivity.runners.execution.owners import owner_id
from expressivity.runners.execution.store import SCHEMA_VERSION, Store, StoreError
from expressivity.runners.training.config import resolve


def _config(i: int, task: str = "parity") -> dict:
    """A resolved config (the store keeps it and gives it back as `resolve` returns it)."""
    return resolve(task, "lstm", {"steps": 1, "seed": i, "eval_lengths": [8, 64]})


def _result(i: int) -> dict:
    metrics = {n: {"final_acc": i / 100, "token_acc": 0.5, "seq_acc": 0.0, "scaled_acc": 0.0} for n in (8, 64)}
    return {"status": "done", "metrics": metrics, "steps": i, "train_seconds": 0.1, "device": "cpu"}


def test_new_store_records_schema_and_uses_wal(tmp_path):
    with Store(tmp_path / "r.sqlite") as st:
        assert st.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        version = st.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
        assert int(version) == SCHEMA_VERSION


def test_newer_schema_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "r.sqlite"
    Store(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION + 1),))
    before = path.read_bytes()
    with pytest.raises(StoreError, match="newer"):
        Store(path)
    assert path.read_bytes() == before


def test_corrupt_file_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "r.sqlite"
    path.write_bytes(b"this is not a database, it is a text file" * 100)
    before = path.read_bytes()
    with pytest.raises(StoreError, match="not a usable results database"):
        Store(path)
    assert path.read_bytes() == before


def test_foreign_sqlite_file_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="not a results database"):
        Store(path)
    assert path.read_bytes() == before


def test_enqueue_is_idempotent_and_claims_follow_key_order(tmp_path):
    with Store(tmp_path / "r.sqlite") as st:
        configs = [_config(i) for i in range(3)]
        assert st.enqueue(configs) == 3
        assert st.enqueue(configs) == 0
        keys = [r["key"] for r in st.rows()]
        me = owner_id()
        assert st.claim(me, [keys[2], keys[0]])[0] == keys[2]
        assert st.claim(me, [keys[2], keys[0]])[0] == keys[0]
        assert st.claim(me, [keys[2], keys[0]]) is None  # both running under a live owner
        assert st.counts() == {"queued": 1, "running": 2, "done": 0, "diverged": 0, "failed": 0}


def test_only_the_owner_finishes_and_only_once(tmp_path):
    with Store(tmp_path / "r.sqlite") as st:
        st.enqueue([_config(0)])
        key, config = st.claim(owner_id())
        assert config["seed"] == 0
        assert not st.finish(key, "elsewhere:1:1", _result(1))
        assert st.finish(key, owner_id(), _result(7))
        assert not st.finish(key, owner_id(), _result(8))
        row = st.get(key)
        assert row["status"] == "done" and row["steps"] == 7
        assert row["metrics"][64]["final_acc"] == 0.07  # length keys come back as ints
        assert [e["event"] for e in st.events(key)] == ["claimed", "done"]


def test_runs_of_a_dead_owner_are_claimed_again(tmp_path):
    child = subprocess.run(
        [sys.executable, "-c", "from expressivity.runners.execution.owners import owner_id; print(owner_id())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = child.stdout.strip()
    with Store(tmp_path / "r.sqlite") as st:
        st.enqueue([_config(0)])
        key, _ = st.claim(dead)
        assert st.claim(owner_id()) == (key, _config(0))
        assert [e["event"] for e in st.events(key)] == ["claimed", "abandoned", "claimed"]
        assert st.get(key)["attempts"] == 2


def test_runs_on_another_host_are_claimed_again_only_after_their_heartbeat_stops(tmp_path):
    with Store(tmp_path / "r.sqlite", stale_after=0.0) as st:
        st.enqueue([_config(0)])
        st.claim("some-other-host:123:456")
        assert st.claim(owner_id()) is not None
    with Store(tmp_path / "s.sqlite", stale_after=3600.0) as st:
        st.enqueue([_config(0)])
        st.claim("some-other-host:123:456")
        assert st.claim(owner_id()) is None


def test_requeue_and_release(tmp_path):
    with Store(tmp_path / "r.sqlite") as st:
        st.enqueue([_config(0)])
        key, _ = st.claim(owner_id())
        st.release(key, owner_id())
        assert st.get(key)["status"] == "queued"
        st.claim(owner_id())
        st.finish(key, owner_id(), _result(3))
        st.requeue([key])
        row = st.get(key)
        assert row["status"] == "queued" and row["metrics"] is None and row["steps"] is None


def _writer(path: str, offset: int, n: int) -> None:
    """One of two processes: add its own runs, then claim and finish whatever is claimable (from both)."""
    with Store(path) as st:
        for i in range(n):
            st.enqueue([_config(offset + i)])
        me = owner_id()
        while (claimed := st.claim(me)) is not None:
            assert st.finish(claimed[0], me, _result(claimed[1]["seed"] % 100))


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    path = str(tmp_path / "r.sqlite")
    Store(path).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, offset, 60)) for offset in (0, 1000)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    with Store(path) as st:
        rows = st.rows()
        assert sorted(r["seed"] for r in rows) == [*range(60), *range(1000, 1060)]
        assert all(r["status"] == "done" and r["steps"] == r["seed"] % 100 for r in rows)
        finished = [e["key"] for e in st.events() if e["event"] == "done"]
        assert sorted(finished) == sorted(r["key"] for r in rows)  # each run finished exactly once


def test_export_csv_has_one_row_per_run_and_length(tmp_path):
    with Store(tmp_path / "r.sqlite") as st:
        st.enqueue([_config(0), _config(1)])
        key, _ = st.claim(owner_id())
        st.finish(key, owner_id(), _result(42))
        out = tmp_path / "runs.csv"
        assert st.export_csv(out) == 3
    with open(out) as f:
        rows = list(csv.DictReader(f))
    assert [(r["seed"], r["status"], r["length"], r["split"]) for r in rows] == [
        ("0", "done", "8", "id"),
        ("0", "done", "64", "ood"),
        ("1", "queued", "", ""),
    ]
    assert float(rows[1]["final_acc"]) == 0.42
