"""EXPECT: what the empirical literature found under its usual training protocol (train on short lengths, test on
longer ones), per task and class. Only published findings are entered; everything else is "unknown".

A row matches a task by name (and, where given, parameter values in `when`) and a class whose every layer is of one
of `kinds`, so single-kind models match their kind and hybrids match only rows that name all of their kinds; a row
with `layers` also needs the class's layers, bottom to top, to pass that test (a tracker below attention). Numbers
in reasons are the published ones (scaled accuracy for Grazzi et al., accuracy % for Delétang et al.). DeltaNet rows
stand for GDN too (GDN adds a decay gate), Mamba rows for the diagonal recurrence.

State-based recall, whose whole task has no published run (THEORY.md), is entered from its halves' published
findings: swap-only S5 tracking (DeltaProduct: one DeltaNet [-1,1] layer learns it, DeltaNet [0,1] fails S5 even with
5 layers; Illusion of State: a transformer's depth for S5 grows with length, so at a fixed depth it fails beyond the
trained lengths) and recall (Wen et al.: one attention layer fixes it), composed as Olmo Hybrid's Theorem 1 composes
them (a tracker below attention). The reasons say so. Only its swap form (`ops = swap`, the default) is S5 tracking.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from expressivity.theory.answers import Answer
from expressivity.theory.classes import (
    ATTENTION,
    DIAGONAL_NEG,
    DIAGONAL_NONNEG,
    HOUSEHOLDER_NEG,
    HOUSEHOLDER_NONNEG,
    NONLINEAR_RNN,
    RECURRENT,
    REFLECTING,
    STACK_RNN,
    ArchClass,
)
from expressivity.theory.facts import TaskFacts
from expressivity.theory.published import DELETANG_SUMMARY, quote


@dataclass(frozen=True)
class ExpectRule:
    tasks: tuple[str, ...]
    kinds: frozenset[str]
    answer: Answer
    when: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    layers: Callable[[tuple[str, ...]], bool] | None = None  # a test of the class's layer kinds, bottom to top

    def applies(self, facts: TaskFacts, cls: ArchClass) -> bool:
        if facts.name not in self.tasks or not cls.kinds <= self.kinds:
            return False
        if self.layers is not None and not self.layers(cls.layers):
            return False
        return all(facts.params.get(k) in allowed for k, allowed in self.when.items())


def _row(tasks, kinds, value, reason, sources, when=None, layers=None) -> ExpectRule:
    tasks = (tasks,) if isinstance(tasks, str) else tuple(tasks)
    kinds = frozenset({kinds}) if isinstance(kinds, str) else frozenset(kinds)
    return ExpectRule(tasks, kinds, Answer(value, reason, tuple(sources)), dict(when or {}), layers)


def tracker_below_attention(layers: tuple[str, ...]) -> bool:
    """A layer that reaches reflections (it can track swaps) with an attention layer above it: Theorem 1's order."""
    return any(kind in REFLECTING and ATTENTION in layers[i + 1 :] for i, kind in enumerate(layers))


def has_tracker(layers: tuple[str, ...]) -> bool:
    """Some layer reaches reflections (one such layer learns swap-only S5: DeltaProduct)."""
    return any(kind in REFLECTING for kind in layers)


PARITY = ("parity", "parity_check")
G, D = "grazzi-table", "deletang"
DELETANG_NONREGULAR = ("stack_manipulation", "reverse_string", "duplicate_string", "odds_first")


def _grazzi(task: str, model: str, paper_name: str) -> str:
    """The reason quoting Grazzi et al.'s figure for `model` (named as in the paper)."""
    return f"{paper_name} {quote(G, task, model)}"


MA, MAB = "modular_arithmetic", "modular_arithmetic_brackets"
SBR, SWAPS = "state_based_recall", {"ops": ("swap",)}
# Delétang et al.'s tasks for which the paper's summary, not a read number, is entered (published.DELETANG_SUMMARY).
SUMMARISED = {m: tuple(sorted(t for _, t, model in DELETANG_SUMMARY if model == m)) for m in ("transformer", "lstm")}
EXPECT_RULES: tuple[ExpectRule, ...] = (
    # ---- parity and modular arithmetic (Grazzi et al. 2025; Delétang et al. 2023; Mamba-3) -------------------------
    _row(PARITY, ATTENTION, "fails", f"{_grazzi('parity_check', 'transformer', 'Transformer')}; "
         f"{quote(D, 'parity_check', 'transformer')} (chance) in Deletang", (G, D)),
    _row(PARITY, DIAGONAL_NONNEG, "fails", _grazzi("parity_check", "diagonal[0,1]", "Mamba [0,1]"), (G,)),
    _row(PARITY, DIAGONAL_NEG, "learns", _grazzi("parity_check", "diagonal[-1,1]", "Mamba [-1,1]"), (G,)),
    _row(PARITY, HOUSEHOLDER_NONNEG, "fails", _grazzi("parity_check", "deltanet[0,1]", "DeltaNet [0,1]"), (G,)),
    _row(PARITY, HOUSEHOLDER_NEG, "learns", f"{_grazzi('parity_check', 'deltanet[-1,1]', 'DeltaNet [-1,1]')}; "
         f"GDN [-1,1] {quote('mamba3', 'parity_check', 'gdn[-1,1]')} in Mamba-3", (G, "mamba3")),
    _row(PARITY, NONLINEAR_RNN, "learns", f"LSTM {quote(D, 'parity_check', 'lstm')}", (D,)),
    _row(MA, ATTENTION, "fails", f"{_grazzi(MA, 'transformer', 'Transformer')}; "
         f"{quote(D, MA, 'transformer')} in Deletang", (G, D)),
    _row(MA, DIAGONAL_NONNEG, "fails", _grazzi(MA, "diagonal[0,1]", "Mamba [0,1]"), (G,)),
    _row(MA, DIAGONAL_NEG, "partial", _grazzi(MA, "diagonal[-1,1]", "Mamba [-1,1]"), (G,)),
    _row(MA, HOUSEHOLDER_NONNEG, "partial", _grazzi(MA, "deltanet[0,1]", "DeltaNet [0,1]"), (G,)),
    _row(MA, HOUSEHOLDER_NEG, "learns", f"{_grazzi(MA, 'deltanet[-1,1]', 'DeltaNet [-1,1]')}; "
         f"GDN [-1,1] {quote('mamba3', MA, 'gdn[-1,1]')} in Mamba-3 (Grazzi et al.'s released DeltaNet [-1,1] "
         f"curve averages {quote('grazzi-released', MA, 'deltanet[-1,1]')} over 40-256)",
         (G, "mamba3", "grazzi-released")),
    _row(MA, NONLINEAR_RNN, "learns", f"LSTM {quote(D, MA, 'lstm')}", (D,)),
    _row(MAB, ATTENTION, "fails", _grazzi(MAB, "transformer", "Transformer"), (G,)),
    _row(MAB, DIAGONAL_NONNEG, "partial", _grazzi(MAB, "diagonal[0,1]", "Mamba [0,1]"), (G,)),
    _row(MAB, DIAGONAL_NEG, "partial", _grazzi(MAB, "diagonal[-1,1]", "Mamba [-1,1]"), (G,)),
    _row(MAB, HOUSEHOLDER_NONNEG, "partial", _grazzi(MAB, "deltanet[0,1]", "DeltaNet [0,1]"), (G,)),
    _row(MAB, HOUSEHOLDER_NEG, "unknown", f"sources disagree: {_grazzi(MAB, 'deltanet[-1,1]', 'DeltaNet [-1,1]')} "
         f"(Grazzi), GDN [-1,1] {quote('mamba3', MAB, 'gdn[-1,1]')} (Mamba-3)", (G, "mamba3")),
    # ---- the rest of the Chomsky hierarchy suite (Delétang et al. 2023) ---------------------------------------------
    _row("cycle_navigation", ATTENTION, "partial", f"Transformer {quote(D, 'cycle_navigation', 'transformer')}", (D,)),
    *(_row(task, ATTENTION, "learns", f"Transformer {quote(D, task, 'transformer')}", (D,))
      for task in ("even_pairs", "bucket_sort")),
    _row("bucket_sort", NONLINEAR_RNN, "learns", f"LSTM {quote(D, 'bucket_sort', 'lstm')}", (D,)),
    *(_row(task, NONLINEAR_RNN, "learns", f"LSTM {quote(D, task, 'lstm')}", (D,))
      for task in ("cycle_navigation", "even_pairs")),
    *(_row(task, ATTENTION, "fails", f"Transformer {quote(D, task, 'transformer')}", (D,))
      for task in DELETANG_NONREGULAR),
    *(_row(task, NONLINEAR_RNN, "fails", f"LSTM {quote(D, task, 'lstm')}", (D,)) for task in DELETANG_NONREGULAR),
    # The stack-augmented control of the context-free rows. Table 2's per-task numbers for it are not read here (see
    # published.py): what is entered is the paper's summary, and for reversal a second paper's result.
    *(_row(task, STACK_RNN, "learns", "Deletang et al.'s summary: only networks augmented with structured memory "
           "(a stack or a tape) generalise on the context-free and context-sensitive tasks (read here as: a stack "
           "suffices for this deterministic context-free one)" + ("; Suzgun et al.'s stack-augmented RNNs learn "
           "string reversal" if task == "reverse_string" else ""), (D, "suzgun") if task == "reverse_string" else (D,))
      for task in ("stack_manipulation", "reverse_string")),
    *(_row(task, ATTENTION, "fails", f"Transformer {quote(D, task, 'transformer')}", (D,))
      for task in SUMMARISED["transformer"]),
    *(_row(task, NONLINEAR_RNN, "fails", f"LSTM {quote(D, task, 'lstm')}", (D,))
      for task in SUMMARISED["lstm"] if task not in ("cycle_navigation", "even_pairs")),
    # ---- group word problems (Illusion of State; DeltaProduct) ------------------------------------------------------
    # Only the non-solvable groups: on the abelian Z60 the depth a transformer needs stays flat (Illusion of State's
    # Z60 control), so a growing depth there is no finding of the paper.
    _row("word_problem", ATTENTION, "depth-grows", "depth for 90% grows with length (A5, A4xZ5)", ("illusion",),
         when={"group": ("A5", "A4xZ5")}),
    _row("word_problem", DIAGONAL_NONNEG, "depth-grows", "Mamba: depth for 90% grows with length (A5, A4xZ5)",
         ("illusion",), when={"group": ("A5", "A4xZ5")}),
    _row("word_problem", NONLINEAR_RNN, "learns", "a 1-layer RNN solves every length", ("illusion",)),
    _row("word_problem", HOUSEHOLDER_NONNEG, "fails", "DeltaNet [0,1] fails S4 and S5 even with 5 layers",
         ("deltaproduct",), when={"group": ("S4", "S5")}),
    _row("swap_word_problem", HOUSEHOLDER_NEG, "learns", "1-layer DeltaNet [-1,1] solves swap-only S5",
         ("deltaproduct",), when={"n": (5,)}),
    _row("swap_word_problem", (ATTENTION, DIAGONAL_NONNEG), "depth-grows",
         "non-solvable word problems: depth for 90% grows with length", ("illusion",), when={"n": (5, 6)}),
    _row("swap_word_problem", NONLINEAR_RNN, "learns", "a 1-layer RNN solves group word problems at every length",
         ("illusion",)),
    # ---- the pointer programs: swap-only S5 tracking, and state-based recall (its halves composed; module doc) -----
    _row("pointer_tracking", REFLECTING | {ATTENTION}, "learns", "one DeltaNet [-1,1] layer learns swap-only S5",
         ("deltaproduct",), when=SWAPS, layers=has_tracker),
    _row("pointer_tracking", NONLINEAR_RNN, "learns", "a 1-layer RNN solves group word problems at every length",
         ("illusion",), when=SWAPS),
    _row(("pointer_tracking", SBR), ATTENTION, "fails", "a transformer's depth for S5 grows with length, so a fixed "
         "depth fails beyond the trained lengths", ("illusion",), when=SWAPS),
    _row(("pointer_tracking", SBR), (HOUSEHOLDER_NONNEG, ATTENTION), "fails", "DeltaNet [0,1] fails S5 even with 5 "
         "layers, and attention does not track it at length (Illusion of State)", ("deltaproduct", "illusion"),
         when=SWAPS),
    _row(SBR, REFLECTING | {ATTENTION}, "learns", "composed (no run of the whole task is published): one DeltaNet "
         "[-1,1] layer learns swap-only S5 (DeltaProduct), one attention layer recalls (Wen et al.), and a tracker "
         "below attention expresses the composition (Olmo Hybrid Thm 1)", ("deltaproduct", "wen", "olmo-hybrid"),
         when=SWAPS, layers=tracker_below_attention),
    # ---- star-free and recall --------------------------------------------------------------------------------------
    _row("flip_flop", DIAGONAL_NONNEG, "learns", "nonnegative SSMs learn flip-flop with length generalisation",
         ("sarrof",)),
    _row(("indexed_recall", "state_based_recall"), RECURRENT, "state-bound",
         "recurrent models fail recall once the items outgrow their state; one attention layer fixes it", ("wen",)),
    _row("copy", RECURRENT - {NONLINEAR_RNN}, "state-bound",
         "state-space models copy only as much as their fixed-size state holds, and transformers beat them at "
         "copying and its generalisation", ("jelassi",)),
    _row("associative_recall", RECURRENT - {NONLINEAR_RNN}, "state-bound",
         "on multi-query associative recall, attention-free models need a state (model dimension) that grows with "
         "the sequence, while attention solves it", ("zoology", "wen")),
)  # fmt: skip


def expect(facts: TaskFacts, cls: ArchClass) -> Answer:
    """The EXPECT answer: the first matching row, else "unknown"."""
    for rule in EXPECT_RULES:
        if rule.applies(facts, cls):
            return rule.answer
    return Answer("unknown", f"no published length-generalisation result for {facts.name} with {cls.label} is entered")
