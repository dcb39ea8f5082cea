"""Training data: the batch of one run's step, batches of several runs stacked, and generation ahead of the GPU.

A step's batch depends on the run's seed and the step alone (numpy SeedSequence(seed, spawn_key=(0, step))), so it
is the same whether the run trains alone or fused with others, resumed or not, generated now or ahead by a thread.

    batch = train_batch(task, cfg, seed, step)          # one run: its length(s), then its examples
    inputs, targets, mask = pad_stack([b0, b1, b2])     # (tasks.base) (M, B, T) arrays, shorter ones padded, unscored
    (arrays, tokens) = StepArrays(configs, bucketed=True)(step)   # a fused group's step: its runs' batches stacked
    with Prefetcher(make, range(start, stop), depth=8) as ahead:
        for step, arrays in ahead: ...                  # make(step) runs in worker threads, results in step order

Lengths: `length_sampling="batch"` (the default) draws one length for the whole batch (Delétang et al.'s protocol),
"example" one per example (Grazzi et al.'s: each batch mixes lengths; examples are padded with PAD and unscored to the
batch's longest, and a causal model's outputs at an example's own positions do not depend on the padding after it).

A curriculum over one integer task parameter (`curriculum_param`, e.g. num_vars, starting at `curriculum_from`) works
as `length_schedule="increasing"` does for lengths: step s draws the parameter's value uniformly from [from, top(s)],
where top(s) rises linearly from `from` to the run's configured value over the steps. The draw comes from its own
stream, SeedSequence(seed, spawn_key=(3, step)), so the step's batch is the batch the task at that value draws from
the step's usual stream: a curriculum changes which task a step samples, nothing else. (config.py checks that every
value in the range builds the task with the same vocabulary.) A second parameter can rise beside the first over the
same steps (`curriculum_also="m=16"`: the list size from 16 beside the pointers from 2), its value drawn from a stream
of its own, SeedSequence(seed, spawn_key=(5, step)), so adding it leaves the first parameter's draws as they were.

A mixture (`mixture`, mixtures.py) then picks the step's task among the step task and its relatives, from a stream
of its own, SeedSequence(seed, spawn_key=(4, step)), and maps the step's drawn length(s) to that task's unit.

A fixed training set (`train_examples`) and a held-out validation set (`val_examples`) are drawn from these same
fresh batches, once per run (train_set.py).
"""

from __future__ import annotations

import json
import math
import multiprocessing
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import numpy as np

from expressivity.runners.training.mixtures import draw_component, in_run_vocab, task_with
from expressivity.runners.training.packing import ROW_STEP, pack_stack, rows_needed
from expressivity.runners.training.train_set import DATA_KEYS, VALID_STREAM, Stored, drawn_once, epoch_rows
from expressivity.tasks import PAD_ID, Batch
from expressivity.tasks.base import pad_stack

TRAIN_STREAM, EVAL_STREAM, INIT_STREAM, CURRICULUM_STREAM, MIXTURE_STREAM, CURRICULUM_ALSO_STREAM = 0, 1, 2, 3, 4, 5
LENGTH_SAMPLINGS = ("batch", "example")
ROW_PROBES = 16  # steps read for a packed group's row count (StepArrays.least_rows)


def rng_for(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def test_rng(seed: int, length: int) -> np.random.Generator:
    """The generator a run's test examples at `length` are drawn from: the same whatever other lengths are tested."""
    return rng_for(seed, EVAL_STREAM, length)


def length_range(step: int, cfg: dict[str, Any]) -> tuple[int, int]:
    """The lengths step `step` draws from: [min, max], a range whose top grows with training ("increasing": a
    curriculum), or max alone ("fixed")."""
    lo, hi = cfg["train_min_length"], cfg["train_max_length"]
    if cfg["length_schedule"] == "fixed":
        return hi, hi
    if cfg["length_schedule"] == "increasing":
        hi = risen(lo, hi, step, cfg)
    return lo, hi


def risen(lo: int, top: int, step: int, cfg: dict[str, Any], hold: float = 0.0, frac: float | None = None) -> int:
    """A curriculum's top at step `step`: from `lo` linearly up to `top` over the first `frac` of the steps (default
    `curriculum_frac`; all of them by default: `top` at the last step), then `top` for the rest of training. With
    `hold` (a fraction of the steps) it stays at `lo` for those steps first, then rises over `frac` of the steps (or
    what is left of them)."""
    frac = cfg.get("curriculum_frac", 1.0) if frac is None else frac
    if hold > 0.0:
        held = hold * cfg["steps"]
        rise = max(1.0, min(frac * cfg["steps"], cfg["steps"] - held))
        return lo + round((top - lo) * min(1.0, max(0.0, step + 1 - held) / rise))
    if frac >= 1.0:  # the original formula, kept bit for bit: committed runs draw the same lengths
        return lo + round((top - lo) * (step + 1) / cfg["steps"])
    return lo + round((top - lo) * min(1.0, (step + 1) / max(1.0, frac * cfg["steps"])))


def draw_length(rng: np.random.Generator, step: int, cfg: dict[str, Any]) -> int:
    """One length for step `step`, uniform over `length_range` (no draw at all for "fixed")."""
    lo, hi = length_range(step, cfg)
    return hi if cfg["length_schedule"] == "fixed" else int(rng.integers(lo, hi + 1))


def curriculum_range(
    step: int, cfg: dict[str, Any], top: int, start: int | None = None, hold: float = 0.0, frac: float | None = None
) -> tuple[int, int]:
    """The values step `step` draws a curriculum parameter from: [start (default `curriculum_from`), a top rising
    linearly to `top`, the run's configured value, at the last step (or by `frac`, default `curriculum_frac`, of the
    steps, after `hold` of them at `start`)], as `length_range` does for "increasing"."""
    lo = cfg["curriculum_from"] if start is None else start
    return lo, risen(lo, top, step, cfg, hold, frac)


def curriculum_also(cfg: dict[str, Any]) -> tuple[str, int] | None:
    """The second curriculum, `curriculum_also="m=16"`, as ("m", 16); None without one (run_tasks.py checks it)."""
    spec = cfg.get("curriculum_also")
    if spec is None:
        return None
    name, _, start = spec.partition("=")
    return name.strip(), int(start)


def curriculum_value(task, cfg: dict[str, Any], seed: int, step: int) -> int | None:
    """The curriculum parameter's value at step `step` of the run with this seed (None: no curriculum)."""
    if cfg.get("curriculum_param") is None:
        return None
    lo, hi = curriculum_range(step, cfg, task.params[cfg["curriculum_param"]])
    return int(rng_for(seed, CURRICULUM_STREAM, step).integers(lo, hi + 1))


def curriculum_values(task, cfg: dict[str, Any], seed: int, step: int) -> dict[str, int]:
    """Every curriculum parameter's value at step `step`: {} without a curriculum, {curriculum_param: value}, and
    the second curriculum's parameter beside it, each from its own stream."""
    value = curriculum_value(task, cfg, seed, step)
    values = {} if value is None else {cfg["curriculum_param"]: value}
    also = curriculum_also(cfg)
    if also is not None:
        param, start = also
        hold, frac = cfg.get("curriculum_also_hold", 0.0), cfg.get("curriculum_also_frac")
        lo, hi = curriculum_range(step, cfg, task.params[param], start, hold, frac)
        values[param] = int(rng_for(seed, CURRICULUM_ALSO_STREAM, step).integers(lo, hi + 1))
    return values


def step_task(task, cfg: dict[str, Any], seed: int, step: int):
    """The task step `step` samples: the run's own, or under a curriculum the run's with the parameters drawn."""
    drawn = {k: v for k, v in curriculum_values(task, cfg, seed, step).items() if v != task.params[k]}
    if not drawn:
        return task
    return task_with(task.name, json.dumps({**task.params, **drawn}, sort_keys=True))


def train_batch(task, cfg: dict[str, Any], seed: int, step: int) -> Batch:
    """The training batch of step `step` of the run with this seed and training config: fresh examples, or with
    `train_examples` set the step's rows of the run's fixed training set (train_set.py)."""
    if cfg.get("train_examples") is None:
        return fresh_batch(task, cfg, seed, step)
    stored = fixed_set(task, cfg, seed)
    return stored.take(epoch_rows(seed, len(stored), step, cfg["batch_size"]))


def _set_key(which: str, task, cfg: dict[str, Any], seed: int, n: int) -> str:
    data = {k: cfg.get(k) for k in DATA_KEYS}
    return json.dumps([which, task.name, task.params, data, seed, n], sort_keys=True, default=str)


def fixed_set(task, cfg: dict[str, Any], seed: int) -> Stored:
    """The run's fixed training set: the fresh batches of steps 0, 1, ... cut at `train_examples`."""
    n = cfg["train_examples"]
    return drawn_once(_set_key("train", task, cfg, seed, n), lambda c: fresh_batch(task, cfg, seed, c), n)


def validation_set(task, cfg: dict[str, Any], seed: int) -> Stored:
    """The run's held-out validation set (`val_examples` at the training lengths), from its own stream."""
    n = cfg["val_examples"]

    def chunk(c: int) -> Batch:
        return fresh_batch(task, cfg, seed, c, stream=VALID_STREAM)

    return drawn_once(_set_key("valid", task, cfg, seed, n), chunk, n)


def draws_other_tasks(cfg: dict[str, Any]) -> bool:
    """Whether some steps of the run train on another task than its own: a mixture's components, a curriculum's
    other parameter values."""
    return any(cfg.get(k) is not None for k in ("mixture", "curriculum_param", "curriculum_also"))


def step_component(task, cfg: dict[str, Any], seed: int, step: int) -> tuple[Any, Callable[[int], int] | None]:
    """The task step `step` trains on: the (curriculum's) step task, or the component its mixture draws, with the map
    of a drawn length to that component's unit (None: the task's own lengths)."""
    if cfg.get("mixture") is None:
        return task, None
    progress = step / max(cfg["steps"], 1)  # a staged mixture's stage
    return draw_component(cfg["mixture"], task, rng_for(seed, MIXTURE_STREAM, step), progress)


def fresh_batch(task, cfg: dict[str, Any], seed: int, step: int, stream: int = TRAIN_STREAM) -> Batch:
    """Step `step`'s fresh examples (its length(s) and examples drawn from `stream`, the training stream unless a
    held-out set is being drawn)."""
    own = step_task(task, cfg, seed, step)
    task, length_of = step_component(own, cfg, seed, step)
    rng = rng_for(seed, stream, step)
    if cfg.get("length_sampling", "batch") == "batch":
        n = draw_length(rng, step, cfg)
        batch = task.sample(rng, cfg["batch_size"], n if length_of is None else length_of(n))
    else:
        lo, hi = length_range(step, cfg)
        lengths = rng.integers(lo, hi + 1, size=cfg["batch_size"])
        if length_of is not None:
            lengths = np.array([length_of(int(n)) for n in lengths])
        parts = {int(n): task.sample(rng, int((lengths == n).sum()), int(n)) for n in np.unique(lengths)}
        batch = _interleave(parts, lengths)
    return in_run_vocab(batch, task, own)  # the batch itself unless a mixture's component numbers tokens apart


def _interleave(parts: dict[int, Batch], lengths: np.ndarray) -> Batch:
    """Batches of one length each -> one batch in the drawn order, padded to the longest."""
    T = max(b.seq_len for b in parts.values())
    B = len(lengths)
    inputs = np.full((B, T), PAD_ID, np.int64)
    targets = np.full((B, T), PAD_ID, np.int64)
    mask = np.zeros((B, T), bool)
    for n, b in parts.items():
        rows = np.flatnonzero(lengths == n)
        inputs[rows, : b.seq_len], targets[rows, : b.seq_len], mask[rows, : b.seq_len] = b.inputs, b.targets, b.mask
    return Batch(inputs=inputs, targets=targets, mask=mask)


def bucket(T: int) -> int:
    """T rounded up to one of a few sizes (multiples of 16 up to 64, then of 64), so captured steps are few."""
    return 16 * math.ceil(T / 16) if T <= 64 else 64 * math.ceil(T / 64)


def padded_to(T: int, *, least: int = 0, cap: int = 0, ladder: tuple[int, ...] = ()) -> int:
    """The length a bucketed step whose longest example is T pads to: the first rung of `ladder` (ascending) it fits,
    else `least` if it fits, else T's bucket, cut to `cap` (a group's own longest) when T fits that."""
    if ladder and T <= ladder[-1]:
        return next(rung for rung in ladder if rung >= T)
    return least if T <= least else min(bucket(T), cap) if T <= cap else bucket(T)


class StepArrays:
    """make(step) of a fused group: every run's batch of the step, stacked and padded (when `bucketed`: to `least`
    if the step fits it, else to its bucket, so captured or compiled steps see few lengths; a bucket past `cap`, the
    group's own longest, is cut to `cap` when the step fits that: parity at Grazzi et al.'s lengths pads to 16, 32 or
    42, not 48), and each run's token count. A run that stopped early still gets its batch (its rows cost little and
    keep data per step independent of when others stop); the step leaves it untouched.
    Picklable (the tasks are rebuilt where it runs), so worker processes can run it; `compact` sends token ids as
    int16 (a third of the bytes through the pipe; every vocabulary is far below 2^15), which the consumer widens
    back. With `packed` (a row length), every run's batch is packed into rows of that many tokens instead, to one
    row count for all (packing.pack_stack), and the arrays are (inputs, targets, mask, pos, ends); a run's token
    count is then its own rows' tokens."""

    def __init__(
        self, configs: list[dict[str, Any]], *, bucketed: bool, compact: bool = False, least: int = 0, cap: int = 0,
        packed: int = 0, ladder: tuple[int, ...] = (),
    ):  # fmt: skip
        self.configs, self.bucketed, self.compact, self.least, self.cap = configs, bucketed, compact, least, cap
        self.packed, self.ladder = packed, ladder
        self._tasks = None
        # Settled here, once: every data process gets a pickled copy (Prefetcher), and a row count left to a copy's
        # first call would be probed again (ROW_PROBES steps of every run) in each.
        self._least_rows = self.least_rows() if packed else None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_tasks": None}

    def _made(self) -> list:
        """The runs' tasks, built on first use where this copy runs (they are not pickled)."""
        from expressivity import tasks

        if self._tasks is None:
            self._tasks = [tasks.make(c["task"], **c["task_params"]) for c in self.configs]
        return self._tasks

    def least_rows(self) -> int:
        """The row count packed steps take unless one needs more: the most that ROW_PROBES steps spread evenly over
        the run need (a length curriculum's late steps among them), rounded up to ROW_STEP. The same steps whatever
        step a group starts at, so a resumed group takes the same shape. A step that needs more pads to its own
        count, a shape compiled and captured once more (Grazzi et al.'s lengths, rows of 64: 104 rows against a mean
        need of 95.5, standard deviation 2.1; no step of 1000 read needed more: benchmarks/pad_lengths.py)."""
        steps = self.configs[0]["train"]["steps"]  # a shared key (fusion_key)
        probes = [[train_batch(t, c["train"], c["seed"], s) for t, c in zip(self._made(), self.configs, strict=True)]
                  for s in sorted({int(s) for s in np.linspace(0, steps - 1, ROW_PROBES)})]  # fmt: skip
        need = max(rows_needed(batches, self.packed) for batches in probes)
        return ROW_STEP * math.ceil(need / ROW_STEP)

    def __call__(self, step: int):
        batches = [train_batch(t, c["train"], c["seed"], step) for t, c in zip(self._made(), self.configs, strict=True)]
        if self.packed:  # several examples a row, every run to the same row count (packing.py)
            rows = pack_stack(batches, self.packed, self._least_rows)
            arrays = rows.arrays()
            if self.compact:
                arrays = tuple(a.astype(np.int16) if a.dtype == np.int64 else a for a in arrays)
            return arrays, [int((p != PAD_ID).any(-1).sum()) * self.packed for p in rows.inputs]
        T = max(b.seq_len for b in batches)
        if self.bucketed:
            T = padded_to(T, least=self.least, cap=self.cap, ladder=self.ladder)
        inputs, targets, mask = pad_stack(batches, T)
        if self.compact:
            inputs, targets = inputs.astype(np.int16), targets.astype(np.int16)
        return (inputs, targets, mask), [b.inputs.size for b in batches]


_KEPT: Callable[[int], Any] | None = None  # a data process's make(), given once when it starts (Prefetcher)


def _keep(make: Callable[[int], Any]) -> None:
    global _KEPT
    _KEPT = make


def _kept(step: int) -> Any:
    return _KEPT(step)


class Prefetcher:
    """make(step) for the steps to come, `depth` of them in flight in `workers` threads, handed out in step order.

    numpy releases the GIL in its array work, so generation overlaps the training step (which mostly waits on the GPU).
    Generators that spend their time in Python (small per-length draws of one-length-per-example batches) hold the
    GIL, and threads do not add up: `processes` > 0 runs make() in that many worker processes instead (`make` must then
    be picklable; spawned, so a CUDA parent is safe). Each process receives `make` once, when it starts, and keeps it,
    so what make() builds on first use (its tasks) is built once a process, not once a step. A make() that raises
    re-raises in the consumer at that step."""

    def __init__(
        self, make: Callable[[int], Any], steps: Iterable[int], *, depth: int = 8, workers: int = 2, processes: int = 0
    ):
        self.make, self.steps, self.depth = make, iter(steps), depth
        if processes > 0:
            spawn = multiprocessing.get_context("spawn")
            self.pool = ProcessPoolExecutor(
                max_workers=processes, mp_context=spawn, initializer=_keep, initargs=(make,)
            )
            self.depth = max(depth, 4 * processes)
        else:
            self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="batches")
        self.pending: deque[tuple[int, Future]] = deque()
        self.waited = 0.0  # seconds the consumer spent waiting for a batch not yet made (0: data kept up)

    def _fill(self) -> None:
        while len(self.pending) < self.depth:
            step = next(self.steps, None)
            if step is None:
                return
            call = _kept if isinstance(self.pool, ProcessPoolExecutor) else self.make
            self.pending.append((step, self.pool.submit(call, step)))

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        self._fill()
        while self.pending:
            step, future = self.pending.popleft()
            self._fill()
            started = time.perf_counter()
            result = future.result()
            self.waited += time.perf_counter() - started
            yield step, result

    def __enter__(self) -> Prefetcher:
        return self

    def __exit__(self, *exc) -> None:  # cancel what is queued; a make() already running is waited for
        for _, future in self.pending:
            future.cancel()
        self.pool.shutdown(wait=True, cancel_futures=True)
