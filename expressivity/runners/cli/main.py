"""The `expressivity` command: the app with every command module registered on it.

Thin commands: each parses options, calls the library, prints. Heavy imports (torch, fla, matplotlib) happen inside
the commands that need them, so `--help` stays fast.
"""

from __future__ import annotations

from expressivity.runners.cli import catalog, lm_eval, reports, runs, theory  # noqa: F401  (each registers its commands)
from expressivity.runners.cli.app import app


def main() -> None:
    app(prog_name="expressivity")
