"""`--launcher ray` on a local Ray instance on CPU: runs come back to the driver, which alone writes the store."""

import pytest

from expressivity.runners.execution.store import Store
from expressivity.runners.execution.workers import drive
from expressivity.runners.training.config import resolve, run_key

ray = pytest.importorskip("ray")

SHORT = {"steps": 12, "batch_size": 32, "check_every": 4, "eval_lengths": [6, 30], "eval_examples": 16, "warmup": 2}


@pytest.mark.slow
def test_a_grid_runs_as_ray_tasks_and_lands_in_the_one_store(tmp_path):
    from expressivity.runners.execution.ray_launcher import RayPool

    configs = [resolve("parity", "lstm", {**SHORT, "seed": s}) for s in (0, 1)]
    configs.append(resolve("parity", "lstm", {**SHORT, "lr": 1e6, "warmup": 0, "clip": 0.0}))
    keys = [run_key(c) for c in configs]
    pool = RayPool(num_cpus=2)
    assert pool.capacity == 2
    with Store(tmp_path / "r.sqlite") as st:
        st.enqueue(configs, grid="ray")
        counts = drive(st, keys, pool)
        rows = {r["key"]: r for r in st.rows()}
    assert not ray.is_initialized(), "the pool shuts down the Ray instance it started"
    assert counts == {"queued": 0, "running": 0, "done": 2, "diverged": 1, "failed": 0}
    assert rows[keys[0]]["metrics"][30]["examples"] == 16 and rows[keys[0]]["steps"] == 12
    assert rows[keys[2]]["status"] == "diverged"
