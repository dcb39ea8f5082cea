"""`--launcher ray`: the same runs as Ray tasks on an existing Ray cluster (the `ray` extra: pip install '.[ray]').

Start the cluster first (`ray start --head` on one node, `ray start --address HEAD:6379` on the others), then run the
grid on the head node. Each job (a run, or a fused group) is one Ray task asking for 1/per_gpu of a GPU (or one CPU on
a cluster without GPUs); Ray sets CUDA_VISIBLE_DEVICES per task. Tasks stream each run's result back as soon as it is
final (a Ray generator task: a fused run that stopped at its target is reported while its group trains on, as the
local workers do) and the driver alone writes the store, so the store stays one local SQLite file. Checkpoints are
written at the driver's path on whichever node runs the task: put the store on a shared filesystem if runs should
resume across nodes. Every node needs this package installed.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any


def _ray_job(job: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (key, result) for each of the job's runs as soon as it is final. `run_job` reports early results through
    a callback, from inside training, so it runs in a thread and hands them over through a queue; the generator
    yields them as they come, then the rest when the job ends (run_job's return value, the runs it did not report
    early: a dict, which marks the end)."""
    from expressivity.runners.execution.workers import run_job

    handed: queue.Queue = queue.Queue()

    def work() -> None:
        final: dict[str, dict[str, Any]] = {}
        try:
            final = run_job(job, on_result=lambda key, result: handed.put((key, result)))
        finally:  # the end is always marked; a run without a result is failed by the driver
            handed.put(final)

    threading.Thread(target=work, daemon=True).start()
    while not isinstance(item := handed.get(), dict):
        yield item
    yield from item.items()


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
        self.tasks: dict[Any, set[str]] = {}  # a task's generator -> the keys of its runs not yet reported

    def submit(self, job: dict[str, Any]) -> None:
        task = self.remote.remote({**job, "device": "auto"})
        self.tasks[task] = set(job["keys"])

    def poll(self, timeout: float) -> list[tuple[str, dict[str, Any]]]:
        if not self.tasks:
            return []
        ready, _ = self.ray.wait(list(self.tasks), num_returns=1, timeout=timeout)
        if ready:
            rest = [t for t in self.tasks if t not in ready]
            more, _ = self.ray.wait(rest, num_returns=len(rest), timeout=0) if rest else ([], [])
            ready = ready + more
        done = []
        for task in ready:
            waiting = self.tasks[task]
            try:
                key, result = self.ray.get(next(task))
                waiting.discard(key)
                done.append((key, result))
                if waiting:
                    continue
                error = ""  # every run reported: the task is done with
            except StopIteration:
                error = "ray task ended without this run's result"
            except Exception as err:  # a lost worker is a failed run, not a failed grid
                error = f"ray task failed: {type(err).__name__}: {err}"[:2000]
            del self.tasks[task]
            done.extend((key, {"status": "failed", "error": error}) for key in sorted(waiting))
        return done

    def close(self) -> None:
        for task in self.tasks:
            self.ray.cancel(task, force=True)
        self.tasks.clear()
        if self.owns_ray:
            self.ray.shutdown()
