"""The catalogue commands: `tasks`, `archs` and `sample` (what there is, and what it looks like)."""

from __future__ import annotations

from typing import Annotated

import typer

from expressivity.runners.cli.app import SetOption, TaskArgument, app, friendly_errors


@app.command("tasks")
@friendly_errors
def list_tasks() -> None:
    """List every task: family, level or complexity class, parameters and their defaults."""
    from rich.console import Console
    from rich.table import Table

    from expressivity import tasks

    table = Table(title="tasks")
    table.add_column("name", no_wrap=True)  # names are what users type: never truncate them
    for column in ("family", "level", "length counts", "parameters (defaults)"):
        table.add_column(column, overflow="fold")
    for name in tasks.names():
        task = tasks.make(name)
        params = ", ".join(f"{k}={v!r}" for k, v in task.params.items())
        table.add_row(name, task.family, task.level, task.length_unit, params)
    Console().print(table)


@app.command("archs")
@friendly_errors
def list_archs(
    vocab_size: Annotated[int, typer.Option(help="Vocabulary size the parameter counts are for.")] = 16,
) -> None:
    """List every architecture: what it is, its parameters and defaults, and its parameter count at each size."""
    import torch
    from rich.console import Console
    from rich.table import Table

    from expressivity import architectures

    sizes = architectures.sizes()
    letters = ", ".join(f"{k} {v}" for k, v in architectures.LETTERS.items())
    table = Table(title=f"architectures (parameters at vocab_size={vocab_size})", caption=f"pattern letters: {letters}")
    table.add_column("name", no_wrap=True)
    for column in ("what", "parameters (defaults)"):
        table.add_column(column, overflow="fold")
    for size in sizes:
        table.add_column(size, justify="right", no_wrap=True)
    for name in architectures.names():
        params = ", ".join(f"{k}={v!r}" for k, v in architectures.param_defaults(name).items())
        with torch.device("meta"):  # counts only: no memory, no initialisation
            counts = [architectures.build(name, vocab_size=vocab_size, size=s).num_params() for s in sizes]
        table.add_row(name, architectures.describe(name), params, *(f"{c:,}" for c in counts))
    Console().print(table)


@app.command()
@friendly_errors
def sample(
    task: TaskArgument,
    length: Annotated[int, typer.Option(help="The task's own size: bits, group elements, program lines...")] = 8,
    num: Annotated[int, typer.Option("-n", "--num", help="How many examples.")] = 3,
    seed: Annotated[int, typer.Option(help="Seed of the numpy generator.")] = 0,
    sets: SetOption = None,
) -> None:
    """Show rendered examples of a task."""
    import numpy as np

    from expressivity import tasks
    from expressivity.runners.training.options import parse_sets

    if num < 1:
        raise ValueError(f"-n must be >= 1, got {num}")
    made = tasks.make(task, **parse_sets(sets))
    batch = made.sample(np.random.default_rng(seed), num, length)
    typer.echo(f"# {made!r}  length={length}  chance={made.chance:.4g}")
    for i in range(num):
        typer.echo(made.render(batch, i))
        typer.echo("")
