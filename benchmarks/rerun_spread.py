"""How far reruns of one run key differ: committed runs trained again from their stored configs (same run keys), each
`--reruns` times in a fresh store, and as many times again with PyTorch's deterministic algorithms (`deterministic =
true`: a run key of its own, the key being set away from its default). Prints each run's figure beside the committed
one and, per variant, the largest and mean |difference|. Issue 14 asks for this figure measured on the GPU.

    python3 benchmarks/rerun_spread.py --store results/negative-eigenvalues/runs.sqlite \\
        --grid negative-eigenvalues-reduced --task parity_check --reruns 2 --out /tmp/rs --log $OUT/rerun_spread.txt

The figure is the run's summary `--split` `--field` (default: ood scaled_acc, the tables' metric). Runs train as a
grid does (fused on a GPU unless `--fuse 1`; --per-gpu slots): so the spread includes what a grid's packing changes.
On a CPU, at one thread, a rerun is the committed run bit for bit (tests/benchmarks/test_rerun_spread.py); on a GPU,
bf16 kernels with atomics (fla's among them, which the deterministic flag does not reach) make it differ.
Prints figures, never asserts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VARIANTS = {"plain": False, "deterministic": True}  # name -> the deterministic key of its reruns


def committed_runs(store: Path, grid: str | None, task: str | None, arch: str | None, limit: int) -> list[dict]:
    """The done rows of `store` that match, in run key order (at most `limit`)."""
    from expressivity.runners.execution.store import Store

    with Store(store, readonly=True) as st:
        rows = [r for r in st.rows() if r["status"] == "done"]
    rows = [r for r in rows if (grid is None or r["grid"] == grid) and (task is None or r["task"] == task)
            and (arch is None or r["arch"] == arch)]  # fmt: skip
    if not rows:
        raise SystemExit(f"no done runs in {store} match grid={grid} task={task} arch={arch}")
    return sorted(rows, key=lambda r: r["key"])[:limit]


def figure(row: dict, split: str, field: str) -> float | None:
    return ((row.get("summary") or {}).get(split) or {}).get(field)


def rerun(configs: list[dict], store: Path, log_dir: Path, per_gpu: int, fuse: int | None) -> dict[str, dict]:
    """Train `configs` into a fresh `store` as a grid would; rows by run key."""
    from expressivity.runners.cli.shared import fuse_size
    from expressivity.runners.execution.store import Store
    from expressivity.runners.execution.workers import LocalPool, drive, local_slots
    from expressivity.runners.training.config import run_key

    store.unlink(missing_ok=True)
    with Store(store) as st:
        st.enqueue(configs, grid=store.stem)
        pool = LocalPool(local_slots(per_gpu=per_gpu), log_dir=log_dir / store.stem)
        drive(st, [run_key(c) for c in configs], pool, fuse=fuse_size(fuse, pool))
        return {r["key"]: r for r in st.rows()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", type=Path, required=True, help="the committed store to rerun runs of")
    parser.add_argument("--grid", default=None, help="only runs of this grid name")
    parser.add_argument("--task", default=None)
    parser.add_argument("--arch", default=None)
    parser.add_argument("--limit", type=int, default=12, help="at most this many runs (default 12)")
    parser.add_argument("--reruns", type=int, default=2, help="reruns of each run per variant (default 2)")
    parser.add_argument("--variants", default="plain,deterministic", help=f"of {', '.join(VARIANTS)}")
    parser.add_argument("--split", default="ood")
    parser.add_argument("--field", default="scaled_acc")
    parser.add_argument("--per-gpu", type=int, default=8)
    parser.add_argument("--fuse", type=int, default=None, help="runs per fused group (default: 32 on a GPU, 1 on CPU)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/rerun_spread"))
    parser.add_argument("--log", type=Path, default=None)
    args = parser.parse_args()
    variants = args.variants.split(",")
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown or args.reruns < 1 or args.limit < 1:
        raise SystemExit(f"--variants must name some of {', '.join(VARIANTS)} (got {unknown}); --reruns, --limit >= 1")

    from expressivity.runners.training.config import complete, run_key

    rows = committed_runs(args.store, args.grid, args.task, args.arch, args.limit)
    args.out.mkdir(parents=True, exist_ok=True)
    lines = [f"# rerun spread: {len(rows)} runs of {args.store} (grid {args.grid}), {args.split} {args.field}"]
    table: dict[str, dict[str, list[float | None]]] = {r["key"]: {} for r in rows}
    for variant in variants:
        configs = []
        for r in rows:
            config = complete(r["config"])  # its own copy of the training keys
            config["train"]["deterministic"] = VARIANTS[variant]
            configs.append(config)
        keys = [run_key(c) for c in configs]
        for i in range(args.reruns):
            got = rerun(configs, args.out / f"{variant}-{i}.sqlite", args.out / "logs", args.per_gpu, args.fuse)
            for r, key in zip(rows, keys, strict=True):
                table[r["key"]].setdefault(variant, []).append(figure(got[key], args.split, args.field))
    header = "run key | seed | committed | " + " | ".join(f"{v} reruns" for v in variants)
    lines += [header, "|".join("---" for _ in header.split("|"))]
    to_committed: dict[str, list[float]] = {v: [] for v in variants}
    between: dict[str, list[float]] = {v: [] for v in variants}  # max - min over one run's reruns
    for r in rows:
        base = figure(r, args.split, args.field)
        cells = []
        for v in variants:
            got = [g for g in table[r["key"]][v] if g is not None]
            cells.append(", ".join(f"{g:.3f}" for g in got) or "-")
            to_committed[v] += [abs(g - base) for g in got if base is not None]
            if len(got) > 1:
                between[v].append(max(got) - min(got))
        lines.append(f"{r['key']} | {r['seed']} | {'-' if base is None else f'{base:.3f}'} | " + " | ".join(cells))
    for v in variants:
        d, b = to_committed[v], between[v]
        said = f"|rerun - committed| max {max(d):.3f}, mean {sum(d) / len(d):.3f} over {len(d)}" if d else "no figures"
        if b:
            said += f"; spread between its reruns (max - min a run) max {max(b):.3f}, mean {sum(b) / len(b):.3f}"
        lines.append(f"{v}: {said}")
    text = "\n".join(lines)
    print(text)
    if args.log:
        args.log.parent.mkdir(parents=True, exist_ok=True)
        args.log.write_text(text + "\n")


if __name__ == "__main__":
    main()
