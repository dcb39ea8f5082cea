"""The `expressivity` command line (typer): the app in app.py, commands by theme in catalog.py, runs.py,
reports.py and theory.py, what run commands share in shared.py; main.py registers them all.

    from expressivity.runners.cli import app, main      # the app with every command registered
"""

from expressivity.runners.cli.main import app, main

__all__ = ["app", "main"]
