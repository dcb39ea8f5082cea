"""The report commands of the CLI: `table`, `reproduce` and `milestones` (main.py registers them on the app).

expressivity reproduce negative-eigenvalues --quick        # the reduced CPU grid (~10 min on 2 cores), then its table
expressivity reproduce chomsky --dry-run                   # list the full grid's runs and their stored status
expressivity table negative-eigenvalues --format latex --plot results/negative-eigenvalues
expressivity milestones --store results/olmo-hybrid/runs.sqlite --key 95a6   # when each mixture part was learned
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from expressivity.runners.cli.app import SetOption, app, emit_table, friendly_errors
from expressivity.runners.cli.shared import (
    DEFAULT_STORE,
    AlsoOption,
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
    counts_text,
    fuse_size,
    list_runs,
    make_pool,
    only_checkpointed,
    rows_with_reruns,
    run_grid,
    run_label,
    varying_params,
)
from expressivity.runners.reports import presets

PresetArgument = Annotated[str, typer.Argument(help=f"A preset: {', '.join(presets.names())}.")]
QuickOption = Annotated[bool, typer.Option("--quick", help="The reduced CPU grid of the preset.")]
PlotOption = Annotated[
    Path | None, typer.Option("--plot", help="Write accuracy-by-length curves and a heatmap (PNG) into this folder.")
]


ProtocolOption = Annotated[
    str | None,
    typer.Option("--protocol", help="The protocol variant: reduced (the papers' protocols with fewer steps, the "
                 "default where a preset has them), full (the papers' budgets) or testbed-v1 (the committed ones)."),
]  # fmt: skip


def _emit(
    preset: presets.Preset, rows: list, *, quick: bool, fmt: str, out: Path | None, plot: Path | None,
    protocol: str | None = None, sets: dict | None = None,
) -> None:  # fmt: skip
    from expressivity.runners.reports.tables import render, table_cells

    cells = table_cells(preset, rows, quick=quick, protocol=protocol, sets=sets)
    text = render(cells, preset, fmt, quick=quick, protocol=protocol, sets=sets)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        typer.echo(f"wrote {out}")
    else:
        typer.echo(text)
    if plot is not None:
        from expressivity.runners.reports.plots import write_plots

        for path in write_plots(cells, preset, plot, quick=quick, protocol=protocol):
            typer.echo(f"wrote {path}")


@app.command("table")
@friendly_errors
def table_command(
    name: Annotated[
        str | None,
        typer.Argument(help="A preset, or eval-lm for pretrained models (default: everything with rows in the store)."),
    ] = None,
    quick: QuickOption = False,
    fmt: Annotated[str, typer.Option("--format", help="markdown, csv or latex.")] = "markdown",
    out: Annotated[Path | None, typer.Option("--out", help="Write the table to this file instead of stdout.")] = None,
    plot: PlotOption = None,
    store: StoreOption = DEFAULT_STORE,
    protocol: ProtocolOption = None,
    sets: SetOption = None,
    also: AlsoOption = None,
) -> None:
    """A preset's table: our numbers beside the published ones, and the theory verdict of every cell. Without
    --quick or --protocol, a preset with no full-grid runs shows its quick grid; without --protocol, the preset's
    default protocol (or, when the store has no run of it, the first protocol it has runs of); a protocol named with
    --protocol is shown as asked, its cells "no runs" until it has some; with --set, the runs that `reproduce` made
    with the same --set (a grid of their own). `eval-lm` rows (pretrained models) have a table of their own."""
    from expressivity.runners.reports.pretrained import PRETRAINED, render_pretrained
    from expressivity.runners.reports.tables import FORMATS, select
    from expressivity.runners.training.limits import listing_only
    from expressivity.runners.training.options import parse_sets

    if fmt not in FORMATS:
        raise ValueError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    rows = rows_with_reruns(store, also)
    chosen = [] if name == PRETRAINED else [presets.get(name)] if name else [presets.get(n) for n in presets.names()]
    shown, extra = 0, parse_sets(sets)
    with listing_only():  # the runs are read from the store, not trained here: no memory check (limits.py)
        for preset in chosen:
            variant = preset.check_protocol(protocol) if protocol else next(
                (v for v in preset.protocols if select(preset, rows, protocol=v, sets=extra)), preset.protocol
            )  # fmt: skip
            # Only --quick runs and no protocol asked for: the quick table.
            use_quick = quick or (protocol is None and not select(preset, rows, protocol=variant, sets=extra))
            if name is None and not select(preset, rows, quick=use_quick, protocol=variant, sets=extra):
                continue
            if len(chosen) > 1 and (out is not None or plot is not None):
                raise ValueError("--out and --plot need one preset: name it")
            _emit(preset, rows, quick=use_quick, fmt=fmt, out=out, plot=plot, protocol=variant, sets=extra)
            shown += 1
    pretrained = render_pretrained(rows, fmt) if name in (None, PRETRAINED) else None
    if pretrained is not None and (name == PRETRAINED or out is None):
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(pretrained)
            typer.echo(f"wrote {out}")
        else:
            typer.echo(pretrained)
        shown += 1
    if not shown:
        raise ValueError(f"no runs of any preset nor eval-lm rows in {store}; presets: {', '.join(presets.names())}")


@app.command("reproduce")
@friendly_errors
def reproduce_command(
    name: PresetArgument,
    quick: QuickOption = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the runs and their stored status; run nothing.")
    ] = False,
    sets: SetOption = None,
    store: StoreOption = DEFAULT_STORE,
    per_gpu: Annotated[int, typer.Option(help="Runs at a time on each visible GPU (tiny models pack well).")] = 4,
    cpu_workers: Annotated[
        int | None, typer.Option(help="Worker processes without a GPU (default: one per core, one thread each).")
    ] = None,
    cpu: Annotated[bool, typer.Option("--cpu", help="Run on CPU processes even when GPUs are visible.")] = False,
    fmt: Annotated[str, typer.Option("--format", help="markdown, csv or latex.")] = "markdown",
    plot: PlotOption = None,
    time_limit: TimeLimitOption = None,
    threads: ThreadsOption = 1,
    fuse: FuseOption = None,
    protocol: ProtocolOption = None,
    row: Annotated[
        list[str] | None, typer.Option(help="Only this row (its label; repeatable): a pilot of part of the grid.")
    ] = None,
    column: Annotated[list[str] | None, typer.Option(help="Only this column (its label; repeatable).")] = None,
    depth: Annotated[
        list[int] | None, typer.Option(help="Only runs of this depth (n_layers; repeatable): part of a depth sweep.")
    ] = None,
    seed: OnlySeedOption = None,
    next_depths: Annotated[
        bool,
        typer.Option(
            "--next-depths",
            help="Of a depth sweep, only each cell's next depth: the shallowest not yet finished, in cells where no "
            "finished depth passes (repeat after each call; depth_order.py).",
        ),
    ] = False,
    retry_failed: RetryFailedOption = False,
    log_dir: LogDirOption = None,
    checkpointed: OnlyCheckpointedOption = False,
    keep_checkpoints: KeepCheckpointsOption = False,
    pack: PackOption = None,
) -> None:
    """Run a preset's grid (resumable: finished runs are kept), then print its table beside the published numbers.
    --quick runs the reduced grid meant for a CPU, sized for at most about 10 minutes on 2 cores (negative-eigenvalues':
    4.4 minutes, inside make demo's 6); --protocol picks the protocol variant; --row, --column, --depth and --seed run
    part of it (a pilot; its runs keep their keys, so the whole grid later reuses them)."""
    from expressivity.runners.execution.store import Store
    from expressivity.runners.execution.workers import check_slots
    from expressivity.runners.training.config import run_key
    from expressivity.runners.training.options import parse_sets

    check_slots(per_gpu=per_gpu, cpu_workers=cpu_workers, threads=threads)  # before anything touches the store
    if fuse is not None and fuse < 1:
        raise ValueError(f"--fuse must be >= 1, got {fuse}")
    apply_pack(pack)
    preset = presets.get(name)
    variant = preset.check_protocol(protocol)
    extra = parse_sets(sets)
    grid = preset.grid(
        quick=quick,
        sets=extra,
        protocol=variant,
        rows=row or (),
        columns=column or (),
        depths=depth or (),
        seeds=seed or (),
    )
    if next_depths:
        grid = _next_depths(preset, grid, store)
    keys = grid.keys
    selected = only_checkpointed(store, grid.configs) if checkpointed and keys else grid.configs
    typer.echo(f"{grid.name}: {preset.summary}")
    if not quick:
        typer.echo(f"Protocol: {preset.describe_protocol(variant)}.")
    if quick:
        typer.echo(f"--quick is a reduced CPU grid; the GPU grid is needed for {preset.needs_gpu}.")
    elif preset.budget:
        typer.echo(f"GPU budget: {preset.budget}.")
    if next_depths and not keys:
        typer.echo("--next-depths: every depth sweep of this selection is settled (a depth passed, or all ran)")
        if not dry_run and Path(store).exists():
            with Store(store) as st:
                rows = st.rows()
            _emit(preset, rows, quick=quick, fmt=fmt, out=None, plot=plot, protocol=variant, sets=extra)
        return
    if dry_run:
        list_runs(store, [run_key(c) for c in selected], selected, varying_params(grid.configs))
        typer.echo(f"{len(selected)} runs in {grid.name} (steps {_steps(selected)})")
        return
    if cpu_workers is None and (cpu or not _gpus()):
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        cpu_workers = max(1, min(cores, len(keys)))  # tiny models run best at one thread per process
    with Store(store) as st:
        added = st.enqueue(grid.configs, grid=grid.name)
        if retry_failed:
            st.requeue(r["key"] for r in st.rows(status="failed", keys=keys))
        typer.echo(f"{len(keys)} runs ({added} new); " + counts_text(st.counts(keys)))
        pool = make_pool("local", per_gpu=per_gpu, cpu_workers=cpu_workers, cpu=cpu, ray_address=None,
                         log_dir=log_dir or st.path.parent / "logs" / grid.name, threads=threads)  # fmt: skip
        scored = {} if quick else preset.scored_lengths(variant, extra)
        if checkpointed:
            typer.echo(f"--only-checkpointed: {len(selected)} of them resume from their checkpoints, the rest wait")
        counts = run_grid(st, grid.name, selected, pool, metric="scaled_acc", time_limit=time_limit,
                          fuse=fuse_size(fuse, pool), scored=scored, keep_checkpoints=keep_checkpoints)  # fmt: skip
        rows = st.rows()
    _emit(preset, rows, quick=quick, fmt=fmt, out=None, plot=plot, protocol=variant, sets=extra)
    if quick:
        typer.echo(f"Needs the GPU grid (`expressivity reproduce {name}` on a GPU machine): {preset.needs_gpu}.")
    if counts.get("failed"):
        raise typer.Exit(1)


def _next_depths(preset, grid, store: Path):
    """`grid` cut to each depth-sweep cell's next depth (depth_order.py), read from the store's finished runs."""
    from expressivity.runners.execution.grid import Grid
    from expressivity.runners.execution.store import Store
    from expressivity.runners.reports.depth_order import next_depth_configs

    if preset.metric.depth_threshold is None:
        valid = [n for n in presets.names() if presets.get(n).metric.depth_threshold is not None]
        raise ValueError(f"--next-depths needs a depth sweep: {preset.name}'s table is not a min depth; valid: "
                         f"{', '.join(valid)}")  # fmt: skip
    rows = []
    if Path(store).exists():
        with Store(store) as st:
            rows = st.rows(keys=grid.keys)
    return Grid(name=grid.name, configs=next_depth_configs(grid, rows, preset.metric))


def _steps(configs: list[dict]) -> str:
    values = sorted({c["train"]["steps"] for c in configs})
    return ", ".join(map(str, values))


def _gpus() -> bool:
    import torch

    return torch.cuda.is_available()


@app.command("milestones")
@friendly_errors
def milestones_command(
    store: StoreOption = DEFAULT_STORE,
    key: Annotated[
        list[str] | None, typer.Option("--key", help="A run's key or a prefix of it (repeatable); default: every run.")
    ] = None,
    below: Annotated[float, typer.Option(help="The loss a part must fall below to count as learned.")] = 0.05,
) -> None:
    """When each part of a run's training mixture (or curriculum) was learned: per run and part, the first logged
    window whose loss is below --below, the lowest and the last loss. Reads each run's curve from the store, or a
    queued run's from its checkpoint beside the store (a run the time limit stopped). Writes nothing."""
    from expressivity.runners.execution.checkpoints import checkpoint_file, checkpoint_folder, own_checkpoint
    from expressivity.runners.execution.store import Store
    from expressivity.runners.reports.milestones import milestones

    with Store(store, readonly=True) as st:
        rows = st.rows()
    if key:
        rows = [r for r in rows if any(r["key"].startswith(k) for k in key)]
        if not rows:
            raise ValueError(f"no run of {store} has a key starting with {', '.join(key)}; `status` lists the keys")
    table = []
    for r in rows:
        history, source = r["history"], "store"
        if not history and (saved := own_checkpoint(checkpoint_file(checkpoint_folder(store), r["key"]), r["key"])):
            history, source = saved.get("history"), f"checkpoint at step {saved['step']}"
        if not history:
            continue
        label = f"{run_label(r['config'])} ({r['status']}, {source})"
        for i, m in enumerate(milestones(history, below=below)):
            below_at = "never" if m.below_at is None else str(m.below_at)
            lowest, last = f"{m.lowest:.3f} at {m.lowest_at}", f"{m.last:.3f} at {m.last_at}"
            table.append([r["key"], label if i == 0 else "", m.part, str(m.first_seen), below_at, lowest, last])
    if not table:
        raise ValueError(f"none of the {len(rows)} runs selected in {store} has a training curve yet")
    columns = ["key", "run", "part", "from step", f"loss < {below:g} at", "lowest", "last"]
    emit_table(f"when each part was learned ({store})", columns, table, right=("from step", f"loss < {below:g} at"))
