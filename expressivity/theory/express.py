"""EXPRESS: can a class represent a task at every length with fixed depth? A table of theorems, matched on the task's
computed properties (`facts.py`) and the layer kinds of the class (`classes.py`).

The rules live by topic (`express_state`, `express_recall`, `express_languages`; the rule type and its scopes in
`rules.py`); this module puts them in one table. A matching "no" wins over a matching "yes" (the test suite checks
that no task and class match both), a "yes" over an "unknown" rule (which says why neither is known); nothing matching
gives "unknown" with a generic reason. Among several, the first in table order gives
the reason: circuit bounds, then state size, then the eigenvalue obstacles, then constructions. A "no" is `asymptotic`
when it rests on state size, depth, automaton size or a collapse of complexity classes, which a given model may still
cover at the lengths tested; the sign-flip obstacles (no negative eigenvalue) and the one-layer period obstacle hold
at every length. Each "yes" for a hybrid assumes it has as many layers of the kind as the construction needs.
"""

from __future__ import annotations

from expressivity.theory import express_languages, express_recall, express_state
from expressivity.theory.answers import Answer
from expressivity.theory.classes import ArchClass
from expressivity.theory.facts import TaskFacts
from expressivity.theory.rules import SCOPES, Rule

__all__ = ["EXPRESS_RULES", "SCOPES", "Rule", "express", "matching"]

EXPRESS_RULES: tuple[Rule, ...] = (
    # impossibilities: circuit bounds, state size and automata, the transitions' eigenvalues
    *express_state.TC0_BOUND,
    *express_recall.IMPOSSIBLE,
    *express_languages.IMPOSSIBLE,
    *express_state.IMPOSSIBLE,
    # constructions: recall first (an induction head says more about induction than "star-free" does), the general
    # route through padding last
    *express_recall.CONSTRUCTIONS,
    *express_state.CONSTRUCTIONS,
    *express_languages.CONSTRUCTIONS,
    # what is open, with the reason (an "unknown" rule answers only where no "no" or "yes" does)
    *express_recall.LAYOUT_OPEN,
    *express_recall.INIT_LINES_OPEN,
    *express_recall.STATE_RECALL_OPEN,
    *express_recall.INDEXED_RECALL_OPEN,
)


def matching(facts: TaskFacts, cls: ArchClass) -> list[Rule]:
    """Every rule of the table that applies to (task, class), in table order."""
    return [r for r in EXPRESS_RULES if r.applies(facts, cls)]


def express(facts: TaskFacts, cls: ArchClass) -> Answer:
    """The EXPRESS answer: the first matching "no", else the first matching "yes", else the first matching "unknown"
    rule's, else "unknown"."""
    rules = matching(facts, cls)
    for value in ("no", "yes", "unknown"):
        for rule in rules:
            if rule.answer.value == value:
                why = facts.why.get(rule.prop, "")
                reason = f"{rule.answer.reason} (here: {why})" if why else rule.answer.reason
                return Answer(value, reason, rule.answer.sources, rule.answer.assumptions, rule.answer.asymptotic)
    props = ", ".join(sorted(facts.properties)) or "none"
    return Answer("unknown", f"no theorem in the table covers this task (properties: {props}) for {cls.describe()}")
