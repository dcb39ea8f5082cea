"""The checker: hold result rows against the predictions, one cell per (scope, task with parameters, architecture
class). The scope is the grid a run came from (a preset's table pools its grid's runs the same way), or, for a run
trained on its own, its training protocol: runs trained differently are different experiments, never one cell.

    cells = check(store.rows())          # runners read the rows; theory never opens the store
    [c.verdict for c in cells]            # 'agree', 'contradict', 'impossible' or 'inconclusive'

A row is a dict as the store yields it (`config` with task, task_params, arch, model_params; `status`; `summary` with
`summary["ood"]["scaled_acc"]`) or a flat dict with the keys of `RunResult` (task, task_params, arch, model_params,
seed, status, ood_scaled, key). What is observed in a cell is the out-of-distribution scaled accuracy of each finished
run (its mean over the test lengths above train_max_length; scaled = (acc - chance) / (1 - chance)), summarised over
the cell's runs (seeds, and any other swept setting) by best, mean and worst. The best decides, as in Grazzi et al.
(best of 3 seeds):

    best >= LEARNS (0.9) -> learns      best <= FAILS (0.1) -> fails      otherwise -> partial

Verdicts: EXPRESS = no but observed learns -> "impossible" (a result that beats a theorem means a bug or a leak in the
task: louder than any surprise), unless that "no" is asymptotic (state size, depth: a model may cover the lengths
tested), which a finite test cannot contradict: the cell then carries a note and EXPECT decides. Against EXPECT:
learns vs learns, fails vs fails / depth-grows / state-bound, partial vs partial -> "agree"; learns vs failures or
the reverse -> "contradict"; anything else, an EXPECT of "unknown", or no finished run with out-of-distribution
lengths -> "inconclusive". Runs that diverged or failed are listed, not scored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from expressivity.theory.answers import Answer
from expressivity.theory.predictions import Prediction, predict

LEARNS, FAILS = 0.9, 0.1
FAILURES = ("fails", "depth-grows", "state-bound")
VERDICTS = ("impossible", "contradict", "agree", "inconclusive")  # loudest first


@dataclass(frozen=True)
class RunResult:
    """The part of a result row the checker reads."""

    key: str
    task: str
    task_params: Mapping[str, Any]
    arch: str
    model_params: Mapping[str, Any]
    seed: int
    status: str
    ood_scaled: float | None  # mean scaled accuracy over out-of-distribution lengths; None without such lengths
    scope: str = ""  # the grid the run came from, or its training protocol (`scope_of`)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> RunResult:
        """A store row (with `config` and `summary`) or a flat dict with this class's fields."""
        if "config" in row:
            config, summary = row["config"], row.get("summary") or {}
            ood = (summary.get("ood") or {}).get("scaled_acc")
            return cls(
                key=str(row.get("key", "")),
                task=config["task"],
                task_params=config.get("task_params") or {},
                arch=config["arch"],
                model_params=config.get("model_params") or {},
                seed=int(config.get("seed", row.get("seed", 0))),
                status=str(row.get("status", "done")),
                ood_scaled=None if ood is None else float(ood),
                scope=scope_of(row),
            )
        ood = row.get("ood_scaled")
        return cls(
            key=str(row.get("key", "")),
            task=row["task"],
            task_params=row.get("task_params") or {},
            arch=row["arch"],
            model_params=row.get("model_params") or {},
            seed=int(row.get("seed", 0)),
            status=str(row.get("status", "done")),
            ood_scaled=None if ood is None else float(ood),
            scope=str(row.get("scope", "")),
        )


def scope_of(row: Mapping[str, Any]) -> str:
    """A store row's scope: "grid NAME" for a grid's run; else its training protocol (every training key but the
    test lengths), so a 300-step `train` run never shares a cell with a 1000-step one."""
    if row.get("grid"):
        return f"grid {row['grid']}"
    train = {k: v for k, v in (row["config"].get("train") or {}).items() if k not in ("eval_lengths", "eval_examples")}
    return "train " + json.dumps(train, sort_keys=True, default=str)


@dataclass(frozen=True)
class Observed:
    best: float
    mean: float
    worst: float
    runs: int

    @property
    def category(self) -> str:
        return "learns" if self.best >= LEARNS else "fails" if self.best <= FAILS else "partial"


@dataclass(frozen=True)
class Cell:
    task: str
    task_params: Mapping[str, Any]
    arch: str  # the class label, e.g. "gdn[-1,1]" or "hybrid GGGA [-1,1]"
    express: Answer
    expect: Answer
    observed: Observed | None
    express_verdict: str  # "impossible" or "consistent"
    expect_verdict: str  # "agree", "contradict" or "inconclusive"
    runs: tuple[RunResult, ...]
    scope: str = ""

    @property
    def verdict(self) -> str:
        return "impossible" if self.express_verdict == "impossible" else self.expect_verdict

    @property
    def note(self) -> str:
        beaten = self.express.value == "no" and self.observed is not None and self.observed.category == "learns"
        if beaten and self.express.asymptotic:
            return "learns although EXPRESS = no: the bound is asymptotic, so the tested lengths are within its reach"
        return ""

    def as_dict(self) -> dict[str, Any]:
        obs = self.observed
        return {
            "task": self.task,
            "task_params": dict(self.task_params),
            "arch": self.arch,
            "express": self.express.as_dict(),
            "expect": self.expect.as_dict(),
            "observed": None if obs is None else {**obs.__dict__, "category": obs.category},
            "verdict": self.verdict,
            "note": self.note,
            "runs": [{"key": r.key, "seed": r.seed, "status": r.status, "ood_scaled": r.ood_scaled} for r in self.runs],
        }


def observe(runs: Iterable[RunResult]) -> Observed | None:
    """Best, mean and worst out-of-distribution scaled accuracy over the finished runs that have one."""
    values = [r.ood_scaled for r in runs if r.status == "done" and r.ood_scaled is not None]
    if not values:
        return None
    arr = np.asarray(values, dtype=float)
    return Observed(best=float(arr.max()), mean=float(arr.mean()), worst=float(arr.min()), runs=len(arr))


def expect_verdict(expected: str, observed: Observed | None) -> str:
    if observed is None or expected == "unknown":
        return "inconclusive"
    seen = observed.category
    if (expected == "learns" and seen == "learns") or (expected in FAILURES and seen == "fails"):
        return "agree"
    if expected == "partial" and seen == "partial":
        return "agree"
    if (expected == "learns" and seen == "fails") or (expected in FAILURES and seen == "learns"):
        return "contradict"
    return "inconclusive"


def express_verdict(express: Answer, observed: Observed | None) -> str:
    beaten = express.value == "no" and observed is not None and observed.category == "learns"
    return "impossible" if beaten and not express.asymptotic else "consistent"


def _prediction(run: RunResult) -> tuple[str, Answer, Answer]:
    """(class label, EXPRESS, EXPECT) of a run's config; a task or architecture the registries no longer know gives
    "unknown" answers that say so, rather than stopping the whole check."""
    try:
        p: Prediction = predict(run.task, run.arch, task_params=run.task_params, model_params=run.model_params)
    except ValueError as err:
        unknown = Answer("unknown", f"cannot predict: {err}")
        return run.arch, unknown, unknown
    if run.arch.startswith("hf:"):  # EXPECT is about training under the protocol; EXPRESS still holds in context
        return p.arch.label, p.express, Answer("unknown", "a pretrained model evaluated in context, not trained on it")
    return p.arch.label, p.express, p.expect


def check(rows: Iterable[Mapping[str, Any] | RunResult]) -> list[Cell]:
    """One cell per (scope, task, task parameters, architecture class), loudest verdict first, then by task and
    class."""
    groups: dict[tuple[str, str, str, str], list[RunResult]] = {}
    answers: dict[tuple[str, str, str, str], tuple[Answer, Answer]] = {}
    for row in rows:
        run = row if isinstance(row, RunResult) else RunResult.from_row(row)
        label, exp, ect = _prediction(run)
        key = (run.task, json.dumps(dict(run.task_params), sort_keys=True, default=str), label, run.scope)
        groups.setdefault(key, []).append(run)
        answers[key] = (exp, ect)
    cells = []
    for key, runs in groups.items():
        express, expect = answers[key]
        observed = observe(runs)
        cells.append(
            Cell(
                task=key[0],
                task_params=dict(runs[0].task_params),
                arch=key[2],
                express=express,
                expect=expect,
                observed=observed,
                express_verdict=express_verdict(express, observed),
                expect_verdict=expect_verdict(expect.value, observed),
                runs=tuple(runs),
                scope=key[3],
            )
        )
    return sorted(cells, key=lambda c: (VERDICTS.index(c.verdict), c.task, c.arch))
