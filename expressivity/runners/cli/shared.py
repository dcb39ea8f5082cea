"""What the run commands of the CLI share (`grid` in runs.py, `reproduce` in reports.py): the store, thread and
time-limit options, run labels, the `--dry-run` listing, the worker pool, and `run_grid`, which drives a grid's runs
with one line as each starts and finishes and says how it ended. And what the reading commands share (`table`,
`check`): a store's rows with another store's reruns (`--also`).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from expressivity.runners.execution.store import DEFAULT_PATH as DEFAULT_STORE  # noqa: F401  (re-exported)

StoreOption = Annotated[Path, typer.Option("--store", help="The SQLite result store.")]
AlsoOption = Annotated[
    list[Path] | None,
    typer.Option("--also", help="Another store (repeatable) whose finished runs join this one's as further runs of "
                 "their cells: a GPU rerun of a key this store holds is scored beside it, in its grid."),
]  # fmt: skip
ThreadsOption = Annotated[
    int,
    typer.Option(help="torch threads per run (default 1; recorded in each run's device): CPU results are bitwise "
                 "reproducible at a fixed count, and drivers sharing a machine do not oversubscribe its cores."),
]  # fmt: skip
FuseOption = Annotated[
    int | None,
    typer.Option(help="At most this many runs that share architecture and shapes (tasks may differ) train fused as one "
                 "model (default: 32 on a GPU, where CUDA graphs capture each step; 1 on CPU, the reproducible path). "
                 "Layers with LayerKind.fused_in_grids False (the LSTM) stay unfused; EXPRESSIVITY_UNFUSED overrides."),
]  # fmt: skip
RetryFailedOption = Annotated[bool, typer.Option(help="Run failed runs again (done and diverged ones stay).")]
KeepCheckpointsOption = Annotated[
    bool, typer.Option(help="Keep each finished run's checkpoint (its final weights, for probes).")
]  # fmt: skip
LogDirOption = Annotated[
    Path | None, typer.Option(help="Worker logs (default: logs/GRID-NAME beside the store).")
]  # fmt: skip
TimeLimitOption = Annotated[
    float | None,
    typer.Option(
        "--time-limit",
        help="Stop after this many seconds, putting the runs in flight back in the queue (the same command resumes "
        "them from their last checkpoint): for batch-job allocations and lent machines.",
    ),
]

PackOption = Annotated[
    str | None,
    typer.Option(
        "--pack",
        help="Where lengths are drawn per example, lay several examples end to end in rows of this many tokens "
        "(auto: the longest example rounded up to 64; 0: one example a row), which the models keep apart: the same "
        "runs with less padding, not part of a run's key (EXPRESSIVITY_PACK; default off).",
    ),
]


def rows_with_reruns(store: Path, also: Sequence[Path] | None) -> list[dict[str, Any]]:
    """The rows of `store`, then the finished runs of each `also` store (execution/merge.py's `with_reruns`: a rerun
    of a key in the grid of the run it repeats); ValueError where an `also` store is `store` itself."""
    from expressivity.runners.execution.merge import with_reruns
    from expressivity.runners.execution.store import Store

    with Store(store, readonly=True) as opened:
        rows = opened.rows()
    for other in also or []:
        if Path(other).resolve() == Path(store).resolve():  # every run would be counted twice, as its own rerun
            raise ValueError(f"--also {other} is the --store itself; name another store (a GPU call's rerun store)")
        rows = with_reruns(rows, other)
    return rows


def apply_pack(pack: str | None) -> None:
    """--pack for this process and the workers it starts (they read EXPRESSIVITY_PACK); a bad value -> ValueError."""
    if pack is not None:
        from expressivity.runners.training.fusion import pack_setting

        os.environ["EXPRESSIVITY_PACK"] = pack_setting(pack)


OnlySeedOption = Annotated[
    list[int] | None,
    typer.Option(help="Only runs of this seed (repeatable): e.g. one seed of a cell whose steps fill a session."),
]

OnlyCheckpointedOption = Annotated[
    bool,
    typer.Option(
        "--only-checkpointed",
        help="Only the runs whose checkpoint (in checkpoints/ beside the store) resumes them past step 0: a call "
        "that carried a few runs' checkpoints resumes those alone, unslowed by the rest starting at step 0; the "
        "others stay queued.",
    ),
]


def checkpointed_steps(store: Path, keys: list[str]) -> dict[str, int]:
    """{key: the step its checkpoint resumes from} for those of `keys` whose run has a checkpoint of its own past
    step 0 beside `store` (as a resume reads it: another run's or an unreadable file does not count)."""
    from expressivity.runners.execution.checkpoints import checkpoint_file, checkpoint_folder, resume_step

    folder = checkpoint_folder(store)
    steps = {k: resume_step(checkpoint_file(folder, k), k) for k in keys}  # 0 where there is no file
    return {k: step for k, step in steps.items() if step > 0}


def only_checkpointed(store: Path, configs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The configs of `configs` whose run has a checkpoint of its own past step 0 beside `store`
    (`checkpointed_steps`). A one-line error when none has."""
    from expressivity.runners.execution.checkpoints import checkpoint_folder
    from expressivity.runners.training.config import run_key

    folder = checkpoint_folder(store)
    resumable = checkpointed_steps(store, [run_key(c) for c in configs])
    kept = [c for c in configs if run_key(c) in resumable]
    if not kept:
        found = len(list(folder.glob("*.pt"))) if folder.is_dir() else 0
        raise ValueError(
            f"--only-checkpointed: none of the {len(configs)} runs selected has a checkpoint of its own in {folder} "
            f"({found} checkpoint files there); carry the runs' checkpoints there, or leave the option out"
        )
    return kept


def _space(config: dict[str, Any], ns: str) -> dict[str, Any]:
    if ns == "eval":
        return config.get("eval_task_params") or {}
    return config["train"] if ns == "train" else config[f"{ns}_params"]


def run_label(config: dict[str, Any], shown: list[tuple[str, str]] | None = None) -> str:
    """task/arch/size/seed plus parameters: the `shown` (namespace, key) pairs, else every task and model parameter."""
    if shown is None:
        model = config["model_params"]
        if str(config["arch"]).startswith("hf:"):  # an eval-lm row: its HF config summary, shortened to the stack
            model = {"layers": model.get("layers")}
        evaluated = {f"eval.{k}": v for k, v in (config.get("eval_task_params") or {}).items()}
        extra = {**config["task_params"], **model, **evaluated}
    else:
        # A parameter this run's task or model does not take (e.g. neg_eigval for a transformer) is left out.
        extra = {
            f"eval.{key}" if ns == "eval" else key: _space(config, ns)[key]
            for ns, key in shown
            if key in _space(config, ns)
        }
    params = " ".join(f"{k}={v}" for k, v in extra.items())
    return f"{config['task']}/{config['arch']}/{config['size']}/seed{config['seed']}" + (f" {params}" if params else "")


def varying_params(configs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The (namespace, key) parameters whose value differs between the configs of a grid (what tells runs apart)."""
    flat = [
        {(ns, k): json.dumps(v) for ns in ("task", "model", "train", "eval") for k, v in _space(c, ns).items()}
        for c in configs
    ]
    names = sorted(set().union(*flat)) if flat else []
    return [name for name in names if len({f.get(name) for f in flat}) > 1]


def list_runs(store: Path, keys: list[str], configs: list[dict[str, Any]], shown: list[tuple[str, str]]) -> None:
    """One line per run of a grid, `--dry-run` style: its key, its status in the store (or "new") and its label."""
    from expressivity.runners.execution.store import Store

    stored = {}
    if store.is_file():
        with Store(store, readonly=True) as st:
            stored = {r["key"]: r["status"] for r in st.rows(keys=keys)}
    for key, config in zip(keys, configs, strict=True):
        typer.echo(f"{key}  {stored.get(key, 'new'):8s}  {run_label(config, shown)}")


def make_pool(
    launcher: str,
    *,
    per_gpu: int,
    cpu_workers: int | None,
    cpu: bool,
    ray_address: str | None,
    log_dir: Path,
    threads: int = 1,
):
    """Where the runs go: local worker processes (per GPU, or CPU processes), or an existing Ray cluster."""
    if launcher == "ray":
        from expressivity.runners.execution.ray_launcher import RayPool

        return RayPool(address=ray_address, per_gpu=per_gpu)
    from expressivity.runners.execution.workers import LocalPool, local_slots

    slots = local_slots(per_gpu=per_gpu, cpu_workers=cpu_workers, use_gpus=not cpu, threads=threads)
    return LocalPool(slots, log_dir=log_dir)


def fuse_size(fuse: int | None, pool) -> int:
    """The --fuse value to use: the user's, else 32 when the pool's workers have GPUs and 1 (no fusion) on CPU."""
    if fuse is not None:
        if fuse < 1:
            raise ValueError(f"--fuse must be >= 1, got {fuse}")
        return fuse
    slots = getattr(pool, "slots", None)
    on_gpu = any(s.get("EXPRESSIVITY_DEVICE") == "cuda" for s in slots) if slots else False
    return 32 if on_gpu else 1


def counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {status}" for status, n in counts.items() if n)


def run_grid(
    store,
    name: str,
    configs: list[dict[str, Any]],
    pool,
    *,
    metric: str,
    keep_checkpoints: bool = False,
    time_limit: float | None = None,
    fuse: int = 1,
    scored: Mapping[str, Sequence[int]] | None = None,
) -> dict[str, int]:
    """Drive every unfinished run of `configs` (already enqueued in `store`) through `pool`, printing one line as each
    run starts and one as it finishes (with its out-of-distribution `metric`), then how the grid ended and how to
    retry failed runs. Returns counts by status. `scored` (run key -> lengths: a preset protocol's scored lengths)
    prints those runs' figure over those lengths, as the table reads it; every figure names the lengths it averages
    ("ood@32,64": a grid file's run, over every test length above training)."""
    from expressivity.runners.execution.workers import drive
    from expressivity.runners.training.config import run_key

    keys = [run_key(c) for c in configs]
    shown = varying_params(configs)
    typer.echo(f"{pool.capacity} slot(s); per run: ood {metric}")
    started = time.monotonic()

    def report(key: str, result: dict[str, Any]) -> None:
        from expressivity.runners.reports.preset import rescored  # as the table reads a run

        by_length = {int(n): m for n, m in (result.get("metrics") or {}).items()}  # JSON's keys are strings
        row = {"key": key, "config": configs[keys.index(key)], "metrics": by_length, "summary": result.get("summary")}
        summary = rescored([row], scored or {})[0]["summary"] or {}
        ood = (summary.get("ood") or {}).get(metric)
        over = (summary.get("ood") or {}).get("lengths") or []  # the lengths the figure averages, always shown
        at = "ood" + ("@" + ",".join(map(str, over)) if over and ood is not None else "")
        tail = f"{at} {metric} {ood:.3f}" if ood is not None else (result.get("error") or "").split("\n")[0]
        label = run_label(configs[keys.index(key)], shown)
        typer.echo(f"[{time.monotonic() - started:7.1f}s] {result['status']:8s} {label}  {tail}")

    def claimed(key: str) -> None:
        label = run_label(configs[keys.index(key)], shown)
        typer.echo(f"[{time.monotonic() - started:7.1f}s] started  {label}")

    counts = drive(
        store,
        keys,
        pool,
        keep_checkpoints=keep_checkpoints,
        on_finish=report,
        on_claim=claimed,
        time_limit=time_limit,
        fuse=fuse,
    )
    left = counts.get("queued", 0) + counts.get("running", 0)
    ended = f"stopped at the time limit with {left} run(s) left (run it again to resume)" if left else "finished"
    typer.echo(f"{name} {ended} in {time.monotonic() - started:.1f}s: " + counts_text(counts))
    if counts.get("failed"):
        typer.echo(
            f"{counts['failed']} run(s) failed: `expressivity status --store {store.path}` shows why; "
            "the same command with --retry-failed runs them again",
            err=True,
        )
    return counts
