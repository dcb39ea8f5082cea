"""benchmarks/gpu_setup.sh's keep_store_for_next_call and merge_last_call_store: a call on a warm machine starts from
this checkout's older copy of a store, so it first merges the store the last call left there, and a run the last
call finished is not trained again (on 2026-12-07 a finished DeltaProduct run was, from step 0)."""

import os
import subprocess
import sys
from pathlib import Path

from expressivity.runners.execution.owners import owner_id
from expressivity.runners.execution.store import Store
from expressivity.runners.training.config import resolve, run_key

ROOT = Path(__file__).resolve().parents[2]
CONFIG = resolve("parity", "lstm", {"steps": 1, "seed": 0})


def _call(tmp_path: Path, gpu_setup_function, script: str) -> subprocess.CompletedProcess:
    """Run `script` in tmp_path after defining the two functions, with `python3` this interpreter."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    if not (bin_dir / "python3").exists():
        (bin_dir / "python3").symlink_to(sys.executable)
    functions = gpu_setup_function("keep_store_for_next_call") + gpu_setup_function("merge_last_call_store")
    (tmp_path / "call.sh").write_text(functions + script)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PYTHONPATH": str(ROOT)}
    return subprocess.run(["bash", "call.sh"], cwd=tmp_path, env=env, capture_output=True, text=True)


def _status(path: Path) -> str:
    with Store(path, readonly=True) as store:
        return store.conn.execute("SELECT status FROM runs WHERE key = ?", (run_key(CONFIG),)).fetchone()[0]


def test_the_next_call_on_a_warm_machine_sees_the_run_the_last_call_finished(tmp_path, gpu_setup_function):
    checkout = tmp_path / "results" / "p" / "runs.sqlite"
    checkout.parent.mkdir(parents=True)
    with Store(checkout) as store:
        store.enqueue([CONFIG])
    # The last call: the same store, the run finished there, then left beside it.
    machine_copy = tmp_path / "last.sqlite"
    with Store(machine_copy) as store:
        store.enqueue([CONFIG])
        key, _ = store.claim(owner_id())
        assert store.finish(key, owner_id(), {"status": "done", "steps": 1, "metrics": {8: {"final_acc": 1.0}}})
    keep = _call(tmp_path, gpu_setup_function, f"keep_store_for_next_call {machine_copy}\n")
    assert keep.returncode == 0, keep.stderr
    (tmp_path / ".last-call.last.sqlite").rename(checkout.parent / ".last-call.runs.sqlite")

    # The next call: the tree's copy (queued) is what the machine has, until the merge.
    assert _status(checkout) == "queued"
    merged = _call(tmp_path, gpu_setup_function, "merge_last_call_store results/p/runs.sqlite\n")
    assert merged.returncode == 0, merged.stderr
    assert "the last call's store merged" in merged.stdout
    assert _status(checkout) == "done"


def test_a_fresh_machine_has_no_last_store_and_nothing_changes(tmp_path, gpu_setup_function):
    checkout = tmp_path / "results" / "p" / "runs.sqlite"
    checkout.parent.mkdir(parents=True)
    with Store(checkout) as store:
        store.enqueue([CONFIG])
    before = checkout.read_bytes()
    done = _call(tmp_path, gpu_setup_function, "merge_last_call_store results/p/runs.sqlite\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert checkout.read_bytes() == before
