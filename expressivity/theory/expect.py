"""EXPECT: what the empirical literature found under its usual training protocol (train on short lengths, test on
longer ones), per task and class. Only published findings are entered; everything else is "unknown".

A row matches a task by name (and, where given, parameter values in `when`) and a class whose every layer is of one
of `kinds`, so single-kind models match their kind and hybrids match only rows that name all of their kinds. Numbers
in reasons are the published ones (scaled accuracy for Grazzi et al., accuracy % for Delétang et al.). DeltaNet rows
stand for GDN too (GDN adds a decay gate), Mamba rows for the diagonal recurrence.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    ArchClass,
)
from expressivity.theory.facts import TaskFacts


@dataclass(frozen=True)
class ExpectRule:
    tasks: tuple[str, ...]
    kinds: frozenset[str]
    answer: Answer
    when: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)

    def applies(self, facts: TaskFacts, cls: ArchClass) -> bool:
        if facts.name not in self.tasks or not cls.kinds <= self.kinds:
            return False
        return all(facts.params.get(k) in allowed for k, allowed in self.when.items())


def _row(tasks, kinds, value, reason, sources, when=None) -> ExpectRule:
    tasks = (tasks,) if isinstance(tasks, str) else tuple(tasks)
    kinds = frozenset({kinds}) if isinstance(kinds, str) else frozenset(kinds)
    return ExpectRule(tasks, kinds, Answer(value, reason, tuple(sources)), dict(when or {}))


PARITY = ("parity", "parity_check")
G, D = "grazzi-table", "deletang"
DELETANG_NONREGULAR = {  # task: (transformer %, LSTM %) from Delétang et al. Table 2
    "stack_manipulation": (57.5, 59.1),
    "reverse_string": (62.3, 60.9),
    "duplicate_string": (52.8, 57.6),
    "odds_first": (52.8, 55.6),
}

EXPECT_RULES: tuple[ExpectRule, ...] = (
    # ---- parity and modular arithmetic (Grazzi et al. 2025; Delétang et al. 2023; Mamba-3) -------------------------
    _row(PARITY, ATTENTION, "fails", "Transformer 0.022 scaled; 52.0% (chance) in Deletang", (G, D)),
    _row(PARITY, DIAGONAL_NONNEG, "fails", "Mamba [0,1] 0.000 scaled", (G,)),
    _row(PARITY, DIAGONAL_NEG, "learns", "Mamba [-1,1] 1.000 scaled", (G,)),
    _row(PARITY, HOUSEHOLDER_NONNEG, "fails", "DeltaNet [0,1] 0.017 scaled", (G,)),
    _row(PARITY, HOUSEHOLDER_NEG, "learns", "DeltaNet [-1,1] 1.000 scaled; GDN [-1,1] 100% in Mamba-3", (G, "mamba3")),
    _row(PARITY, NONLINEAR_RNN, "learns", "LSTM 100%", (D,)),
    _row("modular_arithmetic", ATTENTION, "fails", "Transformer 0.031 scaled; 24.2% in Deletang", (G, D)),
    _row("modular_arithmetic", DIAGONAL_NONNEG, "fails", "Mamba [0,1] 0.095 scaled", (G,)),
    _row("modular_arithmetic", DIAGONAL_NEG, "partial", "Mamba [-1,1] 0.241 scaled", (G,)),
    _row("modular_arithmetic", HOUSEHOLDER_NONNEG, "partial", "DeltaNet [0,1] 0.314 scaled", (G,)),
    _row("modular_arithmetic", HOUSEHOLDER_NEG, "learns",
         "DeltaNet [-1,1] 0.971 scaled; GDN [-1,1] 99.25% in Mamba-3", (G, "mamba3")),
    _row("modular_arithmetic", NONLINEAR_RNN, "learns", "LSTM 100%", (D,)),
    _row("modular_arithmetic_brackets", ATTENTION, "fails", "Transformer 0.067 scaled", (G,)),
    _row("modular_arithmetic_brackets", DIAGONAL_NONNEG, "partial", "Mamba [0,1] 0.123 scaled", (G,)),
    _row("modular_arithmetic_brackets", DIAGONAL_NEG, "partial", "Mamba [-1,1] 0.116 scaled", (G,)),
    _row("modular_arithmetic_brackets", HOUSEHOLDER_NONNEG, "partial", "DeltaNet [0,1] 0.194 scaled", (G,)),
    _row("modular_arithmetic_brackets", HOUSEHOLDER_NEG, "unknown",
         "sources disagree: DeltaNet [-1,1] 0.260 scaled (Grazzi), GDN [-1,1] 93.5% (Mamba-3)", (G, "mamba3")),
    # ---- the rest of the Chomsky hierarchy suite (Delétang et al. 2023) ---------------------------------------------
    _row("cycle_navigation", ATTENTION, "fails", "Transformer does not length-generalise on cycle navigation", (D,)),
    _row(("cycle_navigation", "even_pairs"), NONLINEAR_RNN, "learns", "LSTM 100%", (D,)),
    *(_row(task, ATTENTION, "fails", f"Transformer {t}%", (D,)) for task, (t, _) in DELETANG_NONREGULAR.items()),
    *(_row(task, NONLINEAR_RNN, "fails", f"LSTM {lstm}%", (D,)) for task, (_, lstm) in DELETANG_NONREGULAR.items()),
    # ---- group word problems (Illusion of State; DeltaProduct) ------------------------------------------------------
    _row("word_problem", ATTENTION, "depth-grows", "depth for 90% grows with length (A5, A4xZ5, Z60)", ("illusion",)),
    _row("word_problem", DIAGONAL_NONNEG, "depth-grows", "Mamba: depth for 90% grows with length", ("illusion",)),
    _row("word_problem", NONLINEAR_RNN, "learns", "a 1-layer RNN solves every length", ("illusion",)),
    _row("word_problem", HOUSEHOLDER_NONNEG, "fails", "DeltaNet [0,1] fails S4 and S5 even with 5 layers",
         ("deltaproduct",), when={"group": ("S4", "S5")}),
    _row("swap_word_problem", HOUSEHOLDER_NEG, "learns", "1-layer DeltaNet [-1,1] solves swap-only S5",
         ("deltaproduct",), when={"n": (5,)}),
    _row("swap_word_problem", (ATTENTION, DIAGONAL_NONNEG), "depth-grows",
         "non-solvable word problems: depth for 90% grows with length", ("illusion",), when={"n": (5, 6)}),
    _row("swap_word_problem", NONLINEAR_RNN, "learns", "a 1-layer RNN solves group word problems at every length",
         ("illusion",)),
    # ---- star-free and recall --------------------------------------------------------------------------------------
    _row("flip_flop", DIAGONAL_NONNEG, "learns", "nonnegative SSMs learn flip-flop with length generalisation",
         ("sarrof",)),
    _row(("indexed_recall", "state_based_recall"), RECURRENT, "state-bound",
         "recurrent models fail recall once the items outgrow their state; one attention layer fixes it", ("wen",)),
)  # fmt: skip


def expect(facts: TaskFacts, cls: ArchClass) -> Answer:
    """The EXPECT answer: the first matching row, else "unknown"."""
    for rule in EXPECT_RULES:
        if rule.applies(facts, cls):
            return rule.answer
    return Answer("unknown", f"no published length-generalisation result for {facts.name} with {cls.label} is entered")
