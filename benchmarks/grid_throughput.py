"""Grid throughput on one GPU: the same runs the old way (`--per-gpu 4`, one process per run, eager steps) and the new
way (fused groups, captured steps), side by side in one call, Triton compilation timed apart.

    PYTHONPATH=. python3 benchmarks/grid_throughput.py --log $OUT/throughput.log          # the fixed subset, 300 steps
    PYTHONPATH=. python3 benchmarks/grid_throughput.py --preset negative-eigenvalues --modes new --steps 0

The fixed subset: 24 tiny negative-eigenvalues runs (running and final-answer parity; transformer, GDN [0,1] and
[-1,1], DeltaNet [-1,1]; 3 seeds) and 8 small olmo-hybrid runs (state-based recall; transformer and GGGA [-1,1];
4 seeds), each cut to --steps. `--preset NAME` takes a preset's whole grid instead (`--steps 0`: at its own
protocol; for negative-eigenvalues its run keys are checked against results/negative-eigenvalues/runs.sqlite, so the
figure is for exactly the committed protocol). A warm-up pass of the same grid at 3 steps fills Triton's on-disk cache
first (its time is printed as compilation). For each mode: wall time, runs per minute, training tokens per second,
and the model FLOP rate (6 x parameters x tokens / wall) as a fraction of the card's dense bf16 rate. Prints figures,
never asserts.

`--old-sample K` runs the old way on about one run in K only (drawn at random, seed 0, architecture by architecture, so
each keeps its share): at a preset's own steps the old way takes longer than one 10-minute call. Its runs
are independent processes in fixed slots, so its rates (runs/min, tokens/s) do not depend on how many runs it is
given; the speed-up is then read from runs/min, and the old wall for the whole grid is printed as estimated.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BF16_DENSE = 990e12  # H100/H200 SXM datasheet, dense bf16 FLOP/s (H200.md); BENCHMARKS.md notes the measured peak
MODES = {  # name -> (slots per GPU, runs per fused group at most, capture the step as CUDA graphs)
    "old": (4, 1, False),
    "new": (4, 32, True),
}  # and "newN": the new way with groups of at most N runs (`grid --fuse N`), e.g. new12. The new way keeps the runs
# of some layers unfused (EXPRESSIVITY_UNFUSED, training/fusion.py; by default the LSTM's); a suffix "-all" fuses
# every layer that can (new-all: the LSTM's runs fused too), "-LETTERS" keeps those layers' runs unfused instead
NEW_MODE = re.compile(r"new([1-9][0-9]*)?(?:-(all|[A-Z]+))?")


def mode_settings(mode: str) -> tuple[int, int, bool]:
    """(slots, fuse cap, captured) of a mode name: "old", "new", "new<N>", each new with an optional "-all" or
    "-LETTERS"."""
    if mode == "old":
        return MODES["old"]
    new = NEW_MODE.fullmatch(mode)
    if not new:
        raise SystemExit(f"unknown mode {mode!r}: valid are old, new, and newN (fused groups of at most N runs), "
                         "each new with an optional -all (every layer fused, the LSTM too) or -LETTERS (those "
                         "layers' runs unfused)")  # fmt: skip
    from expressivity.architectures import LAYER_KINDS

    if new.group(2) not in (None, "all") and set(new.group(2)) - set(LAYER_KINDS):
        valid = "".join(sorted(LAYER_KINDS))
        raise SystemExit(f"mode {mode!r} names a layer letter that does not exist; valid are {valid}")
    slots, cap, graphs = MODES["new"]
    return (slots, int(new.group(1)) if new.group(1) else cap, graphs)


def unfused_of(mode: str) -> str:
    """EXPRESSIVITY_UNFUSED for a mode: its "-LETTERS", "" for "-all", else the grid's default."""
    from expressivity.runners.training.fusion import default_unfused

    new = NEW_MODE.fullmatch(mode)
    suffix = new.group(2) if new else None
    return default_unfused() if suffix is None else "" if suffix == "all" else suffix


def subset(steps: int) -> list[dict]:
    from expressivity.runners.reports import presets

    neg = presets.get("negative-eigenvalues").grid(sets={"steps": steps}, protocol="testbed-v1").configs
    pick = {"transformer": {}, "gdn": {False, True}, "deltanet": {True}}
    a = [
        c
        for c in neg
        if c["task"] in ("parity", "parity_check")
        and c["arch"] in pick
        and (not pick[c["arch"]] or c["model_params"].get("neg_eigval") in pick[c["arch"]])
    ]
    from expressivity.runners.training.config import resolve, sets_of

    olmo = presets.get("olmo-hybrid").grid(sets={"steps": steps}).configs
    b = [
        resolve(c["task"], c["arch"], {**sets_of(c), "train.size": "small", "train.seed": seed})
        for c in olmo
        if c["task"] == "state_based_recall" and c["seed"] == 0
        and (c["arch"] == "transformer" or c["model_params"].get("pattern") == "GGGA")
        for seed in range(4)
    ]  # fmt: skip
    return a + b


def preset_grid(name: str, steps: int, protocol: str) -> list[dict]:
    from expressivity.runners.reports import presets

    return presets.get(name).grid(sets={"steps": steps} if steps else None, protocol=protocol).configs


def run(configs: list[dict], store: Path, mode: str, log_dir: Path, per_gpu: int | None = None) -> dict:
    from expressivity.runners.execution.checkpoints import checkpoint_path
    from expressivity.runners.execution.store import Store
    from expressivity.runners.execution.workers import LocalPool, drive, local_slots
    from expressivity.runners.training.config import run_key

    slots, fuse, graphs = mode_settings(mode)
    store.unlink(missing_ok=True)
    finished = []

    def progress(key: str, result: dict) -> None:  # a line per tenth of the runs, so a cut-off call still tells
        finished.append(key)
        if len(finished) % max(1, len(configs) // 10) == 0 or len(finished) == len(configs):
            print(f"  {mode}: {len(finished)}/{len(configs)} runs at {time.monotonic() - started:.1f}s", flush=True)

    log_dir = Path(log_dir) / store.stem  # one folder a run of the benchmark: its data-wait lines are its own
    with Store(store) as st:
        st.enqueue(configs, grid=mode)
        # Every pass trains its runs from step 0. Modes share run keys and one checkpoint folder (beside the stores),
        # and a warm machine keeps /tmp between calls: on 2026-12-07 three runs of a "new" pass resumed from the
        # checkpoints of an "old" pass cut off by the previous call's limit.
        for config in configs:
            checkpoint_path(st, run_key(config)).unlink(missing_ok=True)
        before = os.environ.get("EXPRESSIVITY_UNFUSED")
        os.environ["EXPRESSIVITY_UNFUSED"] = unfused_of(mode)  # the driver groups by it; its workers inherit it
        try:
            pool = LocalPool(local_slots(per_gpu=per_gpu or slots), log_dir=log_dir)
            started = time.monotonic()
            counts = drive(st, [run_key(c) for c in configs], pool, fuse=fuse, graphs=graphs, on_finish=progress)
            wall = time.monotonic() - started
        finally:
            if before is None:
                os.environ.pop("EXPRESSIVITY_UNFUSED", None)
            else:
                os.environ["EXPRESSIVITY_UNFUSED"] = before
        rows = st.rows()
    tokens = sum(r["train_tokens"] or 0 for r in rows)
    flops = sum(6.0 * (r["num_params"] or 0) * (r["train_tokens"] or 0) for r in rows)
    train_s = [r["train_seconds"] or 0.0 for r in rows]
    eval_s = [r["eval_seconds"] or 0.0 for r in rows]
    backends = sorted(
        {r["device"].split("gdn backend ")[-1] for r in rows if r["device"] and "gdn backend" in r["device"]}
    )
    failed = [f"{r['key']}: {(r['error'] or '').splitlines()[0]}" for r in rows if r["status"] == "failed"]
    waited = trained = 0.0  # fused groups log "fused xM: steps a-b in T s, waited W s for data" (training/fused.py)
    for log in log_dir.glob("worker-*.log"):
        for match in re.finditer(r"in ([0-9.]+)s, waited ([0-9.]+)s for data", log.read_text(errors="replace")):
            trained, waited = trained + float(match.group(1)), waited + float(match.group(2))
    return {
        "mode": mode,
        "starts": group_starts(log_dir),
        "runs": len(rows),
        "counts": counts,
        "wall": wall,
        "runs_per_min": 60.0 * len(rows) / wall,
        "tokens_per_s": tokens / wall,
        "card_fraction": flops / wall / BF16_DENSE,
        "mean_train_s": sum(train_s) / len(train_s),
        "mean_eval_s": sum(eval_s) / len(eval_s),
        "backends": backends,
        "failed": failed,
        "data_wait": (waited, trained),
    }


def group_starts(log_dir: Path) -> list[tuple[float, float]]:
    """Each fused group's start as its worker log gives it (training/fused_log.start_line: "fused xM: built in B s;
    10 step(s) at T s"): (B, T) by group, in seconds; T counts from the group's first step's preparation (data
    processes, the first step's compiling, warm-up and capture), B the building of its model before that."""
    starts = []
    for log in sorted(Path(log_dir).glob("worker-*.log")):
        for match in re.finditer(r"built in ([0-9.]+)s; 10 step\(s\) at ([0-9.]+)s", log.read_text(errors="replace")):
            starts.append((float(match.group(1)), float(match.group(2))))
    return starts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=300, help="steps per run (0: the preset's own)")
    parser.add_argument("--preset", default=None, help="a preset's whole grid instead of the fixed subset")
    parser.add_argument("--protocol", default="testbed-v1", help="the preset's protocol variant (default testbed-v1)")
    parser.add_argument(
        "--modes", default="old,new", help="old, new, newN (groups of at most N runs), new-all (the LSTM fused too)"
    )
    parser.add_argument("--out", type=Path, default=Path("/tmp/grid_throughput"))
    parser.add_argument("--log", type=Path, default=None)
    parser.add_argument("--no-warmup", action="store_true")
    parser.add_argument("--per-gpu", type=int, default=None, help="slots per GPU for the new way (default: the mode's)")
    parser.add_argument("--old-sample", type=int, default=1, help="the old way runs every K-th run only (default 1)")
    args = parser.parse_args()
    for mode in args.modes.split(","):
        mode_settings(mode)  # an unknown mode stops here, before any run
    args.out.mkdir(parents=True, exist_ok=True)
    configs = preset_grid(args.preset, args.steps, args.protocol) if args.preset else subset(args.steps)
    lines = [f"# grid throughput: {len(configs)} runs ({args.preset or 'fixed subset'}, steps {args.steps or 'own'})"]
    runs_of = {mode: _sample(configs, args.old_sample) if mode == "old" else configs for mode in args.modes.split(",")}
    if args.old_sample > 1:
        sample = runs_of.get("old", [])
        lines.append(f"old way on one run in {args.old_sample}: {len(sample)} runs, {_mix(sample)}")
    if args.preset == "negative-eigenvalues" and not args.steps and args.protocol == "testbed-v1":
        lines.append(_check_committed_keys(configs))
    if not args.no_warmup:
        for mode in args.modes.split(","):
            warm = [{**c, "train": {**c["train"], "steps": 3, "eval_lengths": c["train"]["eval_lengths"][:1],
                                    "eval_examples": 8}} for c in runs_of[mode]]  # fmt: skip
            started = time.monotonic()
            result = run(warm, args.out / f"warm-{mode}.sqlite", mode, args.out / "logs", _slots(mode, args))
            lines.append(f"compilation and warm-up ({mode}): {time.monotonic() - started:.1f}s, {result['counts']}")
            print(lines[-1], flush=True)
    results = []
    for mode in args.modes.split(","):
        results.append(run(runs_of[mode], args.out / f"{mode}.sqlite", mode, args.out / "logs", _slots(mode, args)))
        print(f"{mode}: {results[-1]['wall']:.1f}s for {results[-1]['runs']} runs, {results[-1]['counts']}", flush=True)
    lines.append("mode | runs | wall s | runs/min | train tokens/s | of bf16 peak | mean train s | mean test s | gdn")
    for r in results:
        lines.append(
            f"{r['mode']} | {r['runs']} | {r['wall']:.1f} | {r['runs_per_min']:.1f} | {r['tokens_per_s']:.3g} | "
            f"{r['card_fraction']:.2%} | {r['mean_train_s']:.1f} | {r['mean_eval_s']:.1f} | {','.join(r['backends'])}"
        )
        lines += [f"  failed {f}" for f in r["failed"][:5]]
        if r["starts"]:
            built, ten = [b for b, _ in r["starts"]], [t for _, t in r["starts"]]
            lines.append(f"  {r['mode']}: the fused groups' start ({len(ten)} groups): built in {min(built):.1f}-"
                         f"{max(built):.1f}s, then 10 steps at {min(ten):.1f}-{max(ten):.1f}s")  # fmt: skip
        if r["data_wait"][1]:
            lines.append(f"  {r['mode']}: the fused groups waited {r['data_wait'][0]:.1f}s for data in "
                         f"{r['data_wait'][1]:.1f}s of training (batches made ahead in threads)")  # fmt: skip
    old = next((r for r in results if r["mode"] == "old"), None)
    if old and args.old_sample > 1:
        estimate = old["wall"] * len(configs) / old["runs"]
        lines.append(f"old wall for all {len(configs)} runs, estimated: {estimate:.1f}s")
    for new in (r for r in results if old and r is not old):  # runs/min: the old way may have run a sample
        lines.append(f"speed-up (runs/min, {new['mode']} over old): {new['runs_per_min'] / old['runs_per_min']:.1f}x; "
                     f"(tokens/s): {new['tokens_per_s'] / old['tokens_per_s']:.1f}x")  # fmt: skip
    text = "\n".join(lines)
    print(text)
    if args.log:
        args.log.write_text(text + "\n")


def _slots(mode: str, args: argparse.Namespace) -> int:
    """The old way keeps today's slots (`--per-gpu 4`), the measure the issue names; --per-gpu sets the new way's."""
    return mode_settings(mode)[0] if mode == "old" or args.per_gpu is None else args.per_gpu


def _sample(configs: list[dict], k: int) -> list[dict]:
    """About one run in k, drawn at random (seed 0): each architecture keeps its share, and its picks go round its
    tasks (each task once before any twice), so neither the models' sizes nor the tasks' lengths are skewed."""
    import random

    if k <= 1:
        return configs
    rng, picked = random.Random(0), []
    for arch in sorted({c["arch"] for c in configs}):
        by_task: dict[str, list[int]] = {}
        for i, c in enumerate(configs):
            if c["arch"] == arch:
                by_task.setdefault(c["task"], []).append(i)
        tasks = sorted(by_task)
        rng.shuffle(tasks)
        wanted = max(1, round(sum(map(len, by_task.values())) / k))
        for j in range(wanted):
            left = [i for i in by_task[tasks[j % len(tasks)]] if i not in picked]
            picked.append(rng.choice(left))
    return [configs[i] for i in sorted(picked)]


def _mix(configs: list[dict]) -> str:
    from collections import Counter

    archs = Counter(c["arch"] for c in configs)
    tasks = Counter(c["task"] for c in configs)
    return "; ".join(", ".join(f"{name} {n}" for name, n in sorted(c.items())) for c in (archs, tasks))


def _check_committed_keys(configs: list[dict]) -> str:
    from expressivity.runners.execution.store import Store
    from expressivity.runners.training.config import run_key

    path = ROOT / "results" / "negative-eigenvalues" / "runs.sqlite"
    if not path.is_file():
        return "committed store not found: protocol unchecked"
    with Store(path, readonly=True) as st:
        committed = {r["key"] for r in st.rows()}
    ours = {run_key(c) for c in configs}
    same = "the committed protocol (same 96 run keys)" if ours == committed else f"{len(ours & committed)} keys shared"
    return f"protocol: {same}"


if __name__ == "__main__":
    main()
