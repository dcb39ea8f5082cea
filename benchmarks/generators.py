"""Generator throughput: tokens/s of every registered task's `sample` on ONE CPU core, against a per-family target.

    python3 benchmarks/generators.py                            # every task in the registry, print the table
    python3 benchmarks/generators.py --tasks parity,reachability --batch 256 --length 256
    python3 benchmarks/generators.py --write                    # also replace the Generators section of BENCHMARKS.md
    python3 benchmarks/generators.py --chomsky-src DIR --zoology-src DIR [--write]   # side by side with peers

Tokens per call = batch * T (T the batch's sequence length, padding included); the figure is the median over timed
calls after a warm-up, default task parameters, length 256 in the task's own units (or its max_length if smaller).
Prints figures only, never asserts: a task below its family's target is marked `below`, and the exit code stays 0
unless a task fails to sample.

With --chomsky-src (a checkout of google-deepmind/neural_networks_chomsky_hierarchy; needs jax and chex) and/or
--zoology-src (a checkout of HazyResearch/zoology; needs torch, pydantic, wandb, pandas) it times only the peer
comparisons of generator_peers.py instead (its docstring gives the pairs and units), and --write replaces the
"Generators vs peers" section.
"""

from __future__ import annotations

import os

# One core, set before numpy loads its BLAS (thread pools read these once, at import).
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

import argparse  # noqa: E402
import datetime  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import shlex  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from expressivity import tasks  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BEGIN = "<!-- generators:begin (written by benchmarks/generators.py --write; edit the script, not this section) -->"
END = "<!-- generators:end -->"
PEERS_BEGIN = (
    "<!-- generator-peers:begin (written by benchmarks/generators.py --chomsky-src/--zoology-src --write; "
    "edit the scripts, not this section) -->"
)
PEERS_END = "<!-- generator-peers:end -->"

# Tokens/s each family should reach on one core at batch 256, length 256 (issue 2).
FAMILY_TARGETS = {
    "state_tracking": 20e6,
    "regular": 20e6,
    "context_free": 10e6,
    "context_sensitive": 10e6,
    "recall": 5e6,
    "boolean_formula": 5e6,
    "code": 5e6,
    "graphs": 1e6,
}

PEERS = (
    'Peers measured side by side (same process, core, batch and length): the section "Generators vs peers" '
    "below (`--chomsky-src`, `--zoology-src`)."
)


def time_task(name: str, batch: int, length: int, warmup: int, repeats: int) -> dict:
    """Median tokens/s of `sample` for one task at default parameters; the length is clipped to the task's range."""
    task = tasks.make(name)
    if task.max_length is not None:
        length = min(length, task.max_length)
    length = max(length, task.min_length)
    rng = np.random.default_rng(0)
    for _ in range(warmup):
        task.sample(rng, batch, length)
    rates, seq_lens = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        out = task.sample(rng, batch, length)
        seconds = time.perf_counter() - start
        rates.append(out.inputs.size / seconds)
        seq_lens.append(out.seq_len)
    return {"length": length, "T": int(np.median(seq_lens)), "rate": float(np.median(rates)), "family": task.family}


def table(rows: list[dict]) -> str:
    """Markdown table: task, family, length, T, M tokens/s, target, ok/below."""
    lines = ["| task | family | length | T | M tokens/s | target | |", "|---|---|---:|---:|---:|---:|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['task']} | {r.get('family', '?')} | | | | | error: {r['error']} |")
            continue
        target = FAMILY_TARGETS.get(r["family"])
        mark = "no target" if target is None else ("ok" if r["rate"] >= target else "below")
        target_text = "-" if target is None else f">= {target / 1e6:g} M"
        cells = [r["task"], r["family"], r["length"], r["T"], f"{r['rate'] / 1e6:.2f}", target_text, mark]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    return "\n".join(lines)


def cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown CPU"
    found = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return found.group(1).strip() if found else "unknown CPU"


def git_commit() -> str:
    """The checked-out commit, short (with "-dirty" when tracked files differ), or 'unknown' outside a git tree."""
    from expressivity.runners.execution.provenance import git_commit as full

    commit = full()
    return commit[:7] + ("-dirty" if commit.endswith("-dirty") else "") if commit else "unknown"


def section(rows: list[dict], args: argparse.Namespace) -> str:
    command = shlex.join(["python3", "benchmarks/generators.py", *sys.argv[1:]])
    return "\n".join(
        [
            BEGIN,
            "## Generators",
            "",
            "Tokens per second of `task.sample` (tokens = batch x T, padding included), "
            f"median of {args.repeats} timed calls after {args.warmup} warm-up calls, default parameters, "
            f"batch {args.batch}, length {args.length} in each task's own units (or its max_length if smaller).",
            "",
            f"Date {datetime.date.today().isoformat()}; machine {cpu_model()}, 1 core (pinned, BLAS threads 1); "
            f"Python {platform.python_version()}, numpy {np.__version__}; commit {git_commit()}; command `{command}`.",
            "",
            table(rows),
            "",
            PEERS,
            END,
        ]
    )


def peers_section(rows: list[dict], args: argparse.Namespace, sources: dict[str, str]) -> str:
    import generator_peers

    command = shlex.join(["python3", "benchmarks/generators.py", *sys.argv[1:]])
    versions = {name: sys.modules[name].__version__ for name in ("jax", "torch") if name in sys.modules}
    return "\n".join(
        [
            PEERS_BEGIN,
            "## Generators vs peers",
            "",
            "Examples and tokens per second of our and a peer's generator, side by side in one process on one "
            f"pinned core, same batch size and length; median over {args.repeats} alternating blocks of calls "
            f"(>= 50 ms each) after {args.warmup} warm-up calls. The ratio is per example. {generator_peers.UNITS}",
            "",
            f"Date {datetime.date.today().isoformat()}; machine {cpu_model()}, 1 core (pinned, BLAS threads 1); "
            f"Python {platform.python_version()}, numpy {np.__version__}"
            + "".join(f", {k} {v}" for k, v in versions.items())
            + f"; commit {git_commit()}; peers "
            + ", ".join(f"{k} at {v}" for k, v in sources.items())
            + f"; command `{command}`.",
            "",
            generator_peers.table(rows),
            PEERS_END,
        ]
    )


def write_section(path: Path, text: str, begin: str = BEGIN, end: str = END) -> None:
    """Replace the marked section of `path` (append it, or create the file, if absent); keep the rest."""
    old = path.read_text() if path.exists() else "# Benchmarks\n"
    if begin in old and end in old:
        head, rest = old.split(begin, 1)
        tail = rest.split(end, 1)[1]
        new = head + text + tail
    else:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(new)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", default="", help="comma-separated task names (default: every registered task)")
    parser.add_argument("--batch", type=int, default=256, help="batch size (default 256)")
    parser.add_argument("--length", type=int, default=256, help="length in each task's own units (default 256)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls first (default 2)")
    parser.add_argument("--repeats", type=int, default=7, help="timed calls; the median is reported (default 7)")
    parser.add_argument("--write", action="store_true", help="replace the Generators section of the benchmark file")
    parser.add_argument("--file", type=Path, default=ROOT / "BENCHMARKS.md", help="file for --write")
    parser.add_argument("--chomsky-src", type=Path, help="checkout of neural_networks_chomsky_hierarchy: compare")
    parser.add_argument("--zoology-src", type=Path, help="checkout of HazyResearch/zoology: compare MQAR")
    parser.add_argument("--pairs", type=int, default=16, help="key-value pairs of the MQAR comparison (default 16)")
    args = parser.parse_args(argv)
    for key in ("batch", "length", "repeats", "pairs"):
        if getattr(args, key) < 1:
            parser.error(f"--{key} must be >= 1, got {getattr(args, key)}")
    if args.warmup < 0:
        parser.error(f"--warmup must be >= 0, got {args.warmup}")
    return args


def main_peers(args: argparse.Namespace) -> int:
    """Time the peer comparisons only; 1 if a peer could not be run (its row says why)."""
    import generator_peers

    sources = {
        name: f"{path} ({generator_peers.source_commit(path)})"
        for name, path in (("chomsky", args.chomsky_src), ("zoology", args.zoology_src))
        if path is not None
    }
    rows = generator_peers.compare(
        args.chomsky_src, args.zoology_src, args.batch, args.length, args.pairs, args.warmup, args.repeats
    )
    print(generator_peers.table(rows))
    print("\n" + generator_peers.UNITS)
    if args.write:
        write_section(args.file, peers_section(rows, args, sources), PEERS_BEGIN, PEERS_END)
        print(f"wrote the Generators vs peers section of {args.file}")
    return 1 if any("error" in r for r in rows) else 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.chomsky_src is not None or args.zoology_src is not None:
        return main_peers(args)
    names = [n.strip() for n in args.tasks.split(",") if n.strip()] or tasks.names()
    for name in names:
        try:
            tasks.get(name)
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    rows = []
    for name in names:
        try:
            rows.append({"task": name, **time_task(name, args.batch, args.length, args.warmup, args.repeats)})
        except Exception as err:  # noqa: BLE001 -- one broken task must not hide the others' figures
            rows.append({"task": name, "family": tasks.get(name).family, "error": f"{type(err).__name__}: {err}"})
    print(table(rows))
    if args.write:
        write_section(args.file, section(rows, args))
        print(f"wrote the Generators section of {args.file}")
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
