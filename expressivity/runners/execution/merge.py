"""Bring the runs of another result store into this one (`expressivity merge`) without losing any result either
holds: a GPU call's store, copied back, into the checkout's, or the stores of two machines into one.

    counts = merge(Store("results/illusion-of-state/runs.sqlite"), "/work/.device/3/runs.sqlite")
    # {"added": 6, "updated": 0, "kept": 0, "differing": 0}

A run of the other store is taken where it is further along than ours (no row < queued or running < failed < done or
diverged), with its events (those ours lacks: a store copied from ours shares its earlier events). A run finished in
both keeps ours, counted in "kept", and in "differing" where the two results differ (GPU reruns of one key do): a
merge never replaces a result. A run the other store left `running` (its call cut off) comes in `queued`, since
its owner is on another machine. The other store is only read; it must be a results database of this schema
(`StoreError`, one line, otherwise), and a merge is one transaction, so a failed one leaves ours as it was.

With `grid`, the runs taken are filed under that grid's name instead of their own: a pilot grid whose runs are a
preset grid's (the same keys, `expressivity merge --grid`, which checks that) joins it, so `check` reads them in the
preset's cells and `reproduce` resumes or reuses them there.

A rerun of a key both stores finished cannot be merged (ours is kept), yet it is a further run of the cell: reading
both, `with_reruns` gives `check --also` and `table --also` one list of rows in which each rerun sits in the grid of
the run it repeats.
"""

from __future__ import annotations

import os
from typing import Any

from expressivity.runners.execution.store import OUTCOMES, Store

RANK = {"queued": 0, "running": 0, "failed": 1, "done": 2, "diverged": 2}
RESULT = ("status", "metrics", "summary", "steps", "stop_reason")  # what "differing" compares


def source_keys(source: str | os.PathLike) -> set[str]:
    """The run keys of the store at `source` (only read)."""
    with Store(source, readonly=True) as other:
        return {key for (key,) in other.conn.execute("SELECT key FROM runs")}


def merge(into: Store, source: str | os.PathLike, *, grid: str | None = None) -> dict[str, int]:
    """Copy into `into` each run of the store at `source` that is further along there (see the module docstring),
    filed under `grid` when given; returns how many runs were added (new keys), updated (queued or failed here), kept
    (finished in both: ours kept) and, of those kept, differing."""
    with Store(source, readonly=True) as other:
        theirs = [dict(r) for r in other.conn.execute("SELECT * FROM runs")]
        events = [tuple(r) for r in other.conn.execute("SELECT key, event, owner, at FROM events ORDER BY id")]
    counts = {"added": 0, "updated": 0, "kept": 0, "differing": 0}
    with into.write() as conn:
        ours: dict[str, dict[str, Any]] = {r["key"]: dict(r) for r in conn.execute("SELECT * FROM runs")}
        taken = set()
        for row in theirs:
            mine = ours.get(row["key"])
            if mine is not None and RANK[row["status"]] <= RANK[mine["status"]]:
                if RANK[row["status"]] == RANK[mine["status"]] == 2:
                    counts["kept"] += 1
                    counts["differing"] += any(row[c] != mine[c] for c in RESULT)
                continue
            if row["status"] == "running":  # its owner is another machine's process: queue it here
                row.update(status="queued", owner=None, heartbeat=None)
            if grid is not None:
                row["grid"] = grid
            columns = list(row)
            conn.execute(
                f"INSERT OR REPLACE INTO runs ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                [row[c] for c in columns],
            )
            taken.add(row["key"])
            counts["added" if mine is None else "updated"] += 1
        have = {tuple(r) for r in conn.execute("SELECT key, event, owner, at FROM events")}
        conn.executemany(
            "INSERT INTO events (key, event, owner, at) VALUES (?, ?, ?, ?)",
            [e for e in events if e[0] in taken and e not in have],
        )
    return counts


def with_reruns(rows: list[dict[str, Any]], source: str | os.PathLike) -> list[dict[str, Any]]:
    """`rows` (a store's `rows()`) and after them the finished runs of the store at `source` (only read): reruns of
    a key `rows` holds, filed under that row's grid so that they are scored in its cell beside it, and runs of other
    keys (further seeds) under their own grid. Nothing is written; a run is listed as often as it was run."""
    with Store(source, readonly=True) as other:
        theirs = [r for r in other.rows() if r["status"] in OUTCOMES]
    grid_of = {r["key"]: r["grid"] for r in rows}
    return [*rows, *({**r, "grid": grid_of.get(r["key"], r["grid"])} for r in theirs)]
