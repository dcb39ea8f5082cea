"""Declared shortcuts of the tasks without a closed form: measured tables, and seeded measurement for the rest.

`TABLES[task][length] = (accuracy, guesser)` is the best guesser of `tasks.shortcuts` measured on MEASURE_N examples
(seed MEASURE_SEED) at the task's default parameters (standard error at most 0.0035). Regenerate after changing a
task's generator or its guessers, and paste the output below:

    PYTHONPATH=$PWD python -m expressivity.tasks.shortcut_tables

At other lengths or parameters `declared` measures the same way on first use (seconds; cached per task instance).
"""

from __future__ import annotations

import numpy as np

from expressivity.tasks.base import SHORTCUT_TOLERANCE, Task

MEASURE_SEED = 14  # issue 14: shortcuts measured
MEASURE_N = 20_000
TABLE_LENGTHS = (2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48, 64, 96, 128, 256, 500, 512)
SEARCH_HORIZON = 4096  # closed forms: the longest length `vanishes_at` looks at
WINDOW = 4  # ... and how many consecutive lengths each of its probes past 64 reads


def table_for(task: Task) -> dict[int, tuple[float, str]] | None:
    """The task's measured table, if its parameters are those it was measured at (padding of boolean formulas aside:
    pads change no guess)."""
    table = TABLES.get(task.name)
    if table is None:
        return None
    ignored = {"pad_factor", "pad_power"} if task.name == "boolean_formula" else set()
    defaults = {k: v for k, v in type(task).param_defaults().items() if k not in ignored}
    return table if {k: v for k, v in task.params.items() if k not in ignored} == defaults else None


def measured(task: Task, length: int) -> tuple[float, str]:
    """(accuracy, guesser) of the best guesser on MEASURE_N examples drawn with seed MEASURE_SEED."""
    from expressivity.tasks import shortcuts

    return shortcuts.best(task, length, np.random.default_rng(MEASURE_SEED), MEASURE_N)


def declared(task: Task, length: int) -> tuple[float, str]:
    """The table entry at `length`, else a seeded measurement."""
    table = table_for(task)
    if table is not None and length in table:
        return table[length]
    return measured(task, length)


def vanishes_at(task: Task) -> int | None:
    """The smallest length from which on `task.shortcut_acc` stays within SHORTCUT_TOLERANCE of chance (see
    `Task.shortcut_vanishes_at`). A closed form is read at every length to 64, then at doubling lengths to
    SEARCH_HORIZON, bisecting the last step; beyond 64 each probe covers WINDOW consecutive lengths, since some
    shortcuts come and go with the length's residue (missing_duplicate: the parity of |w|). A measured shortcut is
    read at the table lengths only, and the answer is one of them."""
    closed = task._shortcut_exact(task.min_length) is not None
    top = SEARCH_HORIZON if task.max_length is None else min(SEARCH_HORIZON, task.max_length)
    if closed:
        doubling = (n for n in (2**k for k in range(7, 13)) if n <= top)
        grid = sorted({*range(task.min_length, min(64, top) + 1), *doubling})
    else:
        grid = sorted({task.min_length, *(n for n in TABLE_LENGTHS if task.min_length <= n <= min(top, 512))})

    def above(length: int) -> bool:
        span = range(length, min(length + WINDOW, top + 1)) if closed and length > 64 else (length,)
        return any(task.shortcut_acc(n) - task.chance > SHORTCUT_TOLERANCE for n in span)

    over = [i for i, n in enumerate(grid) if above(n)]
    if not over:
        return task.min_length
    i = over[-1]
    if i == len(grid) - 1:
        return None
    lo, hi = grid[i], grid[i + 1]
    if not closed:
        return hi
    while hi - lo > 1:  # the first length past lo within tolerance (its window too)
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if above(mid) else (lo, mid)
    return hi


def tabulate(names: list[str], n: int = MEASURE_N, seed: int = MEASURE_SEED) -> dict[str, dict[int, tuple[float, str]]]:
    """Measure the tables: for each task (default parameters) and each table length it allows, the best guesser."""
    from expressivity import tasks

    out = {}
    for name in names:
        task = tasks.make(name)
        hi = task.max_length or max(TABLE_LENGTHS)
        lengths = sorted({task.min_length, *(x for x in TABLE_LENGTHS if task.min_length <= x <= hi)})
        out[name] = {x: measured_with(task, x, n, seed) for x in lengths}
    return out


def measured_with(task: Task, length: int, n: int, seed: int) -> tuple[float, str]:
    from expressivity.tasks import shortcuts

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
    from expressivity import tasks

    names = [name for name in tasks.names() if tasks.make(name)._shortcut_exact(tasks.make(name).min_length) is None]
    print(as_source(tabulate(names)))


# ---- measured tables (generated by `main`; do not edit by hand) ----------------------------------------------------
TABLES: dict[str, dict[int, tuple[float, str]]] = {
    "binary_addition": {
        3: (1.0, "position_prior"),
        4: (0.8991, "position_prior"),
        5: (0.8265, "position_prior"),
        6: (0.7813, "carry_free_sum"),
        8: (0.7888, "carry_free_sum"),
        10: (0.7952, "carry_free_sum"),
        12: (0.804, "carry_free_sum"),
        16: (0.8116, "carry_free_sum"),
        20: (0.8158, "carry_free_sum"),
        24: (0.8229, "carry_free_sum"),
        32: (0.824, "carry_free_sum"),
        40: (0.8275, "carry_free_sum"),
        48: (0.8289, "carry_free_sum"),
        64: (0.8291, "carry_free_sum"),
        96: (0.8313, "carry_free_sum"),
        128: (0.8318, "carry_free_sum"),
        256: (0.8324, "carry_free_sum"),
        500: (0.8346, "carry_free_sum"),
        512: (0.8342, "carry_free_sum"),
    },
    "binary_multiplication": {
        3: (1.0, "position_prior"),
        4: (0.874, "position_prior"),
        5: (0.8187, "position_prior"),
        6: (0.7558, "position_prior"),
        8: (0.6973, "position_prior"),
        10: (0.6591, "position_prior"),
        12: (0.6355, "position_prior"),
        16: (0.6025, "position_prior"),
        20: (0.5824, "position_prior"),
        24: (0.5682, "position_prior"),
        32: (0.552, "position_prior"),
        40: (0.5403, "position_prior"),
        48: (0.5338, "position_prior"),
        64: (0.5257, "position_prior"),
        96: (0.5174, "position_prior"),
        128: (0.5135, "position_prior"),
        256: (0.5065, "position_prior"),
        500: (0.5029, "position_prior"),
        512: (0.503, "position_prior"),
    },
    "boolean_formula": {
        1: (1.0, "majority_symbol"),
        2: (1.0, "majority_symbol"),
        3: (1.0, "majority_symbol"),
        4: (1.0, "left_spine"),
        5: (0.7571, "majority_symbol"),
        6: (0.7571, "majority_symbol"),
        8: (0.7511, "left_spine"),
        10: (1.0, "left_spine"),
        12: (0.6916, "right_spine"),
        16: (0.6714, "right_spine"),
        20: (0.651, "right_spine"),
        24: (0.6416, "right_spine"),
        32: (0.6319, "left_spine"),
        40: (0.6303, "left_spine"),
        48: (0.6268, "right_spine"),
        64: (0.6244, "right_spine"),
        96: (0.6182, "left_spine"),
        128: (0.6216, "left_spine"),
        256: (0.6152, "right_spine"),
        500: (0.6105, "right_spine"),
        512: (0.6149, "right_spine"),
    },
    "compute_sqrt": {
        1: (1.0, "position_prior"),
        2: (1.0, "position_prior"),
        3: (0.5737, "position_prior"),
        4: (0.7316, "position_prior"),
        5: (0.5798, "majority_symbol"),
        6: (0.6678, "first_symbol"),
        8: (0.6417, "first_symbol"),
        10: (0.6197, "first_symbol"),
        12: (0.6025, "first_symbol"),
        16: (0.5783, "first_symbol"),
        20: (0.5616, "first_symbol"),
        24: (0.5511, "first_symbol"),
        32: (0.5392, "first_symbol"),
        40: (0.5307, "first_symbol"),
        48: (0.5248, "first_symbol"),
        64: (0.5193, "first_symbol"),
        96: (0.5125, "first_symbol"),
        128: (0.5094, "first_symbol"),
        256: (0.5048, "first_symbol"),
        500: (0.5025, "first_symbol"),
        512: (0.5022, "first_symbol"),
    },
    "connectivity": {
        2: (1.0, "direct_edge"),
        3: (0.9527, "direct_edge"),
        4: (0.8981, "direct_edge"),
        5: (0.8594, "direct_edge"),
        6: (0.8255, "direct_edge"),
        8: (0.7768, "direct_edge"),
        10: (0.7361, "direct_edge"),
        12: (0.7027, "direct_edge"),
        16: (0.6629, "direct_edge"),
        20: (0.6348, "direct_edge"),
        24: (0.6086, "direct_edge"),
        32: (0.5829, "direct_edge"),
        40: (0.5647, "direct_edge"),
        48: (0.5552, "direct_edge"),
        64: (0.5415, "direct_edge"),
        96: (0.5464, "direct_edge"),
        128: (0.5487, "direct_edge"),
        256: (0.5903, "direct_edge"),
        500: (0.6642, "direct_edge"),
        512: (0.6654, "direct_edge"),
    },
    "program_trace": {
        1: (0.3956, "majority_symbol"),
        2: (0.3411, "majority_symbol"),
        3: (0.2969, "first_symbol"),
        4: (0.2662, "first_symbol"),
        5: (0.2417, "first_symbol"),
        6: (0.2276, "first_symbol"),
        8: (0.2041, "first_symbol"),
        10: (0.1791, "first_symbol"),
        12: (0.1706, "first_symbol"),
        16: (0.1586, "majority_symbol"),
        20: (0.151, "first_symbol"),
        24: (0.1494, "first_symbol"),
        32: (0.1453, "last_symbol"),
        40: (0.1474, "first_symbol"),
        48: (0.1489, "majority_symbol"),
        64: (0.1443, "first_symbol"),
        96: (0.1447, "first_symbol"),
        128: (0.1429, "position_prior"),
        256: (0.1471, "first_symbol"),
        500: (0.1475, "position_prior"),
        512: (0.1455, "last_symbol"),
    },
    "reachability": {
        2: (1.0, "direct_edge"),
        3: (0.9469, "direct_edge"),
        4: (0.9092, "direct_edge"),
        5: (0.8848, "direct_edge"),
        6: (0.8589, "direct_edge"),
        8: (0.8183, "direct_edge"),
        10: (0.7927, "direct_edge"),
        12: (0.7762, "direct_edge"),
        16: (0.7431, "direct_edge"),
        20: (0.7213, "direct_edge"),
        24: (0.706, "direct_edge"),
        32: (0.6812, "direct_edge"),
        40: (0.6625, "direct_edge"),
        48: (0.652, "direct_edge"),
        64: (0.6335, "direct_edge"),
        96: (0.5599, "direct_edge"),
        128: (0.5377, "direct_edge"),
        256: (0.5416, "direct_edge"),
        500: (0.5766, "direct_edge"),
        512: (0.5722, "direct_edge"),
    },
    "stack_manipulation": {
        1: (0.7498, "position_prior"),
        2: (0.5725, "position_prior"),
        3: (0.5543, "position_prior"),
        4: (0.5365, "position_prior"),
        5: (0.5242, "position_prior"),
        6: (0.5142, "position_prior"),
        8: (0.5229, "majority_symbol"),
        10: (0.5323, "majority_symbol"),
        12: (0.5348, "majority_symbol"),
        16: (0.5397, "majority_symbol"),
        20: (0.5406, "majority_symbol"),
        24: (0.541, "majority_symbol"),
        32: (0.5409, "majority_symbol"),
        40: (0.5404, "majority_symbol"),
        48: (0.5385, "majority_symbol"),
        64: (0.5355, "majority_symbol"),
        96: (0.5316, "majority_symbol"),
        128: (0.5283, "majority_symbol"),
        256: (0.5217, "majority_symbol"),
        500: (0.5161, "majority_symbol"),
        512: (0.5162, "majority_symbol"),
    },
}

if __name__ == "__main__":
    main()
