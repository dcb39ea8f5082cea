"""The checker: hold result rows against the predictions, one cell per (scope, task with parameters, architecture
class). The scope is the grid a run came from (a preset's table pools its grid's runs the same way), or, for a run
trained on its own, its training protocol: runs trained differently are different experiments, never one cell.

    cells = check(store.rows())          # runners read the rows; theory never opens the store
    [c.verdict for c in cells]            # 'impossible', 'suspect', 'contradict', 'agree' or 'inconclusive'

A row is a dict as the store yields it (`config` with task, task_params, arch, model_params; `status`; `summary` with
`summary["ood"]["scaled_acc"]` and `summary["id"]["scaled_acc"]`) or a flat dict with the keys of `RunResult`. What
is observed in a cell is each finished run's out-of-distribution scaled accuracy (its mean over the test lengths above
train_max_length; scaled = (acc - chance) / (1 - chance)), summarised over the cell's runs (seeds, and any swept
setting) by best, mean and worst. The best decides, as in Grazzi et al. (best of 3 seeds), measured from the task's
shortcut (`floor`: the scaled accuracy of the best input-only guess at those lengths, 0 where chance is that guess):

    best >= LEARNS (0.9) and above the floor -> learns     best <= floor + FAILS (0.1) -> fails     else -> partial

Verdicts, loudest first:
- "impossible": EXPRESS = no by an exact argument, and the cell learns: a bug or a leak in the task.
- "suspect": EXPRESS = no by a finite-precision argument that holds asymptotically (a sign flip without negative
  eigenvalues: Grazzi et al. Thm 1; odd moduli without complex eigenvalues), and the cell learns beyond the trained
  lengths: possible at the lengths tested, worth a look. A "no" that rests on state size or depth (`asymptotic`) is
  no surprise within the lengths tested: the cell carries a note and EXPECT decides.
- "contradict" / "agree": EXPECT against what was seen (learns vs learns, a failure (fails, depth-grows, state-bound)
  vs fails, partial vs partial agree; learns vs fails and the reverse contradict). A verdict that rests on a failure
  needs evidence that the protocol can teach the task at all: the cell's own model learned it in distribution, or a
  positive control in the same row (same scope and task: a cell EXPECTed to learn) learned it beyond the trained
  lengths. Without that evidence the verdict is "inconclusive" for the reason "nothing learned". An agreement on a
  failure or a partial result needs the positive control itself: where only in-distribution learning is seen, the
  row shows the protocol, not expressivity, and the verdict is "inconclusive" for the reason "no control learned".
- "inconclusive": anything else, an EXPECT of "unknown", or no finished run with out-of-distribution lengths. A
  "state-bound" EXPECT says the model fails once the items to hold outgrow its state; where a run fixes the items apart
  from the length (`answers.ITEM_AXES`: state-based recall's list size m), a longer test does not grow them, so the
  check reads it "inconclusive (items fixed)" (capacity.py reads the sweep over the items instead).
Runs that diverged or failed are listed, not scored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from expressivity.theory.answers import ITEM_AXES, Answer
from expressivity.theory.predictions import Prediction, predict

LEARNS, FAILS = 0.9, 0.1
FAILURES = ("fails", "depth-grows", "state-bound")
VERDICTS = ("impossible", "suspect", "contradict", "agree", "inconclusive")  # loudest first
NOTHING_LEARNED = "nothing learned"
NO_CONTROL = "no control learned"  # models learned in distribution, but no positive control of the row beyond it
ITEMS_FIXED = "items fixed"  # a state-bound EXPECT where the test's lengths do not grow the items to hold


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
    id_scaled: float | None = None  # the same over the trained lengths (did the protocol teach it at all?)
    ood_lengths: tuple[int, ...] = ()

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> RunResult:
        """A store row (with `config` and `summary`) or a flat dict with this class's fields."""
        if "config" in row:
            config, summary = row["config"], row.get("summary") or {}
            ood = (summary.get("ood") or {}).get("scaled_acc")
            iid = (summary.get("id") or {}).get("scaled_acc")
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
                id_scaled=None if iid is None else float(iid),
                ood_lengths=tuple((summary.get("ood") or {}).get("lengths") or ()),
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
            id_scaled=None if row.get("id_scaled") is None else float(row["id_scaled"]),
            ood_lengths=tuple(row.get("ood_lengths") or ()),
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
    best_id: float | None = None  # the best in-distribution scaled accuracy over the same runs
    floor: float = 0.0  # the scaled accuracy of the task's best input-only guess at the tested lengths

    @property
    def category(self) -> str:
        if self.best >= LEARNS and self.best > self.floor + FAILS:
            return "learns"
        return "fails" if self.best <= self.floor + FAILS else "partial"

    @property
    def learned_in_distribution(self) -> bool:
        return self.best_id is not None and self.best_id >= LEARNS


@dataclass(frozen=True)
class Cell:
    task: str
    task_params: Mapping[str, Any]
    arch: str  # the class label, e.g. "gdn[-1,1]" or "hybrid GGGA [-1,1]"
    express: Answer
    expect: Answer
    observed: Observed | None
    express_verdict: str  # "impossible", "suspect" or "consistent"
    expect_verdict: str  # "agree", "contradict" or "inconclusive"
    runs: tuple[RunResult, ...]
    scope: str = ""
    reason: str = ""  # why an inconclusive verdict is one, where it says more than "unknown": NOTHING_LEARNED

    @property
    def verdict(self) -> str:
        return self.express_verdict if self.express_verdict in ("impossible", "suspect") else self.expect_verdict

    @property
    def label(self) -> str:
        """The verdict as tables print it, e.g. "inconclusive (nothing learned)"."""
        return f"{self.verdict} ({self.reason})" if self.reason and self.verdict == "inconclusive" else self.verdict

    @property
    def note(self) -> str:
        beaten = self.express.value == "no" and self.observed is not None and self.observed.category == "learns"
        if beaten and self.express.asymptotic:
            return "learns although EXPRESS = no: the bound is asymptotic, so the tested lengths are within its reach"
        if beaten and self.verdict == "suspect":
            return ("learns beyond the trained lengths although EXPRESS = no by a finite-precision argument: possible "
                    "at these lengths, but worth a look (a longer test, the weights)")  # fmt: skip
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
            "reason": self.reason,
            "note": self.note,
            "runs": [{"key": r.key, "seed": r.seed, "status": r.status, "ood_scaled": r.ood_scaled} for r in self.runs],
        }


def observe(runs: Iterable[RunResult], floor: float = 0.0) -> Observed | None:
    """Best, mean and worst out-of-distribution scaled accuracy over the finished runs that have one, the best
    in-distribution one beside them, and the task's shortcut `floor`."""
    done = [r for r in runs if r.status == "done" and r.ood_scaled is not None]
    if not done:
        return None
    arr = np.asarray([r.ood_scaled for r in done], dtype=float)
    ids = [r.id_scaled for r in done if r.id_scaled is not None]
    return Observed(best=float(arr.max()), mean=float(arr.mean()), worst=float(arr.min()), runs=len(arr),
                    best_id=max(ids) if ids else None, floor=floor)  # fmt: skip


def expect_verdict(
    expected: str, observed: Observed | None, *, taught: bool = True, controlled: bool = True
) -> tuple[str, str]:
    """(verdict against EXPECT, its reason). A verdict resting on a failure needs `taught` (the protocol taught the
    task: this model in distribution, or a positive control of the row beyond the trained lengths); an agreement
    other than learns-learns needs `controlled` (a positive control of the row learned it beyond the trained
    lengths): without one the row shows the protocol, not expressivity."""
    if observed is None or expected == "unknown":
        return "inconclusive", ""
    seen = observed.category
    if expected == "learns" and seen == "learns":
        return "agree", ""
    if expected in FAILURES and seen == "learns":
        return "contradict", ""
    failure = (expected in FAILURES and seen == "fails") or (expected == "learns" and seen == "fails")
    if failure and not taught:
        return "inconclusive", NOTHING_LEARNED
    agrees = (expected in FAILURES and seen == "fails") or (expected == "partial" and seen == "partial")
    if agrees:
        return ("agree", "") if controlled else ("inconclusive", NO_CONTROL)
    if expected == "learns" and seen == "fails":
        return "contradict", ""
    return "inconclusive", ""


def express_verdict(express: Answer, observed: Observed | None) -> str:
    """ "impossible" (an exact "no" beaten), "suspect" (a finite-precision "no" beaten out of distribution) or
    "consistent"; a "no" that rests on state size or depth (`asymptotic`) is never beaten by a finite test."""
    beaten = express.value == "no" and observed is not None and observed.category == "learns"
    if not beaten or express.asymptotic:
        return "consistent"
    return "impossible" if express.exact else "suspect"


def shortcut_floor(task: str, task_params: Mapping[str, Any], lengths: Iterable[int]) -> float:
    """The scaled accuracy of the task's best input-only guess, averaged over `lengths` (0 when the task declares
    none beyond its chance, or cannot be built)."""
    from expressivity import tasks

    lengths = list(lengths)
    try:
        made = tasks.make(task, **dict(task_params))
    except ValueError:
        return 0.0
    declared = getattr(made, "shortcut_acc", None)
    if declared is None or not lengths or made.chance >= 1.0:
        return 0.0
    accs = [float(declared(int(n))) for n in lengths]
    return max(0.0, (sum(accs) / len(accs) - made.chance) / (1.0 - made.chance))


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
    observed = {}
    for key, runs in groups.items():
        lengths = sorted({n for r in runs for n in r.ood_lengths})
        observed[key] = observe(runs, shortcut_floor(key[0], runs[0].task_params, lengths))
    # The rows whose protocol taught the task beyond the trained lengths: a cell EXPECTed to learn that learned it.
    controls = {(k[0], k[1], k[3]) for k, obs in observed.items()
                if answers[k][1].value == "learns" and obs is not None and obs.category == "learns"}  # fmt: skip
    cells = []
    for key, runs in groups.items():
        express, expect = answers[key]
        obs = observed[key]
        controlled = (key[0], key[1], key[3]) in controls
        taught = (obs is not None and obs.learned_in_distribution) or controlled
        if expect.value == "state-bound" and runs[0].task_params.get(ITEM_AXES.get(key[0], "")) is not None:
            verdict, reason = "inconclusive", ITEMS_FIXED
        else:
            verdict, reason = expect_verdict(expect.value, obs, taught=taught, controlled=controlled)
        cells.append(
            Cell(
                task=key[0],
                task_params=dict(runs[0].task_params),
                arch=key[2],
                express=express,
                expect=expect,
                observed=obs,
                express_verdict=express_verdict(express, obs),
                expect_verdict=verdict,
                runs=tuple(runs),
                scope=key[3],
                reason=reason,
            )
        )
    return sorted(cells, key=lambda c: (VERDICTS.index(c.verdict), c.task, c.arch))
