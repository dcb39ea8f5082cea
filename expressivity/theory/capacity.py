"""State against list size: the reading of a sweep over the number of items a model must hold (`ITEM_AXES`:
state-based recall's list size m), each run trained and tested in distribution at one value, which `check`
(out-of-distribution accuracy) cannot score: such runs have no out-of-distribution lengths.

    cells = capacity(store.rows())
    cells[0].by_value          # {16: 1.0, 64: 0.98, 256: 0.61, 1024: 0.12}: best in-distribution scaled accuracy
    cells[0].runs_by_value     # {16: (1.0, 0.99, 0.97), ...}: every run's, best first (seeds and reruns: the spread)
    cells[0].verdict           # 'agree', 'contradict', 'suspect' or 'inconclusive', against EXPECT

Olmo Hybrid's Theorem 1 separates on this axis: a pure GDN holds all m bits in a fixed-size state, so its recall must
break once m outgrows the state, while attention reads bits[x] at any m. A cell is (scope, task with its parameters
but the axis, architecture class); the sweep is the cells of one (scope, task) that share the axis. Against EXPECT:

- "state-bound": agrees when the best seed falls below FALLS (0.5 scaled) at the largest value, and a positive control
  of the same sweep (another model) reaches LEARNS (0.9) at every value: the protocol teaches the task at that size, so
  the fall is the model's, not the protocol's. Without such a control: "inconclusive (nothing learned)". Still >=
  LEARNS at the largest value: "suspect" (more items than issue 15's estimate of a GDN's recall, heads x key dim, one
  item a key direction; worth a look, as check flags a sign flip learned without negative eigenvalues). Anything
  between: inconclusive.
  The threshold is that estimate, not the state's size: with index keys one head can hold d_k x d_v bits, one a state
  entry (tests/theory/test_state_capacity.py; 8192 a layer at the small preset), more than any m the presets run. So
  an agree on this axis says the model did not learn to hold the list, which theory allows but does not force there.
- "learns": agrees when >= LEARNS at every value, contradicts when below FALLS at a value where a control holds;
  otherwise inconclusive, the reason naming the values it missed and why that is not scored.
- Anything else (unknown, fails): inconclusive.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from expressivity.theory.answers import ITEM_AXES, Answer
from expressivity.theory.check import LEARNS, NOTHING_LEARNED, RunResult, _prediction, scope_of
from expressivity.theory.depth import SweepCell

FALLS = 0.5  # issue 15: a state-bound model "falls below 0.5 scaled at the largest m"


@dataclass(frozen=True, kw_only=True)
class CapacityCell(SweepCell):  # task_params without the axis
    axis: str
    arch: str  # the architecture class label
    by_value: Mapping[int, float]  # axis value -> best in-distribution scaled accuracy over the cell's runs
    runs_by_value: Mapping[int, tuple[float, ...]]  # axis value -> every run's, best first: the verdict reads the best


def capacity_verdict(
    expected: str, by_value: Mapping[int, float], controls: Iterable[Mapping[int, float]]
) -> tuple[str, str]:
    """(verdict, reason) of one model's sweep against EXPECT, given the other models' sweeps (see the docstring)."""
    values = sorted(by_value)
    if len(values) < 2:
        return "inconclusive", "one value of the axis"
    held = [c for c in controls if all(c.get(v, -1.0) >= LEARNS for v in values)]
    top = by_value[values[-1]]
    if expected == "state-bound":
        if top >= LEARNS:
            return "suspect", f"holds {top:.2f} at the largest value, {values[-1]}"
        if top < FALLS:
            return ("agree", "") if held else ("inconclusive", NOTHING_LEARNED)
        return "inconclusive", f"{top:.2f} at the largest value, between {FALLS} and {LEARNS}"
    if expected == "learns":
        missed = [v for v in values if by_value[v] < LEARNS]
        if not missed:
            return "agree", ""
        if held and any(by_value[v] < FALLS for v in values):
            return "contradict", ""
        where = ", ".join(f"{v}: {by_value[v]:.2f}" for v in missed)
        why = f"none below {FALLS}" if held else "no other model held at every value"
        return "inconclusive", f"below {LEARNS} at {where}; {why}"
    return "inconclusive", ""


def capacity(rows: Iterable[Mapping[str, Any]]) -> list[CapacityCell]:
    """One CapacityCell per (scope, task, parameters but the axis, architecture class) of the finished runs of a task
    in `ITEM_AXES` trained and tested at one length (in distribution), with at least two values of the axis among
    them."""
    groups: dict[tuple, list[Mapping[str, Any]]] = {}
    expects: dict[tuple, Answer] = {}
    for row in rows:
        config = row["config"]
        axis, train = ITEM_AXES.get(config["task"]), config.get("train") or {}
        iid = ((row.get("summary") or {}).get("id") or {}).get("scaled_acc")
        if axis is None or row.get("status") != "done" or iid is None or config["task_params"].get(axis) is None:
            continue
        if train.get("train_min_length") != train.get("train_max_length"):
            continue  # a sweep of the axis holds the length fixed
        run = RunResult.from_row(row)
        label, _, expect = _prediction(run)
        rest = json.dumps({k: v for k, v in run.task_params.items() if k != axis}, sort_keys=True, default=str)
        key = (scope_of(row), run.task, rest, axis, label, train.get("train_max_length"))
        groups.setdefault(key, []).append(row)
        expects[key] = expect
    sweeps: dict[tuple, dict[tuple, dict[int, tuple[float, ...]]]] = {}
    for key, members in groups.items():
        scores: dict[int, list[float]] = {}
        for row in members:
            value = int(row["config"]["task_params"][key[3]])
            scores.setdefault(value, []).append(float(row["summary"]["id"]["scaled_acc"]))
        runs = {v: tuple(sorted(scores[v], reverse=True)) for v in sorted(scores)}
        sweeps.setdefault((key[0], key[1], key[2], key[3], key[5]), {})[key] = runs
    cells = []
    for sweep in sweeps.values():
        best = {key: {v: runs[0] for v, runs in by_run.items()} for key, by_run in sweep.items()}
        for key, by_value in best.items():
            controls = [other for k, other in best.items() if k != key]
            verdict, reason = capacity_verdict(expects[key].value, by_value, controls)
            cells.append(
                CapacityCell(
                    task=key[1], task_params=json.loads(key[2]), axis=key[3], arch=key[4], expect=expects[key],
                    by_value=by_value, runs_by_value=sweep[key], scope=key[0], verdict=verdict, reason=reason,
                    keys=tuple(r["key"] for r in groups[key]),
                )
            )  # fmt: skip
    return sorted(cells, key=lambda c: (c.scope, c.task, json.dumps(dict(c.task_params), sort_keys=True), c.arch))
