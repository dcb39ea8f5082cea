"""The catalogue commands: `tasks`, `archs` and `sample` (what there is, and what it looks like)."""

from __future__ import annotations

from typing import Annotated

import typer

from expressivity.runners.cli.app import SetOption, TaskArgument, app, emit_table, friendly_errors


@app.command("tasks")
@friendly_errors
def list_tasks() -> None:
    """List every task: family, level or complexity class, parameters and their defaults, chance, and the best
    input-only shortcut at length 8 (accuracy and guesser; see `expressivity.tasks.shortcuts`)."""
    from expressivity import tasks
    from expressivity.tasks.base import SHORTCUT_LENGTH

    rows = []
    for name in tasks.names():
        task = tasks.make(name)
        params = ", ".join(f"{k}={v!r}" for k, v in task.params.items())
        length = task.shortcut_length
        where = "" if length == SHORTCUT_LENGTH else f" (len {length})"  # 8 is too short for a few tasks
        shortcut = f"{task.shortcut_acc(length):.3f} {task.shortcut_name(length)}{where}"
        rows.append([name, task.family, task.level, task.length_unit, params, f"{task.chance:.3f}", shortcut])
    columns = ["name", "family", "level", "length counts", "parameters (defaults)", "chance"]
    emit_table("tasks", [*columns, f"shortcut (len {SHORTCUT_LENGTH})"], rows, right=("chance",))


@app.command("archs")
@friendly_errors
def list_archs(
    vocab_size: Annotated[int, typer.Option(help="Vocabulary size the parameter counts are for.")] = 16,
) -> None:
    """List every architecture: what it is, its parameters and defaults, and its parameter count at each size."""
    import torch

    from expressivity import architectures

    sizes = architectures.sizes()
    rows = []
    for name in architectures.names():
        params = ", ".join(f"{k}={v!r}" for k, v in architectures.param_defaults(name).items())
        with torch.device("meta"):  # counts only: no memory, no initialisation
            counts = [architectures.build(name, vocab_size=vocab_size, size=s).num_params() for s in sizes]
        rows.append([name, architectures.describe(name), params, *(f"{c:,}" for c in counts)])
    letters = ", ".join(f"{k} {v}" for k, v in architectures.LETTERS.items())
    title = f"architectures (parameters at vocab_size={vocab_size}; pattern letters: {letters})"
    emit_table(title, ["name", "what", "parameters (defaults)", *sizes], rows, right=tuple(sizes))


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
    from expressivity.runners.training.limits import check_sample
    from expressivity.runners.training.options import parse_sets

    if num < 1:
        raise ValueError(f"-n must be >= 1, got {num}")
    made = tasks.make(task, **parse_sets(sets))
    check_sample(made, num, length)
    batch = made.sample(np.random.default_rng(seed), num, length)
    typer.echo(f"# {made!r}  length={length}  chance={made.chance:.4g}")
    for i in range(num):
        typer.echo(made.render(batch, i))
        typer.echo("")
