"""Training curves stored compressed (schema 2), schema 1's plain curves still read, `compact` rewriting them, and the
`expressivity compact` command."""

import json
import sqlite3

import pytest
from typer.testing import CliRunner

from expressivity.runners.cli import app
from expressivity.runners.execution.merge import merge
from expressivity.runners.execution.owners import owner_id
from expressivity.runners.execution.store import SCHEMA_VERSION, Store, StoreError
from expressivity.runners.training.config import resolve

runner = CliRunner()


def _curve(n: int) -> list[dict]:
    """A training curve as the trainer records it: a point every 50 steps."""
    return [{"step": 50 * (i + 1), "loss": 1.0 / (i + 1), "token_acc": 0.5 + i / (4 * n), "lr": 1e-3} for i in range(n)]


def _finished(path, seeds: range) -> list[str]:
    """A store at `path` whose runs (one per seed) finished with a 200-point curve each; their keys."""
    with Store(path) as st:
        st.enqueue([resolve("parity", "lstm", {"steps": 1, "seed": s}) for s in seeds])
        keys = []
        while (claimed := st.claim(owner_id())) is not None:
            result = {"status": "done", "steps": 1, "history": _curve(200), "metrics": {8: {"final_acc": 1.0}}}
            assert st.finish(claimed[0], owner_id(), result)
            keys.append(claimed[0])
    return keys


def _as_schema_1(path) -> None:
    """Rewrite a store the way schema 1 wrote it: each curve as plain JSON text, the version 1."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT key FROM runs").fetchall()
        for (key,) in rows:
            conn.execute("UPDATE runs SET history = ? WHERE key = ?", (json.dumps(_curve(200)), key))
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    conn.close()


def _version(path) -> int:
    with sqlite3.connect(path) as conn:
        version = int(conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])
    conn.close()
    return version


def test_a_finished_runs_curve_is_stored_compressed_and_read_back_as_recorded(tmp_path):
    path = tmp_path / "r.sqlite"
    (key,) = _finished(path, range(1))
    with sqlite3.connect(path) as conn:
        stored = conn.execute("SELECT history FROM runs WHERE key = ?", (key,)).fetchone()[0]
    conn.close()
    assert isinstance(stored, bytes) and len(stored) < len(json.dumps(_curve(200))) / 3
    with Store(path, readonly=True) as st:
        assert st.get(key)["history"] == json.loads(json.dumps(_curve(200)))


def test_a_schema_1_store_reads_as_it_is_and_is_upgraded_only_when_written(tmp_path):
    path = tmp_path / "r.sqlite"
    keys = _finished(path, range(2))
    _as_schema_1(path)
    with Store(path, readonly=True) as st:
        assert [st.get(k)["history"] for k in keys] == [_curve(200)] * 2
    assert _version(path) == 1  # a reader changes nothing
    with Store(path) as st:
        assert st.get(keys[0])["history"] == _curve(200)
    assert _version(path) == SCHEMA_VERSION == 2


def test_compact_compresses_schema_1_curves_shrinks_the_file_and_changes_no_row(tmp_path):
    path = tmp_path / "r.sqlite"
    _finished(path, range(6))
    _as_schema_1(path)
    with Store(path, readonly=True) as st:
        before = st.rows()
    with Store(path) as st:
        curves, size_before, size_after = st.compact()
        assert (curves, st.compact()[0]) == (6, 0)  # a second pass finds nothing left to compress
        assert st.rows() == before
    assert size_after < size_before / 2


def test_compact_refuses_a_read_only_store(tmp_path):
    path = tmp_path / "r.sqlite"
    _finished(path, range(1))
    with Store(path, readonly=True) as st, pytest.raises(StoreError, match="read-only"):
        st.compact()


def test_a_store_older_than_schema_1_is_refused(tmp_path):
    path = tmp_path / "r.sqlite"
    Store(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '0' WHERE key = 'schema_version'")
    conn.close()
    with pytest.raises(StoreError, match="schema version 0"):
        Store(path)


def test_the_compact_command_reports_what_it_did_and_names_a_missing_store(tmp_path):
    path = tmp_path / "r.sqlite"
    _finished(path, range(3))
    _as_schema_1(path)
    result = runner.invoke(app, ["compact", "--store", str(path)])
    assert result.exit_code == 0, result.output
    assert "3 training curves compressed" in result.output
    missing = runner.invoke(app, ["compact", "--store", str(tmp_path / "none.sqlite")])
    assert missing.exit_code != 0 and "no result store at" in missing.output


def test_a_schema_1_stores_runs_merge_into_a_schema_2_store_and_read_back_as_recorded(tmp_path):
    old, new = tmp_path / "old.sqlite", tmp_path / "new.sqlite"
    keys = _finished(old, range(2))
    _as_schema_1(old)
    _finished(new, range(2, 3))
    with Store(new) as st:
        assert merge(st, old)["added"] == 2
        assert [st.get(k)["history"] for k in keys] == [_curve(200)] * 2
        assert st.compact()[0] == 2  # the merged rows came in as stored; compact rewrites them
    assert _version(old) == 1  # the source is only read
