"""The memory a request needs, estimated before anything is allocated, held against what the machine can give.

A request too big for the machine (`sample --length 1e12`, `eval_lengths=10000000`, `construct --max-length 1e7`)
is refused up front with one line naming the estimate, the limit and how to raise it, instead of a MemoryError
traceback after minutes, and before a run enters the store. The estimates are deliberately rough upper bounds:

- data: a batch of B examples of T tokens costs at most GEN_BYTES_PER_TOKEN bytes per token while it is generated
  (the generators' measured peak is about 100 B per token: tracemalloc over every task at lengths 16 and 128);
- a model: ACT_FLOATS_PER_WIDTH floats per token per layer per unit of d_model for the activations autograd keeps
  (attention, MLP 4x, q/k/v, norms), plus the logits (attention's T x T scores are not counted: PyTorch's SDPA
  runs fused kernels on CPU and GPU that never hold them);
- T at a length is measured on two short batches and extrapolated with the task's growth exponent (linear for
  every task but padded boolean formulas), with a 30% margin for digits that grow with length.

The limit is EXPRESSIVITY_MEMORY_LIMIT (bytes, or with a K, M, G or T suffix) when set; else the memory available
now (MemAvailable), or less where an address-space limit (ulimit -v) leaves less room.

A report that only lists a preset's runs to read them from a store (`table`, `check`) resolves them inside
`listing_only()`, which skips the per-run check: they will not train here, so a machine too small to train
olmo-hybrid's m = 256 runs (about 18 GiB by the estimate) can still read their results.
"""

from __future__ import annotations

import contextvars
import functools
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

ENV = "EXPRESSIVITY_MEMORY_LIMIT"
GEN_BYTES_PER_TOKEN = 128
FLOOR = 64 << 20  # fixed costs of a batch (the generators' tables), whatever its size
ACT_FLOATS_PER_WIDTH = 48
MARGIN = 1.3
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_bytes(text: str) -> int:
    """'8G' -> 8 GiB in bytes; ValueError naming the expected form."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*", text, re.IGNORECASE)
    if not match:
        raise ValueError(f"{ENV}={text!r} is not a size; write bytes or a number with K, M, G or T (e.g. 16G)")
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} PiB"


def _proc_kib(path: str, field: str) -> int | None:
    try:
        for line in open(path):
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def memory_limit() -> tuple[int, str]:
    """(bytes this process may still use, where the figure comes from)."""
    if os.environ.get(ENV):
        return parse_bytes(os.environ[ENV]), f"{ENV}"
    available = _proc_kib("/proc/meminfo", "MemAvailable")
    limit, source = (available, "memory available") if available else (1 << 62, "no known limit")
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        used = _proc_kib("/proc/self/status", "VmSize") or 0
        if soft != resource.RLIM_INFINITY and soft - used < limit:
            limit, source = max(0, soft - used), "address-space limit (ulimit -v) left"
    except (ImportError, ValueError, OSError):
        pass
    return limit, source


def refuse_if_too_big(need: float, what: str, hint: str) -> None:
    """ValueError (one line) when `need` bytes exceed the limit: what needs it, the figures, how to ask for less
    (`hint`) or raise the limit."""
    limit, source = memory_limit()
    if need > limit:
        raise ValueError(
            f"{what} needs about {human(need)} of memory, more than the {human(limit)} of {source}; {hint}, "
            f"or set {ENV} (e.g. {ENV}=64G) if the machine has more"
        )


@functools.lru_cache(maxsize=4096)
def _probe(task_name: str, params_json: str, length: int) -> int:
    """T of a small batch at `length` (the longest of 4 examples)."""
    import json

    from expressivity import tasks

    task = tasks.make(task_name, **json.loads(params_json))
    return int(task.sample(np.random.default_rng(0), 4, length).inputs.shape[1])


def tokens_at(task, length: int) -> float:
    """An upper estimate of T, the tokens of one example at `length`, without sampling at that length."""
    import json

    params = json.dumps(task.params, sort_keys=True, default=str)
    hi = task.max_length or length
    short = max(task.min_length, min(16, hi))
    if length <= 4 * short:
        return _probe(task.name, params, length)
    longer = max(task.min_length, min(4 * short, hi))
    t = _probe(task.name, params, longer)
    return MARGIN * t * (length / longer) ** task.growth


def data_bytes(task, batch_size: int, length: int) -> float:
    return FLOOR + GEN_BYTES_PER_TOKEN * batch_size * tokens_at(task, length)


def check_sample(task, batch_size: int, length: int) -> None:
    task.check_length(length)
    refuse_if_too_big(
        data_bytes(task, batch_size, length), f"{batch_size} example(s) of {task.name} at length {length}", "ask less"
    )


def model_bytes(d_model: int, layers: str, vocab: int, batch_size: int, tokens: float, *, train: bool) -> float:
    """Activations of a forward (and the backward's saved tensors when `train`) for a batch of `tokens`-long inputs."""
    per_layer = ACT_FLOATS_PER_WIDTH * d_model * (1.0 if train else 0.25)
    return 4.0 * batch_size * tokens * (per_layer * len(layers) + 3 * vocab)


_LISTING = contextvars.ContextVar("listing_only", default=False)


@contextmanager
def listing_only() -> Iterator[None]:
    """Within it, `check_run` passes every run: the runs resolved are only listed, to be read from a store."""
    token = _LISTING.set(True)
    try:
        yield
    finally:
        _LISTING.reset(token)


def check_run(config: dict[str, Any], task, vocab_size: int, eval_task=None) -> None:
    """Refuse a resolved run whose training batch or largest test batch cannot fit (one line naming the key); test
    batches are `eval_task`'s where the run evaluates on another than it trains on. Nothing inside `listing_only()`."""
    if _LISTING.get():
        return
    from expressivity import architectures

    train = config["train"]
    letters = architectures.layer_letters(config["arch"], config["size"], **config["model_params"])
    d_model = config["model_params"].get("d_model") or architectures.presets.SIZES[config["size"]]["d_model"]
    tested = eval_task if eval_task is not None else task
    for what, made, batch, length, training in (
        ("a training batch", task, train["batch_size"], train["train_max_length"], True),
        ("a test batch", tested, min(train["eval_batch_size"], train["eval_examples"]), max(train["eval_lengths"]),
         False),
    ):  # fmt: skip
        t = tokens_at(made, length)
        need = data_bytes(made, batch, length) + model_bytes(d_model, letters, vocab_size, batch, t, train=training)
        key = "train_max_length or batch_size" if training else "eval_lengths or eval_batch_size"
        refuse_if_too_big(need, f"{what} of {made.name} at length {length} ({batch} x {int(t)} tokens)", f"lower {key}")
    held = (train.get("train_examples") or 0) + (train.get("val_examples") or 0)
    if held:  # sets drawn once and kept (train_set.py), each example padded to the longest training length
        from expressivity.runners.training.train_set import BYTES_PER_TOKEN

        need = BYTES_PER_TOKEN * held * tokens_at(task, train["train_max_length"])
        refuse_if_too_big(need, f"{held} stored examples of {task.name}", "lower train_examples or val_examples")
