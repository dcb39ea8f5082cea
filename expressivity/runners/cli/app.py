"""The typer app every command registers on, the arguments commands share, and the one-line error wrapper.

Bad input (unknown task, parameter or length) ends with one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import functools
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
