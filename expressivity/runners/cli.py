"""The `expressivity` command line. Thin: each command parses options, calls the library, prints.

Bad input (unknown task, parameter or length) ends with one line on stderr and exit code 2, never a traceback.
Heavy imports (torch, fla, matplotlib) happen inside the commands that need them, so `--help` stays fast.
"""

from __future__ import annotations

import functools
import sys
from typing import Annotated

import typer

app = typer.Typer(
    name="expressivity",
    help="A testbed for the formal expressivity of sequence models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

TaskArgument = Annotated[str, typer.Argument(help="Task name (see `expressivity tasks`).")]
ArchArgument = Annotated[str, typer.Argument(help="Architecture name (see `expressivity archs`).")]
SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="key=value for a task, model or training parameter (repeatable)."),
]


def friendly_errors(command):
    """Turn the library's ValueError (bad user input) into one line on stderr and exit code 2."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ValueError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(2) from None

    return wrapper


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
    from expressivity.runners.options import parse_sets

    if num < 1:
        raise ValueError(f"-n must be >= 1, got {num}")
    made = tasks.make(task, **parse_sets(sets))
    batch = made.sample(np.random.default_rng(seed), num, length)
    typer.echo(f"# {made!r}  length={length}  chance={made.chance:.4g}")
    for i in range(num):
        typer.echo(made.render(batch, i))
        typer.echo("")


# Command modules register themselves on `app`; imported last because they import `app` from here.
from expressivity.runners import cli_reports, cli_runs, cli_theory  # noqa: E402, F401  (reports, runs, theory)


def main() -> None:
    app(prog_name="expressivity")


if __name__ == "__main__":
    # Run as `python -m expressivity.runners.cli`, this file is `__main__`, while the command modules registered
    # themselves on the `app` of `expressivity.runners.cli`: call that one.
    from expressivity.runners.cli import main as registered_main

    sys.exit(registered_main())
