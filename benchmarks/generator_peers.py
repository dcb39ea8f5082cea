"""Side by side: four of our generators against their peers' (issue 13), for `generators.py --chomsky-src DIR
--zoology-src DIR`. Each peer is imported from a source checkout named on the command line; none of its code is in
this repository. Both sides run in one process, on the core `generators.py` pinned, at one batch size and length,
timed in alternating blocks of calls so that drift and noise hit both alike. UNITS says what each side outputs.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import itertools
import math
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from expressivity import tasks

CHOMSKY_PACKAGE = "neural_networks_chomsky_hierarchy"  # the name its modules import themselves by
CHOMSKY_TASKS = [  # ours, module under tasks/, class
    ("parity_check", "regular.parity_check", "ParityCheck"),
    ("reverse_string", "dcf.reverse_string", "ReverseString"),
    ("duplicate_string", "cs.duplicate_string", "DuplicateString"),
]
MQAR_VOCAB = 8192

UNITS = (
    "Pairs: parity_check, reverse_string, duplicate_string against DeepMind's neural_networks_chomsky_hierarchy "
    "(tasks/regular/parity_check.py, tasks/dcf/reverse_string.py, tasks/cs/duplicate_string.py); associative_recall "
    "against zoology's `multiquery_ar` (zoology/data/multiquery_ar.py). "
    "Outputs: ours, int64 inputs and targets (B, T) and a bool mask (B, T). DeepMind's jitted JAX `sample_batch`, "
    "one-hot float32 input (B, L, 2) and output (B, 2), (B, L, 2) or (B, 2L, 2), no mask; each call takes the next "
    "of 1024 PRNG keys split beforehand (cycled: reuse changes no work) and is timed to `block_until_ready`. "
    "Zoology's, int64 torch inputs and labels (B, S), labels -100 where unscored; it reseeds numpy's global state "
    "per call, as it does. "
    "Tokens per example are the positions a model runs over: ours T (BOS, the input, then the query or one blank "
    "per output symbol); DeepMind's L + output length (the model reads the input, then takes one step per output "
    "symbol); zoology's input_seq_len S = 4 * pairs, the shortest it allows (the pairs, then a query region of "
    "2 * pairs). MQAR: vocabulary 8192 (the default multiquery_ar documents), so 4095 keys and 4096 values on its "
    "side; ours num_keys = num_values = 4096, every pair queried (T = 3 * pairs + 1), `length` = pairs. Zoology "
    "draws distinct values and places queries at power-law gaps among noise tokens; ours draws values with "
    "replacement and asks the keys in random order after the pairs."
)


class PeerUnavailable(Exception):
    """A peer's source is missing or will not import; the row says why instead of showing a figure."""


def source_commit(src: Path) -> str:
    """The checkout's commit, or a note that it is not a git checkout."""
    out = subprocess.run(["git", "-C", str(src), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else "not a git checkout"


def _chomsky_task(src: Path, module: str, cls: str):
    """An instance of DeepMind's task class, its package mapped onto the checkout `src` (which has no setup.py)."""
    if not (src / "tasks" / "task.py").is_file():
        raise PeerUnavailable(f"{src} is not a checkout of neural_networks_chomsky_hierarchy (no tasks/task.py)")
    if CHOMSKY_PACKAGE not in sys.modules:
        spec = importlib.machinery.ModuleSpec(CHOMSKY_PACKAGE, None, is_package=True)
        spec.submodule_search_locations = [str(src)]
        sys.modules[CHOMSKY_PACKAGE] = importlib.util.module_from_spec(spec)
    try:
        return getattr(importlib.import_module(f"{CHOMSKY_PACKAGE}.tasks.{module}"), cls)()
    except ImportError as err:
        raise PeerUnavailable(f"{type(err).__name__}: {err}") from err


def chomsky_sampler(src: Path, module: str, cls: str, batch: int, length: int) -> tuple[Callable, int]:
    """(one call of DeepMind's jitted sample_batch, finished; tokens per example)."""
    task = _chomsky_task(src, module, cls)
    import jax  # importable once the task module is

    # Keys split beforehand and cycled: splitting inside the timing would add a dispatch, reuse changes no work.
    keys = itertools.cycle(list(jax.random.split(jax.random.PRNGKey(0), 1024)))

    def sample():
        return jax.block_until_ready(task.sample_batch(next(keys), batch, length))

    return sample, length + task.output_length(length)


def zoology_sampler(src: Path, batch: int, pairs: int) -> tuple[Callable, int]:
    """(one call of zoology's multiquery_ar at MQAR_VOCAB, input_seq_len 4 * pairs; tokens per example)."""
    if not (src / "zoology" / "data" / "multiquery_ar.py").is_file():
        raise PeerUnavailable(f"{src} is not a checkout of zoology (no zoology/data/multiquery_ar.py)")
    sys.path.insert(0, str(src))
    try:
        multiquery_ar = importlib.import_module("zoology.data.multiquery_ar").multiquery_ar
    except ImportError as err:  # zoology.config pulls in pydantic, zoology.utils wandb and pandas
        raise PeerUnavailable(f"{type(err).__name__}: {err}") from err
    finally:
        sys.path.remove(str(src))
    seq_len, seeds = 4 * pairs, itertools.count()

    def sample():
        return multiquery_ar(
            vocab_size=MQAR_VOCAB, num_examples=batch, input_seq_len=seq_len, seed=next(seeds), num_kv_pairs=pairs
        )

    return sample, seq_len


def ours_sampler(name: str, params: dict, batch: int, length: int) -> tuple[Callable, int]:
    task, rng = tasks.make(name, **params), np.random.default_rng(0)
    return (lambda: task.sample(rng, batch, length)), task.sample(rng, 1, length).seq_len


def per_call(fn: Callable, calls: int) -> float:
    """Seconds per call over `calls` back-to-back calls, each result kept until the next is made (as in training)."""
    out = None
    start = time.perf_counter()
    for _ in range(calls):
        out = fn()
    seconds = time.perf_counter() - start
    del out
    return seconds / calls


def time_side_by_side(ours: Callable, peer: Callable, warmup: int, repeats: int, block_s: float) -> tuple[float, float]:
    """Median seconds per call of each, timed in alternating blocks of >= block_s so drift hits both alike."""
    for fn in (ours, peer):
        for _ in range(warmup):
            fn()
    counts = [max(1, math.ceil(block_s / per_call(fn, 1))) for fn in (ours, peer)]
    times = [[], []]
    for _ in range(repeats):
        for side, fn in enumerate((ours, peer)):
            times[side].append(per_call(fn, counts[side]))
    return statistics.median(times[0]), statistics.median(times[1])


def compare(
    chomsky: Path | None, zoology: Path | None, batch: int, length: int, pairs: int, warmup: int, repeats: int
) -> list[dict]:
    """One row per pair: our task and setting, both sides' seconds per call and tokens per example, or an error."""
    jobs = []
    if chomsky is not None:
        for name, module, cls in CHOMSKY_TASKS:
            peer = f"DeepMind {module.split('.')[1]} (JAX)"
            jobs.append((name, {}, length, peer, lambda m=module, c=cls: chomsky_sampler(chomsky, m, c, batch, length)))
    if zoology is not None:
        params = {"num_keys": MQAR_VOCAB // 2, "num_values": MQAR_VOCAB // 2, "num_queries": pairs}
        peer = "zoology multiquery_ar"
        jobs.append(("associative_recall", params, pairs, peer, lambda: zoology_sampler(zoology, batch, pairs)))
    rows = []
    for name, params, size, peer_name, make_peer in jobs:
        row = {"task": name, "batch": batch, "length": size, "peer": peer_name}
        ours, row["ours_tokens"] = ours_sampler(name, params, batch, size)
        try:
            peer, row["peer_tokens"] = make_peer()
            row["ours_s"], row["peer_s"] = time_side_by_side(ours, peer, warmup, repeats, block_s=0.05)
        except Exception as err:  # noqa: BLE001 -- a peer that will not run gets a row saying why, never a figure
            row["error"] = str(err) if isinstance(err, PeerUnavailable) else f"{type(err).__name__}: {err}"
        rows.append(row)
    return rows


def table(rows: list[dict]) -> str:
    """Markdown: task, batch, length, ours ex/s, T, M tokens/s, peer, its ex/s, tokens/example, M tokens/s, ratio."""
    lines = [
        "| task | batch | length | ours ex/s | ours tokens/ex | ours M tokens/s | peer | peer ex/s | peer tokens/ex "
        "| peer M tokens/s | ours/peer (ex/s) |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        head = [r["task"], r["batch"], r["length"]]
        if "error" in r:
            note = f"peer not run: {r['error']}"
            lines.append("| " + " | ".join(map(str, [*head, "", "", "", r["peer"], note, "", "", ""])) + " |")
            continue
        ours_ex, peer_ex = r["batch"] / r["ours_s"], r["batch"] / r["peer_s"]
        cells = [
            *head,
            f"{ours_ex:,.0f}",
            r["ours_tokens"],
            f"{ours_ex * r['ours_tokens'] / 1e6:.1f}",
            r["peer"],
            f"{peer_ex:,.0f}",
            r["peer_tokens"],
            f"{peer_ex * r['peer_tokens'] / 1e6:.1f}",
            f"{ours_ex / peer_ex:.2f}",
        ]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    return "\n".join(lines)
