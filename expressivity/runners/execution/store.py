"""The result store: one embedded SQLite file (default `runs/results.sqlite`), one row per run.

A row holds the resolved config as JSON, the run key hashed from it, the status (queued -> running -> done | diverged |
failed), metrics by length, the training curve, timings, seed, package version, git commit and device. The training
curve (`history`) is zlib-compressed JSON, 5-6x smaller than schema 1's plain JSON, which still reads (`compact()`
rewrites it). The `events` table logs every claim and finish, so "each run finished exactly once" can be checked later.

Concurrency: WAL mode, and every write is one `BEGIN IMMEDIATE` transaction, so several grid drivers may share a file.
A run is claimed by an owner ("host:pid:start-time", owners.py); only that owner may finish it, and a run whose owner
died (same host, process gone) or stopped heart-beating (`stale_after` seconds) is claimed again. A file from a newer
schema or a corrupt file raises `StoreError` with a one-line message; nothing is ever overwritten silently.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import time
import zlib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from expressivity.runners.execution.owners import owner_alive
from expressivity.runners.execution.provenance import git_commit, package_version
from expressivity.runners.training.config import canonical, complete, from_json, run_key

SCHEMA_VERSION = 2  # 2: `history` zlib-compressed JSON (a BLOB); 1: plain JSON, still read (and upgraded on write)
DEFAULT_PATH = Path("runs/results.sqlite")
STATUSES = ("queued", "running", "done", "diverged", "failed")
FINISHED = ("done", "diverged", "failed")
OUTCOMES = ("done", "diverged")  # finished by training, so scored; a failed run ended in an error

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs (
    key TEXT PRIMARY KEY,
    grid TEXT,
    task TEXT NOT NULL, arch TEXT NOT NULL, size TEXT NOT NULL, seed INTEGER NOT NULL,
    config TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'diverged', 'failed')),
    owner TEXT, heartbeat REAL, attempts INTEGER NOT NULL DEFAULT 0,
    metrics TEXT, summary TEXT, history TEXT,
    steps INTEGER, stop_reason TEXT, num_params INTEGER,
    train_seconds REAL, eval_seconds REAL, train_tokens INTEGER,
    queued_at REAL NOT NULL, started_at REAL, finished_at REAL,
    version TEXT, git_commit TEXT, device TEXT, error TEXT
);
CREATE INDEX runs_status ON runs (status);
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, event TEXT NOT NULL, owner TEXT, at REAL NOT NULL
);
"""
_JSON_COLUMNS = ("config", "metrics", "summary", "history")
RESULT_COLUMNS = ("metrics", "summary", "history", "steps", "stop_reason", "num_params", "train_seconds",
                  "eval_seconds", "train_tokens", "device", "error")  # fmt: skip


class StoreError(ValueError):
    """The store file cannot be used as it is (newer schema, corrupt, not a results database): bad input, one line."""


def _guarded(method):
    """Turn SQLite's errors inside a store method into one StoreError line (a corrupt page shows up only when read)."""
    import functools

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as err:
            raise self.unusable(err) from None

    return wrapper


class Store:
    """The SQLite result store. Use as a context manager, or call `close()` (which checkpoints the WAL)."""

    def __init__(self, path: str | os.PathLike = DEFAULT_PATH, *, stale_after: float = 600.0, readonly: bool = False):
        """Open (creating it unless `readonly`) the store at `path`. A read-only store writes nothing, not even a
        schema into an empty file: what `status`, `table` and `check` use."""
        self.path = Path(path)
        self.stale_after = stale_after
        self.readonly = readonly
        if self.path.exists() and self.path.is_dir():
            raise StoreError(f"{self.path} is a directory, not a results database")
        if readonly and not self.path.is_file():
            raise StoreError(f"no result store at {self.path} (run `expressivity train` or `grid` first, or --store)")
        if not readonly:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: no implicit transactions; every write below opens its own BEGIN IMMEDIATE.
        target, uri = (f"file:{quote(str(self.path.resolve()))}?mode=ro", True) if readonly else (self.path, False)
        self.conn = sqlite3.connect(target, timeout=60.0, isolation_level=None, uri=uri)
        self.conn.row_factory = sqlite3.Row
        try:
            self._check_schema()
            if not readonly:
                self.conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.DatabaseError as err:
            self.conn.close()
            raise self.unusable(err) from None
        except StoreError:
            self.conn.close()
            raise

    def unusable(self, err: sqlite3.DatabaseError) -> StoreError:
        """The one-line error for a file SQLite cannot read or write as it is."""
        if isinstance(err, sqlite3.OperationalError) and "locked" in str(err):
            return StoreError(f"{self.path} stayed locked by another process for a minute ({err}); try again")
        return StoreError(
            f"{self.path} is not a usable results database ({err}); check it with "
            f"`sqlite3 {self.path} 'PRAGMA integrity_check'`, then move it away or pick --store"
        )

    # ---- schema -----------------------------------------------------------------------------------------------------
    def _tables(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}

    def _check_schema(self) -> None:
        """Create the schema in a new file; refuse (changing nothing) a foreign, corrupt or newer file."""
        if not self._tables() and self.readonly:
            raise StoreError(f"{self.path} is empty, not a results database (pick --store)")
        if not self._tables():
            self.conn.execute("PRAGMA journal_mode=WAL")
            with self.write() as conn:
                if not self._tables():  # another process may have created it meanwhile
                    for statement in filter(str.strip, _SCHEMA.split(";")):
                        conn.execute(statement)
                    conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
                    conn.execute("INSERT INTO meta VALUES ('created', ?)", (str(time.time()),))
        tables = self._tables()
        if "meta" not in tables or "runs" not in tables:
            raise StoreError(f"{self.path} is an SQLite file but not a results database (tables: {sorted(tables)})")
        row = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        version = int(row[0]) if row else 0
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {version}, newer than this expressivity's {SCHEMA_VERSION}; upgrade"
            )
        if version < 1:
            raise StoreError(f"{self.path} has schema version {version}; this expressivity reads 1 to {SCHEMA_VERSION}")
        if not self.readonly:
            self.conn.execute("PRAGMA journal_mode=WAL")
            if version < SCHEMA_VERSION:  # schema 1's rows read as they are; new rows compress their curves
                with self.write() as conn:
                    conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION),))

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: BEGIN IMMEDIATE takes the write lock up front, so read-then-update is atomic."""
        if self.readonly:
            raise StoreError(f"{self.path} was opened read-only")
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as err:
            raise self.unusable(err) from None
        try:
            yield self.conn
        except sqlite3.DatabaseError as err:
            self.conn.execute("ROLLBACK")
            raise self.unusable(err) from None
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def close(self) -> None:
        """Fold the WAL back into the main file (so a copied .sqlite is complete) and close."""
        try:
            if not self.readonly:
                self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- queue ------------------------------------------------------------------------------------------------------
    def enqueue(self, configs: Iterable[Mapping[str, Any]], *, grid: str | None = None) -> int:
        """Add runs as queued unless their key is already stored; returns how many were new."""
        now = time.time()
        rows = [
            (run_key(c), grid, c["task"], c["arch"], c["size"], c["seed"], canonical(c), "queued", now) for c in configs
        ]
        with self.write() as conn:
            before = conn.total_changes
            conn.executemany(
                "INSERT OR IGNORE INTO runs (key, grid, task, arch, size, seed, config, status, queued_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            return conn.total_changes - before

    def requeue(self, keys: Iterable[str]) -> None:
        """Put finished runs back in the queue (a deliberate re-run); their old results are cleared."""
        cleared = ", ".join(f"{c} = NULL" for c in RESULT_COLUMNS)
        with self.write() as conn:
            for key in keys:
                conn.execute(f"UPDATE runs SET status='queued', owner=NULL, {cleared} WHERE key=?", (key,))
                self._event(conn, key, "requeued", None)

    def _stale(self, row: Mapping[str, Any], now: float) -> bool:
        alive = owner_alive(row["owner"]) if row["owner"] else False
        if alive is None:  # another host: trust its heartbeat
            return row["heartbeat"] is None or now - row["heartbeat"] > self.stale_after
        return not alive

    def state(self, row: Mapping[str, Any]) -> str:
        """A row's status as it stands: "abandoned" for a run marked running whose owner died (same host) or stopped
        heart-beating (another host), which the next grid claims again; else the stored status. Writes nothing."""
        if row["status"] == "running" and self._stale(row, time.time()):
            return "abandoned"
        return row["status"]

    def claim(self, owner: str, keys: Iterable[str] | None = None) -> tuple[str, dict[str, Any]] | None:
        """Mark the next runnable run (queued, or running under a dead owner) as running by `owner`.

        Restricted to `keys` (in their order) when given. Returns (key, config) or None when nothing is runnable.
        """
        now = time.time()
        with self.write() as conn:
            rows = conn.execute(
                "SELECT key, status, owner, heartbeat, rowid FROM runs WHERE status IN ('queued', 'running')"
            )
            candidates = {r["key"]: r for r in rows if r["status"] == "queued" or self._stale(r, now)}
            order = (
                [k for k in keys if k in candidates]
                if keys is not None
                else sorted(candidates, key=lambda k: candidates[k]["rowid"])
            )
            if not order:
                return None
            key = order[0]
            if candidates[key]["status"] == "running":
                self._event(conn, key, "abandoned", candidates[key]["owner"])
            conn.execute(
                "UPDATE runs SET status='running', owner=?, heartbeat=?, started_at=?, attempts=attempts+1 WHERE key=?",
                (owner, now, now, key),
            )
            self._event(conn, key, "claimed", owner)
            config = from_json(conn.execute("SELECT config FROM runs WHERE key=?", (key,)).fetchone()[0])
        return key, config

    def heartbeat(self, owner: str) -> None:
        with self.write() as conn:
            conn.execute("UPDATE runs SET heartbeat=? WHERE owner=? AND status='running'", (time.time(), owner))

    def release(self, key: str, owner: str) -> None:
        """Give a claimed run back to the queue (e.g. the driver is shutting down cleanly)."""
        with self.write() as conn:
            conn.execute(
                "UPDATE runs SET status='queued', owner=NULL WHERE key=? AND owner=? AND status='running'", (key, owner)
            )

    def finish(self, key: str, owner: str, result: Mapping[str, Any]) -> bool:
        """Record a run's result (`result["status"]` in done / diverged / failed) if `owner` still holds it.

        Returns False, writing nothing, when the run was meanwhile claimed by someone else: that is what makes each
        run finish exactly once.
        """
        status = result["status"]
        if status not in FINISHED:
            raise ValueError(f"a finished run's status must be one of {', '.join(FINISHED)}, got {status!r}")
        values = {c: result.get(c) for c in RESULT_COLUMNS}
        for c in ("metrics", "summary"):
            values[c] = None if values[c] is None else json.dumps(values[c])
        values["history"] = _pack_history(values["history"])
        values.update(status=status, finished_at=time.time(), version=package_version(), git_commit=git_commit())
        assignments = ", ".join(f"{c} = :{c}" for c in values)
        with self.write() as conn:
            cur = conn.execute(
                f"UPDATE runs SET {assignments} WHERE key = :key AND owner = :owner AND status = 'running'",
                {**values, "key": key, "owner": owner},
            )
            if cur.rowcount == 0:
                return False
            self._event(conn, key, status, owner)
        return True

    def rescore(self, key: str, metrics: Mapping[str, Any], summary: Mapping[str, Any]) -> None:
        """Replace a finished run's metrics and summary by scores derived anew from its recorded accuracies (after a
        task's chance was corrected); logged as a `rescored` event. Nothing else of the run changes."""
        with self.write() as conn:
            values = (json.dumps(metrics), json.dumps(summary), key)
            conn.execute("UPDATE runs SET metrics = ?, summary = ? WHERE key = ?", values)
            self._event(conn, key, "rescored", None)

    @staticmethod
    def _event(conn: sqlite3.Connection, key: str, event: str, owner: str | None) -> None:
        conn.execute("INSERT INTO events (key, event, owner, at) VALUES (?, ?, ?, ?)", (key, event, owner, time.time()))

    # ---- reading ----------------------------------------------------------------------------------------------------
    @_guarded
    def get(self, key: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM runs WHERE key=?", (key,)).fetchone()
        return None if row is None else _decode(row)

    @_guarded
    def rows(self, *, status: str | None = None, keys: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Runs as dicts (JSON columns decoded), in insertion order; optionally one status or a set of keys."""
        rows = [_decode(r) for r in self.conn.execute("SELECT * FROM runs ORDER BY rowid")]
        if status is not None:
            rows = [r for r in rows if r["status"] == status]
        if keys is not None:
            wanted = set(keys)
            rows = [r for r in rows if r["key"] in wanted]
        return rows

    def counts(self, keys: Iterable[str] | None = None) -> dict[str, int]:
        """Number of runs by status (every status present, zeros included)."""
        out = dict.fromkeys(STATUSES, 0)
        for r in self.rows(keys=keys):
            out[r["status"]] += 1
        return out

    @_guarded
    def events(self, key: str | None = None) -> list[dict[str, Any]]:
        query, args = (
            ("SELECT * FROM events ORDER BY id", ())
            if key is None
            else ("SELECT * FROM events WHERE key=? ORDER BY id", (key,))
        )
        return [dict(r) for r in self.conn.execute(query, args)]

    @_guarded
    def compact(self) -> tuple[int, int, int]:
        """Compress the training curves stored as plain JSON (schema 1's rows), then give the freed pages back to
        the file system (VACUUM). Nothing read from the store changes. Returns (curves compressed, bytes before,
        bytes after)."""
        if self.readonly:
            raise StoreError(f"{self.path} was opened read-only; compacting writes it")
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        before = self.path.stat().st_size
        with self.write() as conn:
            plain = conn.execute("SELECT key, history FROM runs WHERE typeof(history) = 'text'").fetchall()
            conn.executemany(
                "UPDATE runs SET history = ? WHERE key = ?", [(_pack_history(json.loads(h)), k) for k, h in plain]
            )
        self.conn.execute("VACUUM")
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return len(plain), before, self.path.stat().st_size

    @_guarded
    def export_csv(self, path: str | os.PathLike) -> int:
        """Write one CSV row per (run, test length) (runs without metrics get one row with an empty length).

        Columns: key, grid, task, arch, size, seed, status, steps, stop_reason, num_params, train_seconds, device,
        length, split (id / ood), final_acc, token_acc, seq_acc, scaled_acc, task_params, model_params (JSON).
        Returns the number of data rows.
        """
        head = ["key", "grid", "task", "arch", "size", "seed", "status", "steps", "stop_reason", "num_params",
                "train_seconds", "device"]  # fmt: skip
        metric_cols = ["final_acc", "token_acc", "seq_acc", "scaled_acc"]
        n = 0
        with open(path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow([*head, "length", "split", *metric_cols, "task_params", "model_params"])
            for r in self.rows():
                params = [json.dumps(r["config"]["task_params"]), json.dumps(r["config"]["model_params"])]
                base = [r[c] for c in head]
                by_length = r["metrics"] or {}
                if not by_length:
                    writer.writerow([*base, "", "", *[""] * len(metric_cols), *params])
                    n += 1
                max_train = r["config"]["train"]["train_max_length"]
                for length in sorted(by_length, key=int):
                    m = by_length[length]
                    split = "id" if int(length) <= max_train else "ood"
                    writer.writerow([*base, int(length), split, *[m[c] for c in metric_cols], *params])
                    n += 1
        return n


def _pack_history(history: list[dict[str, Any]] | None) -> bytes | None:
    """A training curve as stored: zlib-compressed JSON (None stays None)."""
    return None if history is None else zlib.compress(json.dumps(history).encode(), 6)


def _decode(row: sqlite3.Row) -> dict[str, Any]:
    out = dict(row)
    if isinstance(out["history"], bytes):  # schema 2's compressed curve; schema 1's is JSON text, read below
        out["history"] = zlib.decompress(out["history"]).decode()
    for c in _JSON_COLUMNS:
        if out[c] is not None:
            out[c] = json.loads(out[c])
    try:  # the stored (keyed) config with today's defaults of the keys it leaves out
        out["config"] = complete(out["config"])
    except ValueError:  # a task this version does not know: the row as stored
        pass
    if out["metrics"] is not None:  # JSON object keys are strings; test lengths are ints
        out["metrics"] = {int(k): v for k, v in out["metrics"].items()}
    return out
