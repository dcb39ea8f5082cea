"""benchmarks/rerun_spread.py on CPU: a committed run trained again from its stored config is the same run bit for
bit (one thread on both sides), so every difference it prints is 0.000.
On a GPU the script measures what this cannot: how far bf16 kernels with atomics move a rerun."""

import os
import subprocess
import sys
from pathlib import Path

from expressivity.runners.execution.owners import owner_id
from expressivity.runners.execution.store import Store
from expressivity.runners.training.config import resolve
from expressivity.runners.training.train import train

ROOT = Path(__file__).resolve().parents[2]
SETS = {"steps": 20, "batch_size": 8, "check_every": 10, "eval_lengths": [8, 16], "eval_examples": 16,
        "train_max_length": 8, "checkpoint_every": 0}  # fmt: skip


def test_reruns_on_cpu_equal_the_committed_runs(tmp_path):
    store = tmp_path / "committed.sqlite"
    with Store(store) as st:
        for seed in (0, 1):
            config = resolve("parity", "gdn", {**SETS, "seed": seed})
            st.enqueue([config], grid="committed")
            key, _ = st.claim(owner_id())
            st.finish(key, owner_id(), train(config, device="cpu"))
        st.enqueue([resolve("parity", "lstm", SETS)], grid="other")  # another grid's queued run: not selected
    script = str(ROOT / "benchmarks" / "rerun_spread.py")
    out, log = str(tmp_path / "out"), str(tmp_path / "log.txt")
    # one variant: the deterministic flag changes nothing on CPU, and each variant is a worker process more
    args = [script, "--store", str(store), "--grid", "committed", "--reruns", "1", "--per-gpu", "1", "--out", out,
            "--log", log, "--variants", "plain"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    text = (tmp_path / "log.txt").read_text()
    print(text)
    assert "2 runs" in text and text.count(" | 0 | ") + text.count(" | 1 | ") == 2, text  # one line a run
    assert "plain: |rerun - committed| max 0.000, mean 0.000 over 2" in text, text
