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


def emit_table(title: str, columns: list[str], rows: list[list[str]], *, right: tuple[str, ...] = ()) -> None:
    """Print a table: a rich table on a terminal (never wrapping `no_wrap` names and keys mid-word), and plain
    tab-separated lines in a pipe or file (nothing cut or wrapped, whatever the width), so scripts can read it.
    Cells may hold rich markup (e.g. "[green]agree[/]"); it is stripped from the plain form."""
    import sys

    if not sys.stdout.isatty():
        from rich.text import Text

        typer.echo(f"# {title}")
        typer.echo("\t".join(columns))
        for row in rows:
            typer.echo("\t".join(Text.from_markup(cell).plain for cell in row))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=escape(title))
    for i, column in enumerate(columns):
        first = i == 0  # names and keys: what users type, never cut
        table.add_column(column, justify="right" if column in right else "left", no_wrap=first or column == "key",
                         overflow="fold")  # fmt: skip
    for row in rows:
        table.add_row(*row)
    Console().print(table)
