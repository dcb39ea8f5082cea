"""A single run's progress: a rich bar on a terminal, or a line in a grid worker's log every so many steps.

with Progress(steps, enabled=True, label="parity/gdn/tiny/seed0 KEY", log_every=500) as bar:
    bar.update(step, history_row)    # history_row: train.check_window's row, or None before the first check
"""

from __future__ import annotations

import sys
import time

from expressivity.runners.training.parts import brief


class Progress:
    """A rich progress bar with step, loss and current accuracy. Disabled (grid workers), it writes a line to the
    worker's log every `log_every` steps instead (0: never), as a fused group does at each checkpoint, so a call cut
    off by its time limit still says how far an unfused run got and at what pace (until 2026-12-05 an unfused run's
    log stayed empty: 15 Stack-RNN runs on the GPU said nothing of their pace)."""

    def __init__(self, total: int, *, enabled: bool, label: str = "train", log_every: int = 0):
        self.enabled, self.label, self.log_every = enabled, label, log_every
        self.started = time.perf_counter()
        if enabled:
            from rich import progress

            self.bar = progress.Progress(
                progress.TextColumn("train"),
                progress.BarColumn(),
                progress.MofNCompleteColumn(),
                progress.TextColumn("loss {task.fields[loss]}  acc {task.fields[acc]}"),
                progress.TimeElapsedColumn(),
            )
            self.task = self.bar.add_task("train", total=total, loss="-", acc="-")

    def __enter__(self):
        if self.enabled:
            self.bar.start()
        return self

    def __exit__(self, *exc):
        if self.enabled:
            self.bar.stop()

    def update(self, step: int, row: dict | None) -> None:
        if self.enabled:
            fields = {} if row is None else {"loss": f"{row['loss']:.4f}", "acc": f"{row['token_acc']:.3f}"}
            self.bar.update(self.task, completed=step, **fields)
        elif row is not None and self.log_every and step % self.log_every == 0:
            figures = f"loss {row['loss']:.3f}, accuracy final/token {row['final_acc']:.3f}/{row['token_acc']:.3f}"
            if "parts" in row:
                figures += f" ({brief(row['parts'])})"
            elapsed = time.perf_counter() - self.started
            print(f"{self.label}: step {step} at {elapsed:.1f}s; {figures}", file=sys.stderr, flush=True)
