"""The tasks one run samples: its training task, the task of each step under a curriculum, and the task it is
evaluated on; and the checks `config.resolve` makes of them.

    eval_task(config)                     # the training task, with `eval_task_params` overriding some parameters

- `eval_task_params` (set as `--set eval.x=v`) override task parameters for evaluation only: train with
  queries=every_line and test with queries=final, or test a fixed-m run at a larger m. The eval task must have the
  training vocabulary (the model's embedding and head are sized by it) and take every test length.
- A curriculum (`curriculum_param`, `curriculum_from`; batches.py draws the values) names an integer task parameter
  whose value rises to the run's; every value on the way must build the task with the training vocabulary. A second
  (`curriculum_also=NAME=FROM`) rises beside it over another parameter; every pair of values must.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from typing import Any

from expressivity.runners.training.batches import curriculum_also


def same(a: Any, b: Any) -> bool:
    """Equal as JSON (tuples and lists alike): what a run key sees."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def eval_task(config: Mapping[str, Any]):
    """The task a run is evaluated on: its training task with `eval_task_params` (if any) overriding parameters."""
    from expressivity import tasks

    return tasks.make(config["task"], **{**config["task_params"], **(config.get("eval_task_params") or {})})


def _top(task, param: str, start: int, keys: tuple[str, str]) -> int:
    """The run's value of a curriculum's parameter, which must be an integer at or above where the curriculum starts;
    `keys` name the setting and its start in errors."""
    if param not in task.params:
        raise ValueError(
            f"{keys[0]}={param!r} is not a parameter of {task.name}; choose one of {', '.join(task.params) or 'none'}"
        )
    top = task.params[param]
    if not isinstance(top, int) or isinstance(top, bool):
        raise ValueError(f"{keys[0]}={param} needs an integer {param} to rise to, got {param}={top!r}")
    if start > top:
        raise ValueError(f"{keys[1]}={start} is above {param}={top}: the curriculum rises to the run's value")
    return top


def _also(train: dict[str, Any], param: str | None) -> tuple[str, int] | None:
    """The second curriculum (`curriculum_also`, NAME=FROM), checked: only beside a first, over another parameter."""
    spec = train.get("curriculum_also")
    if spec is None:
        for key, unset in (("curriculum_also_hold", 0.0), ("curriculum_also_frac", None)):
            if train.get(key, unset) not in (unset, None):
                raise ValueError(f"{key}={train[key]} shapes the second curriculum, which is not set; set "
                                 "curriculum_also (e.g. curriculum_also=m=16) or leave it out")  # fmt: skip
        return None
    name, sep, start = spec.partition("=")
    if not sep or not name.strip() or not start.strip().lstrip("-").isdigit():
        raise ValueError(f"curriculum_also={spec!r} is not NAME=FROM with an integer FROM (e.g. curriculum_also=m=16)")
    if param is None:
        raise ValueError(f"curriculum_also={spec} rises beside curriculum_param, which is not set; set "
                         "curriculum_param and curriculum_from (one curriculum needs only those)")  # fmt: skip
    if name.strip() == param:
        raise ValueError(f"curriculum_also={spec} names {param}, which curriculum_param raises; name another parameter")
    return curriculum_also(train)  # as the batches read it


def check_curriculum(train: dict[str, Any], task) -> list:
    """A curriculum names an integer parameter of the task, starts at or below the run's value, and every value on
    the way builds the task with the training vocabulary (a model's embedding cannot change size mid-run); a second
    (`curriculum_also`) the same, at every pair of values. Returns the tasks the run's steps may sample: one per value
    or pair (just `task` without a curriculum)."""
    param, start = train["curriculum_param"], train["curriculum_from"]
    also = _also(train, param)
    if param is None and start is None:
        return [task]
    if param is None or start is None:
        raise ValueError("curriculum_param and curriculum_from are set together (e.g. curriculum_param=num_vars "
                         "curriculum_from=2), or neither")  # fmt: skip
    ranges = {param: range(start, _top(task, param, start, ("curriculum_param", "curriculum_from")) + 1)}
    if also is not None:
        ranges[also[0]] = range(also[1], _top(task, *also, ("curriculum_also", "curriculum_also's FROM")) + 1)
    over = " and ".join(f"{p} from {r.start}" for p, r in ranges.items())
    tops = " ".join(f"{p}={r[-1]}" for p, r in ranges.items()) if also else str(ranges[param][-1])
    from expressivity import tasks

    out = []
    for values in itertools.product(*ranges.values()):
        drawn = dict(zip(ranges, values, strict=True))
        at = " ".join(f"{p}={v}" for p, v in drawn.items())
        try:
            step_task = tasks.make(task.name, **{**task.params, **drawn})
        except ValueError as err:
            raise ValueError(f"curriculum over {over}: at {at}: {err}") from None
        out.append(step_task)
        if step_task.vocab != task.vocab:
            raise ValueError(
                f"curriculum over {over} changes the vocabulary ({len(step_task.vocab)} tokens at {at}, "
                f"{len(task.vocab)} at {tops}); fix the task's tokens across it (e.g. max_vars)"
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
