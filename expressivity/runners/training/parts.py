"""A run's training loss split by what each step trained on: a mixture's component, a curriculum's value.

A run with a mixture or a curriculum (batches.py) trains its steps on different tasks, and its checked window
(train.check_window) averages over them: a window's loss of 0.3 may be 0.0 on pointer tracking and 0.6 on state-based
recall. `Parts` keeps each step's window sums (loss, final and token correct, scored positions, examples, steps) under
the label of the part the step trained on and adds them, at each check, to the history row:

    parts = Parts(task, cfg, seed, saved=checkpoint.get("parts"))    # for a run where has_parts(cfg)
    parts.add(step, sums)       # sums: the step's six window sums, a float64 tensor, on the device
    row["parts"] = parts.read() # {"state_based_recall num_vars=5": {"loss", "token_acc", "final_acc", "steps"}, ...}
    payload["parts"] = parts.state()                                  # sums not yet read, for a checkpoint

The label comes from the step's own draws (`step_part`: the curriculum's value, the mixture's component, each from its
stream), the ones its batch was made from, so the data workers need not report it. Reading the step's sums costs no
host sync until the check, which syncs anyway; drawing its label costs the host about 0.1 ms a step and run (measured
on this 2-core machine), while the GPU runs the step. Runs with neither (or with a fixed training set, whose rows are
not drawn at their steps) have no parts: their rows are as before.
"""

from __future__ import annotations

import math
from typing import Any

from expressivity.runners.training.batches import draws_other_tasks, step_component, step_task


def has_parts(cfg: dict[str, Any]) -> bool:
    """Whether a run's steps train on different parts that its history splits by."""
    return cfg.get("train_examples") is None and draws_other_tasks(cfg)  # a fixed set's rows: not drawn at their step


def step_part(task, cfg: dict[str, Any], seed: int, step: int) -> str:
    """The label of what step `step` trains on: the task's name, with the curriculum parameter's value if any
    ("state_based_recall num_vars=3", "pointer_tracking"). A second curriculum's value (`curriculum_also`) is not in
    it: over the list size m that would be hundreds of parts."""
    component, _ = step_component(step_task(task, cfg, seed, step), cfg, seed, step)
    param = cfg.get("curriculum_param")
    value = component.params.get(param) if param is not None else None
    return component.name if value is None else f"{component.name} {param}={value}"


class Parts:
    """One run's window sums by part, between checks."""

    def __init__(self, task, cfg: dict[str, Any], seed: int, saved: dict[str, list[float]] | None = None):
        self.task, self.cfg, self.seed = task, cfg, seed
        self.pending: list[tuple[str, Any]] = []  # (label, the step's sums on the device), not yet read
        self.sums: dict[str, list[float]] = {k: list(v) for k, v in (saved or {}).items()}

    def add(self, step: int, sums) -> None:
        self.pending.append((step_part(self.task, self.cfg, self.seed, step), sums))

    def _fold(self) -> None:
        """Pending steps' sums into the per-label sums (one host sync)."""
        if not self.pending:
            return
        import torch

        values = torch.stack([s for _, s in self.pending]).tolist()
        for (label, _), row in zip(self.pending, values, strict=True):
            total = self.sums.setdefault(label, [0.0] * 6)
            for i, x in enumerate(row):
                total[i] += x
        self.pending = []

    def read(self) -> dict[str, dict[str, float]]:
        """Each part's mean loss and accuracies since the last read, as a history row has them; then reset."""
        self._fold()
        rows = {}
        for label, (loss, final, token, scored, examples, steps) in sorted(self.sums.items()):
            rows[label] = {
                "loss": loss / steps,
                "token_acc": token / scored if scored else math.nan,
                "final_acc": final / examples if examples else math.nan,
                "steps": int(steps),
            }
        self.sums = {}
        return rows

    def state(self) -> dict[str, list[float]]:
        """The sums not yet read, for a checkpoint (a resumed run then reads what an unbroken one would)."""
        self._fold()
        return {k: list(v) for k, v in self.sums.items()}


def brief(parts: dict[str, dict[str, float]]) -> str:
    """A history row's parts in a few words for a log line: "num_vars=2 0.213, num_vars=5 0.612" (a curriculum's
    value, or a mixture's component name, with its loss); the whole label where two components share a value
    (pointer_tracking and state_based_recall steps at num_vars=2 in all_three with a curriculum over num_vars)."""
    shorts = [label.split(" ", 1)[-1] for label in parts]
    return ", ".join(
        f"{short if shorts.count(short) == 1 else label} {p['loss']:.3f}"
        for (label, p), short in zip(parts.items(), shorts, strict=True)
    )
