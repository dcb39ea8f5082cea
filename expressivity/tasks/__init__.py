"""Synthetic tasks: generators with oracles, one module per family, all in one registry. Usage::

    from expressivity import tasks
    tasks.names()                                  # every registered task
    task = tasks.make("word_problem", group="S5")  # unknown name or parameter -> ValueError naming the valid ones
    batch = task.sample(np.random.default_rng(0), batch_size=32, length=16)

The contract every task keeps is in `base.py`; each family module registers its tasks when imported below.
"""

from __future__ import annotations

from typing import Any

# Importing a family module registers its tasks; importing the shortcut modules registers the task-specific
# guessers with tasks.shortcuts and the measured tables with Task (base.py).
from expressivity.tasks import (  # noqa: F401
    binary_arithmetic,
    boolean_formula,
    context_free,
    context_sensitive,
    dyck,
    graphs,
    pointer_programs,
    recall,
    regular,
    shortcut_tables,
    shortcuts_specific,
    state_tracking,
    straight_line,
)
from expressivity.tasks.base import BOS, BOS_ID, PAD, PAD_ID, REGISTRY, Batch, Task

__all__ = ["BOS", "BOS_ID", "PAD", "PAD_ID", "Batch", "Task", "get", "make", "names"]


def names() -> list[str]:
    """Every registered task name, sorted."""
    return sorted(REGISTRY)


def get(name: str) -> type[Task]:
    """The task class registered under `name`; ValueError naming the valid ones otherwise."""
    if name not in REGISTRY:
        raise ValueError(f"unknown task {name!r}; valid tasks: {', '.join(names())}")
    return REGISTRY[name]


def make(name: str, **params: Any) -> Task:
    """Build a task; every parameter has a default. Unknown parameters -> ValueError naming the valid ones."""
    cls = get(name)
    valid = cls.param_defaults()
    unknown = sorted(set(params) - set(valid))
    if unknown:
        allowed = ", ".join(f"{k}={v!r}" for k, v in valid.items()) or "none"
        raise ValueError(f"unknown parameter(s) {', '.join(unknown)} for task {name!r}; valid: {allowed}")
    return cls(**params)
