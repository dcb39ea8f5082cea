"""benchmarks/gpu_collect.sh: a call's returned files brought into a checkout (stores merged, checkpoints unpacked,
Triton's cache replaced, logs unpacked into a new folder), and a one-line error for a folder that is not there."""

import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

from expressivity.runners.execution.owners import owner_id
from expressivity.runners.execution.store import Store
from expressivity.runners.training.config import resolve, run_key

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "gpu_collect.sh"


def _store_with_done_run(path: Path, seed: int) -> str:
    """A store at `path` holding one finished run of this seed; its key."""
    with Store(path) as st:
        st.enqueue([resolve("parity", "lstm", {"steps": 1, "seed": seed})])
        key, _ = st.claim(owner_id())
        assert st.finish(key, owner_id(), {"status": "done", "steps": 1, "metrics": {8: {"final_acc": 1.0}}})
    return key


def _tar(files: dict[str, bytes], mode: str = "w") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _collect(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHON": sys.executable}
    return subprocess.run(["bash", str(SCRIPT), *args], cwd=cwd, env=env, capture_output=True, text=True)


def test_a_calls_files_are_merged_unpacked_and_replaced_where_the_next_call_reads_them(tmp_path):
    checkout, back, dest = tmp_path / "checkout", tmp_path / "files_at", tmp_path / "checkout" / "results" / "p"
    back.mkdir()
    dest.mkdir(parents=True)
    ours = _store_with_done_run(dest / "runs.sqlite", seed=0)
    theirs = _store_with_done_run(back / "runs.sqlite", seed=1)
    key = run_key(resolve("parity", "lstm", {"steps": 1, "seed": 2}))
    checkpoints = _tar({f"checkpoints/{key}.pt": os.urandom(3000)})
    (back / "checkpoints.tar.part-aa").write_bytes(checkpoints[:2048])  # split as gpu_pilot.sh splits them
    (back / "checkpoints.tar.part-ab").write_bytes(checkpoints[2048:])
    (checkout / ".triton").mkdir()
    (checkout / ".triton" / "triton_cache.txz.partaa").write_text("an earlier call's cache")
    (back / "triton_cache.txz.partaa").write_text("this call's cache")
    log = b"fused x1 lstm: step 500 at 12.0s; loss 0.5\nfused x1 lstm: step 1000 at 20.5s; loss 0.4\n"
    (back / "logs.tgz").write_bytes(_tar({"logs/out/worker-0.log": log}, mode="w:gz"))

    result = _collect(checkout, str(back), "results/p")
    assert result.returncode == 0, result.stderr
    with Store(dest / "runs.sqlite", readonly=True) as st:
        assert {r["key"] for r in st.rows()} == {ours, theirs}
    with tarfile.open(fileobj=io.BytesIO(checkpoints)) as tar:
        assert (dest / "checkpoints" / f"{key}.pt").read_bytes() == tar.extractfile(f"checkpoints/{key}.pt").read()
    assert [p.read_text() for p in (checkout / ".triton").iterdir()] == ["this call's cache"]
    assert "checkpoints: 1 unpacked" in result.stdout
    assert "logs/out/worker-0.log: step 1000 at 20.5s" in result.stdout
    logs = Path(result.stdout.split("logs: ")[1].split()[0])
    assert (logs / "logs" / "out" / "worker-0.log").read_bytes() == log


def test_a_folder_that_is_not_there_is_a_one_line_error_and_changes_nothing(tmp_path):
    result = _collect(tmp_path, str(tmp_path / "none"), "results/p")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "no folder" in result.stderr and not (tmp_path / "results").exists()
