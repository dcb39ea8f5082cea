"""Depth against length: the Illusion of State reading of a depth sweep, which `check` (out-of-distribution accuracy)
cannot score, since each run trains and tests at one length.

    cells = depth_growth(store.rows())
    cells[0].min_depths        # {8: 1, 16: 2, 32: 3, 64: None}: the smallest depth whose best seed reaches 90%
    cells[0].verdict           # 'agree', 'contradict' or 'inconclusive', against EXPECT

Only runs trained at one length count (train_min_length = train_max_length, as Illusion of State trains them), and
only a family swept over depths or trained at depth 1 (the one-layer controls): a deeper model built at one depth
(olmo-hybrid's m axis trains a 4-layer hybrid at n = 4) has no depth reading. A cell
is (scope, task with parameters, model family): the family is the architecture class without its depth, so
the depths 1-4 of one sweep and the lengths 8-64 of one group meet in one cell. At each training length the min
depth is the smallest `n_layers` whose best run reaches THRESHOLD in-distribution final accuracy (None: no depth
tried did). Against EXPECT:

- "depth-grows" (Illusion of State: TC0 models on non-solvable word problems) agrees when the min depth never falls
  as the length grows and is larger at the longest length than at the shortest (None counts as deeper than any depth
  tried); contradicts when one depth serves every length; otherwise inconclusive.
- "learns" (an RNN, DeltaProduct with enough reflections) agrees when depth 1 (or the shallowest tried) reaches the
  threshold at every length, contradicts when some length is never reached.
- Nothing reached at any length: "inconclusive (nothing learned)", as in `check`; for an EXPECT of "unknown", only
  where no model of the row learned those lengths either (a one-layer GDN that fails A5 beside an LSTM that learns
  it has no claim to hold it against: plain "inconclusive", with EXPRESS beside it in the table).

A failure is evidence only where the protocol is shown able to teach the task (as in `check`): for "depth-grows" and
"learns", a length at which no run of any model in the scope (this family at any depth, or another model: the row's
positive control) reaches THRESHOLD is left out of the verdict and named in its reason, since "no depth tried passed"
there may be the protocol's failure (a step cap, say) rather than the family's. So a positive control that fails at a
length where nothing else learned reads "agree (... left out)", not "contradict"; beside a model that did learn that
length, its failure counts. `min_depths` still reports it as None.

A length whose sweep is unfinished (a depth of the family's sweep not run there, shallower than the one that passed,
or any, where none passed) is left out too and named in the reason ("sweep unfinished at length 64"): its None is
only "deeper than the depths run so far", not deeper than the sweep.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from expressivity.theory.answers import Answer
from expressivity.theory.check import NOTHING_LEARNED, _prediction, scope_of

THRESHOLD = 0.9


@dataclass(frozen=True, kw_only=True)
class SweepCell:
    """A verdict read across a sweep of runs rather than run by run (depth against length here, state against list
    size in capacity.py): the runs' task, EXPECT, scope and keys, and the verdict with its reason."""

    task: str
    task_params: Mapping[str, Any]
    expect: Answer
    scope: str = ""
    verdict: str = "inconclusive"
    reason: str = ""
    keys: tuple[str, ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        return f"{self.verdict} ({self.reason})" if self.reason else self.verdict


@dataclass(frozen=True, kw_only=True)
class DepthCell(SweepCell):
    family: str  # the class label without its depth, e.g. "transformer", "gdn[-1,1]"
    min_depths: Mapping[int, int | None]  # training length -> smallest passing depth (None: none tried passed)
    left_out: tuple[int, ...] = ()  # lengths no model of the row learned: not in the verdict, which says nothing there
    unfinished: tuple[int, ...] = ()  # lengths whose min depth is not settled by the depths run there: not in it either
    depths_tried: tuple[int, ...]


def _depth(row: Mapping[str, Any]) -> int | None:
    from expressivity.theory.classes import arch_class

    try:
        return arch_class(row["config"]["arch"], row["config"]["model_params"]).depth
    except ValueError:
        return None


def depth_verdict(expected: str, min_depths: Mapping[int, int | None], shallowest: int) -> tuple[str, str]:
    """(verdict, reason) of a depth sweep against EXPECT (see the module docstring)."""
    lengths = sorted(min_depths)
    if not lengths or all(min_depths[n] is None for n in lengths):
        return "inconclusive", NOTHING_LEARNED
    if expected == "learns":
        if all(min_depths[n] == shallowest for n in lengths):
            return "agree", ""
        return ("contradict", "") if any(min_depths[n] is None for n in lengths) else ("inconclusive", "")
    if expected != "depth-grows" or len(lengths) < 2:
        return "inconclusive", ""
    inf = float("inf")
    depths = [inf if min_depths[n] is None else min_depths[n] for n in lengths]
    if all(b >= a for a, b in zip(depths, depths[1:], strict=False)) and depths[-1] > depths[0]:
        return "agree", ""
    if len(set(depths)) == 1:
        return "contradict", ""
    return "inconclusive", ""


def _passes(row: Mapping[str, Any]) -> bool:
    """The run's in-distribution final accuracy reaches THRESHOLD."""
    return float(row["summary"]["id"].get("final_acc", 0.0)) >= THRESHOLD


def _verdict_where_taught(
    expected: str, min_depths: Mapping[int, int | None], shallowest: int, key: tuple, taught: set[tuple]
) -> tuple[str, str, tuple[int, ...]]:
    """depth_verdict over the lengths the protocol is shown to teach (see the module docstring)."""
    untaught = [n for n, d in min_depths.items() if d is None and (*key[:3], n) not in taught]
    if expected not in ("depth-grows", "learns"):  # no claim; "nothing learned" only where the row's control failed too
        return "inconclusive", NOTHING_LEARNED if untaught and len(untaught) == len(min_depths) else "", ()
    if not untaught or len(untaught) == len(min_depths):
        return (*depth_verdict(expected, min_depths, shallowest), ())
    verdict, reason = depth_verdict(expected, {n: d for n, d in min_depths.items() if n not in untaught}, shallowest)
    left_out = f"no model learned length {', '.join(map(str, untaught))}: left out"
    return verdict, "; ".join(filter(None, (reason, left_out))), tuple(untaught)


def _unfinished(min_depths: Mapping[int, int | None], tried_at: Mapping[int, set[int]], tried: set[int]) -> tuple:
    """The lengths whose min depth the runs there do not settle: a depth of the sweep shallower than the one that
    passed was not run, or none passed and a depth of the sweep was not run (with `reproduce --next-depths` a length
    holds only its shallowest depths until a call runs the rest: on 2026-12-05 A5 @ 64 had the transformer's depth 1
    alone, whose failure read as "deeper than the whole sweep" and made the row's "depth-grows" agree on it)."""
    return tuple(
        n for n, d in min_depths.items() if any(k not in tried_at[n] for k in tried if d is None or k < d)
    )  # fmt: skip


def depth_growth(rows: Iterable[Mapping[str, Any]]) -> list[DepthCell]:
    """One DepthCell per (scope, task, parameters, model family) of the finished runs that sweep `n_layers`."""
    groups: dict[tuple, list[Mapping[str, Any]]] = {}
    expects: dict[tuple, Answer] = {}
    taught: set[tuple] = set()  # (scope, task, parameters, length) where some run of any model reached THRESHOLD
    for row in rows:
        depth, train = _depth(row), row["config"].get("train") or {}
        if row.get("status") != "done" or depth is None or not (row.get("summary") or {}).get("id"):
            continue
        if train.get("train_min_length") != train.get("train_max_length"):
            continue  # only runs trained at one length, as Illusion of State trains them
        from expressivity.theory.check import RunResult

        run = RunResult.from_row(row)
        label, _, expect = _prediction(run)
        family = label.removesuffix(" 1 layer")
        key = (scope_of(row), run.task, json.dumps(dict(run.task_params), sort_keys=True, default=str), family)
        groups.setdefault(key, []).append(row)
        if _passes(row):
            taught.add((*key[:3], train["train_max_length"]))
        if depth != 1 or key not in expects:  # a one-layer model may have its own EXPECT; the family's wins
            expects[key] = expect
    cells = []
    for key, members in groups.items():
        passed: dict[int, set[int]] = {}
        tried: set[int] = set()
        tried_at: dict[int, set[int]] = {}
        for row in members:
            length, depth = row["config"]["train"]["train_max_length"], _depth(row)
            tried.add(depth)
            tried_at.setdefault(length, set()).add(depth)
            passed.setdefault(length, set())
            if _passes(row):
                passed[length].add(depth)
        if len(tried) < 2 and (expects[key].value == "depth-grows" or min(tried) > 1):
            continue  # not a depth sweep: one depth tried, and not a one-layer control (a 4-layer hybrid at one n)
        min_depths = {n: (min(d) if d else None) for n, d in sorted(passed.items())}
        unfinished = _unfinished(min_depths, tried_at, tried)
        settled = {n: d for n, d in min_depths.items() if n not in unfinished}
        verdict, reason, left_out = _verdict_where_taught(expects[key].value, settled, min(tried), key, taught)
        if unfinished:
            if not settled:
                verdict, reason = "inconclusive", ""
            note = f"sweep unfinished at length {', '.join(map(str, unfinished))}: left out"
            reason = "; ".join(filter(None, (reason, note)))
        cells.append(
            DepthCell(
                task=key[1], task_params=json.loads(key[2]), family=key[3], expect=expects[key],
                min_depths=min_depths, left_out=left_out, unfinished=unfinished, depths_tried=tuple(sorted(tried)),
                scope=key[0], verdict=verdict, reason=reason, keys=tuple(r["key"] for r in members),
            )
        )  # fmt: skip
    return sorted(cells, key=lambda c: (c.task, json.dumps(dict(c.task_params), sort_keys=True), c.family))
