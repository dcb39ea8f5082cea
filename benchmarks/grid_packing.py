"""Grid packing: wall time of a 24-run grid of tiny models with `--per-gpu 1` versus `--per-gpu 4`.

    PYTHONPATH=. python3 benchmarks/grid_packing.py --log $OUT/packing.log --store-dir $OUT        # one GPU
    PYTHONPATH=. python3 benchmarks/grid_packing.py --log $OUT/packing2.log --per-gpu 1,4           # on a two-GPU kind

The grid: every registered architecture (tiny preset) x seeds on one task, short fixed runs (--steps, fixed length),
24 runs by default, run by the same local scheduler as `expressivity grid` over every visible GPU. Each setting gets a
fresh store; wall time includes starting the worker processes. An untimed warm-up grid first fills Triton's on-disk
kernel cache, so neither timed setting pays compilation. Prints a table (slots, wall time, speed-up over the first
setting, runs by physical GPU) and writes it, with the worker logs, to --log. Stores are closed (WAL checkpointed)
before exit, so each is one file.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _configs(args, names, steps):
    from expressivity.runners.training.config import resolve

    sets = {
        "size": "tiny",
        "steps": steps,
        "batch_size": args.batch,
        "length_schedule": "fixed",
        "train_min_length": args.length,
        "train_max_length": args.length,
        "eval_lengths": [args.length],
        "eval_examples": args.batch,
        "eval_batch_size": args.batch,
        "check_every": max(1, steps // 4),
        "checkpoint_every": 0,
    }
    per_arch = -(-args.runs // len(names))
    configs = [resolve(args.task, name, {**sets, "seed": s}) for s in range(per_arch) for name in names]
    return configs[: args.runs]


def _run(configs, store_path: Path, log_dir: Path, per_gpu: int, cpu: bool):
    from expressivity.runners.execution.store import Store
    from expressivity.runners.execution.workers import LocalPool, drive, local_slots
    from expressivity.runners.training.config import run_key

    store_path.unlink(missing_ok=True)
    slots = local_slots(per_gpu=per_gpu, cpu_workers=per_gpu, use_gpus=not cpu)
    with Store(store_path) as st:
        st.enqueue(configs, grid=f"packing-{per_gpu}")
        started = time.monotonic()
        counts = drive(st, [run_key(c) for c in configs], LocalPool(slots, log_dir=log_dir))
        wall = time.monotonic() - started
        rows = st.rows()
    devices = Counter(r["device"] for r in rows)
    train_s = sum(r["train_seconds"] or 0.0 for r in rows)
    errors = [f"{r['arch']} seed {r['seed']}: {r['error']}" for r in rows if r["status"] == "failed"]
    return len(slots), wall, counts, devices, train_s, errors, _breakdown(rows, len(slots), wall)


def _breakdown(rows, slots: int, wall: float) -> str:
    """Where a setting's wall time went: mean seconds per run from claim to result, split into training, testing and
    the rest (worker start, model build, transfers, driver round trip), and how full the slots were."""
    timed = [r for r in rows if r["started_at"] and r["finished_at"]]
    if not timed:
        return ""
    n = len(timed)
    run = sum(r["finished_at"] - r["started_at"] for r in timed) / n
    train = sum(r["train_seconds"] or 0.0 for r in timed) / n
    evals = sum(r["eval_seconds"] or 0.0 for r in timed) / n
    last_start = max(r["started_at"] for r in timed) - min(r["started_at"] for r in timed)
    return (
        f"        per run: {run:.2f}s = train {train:.2f} + test {evals:.2f} + other {run - train - evals:.2f}; "
        f"slots busy {n * run / (slots * wall):.0%}; last claim at {last_start:.1f}s of {wall:.1f}s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", type=Path, default=Path("runs/bench/packing.log"))
    parser.add_argument("--store-dir", type=Path, default=None, help="keep the stores here (default: a temp dir)")
    parser.add_argument("--per-gpu", default="1,4", help="comma-separated settings to compare, first is the baseline")
    parser.add_argument("--task", default="parity")
    parser.add_argument("--runs", type=int, default=24)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--length", type=int, default=64)
    parser.add_argument("--cpu", action="store_true", help="CPU processes instead of GPUs (a dry run of the script)")
    parser.add_argument("--no-warmup", action="store_true")
    args = parser.parse_args()

    import torch

    from expressivity import architectures

    names = architectures.names()
    settings = [int(k) for k in args.per_gpu.split(",")]
    work = Path(tempfile.mkdtemp(prefix="packing-"))
    store_dir = args.store_dir or work
    store_dir.mkdir(parents=True, exist_ok=True)
    args.log.parent.mkdir(parents=True, exist_ok=True)
    gpus = 0 if args.cpu else torch.cuda.device_count()
    card = torch.cuda.get_device_name() if gpus else "cpu"
    lines = [
        f"# grid packing: {args.runs} runs of {args.steps} steps, task={args.task} batch={args.batch} "
        f"length={args.length}, archs={','.join(names)}, {gpus} GPU(s) ({card}), torch={torch.__version__}",
        f"{'per_gpu':>7} {'slots':>5} {'wall s':>8} {'speed-up':>8} {'sum train s':>11}  runs by status / device",
    ]
    if not args.no_warmup:
        t0 = time.monotonic()
        _run(_configs(args, names, 5)[: len(names)], work / "warmup.sqlite", work / "logs-warmup", 1, args.cpu)
        lines.insert(1, f"# warm-up grid (Triton cache): {time.monotonic() - t0:.0f}s")
    base, failures = None, []
    for k in settings:
        slots, wall, counts, devices, train_s, errors, breakdown = _run(
            _configs(args, names, args.steps), store_dir / f"packing-{k}.sqlite", work / f"logs-{k}", k, args.cpu
        )
        base = base or wall
        status = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        where = "; ".join(f"{n} on {d}" for d, n in devices.items())
        lines.append(f"{k:>7} {slots:>5} {wall:>8.1f} {base / wall:>7.2f}x {train_s:>11.1f}  {status} / {where}")
        lines.append(breakdown)
        print("\n".join(lines[-2:]), flush=True)
        failures += [f"## failed run (per_gpu {k}) {e}" for e in errors[:3]]
    logs = list(failures)
    for path in sorted(work.glob("logs-*/worker-*.log")):
        text = path.read_text(errors="replace").strip()
        if text:
            logs.append(f"## {path.parent.name}/{path.name}\n{text[-4000:]}")
    args.log.write_text("\n".join(lines + logs) + "\n")
    print("\n".join(lines))
    shutil.rmtree(work, ignore_errors=True)  # worker logs are in --log now; stores live on in --store-dir if given


if __name__ == "__main__":
    main()
