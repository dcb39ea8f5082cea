"""The run commands of the CLI: `train`, `grid`, `status` and `rescore` (main.py registers them on the app).

expressivity train parity lstm --set steps=500 --set target_acc=0.99
expressivity grid grids/parity_eigenvalues.toml --per-gpu 4   # --dry-run lists the runs
expressivity status --csv runs/results.csv
expressivity rescore --store results/olmo-hybrid/runs.sqlite   # scaled accuracy with the tasks' current chance
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from expressivity.runners.cli.app import ArchArgument, SetOption, TaskArgument, app, emit_table, friendly_errors
from expressivity.runners.cli.shared import (
    DEFAULT_STORE,
    FuseOption,
    KeepCheckpointsOption,
    LogDirOption,
    OnlyCheckpointedOption,
    OnlySeedOption,
    PackOption,
    RetryFailedOption,
    StoreOption,
    ThreadsOption,
    TimeLimitOption,
    apply_pack,
    checkpointed_steps,
    counts_text,
    fuse_size,
    list_runs,
    make_pool,
    only_checkpointed,
    run_grid,
    run_label,
    varying_params,
)


def _print_metrics(row: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    config = row["config"]
    seconds = row.get("train_seconds") or 0.0
    typer.echo(
        f"{run_label(config)}  key={row['key']}  status={row['status']} ({row.get('stop_reason')})  "
        f"steps={row.get('steps')}  params={row.get('num_params')}  train {seconds:.1f}s  device={row.get('device')}"
    )
    if row.get("error"):
        typer.echo(f"run error: {row['error'].splitlines()[0]}")
    metrics = row.get("metrics") or {}
    if not metrics:
        history = row.get("history") or []
        if history:
            typer.echo(f"last check: step {history[-1]['step']} loss {history[-1]['loss']}")
        return
    max_train = config["train"]["train_max_length"]
    table = Table(title=f"accuracy by test length (trained on {config['train']['train_min_length']}-{max_train})")
    for column in ("length", "split", "final", "token", "sequence", "scaled"):
        table.add_column(column, justify="right")
    for length in sorted(metrics, key=int):
        m = metrics[length]
        split = "id" if int(length) <= max_train else "ood"
        table.add_row(str(length), split, *(f"{m[k]:.4f}" for k in ("final_acc", "token_acc", "seq_acc", "scaled_acc")))
    for split, m in (row.get("summary") or {}).items():
        table.add_row("mean", split, *(f"{m[k]:.4f}" for k in ("final_acc", "token_acc", "seq_acc", "scaled_acc")))
    console.print(table)
    _print_parts(console, row.get("history") or [])


def _print_parts(console, history: list[dict[str, Any]]) -> None:
    """A mixture's or curriculum's last checked window by part (training data, parts.py), if the run has parts."""
    from rich.table import Table

    if not history or "parts" not in history[-1]:
        return
    table = Table(title=f"training by part, last check (step {history[-1]['step']})")
    for column in ("part", "steps", "loss", "final", "token"):
        table.add_column(column, justify="right")
    for label, p in history[-1]["parts"].items():
        table.add_row(label, str(p["steps"]), *(f"{p[k]:.4f}" for k in ("loss", "final_acc", "token_acc")))
    console.print(table)


@app.command("train")
@friendly_errors
def train_command(
    task: TaskArgument,
    arch: ArchArgument,
    sets: SetOption = None,
    store: StoreOption = DEFAULT_STORE,
    device: Annotated[str, typer.Option(help="auto (cuda when visible), cpu, cuda, cuda:1, ...")] = "auto",
    rerun: Annotated[bool, typer.Option(help="Train again even if this exact run is already finished.")] = False,
    keep_checkpoint: Annotated[bool, typer.Option(help="Keep the final checkpoint (the trained weights).")] = False,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
    threads: ThreadsOption = 1,
    pack: PackOption = None,
) -> None:
    """Train one run and print accuracy by test length; the result is stored (a rerun of the same config is skipped).
    A failed run exits with code 1 (--rerun trains it again)."""
    import torch

    from expressivity.runners.execution.store import FINISHED, Store
    from expressivity.runners.execution.workers import InProcessPool, check_slots, drive
    from expressivity.runners.training.config import resolve, run_key
    from expressivity.runners.training.options import parse_sets

    check_slots(threads=threads)
    apply_pack(pack)
    config = resolve(task, arch, parse_sets(sets))
    key = run_key(config)
    torch.set_num_threads(threads)
    with Store(store) as st:
        st.enqueue([config])
        row = st.get(key)
        if row["status"] in FINISHED and not rerun:
            typer.echo(f"run {key} is already {row['status']} in {store} (--rerun trains it again)")
            _print_metrics(row)
            if row["status"] == "failed":
                raise typer.Exit(1)
            return
        if rerun and row["status"] in FINISHED:
            st.requeue([key])
        if st.state(st.get(key)) == "running":
            raise ValueError(f"run {key} is being trained by another live process ({row['owner']})")
        drive(st, [key], InProcessPool(device=device, progress=not quiet), keep_checkpoints=keep_checkpoint)
        row = st.get(key)
    _print_metrics(row)
    if row["status"] == "failed":
        raise typer.Exit(1)


@app.command("grid")
@friendly_errors
def grid_command(
    path: Annotated[Path, typer.Argument(help="A TOML grid file (see expressivity/runners/execution/grid.py).")],
    sets: SetOption = None,
    store: StoreOption = DEFAULT_STORE,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the runs and their stored status; run nothing.")
    ] = False,
    per_gpu: Annotated[int, typer.Option(help="Runs at a time on each visible GPU.")] = 1,
    cpu_workers: Annotated[
        int | None, typer.Option(help="Worker processes without a GPU (default: cores / 2).")
    ] = None,
    cpu: Annotated[bool, typer.Option("--cpu", help="Run on CPU processes even when GPUs are visible.")] = False,
    launcher: Annotated[
        str, typer.Option(help="local (processes on this machine) or ray (an existing Ray cluster).")
    ] = "local",
    ray_address: Annotated[
        str | None, typer.Option(help="Ray cluster address (default: RAY_ADDRESS or a local one).")
    ] = None,
    retry_failed: RetryFailedOption = False,
    keep_checkpoints: KeepCheckpointsOption = False,
    log_dir: LogDirOption = None,
    time_limit: TimeLimitOption = None,
    threads: ThreadsOption = 1,
    fuse: FuseOption = None,
    checkpointed: OnlyCheckpointedOption = False,
    pack: PackOption = None,
    seed: OnlySeedOption = None,
) -> None:
    """Run every run of a grid file that is not finished yet: resumable, parallel over GPUs or CPU processes;
    --seed runs part of it (its runs keep their keys). Exits with code 1 when a run of the grid failed
    (--retry-failed runs them again)."""
    from expressivity.runners.execution import grid as grids
    from expressivity.runners.execution.store import Store
    from expressivity.runners.execution.workers import check_slots
    from expressivity.runners.training.config import run_key
    from expressivity.runners.training.options import parse_sets

    if launcher not in ("local", "ray"):
        raise ValueError(f"--launcher must be local or ray, got {launcher!r}")
    check_slots(per_gpu=per_gpu, cpu_workers=cpu_workers, threads=threads)  # before anything touches the store
    if fuse is not None and fuse < 1:
        raise ValueError(f"--fuse must be >= 1, got {fuse}")
    apply_pack(pack)
    spec = grids.load(path, sets=parse_sets(sets)).only(seed or (), grids.run_seed, "seed")
    keys = spec.keys
    shown = varying_params(spec.configs)
    selected = only_checkpointed(store, spec.configs) if checkpointed else spec.configs
    if dry_run:
        list_runs(store, [run_key(c) for c in selected], selected, shown)
        typer.echo(f"{len(selected)} runs in grid {spec.name}" + (f" (of {len(keys)})" if checkpointed else ""))
        return
    with Store(store) as st:
        added = st.enqueue(spec.configs, grid=spec.name)
        if retry_failed:
            st.requeue(r["key"] for r in st.rows(status="failed", keys=keys))
        before = st.counts(keys)
        typer.echo(f"grid {spec.name}: {len(keys)} runs ({added} new); " + counts_text(before))
        pool = make_pool(launcher, per_gpu=per_gpu, cpu_workers=cpu_workers, cpu=cpu, ray_address=ray_address,
                         log_dir=log_dir or st.path.parent / "logs" / spec.name, threads=threads)  # fmt: skip
        if checkpointed:
            typer.echo(f"--only-checkpointed: {len(selected)} of them resume from their checkpoints, the rest wait")
        counts = run_grid(st, f"grid {spec.name}", selected, pool, metric="scaled_acc",
                          keep_checkpoints=keep_checkpoints, time_limit=time_limit,
                          fuse=fuse_size(fuse, pool))  # fmt: skip
        _print_seed_summary(st.rows(keys=keys), shown)
    if counts.get("failed"):
        raise typer.Exit(1)


def _print_seed_summary(rows: list[dict[str, Any]], shown: list[tuple[str, str]]) -> None:
    """One line per configuration: scaled accuracy across its seeds (mean, min, max and best, which Grazzi et al.
    report)."""
    import json

    from rich.console import Console
    from rich.table import Table

    from expressivity.runners.training.evaluate import across_seeds

    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(json.dumps({**r["config"], "seed": None}, sort_keys=True), []).append(r)
    table = Table(title="scaled accuracy of the final position across seeds (id: trained lengths, ood: longer)")
    for column in ("run", "seeds", "id mean", "ood mean", "ood min", "ood max", "ood best"):
        table.add_column(column, justify="left" if column == "run" else "right")
    for members in groups.values():
        done = [r for r in members if r["status"] == "done" and r["summary"]]
        label = run_label(members[0]["config"], shown).replace(f"/seed{members[0]['seed']}", "")
        if not done:
            table.add_row(label, f"0/{len(members)}", *["-"] * 5)
            continue
        ids = [r["summary"]["id"]["scaled_acc"] for r in done if "id" in r["summary"]]
        oods = [r["summary"]["ood"]["scaled_acc"] for r in done if "ood" in r["summary"]]
        id_cell = [f"{across_seeds(ids)['mean']:.3f}"] if ids else ["-"]
        ood = across_seeds(oods) if oods else None
        ood_cells = [f"{ood[k]:.3f}" if ood else "-" for k in ("mean", "min", "max", "best")]
        fmt = id_cell + ood_cells
        table.add_row(label, f"{len(done)}/{len(members)}", *fmt)
    Console().print(table)


@app.command("status")
@friendly_errors
def status_command(
    store: StoreOption = DEFAULT_STORE,
    top: Annotated[int, typer.Option(help="How many of the slowest runs to show.")] = 5,
    csv: Annotated[
        Path | None, typer.Option(help="Also export every run (one row per test length) to this CSV.")
    ] = None,
) -> None:
    """Counts of runs by status, the runs in flight, the queued runs that resume from a checkpoint beside the store
    (and from which step), the slowest runs and every failed or diverged one. Writes nothing: a run whose driver died
    shows as `abandoned` (the next grid or train of it resumes it)."""
    from expressivity.runners.execution.owners import owner_pid
    from expressivity.runners.execution.store import Store

    with Store(store, readonly=True) as st:
        rows = st.rows()
        states = {r["key"]: st.state(r) for r in rows}
        if csv is not None:
            typer.echo(f"wrote {st.export_csv(csv)} rows to {csv}")
    counts: dict[str, int] = {}
    for state in states.values():
        counts[state] = counts.get(state, 0) + 1
    typer.echo(f"{store}: {len(rows)} runs; " + (counts_text(counts) or "empty"))
    grids: dict[str, list[int]] = {}  # grid -> [done, runs]: a preset's protocols, its --set variants, grid files
    for r in rows:
        tally = grids.setdefault(r["grid"] or "(no grid: train)", [0, 0])
        tally[0] += r["status"] == "done"
        tally[1] += 1
    if grids:
        typer.echo("grids: " + "; ".join(f"{name} {done}/{n} done" for name, (done, n) in sorted(grids.items())))
    now = time.time()
    in_flight = [r for r in rows if r["status"] == "running"]
    resumable = checkpointed_steps(store, [r["key"] for r in rows if r["status"] == "queued"])
    waiting = [r for r in rows if r["key"] in resumable]
    slowest = sorted((r for r in rows if r["status"] == "done"), key=lambda r: -(r["train_seconds"] or 0))[:top]
    bad = [r for r in rows if r["status"] in ("failed", "diverged")]
    table = []
    for r in in_flight + waiting + slowest + bad:
        state = states[r["key"]]
        if r["key"] in resumable:
            note = f"resumes from its checkpoint at step {resumable[r['key']]} (beside the store)"
        elif state == "abandoned":
            note = f"owner pid {owner_pid(r['owner'])} is gone; attempt {r['attempts']} (a rerun resumes it)"
        elif state == "running":
            note = f"owner {r['owner']}, heartbeat {now - (r['heartbeat'] or now):.0f}s ago, attempt {r['attempts']}"
        elif state == "done":
            ood = ((r["summary"] or {}).get("ood") or {}).get("scaled_acc")
            note = "" if ood is None else f"ood scaled_acc {ood:.3f}"
        elif state == "diverged" and r["history"]:
            note = f"diverged by step {r['history'][-1]['step']} (loss {r['history'][-1]['loss']:.3g})"
        else:
            note = (r["error"] or "").split("\n")[0][:100]
        seconds = "" if r["train_seconds"] is None else f"{r['train_seconds']:.1f}"
        table.append([state, r["key"], run_label(r["config"]), str(r["steps"] or ""), seconds, note])
    if table:
        emit_table("runs", ["status", "key", "run", "steps", "train s", "note"], table, right=("steps", "train s"))


@app.command("rescore")
@friendly_errors
def rescore_command(store: StoreOption = DEFAULT_STORE) -> None:
    """Recompute every finished run's scaled accuracy from its recorded accuracies with the task's current chance and
    headline accuracy (a store made before either was corrected); runs whose scores do not change are left alone."""
    from expressivity.runners.execution.store import Store
    from expressivity.runners.training.config import is_pretrained
    from expressivity.runners.training.evaluate import rescaled, summarize
    from expressivity.runners.training.run_tasks import eval_task

    if not store.exists():
        raise ValueError(f"no result store at {store} (pass --store)")
    changed = 0
    with Store(store) as st:
        rows = [r for r in st.rows() if r["metrics"]]
        for r in rows:
            config = r["config"]
            task = eval_task(config)  # the task its metrics were measured on
            scored_by = "final" if is_pretrained(config) else task.scored_by  # eval-lm rows score the final answer
            new = rescaled(r["metrics"], task.chance, scored_by)
            if new != r["metrics"]:
                st.rescore(r["key"], new, summarize(new, config["train"]["train_max_length"]))
                changed += 1
    typer.echo(f"{store}: rescored {changed} of {len(rows)} runs with metrics")


@app.command("compact")
@friendly_errors
def compact_command(store: StoreOption = DEFAULT_STORE) -> None:
    """Shrink a store: compress the training curves older versions kept as plain JSON (5-6x), then free the pages.
    Nothing `status`, `table` or `check` read changes."""
    from expressivity.runners.execution.store import Store

    if not store.exists():
        raise ValueError(f"no result store at {store} (pass --store)")
    with Store(store) as st:
        curves, before, after = st.compact()
    typer.echo(f"{store}: {curves} training curves compressed; {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB")


@app.command("merge")
@friendly_errors
def merge_command(
    sources: Annotated[list[Path], typer.Argument(help="Stores whose runs to bring in (a GPU call's, copied back).")],
    store: StoreOption = DEFAULT_STORE,
    grid: Annotated[
        str | None,
        typer.Option(
            "--grid",
            help="File the runs brought in under this preset grid (e.g. olmo-hybrid-full): a pilot "
            "whose runs are that grid's, every key checked against it.",
        ),
    ] = None,
) -> None:
    """Bring the runs of other stores into --store without losing any result: a run is taken where it is further along
    there (finished beats failed beats queued), with its events; a run finished in both keeps ours (and says how many
    of those differ). Safer than copying a returned store over ours, which drops runs it never saw. With --grid, a
    pilot grid's runs join the preset grid they belong to (refused, changing nothing, if one of them does not)."""
    from expressivity.runners.execution.merge import merge, source_keys
    from expressivity.runners.execution.store import Store

    missing = [str(p) for p in sources if not p.is_file()]
    if missing:
        raise ValueError(f"no result store at {missing[0]} (give the paths of .sqlite files to bring in)")
    if grid is not None:
        keys = _preset_grid_keys(grid)
        for source in sources:
            stray = sorted(source_keys(source) - keys)
            if stray:
                raise ValueError(f"{source}: {len(stray)} run(s) are not in grid {grid} (e.g. {stray[0]}): --grid "
                                 "files only runs of that preset grid, with the keys it would give them")  # fmt: skip
    with Store(store) as st:
        for source in sources:
            counts = merge(st, source, grid=grid)
            typer.echo(f"{source} -> {store}: {counts['added']} added, {counts['updated']} updated, {counts['kept']} "
                       f"finished in both kept as ours ({counts['differing']} of them differ)")  # fmt: skip


def _preset_grid_keys(name: str) -> set[str]:
    """The run keys of the preset grid named `name` in stores (olmo-hybrid-full, chomsky-reduced, ...); a one-line
    error naming the valid names otherwise."""
    from expressivity.runners.reports import presets
    from expressivity.runners.training.limits import listing_only

    names = []
    for preset in (presets.get(n) for n in presets.names()):
        for variant in preset.protocols:
            names.append(preset.grid_name(protocol=variant))
            if names[-1] == name:
                with listing_only():  # its keys only: these runs are not trained here
                    return set(preset.grid(protocol=variant).keys)
    raise ValueError(f"--grid {name!r} is not a preset grid; valid: {', '.join(names)}")
