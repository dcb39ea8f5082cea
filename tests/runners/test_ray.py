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


@pytest.mark.slow
def test_a_fused_run_that_stopped_early_comes_back_from_ray_while_its_group_trains_on(tmp_path):
    """As tests/runners/test_schedule.py checks for the local workers: the Ray task streams the early run's result,
    so a drive stopped on the event "the early run is recorded" keeps it done and puts the two runs still training
    back in the queue (before, a Ray task returned its group's results only at its end)."""
    from expressivity.runners.execution.ray_launcher import RayPool

    sets = {"steps": 3000, "batch_size": 8, "check_every": 5, "eval_lengths": [8], "eval_examples": 8, "lr": 5e-4}
    configs = [resolve("parity", "gdn", {**sets, "seed": s, "target_acc": 0.0 if s == 1 else None}) for s in (0, 1, 2)]
    keys = [run_key(c) for c in configs]
    pool = RayPool(num_cpus=1)
    with Store(tmp_path / "r.sqlite") as st:
        st.enqueue(configs, grid="ray")
        recorded = lambda: st.rows(keys=[keys[1]])[0]["status"] == "done"  # noqa: E731
        counts = drive(st, keys, pool, fuse=8, stop_when=recorded)
        assert (counts["done"], counts["queued"], counts["running"]) == (1, 2, 0), counts
        row = st.rows(keys=[keys[1]])[0]
    assert row["stop_reason"] == "target_acc" and row["steps"] == 5 and "fused x3" in row["device"]
    assert not ray.is_initialized()
