"""`--launcher ray`: the same runs as Ray tasks on an existing Ray cluster (the `ray` extra: pip install '.[ray]').

Start the cluster first (`ray start --head` on one node, `ray start --address HEAD:6379` on the others), then run the
grid on the head node. Each run is one Ray task asking for 1/per_gpu of a GPU (or one CPU on a cluster without GPUs);
Ray sets CUDA_VISIBLE_DEVICES per task. Tasks return result dicts and the driver alone writes the store, so the store
stays one local SQLite file. Checkpoints are written at the driver's path on whichever node runs the task: put the store
on a shared filesystem if runs should resume across nodes. Every node needs this package installed.
"""

from __future__ import annotations

from typing import Any


def _ray_job(job: dict[str, Any]) -> dict[str, dict[str, Any]]:
    from expressivity.runners.execution.workers import run_job

    return run_job(job)


class RayPool:
    """A Pool (see workers.py) of Ray tasks; capacity = cluster GPUs x per_gpu, or cluster CPUs without GPUs."""

    def __init__(self, *, address: str | None = None, per_gpu: int = 1, **init_kwargs: Any):
        try:
            import ray
        except ModuleNotFoundError:
            raise ValueError("--launcher ray needs the ray extra: pip install 'expressivity[ray]'") from None
        if per_gpu < 1:
            raise ValueError(f"--per-gpu must be >= 1, got {per_gpu}")
        self.ray = ray
        self.owns_ray = not ray.is_initialized()
        if self.owns_ray:
            init_kwargs.setdefault("include_dashboard", False)
            init_kwargs.setdefault("log_to_driver", False)
            ray.init(address=address, **init_kwargs)
        resources = ray.cluster_resources()
        gpus, cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 1))
        if gpus:
            self.capacity = gpus * per_gpu
            options = {"num_gpus": 1.0 / per_gpu, "num_cpus": 1}
        else:
            self.capacity = max(1, cpus)
            options = {"num_cpus": 1}
        # max_retries=0: a crashed task comes back as a failed run; the grid decides about retrying, not Ray.
        self.remote = ray.remote(_ray_job).options(max_retries=0, **options)
        self.refs: dict[Any, list[str]] = {}  # a task's ref -> the keys of its runs

    def submit(self, job: dict[str, Any]) -> None:
        ref = self.remote.remote({**job, "device": "auto"})
        self.refs[ref] = job["keys"]

    def poll(self, timeout: float) -> list[tuple[str, dict[str, Any]]]:
        if not self.refs:
            return []
        ready, _ = self.ray.wait(list(self.refs), num_returns=1, timeout=timeout)
        if ready:
            rest = [r for r in self.refs if r not in ready]
            more, _ = self.ray.wait(rest, num_returns=len(rest), timeout=0) if rest else ([], [])
            ready = ready + more
        done = []
        for ref in ready:
            keys = self.refs.pop(ref)
            try:
                results = self.ray.get(ref)
            except Exception as err:  # a lost worker is a failed run, not a failed grid
                failed = {"status": "failed", "error": f"ray task failed: {type(err).__name__}: {err}"[:2000]}
                results = dict.fromkeys(keys, failed)
            done.extend(results.items())
        return done

    def close(self) -> None:
        for ref in self.refs:
            self.ray.cancel(ref, force=True)
        self.refs.clear()
        if self.owns_ray:
            self.ray.shutdown()
