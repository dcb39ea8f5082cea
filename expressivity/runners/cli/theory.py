"""The theory commands of the CLI: `predict`, `construct` and `check` (main.py registers them on the app).

expressivity predict parity gdn --set neg_eigval=true     # EXPRESS and EXPECT, with reasons and sources
expressivity construct swap_s5 --max-length 4096          # hand-set weights, accuracy by length
expressivity construct state_based_recall --pattern GGGA  # the same weights inside a larger stack, other blocks zero
expressivity check --strict                               # results against predictions; exit 1 on a contradiction
expressivity check --also rerun.sqlite                    # another store's runs too (GPU reruns of a key)
"""

from __future__ import annotations

from typing import Annotated

import typer

from expressivity.runners.cli.app import ArchArgument, SetOption, TaskArgument, app, emit_table, friendly_errors
from expressivity.runners.cli.shared import DEFAULT_STORE, AlsoOption, StoreOption, rows_with_reruns

STRICT_EXIT = 1  # --strict and a contradiction (2 is bad input, as everywhere in the CLI)


@app.command("predict")
@friendly_errors
def predict_command(
    task: TaskArgument,
    arch: ArchArgument,
    sets: SetOption = None,
) -> None:
    """What theory says about TASK on ARCH: can the class express it (a theorem), and is it expected to learn it (the
    literature), each with its reason and source."""
    from expressivity.runners.training.config import resolve
    from expressivity.runners.training.options import parse_sets
    from expressivity.theory import predict

    config = resolve(task, arch, parse_sets(sets))
    typer.echo(predict(task, arch, task_params=config["task_params"], model_params=config["model_params"]).render())


# Tokens per test batch of `construct`: long programs are evaluated one at a time, so memory stays under about 1 GB
# (state-based recall at 2000 lines is 20,000 tokens; the constructions run in float64).
CONSTRUCT_BATCH_TOKENS = 32768


@app.command("construct")
@friendly_errors
def construct_command(
    names: Annotated[list[str] | None, typer.Argument(help="Constructions (default: all of them).")] = None,
    max_length: Annotated[int, typer.Option(help="Longest test length, in the task's own units.")] = 2048,
    examples: Annotated[int, typer.Option(help="Test examples per length.")] = 8,
    seed: Annotated[int, typer.Option(help="Seed of the test data.")] = 0,
    pattern: Annotated[
        str | None, typer.Option(help="Run the construction inside this layer stack (e.g. GGGA): other blocks zeroed.")
    ] = None,
) -> None:
    """Run hand-set constructions through the runners' own evaluation and print accuracy by length, one line per
    length as it is evaluated."""
    import numpy as np
    import torch

    from expressivity.runners.training.evaluate import evaluate_by_length
    from expressivity.runners.training.limits import data_bytes, model_bytes, refuse_if_too_big, tokens_at
    from expressivity.theory import constructions

    if examples < 1:
        raise ValueError(f"--examples must be >= 1, got {examples}")
    if pattern is not None and not names:
        raise ValueError("--pattern needs a construction name: each construction fits other stacks")
    for n in names or constructions.names():
        built = constructions.build(n, max_length=max_length, pattern=pattern)  # ValueError naming the valid ones
        lengths = built.test_lengths(max_length)
        cfg = built.model.cfg
        batches = {}
        for length in lengths:
            tokens = tokens_at(built.task, length)
            batches[length] = max(1, min(examples, int(CONSTRUCT_BATCH_TOKENS // tokens)))
            need = data_bytes(built.task, batches[length], length)
            need += 2 * model_bytes(cfg.d_model, cfg.layers, cfg.vocab_size, batches[length], tokens, train=False)
            refuse_if_too_big(need, f"construction {n} at length {length}", "lower --max-length")  # float64: 2x
        typer.echo(f"{n}: {built.summary}")
        typer.echo(f"{'length':>8} {'final':>7} {'token':>7} {'sequence':>9} {'scaled':>7}")
        rng = np.random.default_rng(seed)
        torch.set_flush_denormal(True)  # float64 states decay into denormals, which are 100x slower on x86
        try:
            for length in lengths:
                m = evaluate_by_length(
                    built.model, built.task, [length], rng, num_examples=examples, batch_size=batches[length]
                )[length]
                cells = (f"{m[k]:7.4f}" for k in ("final_acc", "token_acc", "seq_acc", "scaled_acc"))
                typer.echo(f"{length:>8} " + " ".join(cells))
        finally:
            torch.set_flush_denormal(False)
        typer.echo("")


@app.command("check")
@friendly_errors
def check_command(
    store: StoreOption = DEFAULT_STORE,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 on any contradiction or impossibility.")] = False,
    runs: Annotated[bool, typer.Option("--runs", help="List the runs behind every cell.")] = False,
    grid: Annotated[str | None, typer.Option("--grid", help="Only the runs of this grid (by name).")] = None,
    also: AlsoOption = None,
) -> None:
    """Hold every result in the store against the predictions: agree, contradict, inconclusive, or IMPOSSIBLE (a
    result beating EXPRESS = no: a bug or a leak in the task)."""
    import hashlib

    from rich.markup import escape

    from expressivity.theory import check
    from expressivity.theory.check import FAILS, LEARNS

    rows = rows_with_reruns(store, also)
    if grid is not None:
        grids = sorted({r["grid"] for r in rows if r["grid"]})
        rows = [r for r in rows if r["grid"] == grid]
        if not rows:
            raise ValueError(f"no runs of grid {grid!r} in {store}; its grids: {', '.join(grids) or 'none'}")
    from expressivity.runners.reports.preset import rescored
    from expressivity.runners.reports.presets import earlier_protocols_apart, scored_lengths
    from expressivity.runners.training.limits import listing_only

    # A protocol's scored lengths, as its preset's table reads them; runs of an earlier protocol under its grid's name
    # are a cell of their own. The presets' runs are only listed here, not trained: no memory check (limits.py).
    with listing_only():
        apart = earlier_protocols_apart(rows)  # the sweeps below pool no earlier protocol's runs either
        cells = check(rescored(apart, scored_lengths({r["grid"] for r in rows})))

    def scope(c) -> str:  # a grid by name; a lone run's training protocol by a short hash of it
        if c.scope.startswith("train "):
            return "train #" + hashlib.sha256(c.scope.encode()).hexdigest()[:6]
        return c.scope.removeprefix("grid ")

    from expressivity.theory.capacity import capacity
    from expressivity.theory.depth import depth_growth

    sweeps = depth_growth(apart)  # depth against length: the sweeps of fixed-length runs (Illusion of State)
    held = capacity(apart)  # state against list size: the sweeps of in-distribution runs over m (Olmo Hybrid Thm 1)
    # A sweep's runs test no longer than they train, so each of its cells alone is inconclusive; the sweep is read
    # across them (the tables below), and each such cell's line says what its sweep reads.
    swept = {key: f"depth against length: {sweep.label}" for sweep in sweeps for key in sweep.keys}
    swept |= {key: f"over {sweep.axis}: {sweep.label}" for sweep in held for key in sweep.keys}
    style = {"impossible": "bold red", "suspect": "yellow", "contradict": "red", "agree": "green"}
    lines = []
    for c in cells:
        params = " ".join(f"{k}={v}" for k, v in c.task_params.items())
        obs = c.observed
        seen = "-" if obs is None else f"{obs.category}: {obs.best:.3f} / {obs.mean:.3f} ({obs.runs})"
        verdict = c.label.upper() if c.verdict in ("impossible", "suspect") else c.label
        if c.verdict == "inconclusive":
            verdict += "".join(sorted({f"; {swept[r.key]}" for r in c.runs if r.key in swept}))
        task = escape(f"{c.task} {params}".strip())
        shown = f"[{style.get(c.verdict, 'dim')}]{verdict}[/]"
        lines.append([task, c.arch, scope(c), c.express.value, c.expect.value, seen, shown])
    title = f"results against theory ({len(cells)} cells; learns >= {LEARNS}, fails <= {FAILS} scaled OOD)"
    columns = ["task", "arch", "grid", "EXPRESS", "EXPECT", "observed: best / mean (runs)", "verdict"]
    emit_table(title, columns, lines)
    for c in cells:
        where = f"{c.task}/{c.arch} ({scope(c)})"
        if c.verdict in ("impossible", "suspect", "contradict") or runs:
            keys = _listed(c.runs)
            if c.verdict == "impossible":
                typer.echo(
                    f"IMPOSSIBLE {where} learns although EXPRESS = no ({c.express.reason}): "
                    f"a bug or a leak in the task. Runs: {keys}"
                )
            elif c.verdict == "suspect":
                typer.echo(f"SUSPECT {where}: {c.note}. Runs: {keys}")
            elif c.verdict == "contradict":
                typer.echo(f"contradict {where}: expected {c.expect.value} ({c.expect.reason}). Runs: {keys}")
            else:
                typer.echo(f"{where}: {keys}")
        if c.note and c.verdict != "suspect":
            typer.echo(f"note {where}: {c.note}")
    if sweeps:
        depth_lines = [[escape(f"{c.task} " + " ".join(f"{k}={v}" for k, v in c.task_params.items())), c.family,
                        scope(c), c.expect.value,
                        " ".join(f"{n}:{d if d is not None else '-'}" for n, d in c.min_depths.items()),
                        c.label] for c in sweeps]  # fmt: skip
        emit_table(f"depth against length ({len(sweeps)} sweeps; min depth reaching 0.9 by training length)",
                   ["task", "model", "grid", "EXPECT", "min depth by length", "verdict"], depth_lines)  # fmt: skip
    if held:
        lines = [
            [escape(f"{c.task} " + " ".join(f"{k}={v}" for k, v in c.task_params.items())), c.arch, scope(c),
             c.expect.value, " ".join(f"{v}:{_best_mean_runs(r)}" for v, r in c.runs_by_value.items()), c.label]
            for c in held
        ]  # fmt: skip
        title = f"state against list size ({len(held)} sweeps; in-distribution scaled accuracy by {held[0].axis})"
        emit_table(title, ["task", "model", "grid", "EXPECT", "best / mean (runs) by value", "verdict"], lines)
    if strict and any(c.verdict == "contradict" for c in [*sweeps, *held]):
        raise typer.Exit(STRICT_EXIT)
    if strict and any(c.verdict in ("impossible", "contradict") for c in cells):
        raise typer.Exit(STRICT_EXIT)


def _best_mean_runs(scores: tuple[float, ...]) -> str:
    """The best run's figure, the mean where there are several, and the count: "1.00/0.67(4)" for four runs,
    "-0.52(1)" for one. The verdict reads the best; the mean and count show the spread beside it."""
    mean = f"/{sum(scores) / len(scores):.2f}" if len(scores) > 1 else ""
    return f"{scores[0]:.2f}{mean}({len(scores)})"


def _listed(runs) -> str:
    """ "KEY (seed 0, done), ..." for a cell's runs; a key met again (a rerun, from `--also`: listed after the store's
    own runs) is marked as one."""
    seen: set[str] = set()
    parts = []
    for r in runs:
        parts.append(f"{r.key} (seed {r.seed}, {r.status}{', rerun' if r.key in seen else ''})")
        seen.add(r.key)
    return ", ".join(parts)
