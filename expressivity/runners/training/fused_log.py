"""What a fused group writes to its worker's log (fused.py): a line naming its runs when it starts, and a progress line
at each checkpoint, so a call cut off by its time limit still says which runs a group held, how far they got and
whether they were learning.

    members_line(configs)                            # "fused x3 gdn ...: runs KEY task params seed0 | ..."
    progress_line(configs, states, stops, step, s)   # "fused x3 gdn ...: step 500 at 41.2s; loss per run: ..."
    start_line(3, 0.4, 10, 14.2)                     # "fused x3: built in 0.40s; 10 step(s) at 14.20s"
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from expressivity.runners.training.config import run_key
from expressivity.runners.training.parts import brief


def label(configs: Sequence[Mapping[str, Any]]) -> str:
    """`fused xM ARCH` and the model settings all runs share (num_householder, n_layers, ...), so two groups of one
    architecture can be told apart; the per-run ones (seed, eigenvalue range) are in each run's row."""
    shared = [f"{k}={v}" for k, v in sorted(configs[0]["model_params"].items())
              if all(c["model_params"].get(k) == v for c in configs)]  # fmt: skip
    return " ".join([f"fused x{len(configs)}", configs[0]["arch"], *shared])


# Steps after which a group logs its start (start_line): the first (compiling), one past warm-up and capture, and a few
# more.
START_STEPS = (1, 4, 10)


def start_line(members: int, built: float, steps: int, seconds: float) -> str:
    """How the group started: seconds building its model, then seconds to its first `steps` steps (data processes,
    compiling, warm-up, capture). benchmarks/grid_throughput.py reads it."""
    return f"fused x{members}: built in {built:.2f}s; {steps} step(s) at {seconds:.2f}s"


def members_line(configs: Sequence[Mapping[str, Any]]) -> str:
    """The group's runs in the order its progress lines list them: run key, task parameters and seed (a group may
    join tasks of one shape: on 2026-12-05 a log's x6 group could not be told which of 4 task formats it held)."""
    params = [" ".join(f"{k}={v}" for k, v in sorted(c["task_params"].items())) for c in configs]
    runs = " | ".join(f"{run_key(c)} {c['task']} {p} seed{c['seed']}" for c, p in zip(configs, params, strict=True))
    return f"{label(configs)}: runs {runs}"


def progress_line(
    configs: Sequence[Mapping[str, Any]], states: Sequence[Mapping[str, Any]], stops: Sequence[str], step: int,
    seconds: float,
) -> str:  # fmt: skip
    """Each run's last checked loss and held-out accuracy (final/token, the two the early stop reads; a mixture's or
    curriculum's loss by part in brackets). A run that has stopped says so and where: its figures are those of its
    last check (a group's line repeated them, unmarked, until 2026-12-03)."""
    last = [s["history"][-1] if s["history"] else {} for s in states]
    runs = " | ".join(
        f"{h.get('loss', float('nan')):.3f}"
        + (f" val {h['val_final_acc']:.3f}/{h['val_token_acc']:.3f}" if "val_final_acc" in h else "")
        + (f" ({brief(h['parts'])})" if "parts" in h else "")
        + (f" ({stop} at step {state['step']})" if stop else "")
        for h, stop, state in zip(last, stops, states, strict=True)
    )
    return f"{label(configs)}: step {step} at {seconds:.1f}s; loss per run: {runs}"
