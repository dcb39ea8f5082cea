"""Running many runs: the driver loop that claims runs from the store, and the local worker processes that train them.

The driver is the only writer of results: workers (local processes here, Ray tasks in ray_launcher.py) train and
return result dicts. Locally each slot is one worker process, `per_gpu` of them pinned to each visible GPU (tiny models
leave a GPU mostly idle, and separate processes overlap their Python overhead where threads would share one GIL), or
`cpu_workers` processes splitting the CPU cores. A worker reads one JSON job per line on stdin and answers one JSON
result per line on stdout; it dies with its driver (PR_SET_PDEATHSIG on Linux, and stdin EOF elsewhere), so a killed
grid leaves no orphan training, and its runs are retried by the next driver from their last checkpoint.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from expressivity.runners.execution.checkpoints import checkpoint_path, resume_step
from expressivity.runners.execution.owners import owner_id
from expressivity.runners.execution.store import OUTCOMES, Store


def run_job(
    job: dict[str, Any], on_result: Callable[[str, dict[str, Any]], None] | None = None
) -> dict[str, dict[str, Any]]:
    """Train a job's runs: one (`train`), or a fused group (`train_fused`, when the job says `fused`). Returns
    {key: result} of every run not already given to `on_result`; any exception becomes a "failed" result of each of
    those runs instead of killing the worker. `on_result(key, result)` is given a fused run's result as soon as it is
    final (a run that stopped early is tested while its group trains on), so the driver can record it before the
    group ends."""
    from expressivity.runners.training.fused import train_fused
    from expressivity.runners.training.train import train

    keys, configs, paths = job["keys"], job["configs"], job["checkpoints"]
    device = job.get("device", "auto")
    reported: set[str] = set()

    def report(i: int, result: dict[str, Any]) -> None:
        reported.add(keys[i])
        on_result(keys[i], result)

    try:
        if job.get("fused"):
            results = train_fused(configs, device=device, checkpoints=paths, graphs=job.get("graphs"),
                                  on_result=None if on_result is None else report)  # fmt: skip
        else:
            results = [train(configs[0], device=device, checkpoint=paths[0], progress=job.get("progress", False))]
        return {k: r for k, r in zip(keys, results, strict=True) if k not in reported}
    except Exception as err:  # a failed run is data, not a crash
        tail = traceback.format_exc().strip().splitlines()[-6:]
        failed = {"status": "failed", "error": f"{type(err).__name__}: {err}\n" + "\n".join(tail)}
        return dict.fromkeys([k for k in keys if k not in reported], failed)


def estimated_cost(config: dict[str, Any]) -> float:
    """A run's relative cost: training tokens (steps x batch x mean length) plus test tokens, times its layers' cost."""
    from expressivity import architectures

    train = config["train"]
    mean_length = (train["train_min_length"] + train["train_max_length"]) / 2
    if train["length_schedule"] == "fixed":
        mean_length = train["train_max_length"]
    tokens = train["steps"] * train["batch_size"] * mean_length + train["eval_examples"] * sum(train["eval_lengths"])
    letters = architectures.layer_letters(config["arch"], config["size"], **config["model_params"])
    return tokens * sum(architectures.LAYER_KINDS[letter].cost for letter in letters)


def longest_first(store: Store, keys: list[str]) -> list[str]:
    """`keys` in decreasing estimated cost (ties keep their order): with the longest runs started first, the grid
    does not end on one long run while the other slots sit idle (the longest-processing-time rule)."""
    costs = {row["key"]: estimated_cost(row["config"]) for row in store.rows(keys=keys)}
    return sorted(keys, key=lambda k: -costs.get(k, 0.0))


def _fusion_keys(store: Store, keys: list[str]) -> dict[str, tuple[str, int] | None]:
    """Each run's fusion key and the step its checkpoint resumes from (None: it trains alone, having no fused form or
    a layer EXPRESSIVITY_UNFUSED keeps apart: fusion.grid_fusion_key): runs of one key may
    train as one model. A fused group steps in lockstep, so train_fused trains runs saved at different steps as
    separate groups one after the other in its one slot: on 2026-12-04 two runs resumed at step 3000 waited behind a
    fresh run of their job for a whole call. Runs at different steps therefore go to separate jobs."""
    from expressivity.runners.training.fusion import grid_fusion_key

    keyed = {row["key"]: grid_fusion_key(row["config"]) for row in store.rows(keys=keys)}
    return {k: None if f is None else (f, resume_step(checkpoint_path(store, k), k)) for k, f in keyed.items()}


# ---- the worker process ----------------------------------------------------------------------------------------------
def _die_with_parent() -> None:
    """preexec_fn: ask Linux to SIGKILL this child when its parent dies (no-op elsewhere)."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG


def worker_main() -> None:
    """`python -m expressivity.runners.execution.workers`: JSON jobs in on stdin, JSON results out on stdout."""
    # Keep the real stdout for the protocol and point fd 1 at stderr (the worker log): stray prints from Python,
    # C extensions or compiler subprocesses must not corrupt it.
    protocol = os.fdopen(os.dup(1), "w")
    sys.stdout.flush()
    os.dup2(2, 1)
    import torch

    torch.set_num_threads(int(os.environ.get("EXPRESSIVITY_THREADS", "1")))

    def send(key: str, result: dict[str, Any]) -> None:  # one line per run: the driver finishes each on its own
        protocol.write(json.dumps({"key": key, "result": result}) + "\n")
        protocol.flush()

    for line in sys.stdin:
        for key, result in run_job(json.loads(line), on_result=send).items():  # those not sent early
            send(key, result)


# ---- pools: where jobs run -------------------------------------------------------------------------------------------
class Pool(Protocol):
    """Where jobs run: `capacity` jobs at a time; a job (`run_job`) is one run or a fused group, and each of its runs
    comes back from `poll` as (key, result) on its own."""

    capacity: int

    def submit(self, job: dict[str, Any]) -> None: ...

    def poll(self, timeout: float) -> list[tuple[str, dict[str, Any]]]: ...

    def close(self) -> None: ...


def check_slots(*, per_gpu: int = 1, cpu_workers: int | None = None, threads: int = 1) -> None:
    """Validate the pool options before anything touches a store (ValueError naming the bad value)."""
    for name, value in (("--per-gpu", per_gpu), ("--cpu-workers", cpu_workers), ("--threads", threads)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")


def local_slots(
    *, per_gpu: int = 1, cpu_workers: int | None = None, use_gpus: bool = True, threads: int = 1
) -> list[dict[str, str]]:
    """Environment overrides of each local worker: per_gpu per visible GPU, else cpu_workers (default cores / 2).

    Every worker runs torch with `threads` intra-op threads (default 1, recorded in each run's `device`): a fixed
    count keeps CPU results bitwise reproducible, and two drivers on one machine do not oversubscribe its cores."""
    check_slots(per_gpu=per_gpu, cpu_workers=cpu_workers, threads=threads)
    gpus: list[str] = []
    if use_gpus:
        import torch

        count = torch.cuda.device_count()
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        gpus = visible.split(",")[:count] if visible else [str(i) for i in range(count)]
    env = {"OMP_NUM_THREADS": str(threads), "EXPRESSIVITY_THREADS": str(threads)}
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if gpus:
        if "EXPRESSIVITY_DATA_PROCESSES" not in os.environ:  # the caller's choice stands
            env["EXPRESSIVITY_DATA_PROCESSES"] = str(data_processes_per_slot(cores, len(gpus) * per_gpu))
        return [{**env, "CUDA_VISIBLE_DEVICES": g, "EXPRESSIVITY_DEVICE": "cuda"} for g in gpus for _ in range(per_gpu)]
    n = cpu_workers if cpu_workers is not None else max(1, cores // 2)
    return [{**env, "CUDA_VISIBLE_DEVICES": "", "EXPRESSIVITY_DEVICE": "cpu"}] * n


def data_processes_per_slot(cores: int, slots: int) -> int:
    """Batch-making processes for each GPU slot's fused group (training/fused.py's `data_processes`): the machine's
    cores shared among its slots, at least 2 and at most 8. A fast group outruns 2: on one H200 a fused transformer
    group alone (modular arithmetic, lengths drawn per example, batch 3 x 256) waited 187 s of 302 s for data with 2;
    a card shared by 16 slots gets 2, as before."""
    return max(2, min(8, cores // max(1, slots)))


class LocalPool:
    """Worker subprocesses, one per slot; a worker that dies is reported as a failed run and replaced."""

    def __init__(self, slots: list[dict[str, str]], *, log_dir: str | os.PathLike):
        self.slots = slots
        self.capacity = len(slots)
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.sel = selectors.DefaultSelector()
        self.procs: list[subprocess.Popen | None] = [None] * len(slots)
        self.busy: dict[int, set[str]] = {}  # slot -> keys of its job still to come back
        self.failed: set[int] = set()  # slots whose job in flight has reported a failed run
        self.buffers: dict[int, bytes] = {}

    def _start(self, i: int) -> subprocess.Popen:
        env = {**os.environ, **self.slots[i], "PYTHONUNBUFFERED": "1"}
        log = open(self.log_dir / f"worker-{i}.log", "ab")  # the child owns it from here
        proc = subprocess.Popen(
            [sys.executable, "-m", "expressivity.runners.execution.workers"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            env=env,
            preexec_fn=_die_with_parent,
        )
        log.close()
        os.set_blocking(proc.stdout.fileno(), False)
        self.sel.register(proc.stdout, selectors.EVENT_READ, (i, proc))
        self.procs[i], self.buffers[i] = proc, b""
        return proc

    def _retire(self, i: int) -> None:
        """Let slot i's worker go (stdin's end: it exits) once its job failed, so the slot's next job starts a fresh
        one: a CUDA error such as an illegal memory access is sticky, failing every later launch in the process."""
        self.failed.discard(i)
        self.procs[i].stdin.close()
        self.procs[i] = None

    def submit(self, job: dict[str, Any]) -> None:
        i = next(s for s in range(self.capacity) if s not in self.busy)
        proc = self.procs[i] if self.procs[i] is not None and self.procs[i].poll() is None else self._start(i)
        job = {**job, "device": self.slots[i]["EXPRESSIVITY_DEVICE"]}
        proc.stdin.write((json.dumps(job) + "\n").encode())
        proc.stdin.flush()
        self.busy[i] = set(job["keys"])

    def poll(self, timeout: float) -> list[tuple[str, dict[str, Any]]]:
        done = []
        for event, _ in self.sel.select(timeout):
            i, proc = event.data
            chunk = os.read(event.fd, 1 << 20)
            if not chunk:  # the worker exited: retired after a failed run (`_retire`), or died mid-run (segfault, OOM)
                self.sel.unregister(event.fileobj)
                proc.wait()
                if self.procs[i] is not proc:  # a retired worker: it had reported every run of its job
                    continue
                self.procs[i] = None
                keys = self.busy.pop(i, set())
                if keys:
                    tail = (self.log_dir / f"worker-{i}.log").read_text(errors="replace").strip().splitlines()[-5:]
                    error = f"worker exited with code {proc.returncode}\n" + "\n".join(tail)
                    done.extend((key, {"status": "failed", "error": error}) for key in sorted(keys))
                continue
            self.buffers[i] += chunk
            while b"\n" in self.buffers[i]:
                line, self.buffers[i] = self.buffers[i].split(b"\n", 1)
                message = json.loads(line)
                self.busy[i].discard(message["key"])
                if message["result"]["status"] == "failed":
                    self.failed.add(i)
                if not self.busy[i]:
                    del self.busy[i]
                    if i in self.failed:
                        self._retire(i)
                done.append((message["key"], message["result"]))
        return done

    def close(self) -> None:
        """Idle workers exit on stdin EOF; busy ones (only on Ctrl-C or an error) are killed. Every worker is told
        first and waited for after, so they exit side by side: a CUDA worker's exit (its context, torch.compile's
        compile workers) may take a second or more. Waited for one after the other, 16 workers were the likely cause
        of a grid ending 20 s after its last run had finished (H200, 2026-12-02)."""
        procs = [key.data for key in self.sel.get_map().values()]  # the slots' workers and retired ones not yet reaped
        for i, proc in procs:
            if i in self.busy and self.procs[i] is proc:
                proc.kill()
            if not proc.stdin.closed:
                proc.stdin.close()
        for _, proc in procs:
            proc.wait()
            proc.stdout.close()
        self.sel.close()


class InProcessPool:
    """One slot that trains in this very process (`expressivity train`): the same claim / finish lifecycle as a grid,
    with a progress bar, and Ctrl-C puts the run back in the queue."""

    capacity = 1

    def __init__(self, *, device: str = "auto", progress: bool = True):
        self.device, self.progress = device, progress
        self.job: tuple[str, dict[str, Any]] | None = None

    def submit(self, job: dict[str, Any]) -> None:
        self.job = {**job, "device": self.device, "progress": self.progress}

    def poll(self, timeout: float) -> list[tuple[str, dict[str, Any]]]:
        if self.job is None:
            return []
        results, self.job = run_job(self.job), None
        return list(results.items())

    def close(self) -> None:
        self.job = None


# ---- the driver loop -------------------------------------------------------------------------------------------------
def drive(
    store: Store,
    keys: list[str],
    pool: Pool,
    *,
    keep_checkpoints: bool = False,
    heartbeat_every: float = 30.0,
    on_finish: Callable[[str, dict[str, Any]], None] | None = None,
    on_claim: Callable[[str], None] | None = None,
    time_limit: float | None = None,
    stop_when: Callable[[], bool] | None = None,
    fuse: int = 1,
    graphs: bool | None = None,
) -> dict[str, int]:
    """Claim runs among `keys` while the pool has room, record each result as it comes back, until none is left.

    Runs are claimed longest first (`longest_first`). Runs already finished are skipped; runs left `running` by a dead
    driver are claimed again (resuming from their checkpoint). Returns counts by status over `keys`. On Ctrl-C, once
    `time_limit` seconds have passed (a batch job's allocation, a lent machine), or once `stop_when()` is true (checked
    between polls; an event such as "a checkpoint exists"), the runs in flight go back to the queue: the next drive
    resumes them from their last checkpoint.

    With `fuse` > 1, a claimed run that has a fused form takes up to `fuse` - 1 more queued runs of its fusion key
    into its job: they train as one model (training/fused.py), each still its own row, claimed, checkpointed and
    finished on its own. `graphs` is passed to fused training (None: CUDA graphs on CUDA).
    """
    owner = owner_id()
    keys = longest_first(store, keys)
    if not keep_checkpoints:  # a driver killed between recording a result and deleting its checkpoint leaves one
        for row in store.rows(keys=keys):
            if row["status"] in OUTCOMES:
                checkpoint_path(store, row["key"]).unlink(missing_ok=True)
    in_flight: dict[str, str] = {}  # key -> checkpoint path
    jobs: list[set[str]] = []  # the keys of each job in flight not yet back: one pool slot each
    fusion = _fusion_keys(store, keys) if fuse > 1 else {}
    last_beat = started = time.monotonic()
    # A stop condition is looked at between polls: poll often enough that it is seen soon after it turns true.
    poll_every = min(heartbeat_every, 5.0 if stop_when is None else 0.1)
    try:
        while True:
            out_of_time = time_limit is not None and time.monotonic() - started >= time_limit
            if out_of_time or (stop_when is not None and stop_when()):
                for key in in_flight:
                    store.release(key, owner)
                break
            while len(jobs) < pool.capacity:
                claimed = store.claim(owner, keys)
                if claimed is None:
                    break
                group = [claimed]
                mates = [k for k in keys if fusion.get(k) is not None and fusion.get(k) == fusion.get(claimed[0])]
                while mates and len(group) < fuse:
                    more = store.claim(owner, mates)
                    if more is None:
                        break
                    group.append(more)
                paths = [str(checkpoint_path(store, key)) for key, _ in group]
                job = {"keys": [k for k, _ in group], "configs": [c for _, c in group], "checkpoints": paths}
                pool.submit({**job, "fused": bool(mates), "graphs": graphs})
                jobs.append(set(job["keys"]))
                for (key, _), path in zip(group, paths, strict=True):
                    in_flight[key] = path
                    if on_claim is not None:
                        on_claim(key)
            if not in_flight:
                break
            for key, result in pool.poll(timeout=poll_every):
                path = in_flight.pop(key)
                for pending in jobs:
                    pending.discard(key)
                jobs = [j for j in jobs if j]
                if store.finish(key, owner, result) and not keep_checkpoints and result["status"] != "failed":
                    Path(path).unlink(missing_ok=True)
                if on_finish is not None:
                    on_finish(key, result)
            if time.monotonic() - last_beat > heartbeat_every:
                store.heartbeat(owner)
                last_beat = time.monotonic()
    except KeyboardInterrupt:
        for key in in_flight:
            store.release(key, owner)
        raise
    finally:
        pool.close()
    return store.counts(keys)


if __name__ == "__main__":
    worker_main()
