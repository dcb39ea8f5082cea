"""The tasks one run samples: its training task, the task of each step under a curriculum, and the task it is
evaluated on; and the checks `config.resolve` makes of them.

    eval_task(config)                     # the training task, with `eval_task_params` overriding some parameters

- `eval_task_params` (set as `--set eval.x=v`) override task parameters for evaluation only: train with
  queries=every_line and test with queries=final, or test a fixed-m run at a larger m. The eval task must have the
  training vocabulary (the model's embedding and head are sized by it) and take every test length.
- A curriculum (`curriculum_param`, `curriculum_from`; batches.py draws the values) names an integer task parameter
  whose value rises to the run's; every value on the way must build the task with the training vocabulary.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def same(a: Any, b: Any) -> bool:
    """Equal as JSON (tuples and lists alike): what a run key sees."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def eval_task(config: Mapping[str, Any]):
    """The task a run is evaluated on: its training task with `eval_task_params` (if any) overriding parameters."""
    from expressivity import tasks

    return tasks.make(config["task"], **{**config["task_params"], **(config.get("eval_task_params") or {})})


def check_curriculum(train: dict[str, Any], task) -> list:
    """A curriculum names an integer parameter of the task, starts at or below the run's value, and every value on
    the way builds the task with the training vocabulary (a model's embedding cannot change size mid-run). Returns
    the tasks the run's steps may sample: one per value (just `task` without a curriculum)."""
    param, start = train["curriculum_param"], train["curriculum_from"]
    if param is None and start is None:
        return [task]
    if param is None or start is None:
        raise ValueError("curriculum_param and curriculum_from are set together (e.g. curriculum_param=num_vars "
                         "curriculum_from=2), or neither")  # fmt: skip
    if param not in task.params:
        raise ValueError(
            f"curriculum_param={param!r} is not a parameter of {task.name}; choose one of "
            f"{', '.join(task.params) or 'none'}"
        )
    top = task.params[param]
    if not isinstance(top, int) or isinstance(top, bool):
        raise ValueError(f"curriculum_param={param} needs an integer {param} to rise to, got {param}={top!r}")
    if start > top:
        raise ValueError(f"curriculum_from={start} is above {param}={top}: the curriculum rises to the run's value")
    from expressivity import tasks

    out = []
    for value in range(start, top + 1):
        try:
            step_task = tasks.make(task.name, **{**task.params, param: value})
        except ValueError as err:
            raise ValueError(f"curriculum over {param} from {start}: at {param}={value}: {err}") from None
        out.append(step_task)
        if step_task.vocab != task.vocab:
            raise ValueError(
                f"curriculum over {param} from {start} changes the vocabulary ({len(step_task.vocab)} tokens at "
                f"{param}={value}, {len(task.vocab)} at {top}); fix the task's tokens across it (e.g. max_vars)"
            )
    return out


def checked_eval_task(task, overrides: dict[str, Any]):
    """The evaluation task: the training task with `overrides`; it must keep the training vocabulary."""
    from expressivity import tasks

    if not overrides:
        return task
    try:
        evaluated = tasks.make(task.name, **{**task.params, **overrides})
    except ValueError as err:
        raise ValueError(f"eval task: {err}") from None
    if evaluated.vocab != task.vocab:
        sets = " ".join(f"eval.{k}={v}" for k, v in overrides.items())
        raise ValueError(
            f"{sets} changes the vocabulary ({len(evaluated.vocab)} tokens, training has {len(task.vocab)}); "
            "evaluate on a task with the training tokens"
        )
    return evaluated


def check_eval_lengths(train: dict[str, Any], task) -> None:
    lo, hi = task.min_length, task.max_length
    bad = [n for n in train["eval_lengths"] if n < lo or (hi is not None and n > hi)]
    if bad:
        raise ValueError(f"eval_lengths {bad} are outside the eval task's lengths [{lo}, {hi if hi else 'inf'}]")
