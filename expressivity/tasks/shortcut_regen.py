"""Regenerate the measured shortcut tables of shortcut_tables.py (run after changing a generator or a guesser, and
paste the output over its TABLES):

    PYTHONPATH=$PWD python -m expressivity.tasks.shortcut_regen

A leaf module: it reads the whole registry, so nothing in the package imports it.
"""

from __future__ import annotations

import numpy as np

from expressivity import tasks
from expressivity.tasks import Task, shortcuts
from expressivity.tasks.shortcut_tables import MEASURE_N, MEASURE_SEED, TABLE_LENGTHS, TEST_LENGTHS


def tabulate(names: list[str], n: int = MEASURE_N, seed: int = MEASURE_SEED) -> dict[str, dict[int, tuple[float, str]]]:
    """Measure the tables: for each task (default parameters) and each table or test length it allows, the best
    guesser."""
    out = {}
    for name in names:
        task = tasks.make(name)
        hi = task.max_length or max(TABLE_LENGTHS)
        lengths = sorted({task.min_length, *(x for x in TABLE_LENGTHS + TEST_LENGTHS if task.min_length <= x <= hi)})
        out[name] = {x: measured_with(task, x, n, seed) for x in lengths}
    return out


def measured_with(task: Task, length: int, n: int, seed: int) -> tuple[float, str]:
    acc, name = shortcuts.best(task, length, np.random.default_rng(seed), n)
    return round(acc, 4), name


def as_source(tables: dict[str, dict[int, tuple[float, str]]]) -> str:
    """The tables as the Python literal below."""
    lines = ["TABLES: dict[str, dict[int, tuple[float, str]]] = {"]
    for name, table in tables.items():
        lines.append(f"    {name!r}: {{")
        lines += [f"        {length}: ({acc}, {guesser!r})," for length, (acc, guesser) in table.items()]
        lines.append("    },")
    return "\n".join([*lines, "}"])


def main() -> None:
    names = [name for name in tasks.names() if tasks.make(name)._shortcut_exact(tasks.make(name).min_length) is None]
    print(as_source(tabulate(names)))


if __name__ == "__main__":
    main()
