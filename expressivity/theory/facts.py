"""Complexity facts about a task, computed from the task itself wherever they can be.

    facts = task_facts(tasks.make("word_problem", group="A5"))
    facts.group.solvable         # False: A5 is not solvable, so its word problem is NC1-complete (Barrington 1989)
    sorted(facts.properties)     # ['mod-odd', 'nc1-complete', 'parity', 'regular', 'word-problem']

A word problem is NC1-complete when its group is not solvable and in TC0 otherwise, read from the group's own Cayley
table (`tasks.groups`); a task's Chomsky level comes from the task (`task.level`), and the rest from what the task
declares about itself (`word_group`, `swap_items`, `recall`, `state_grows`, ...: tasks/base.py). Neither this module
nor the predictions (`predictions.py`) look at task names: a new task that declares its facts is covered without
touching the rule tables.

Properties (what a rule can match):

- kind of task: `word-problem` (a group's word problem, one element per step), `solvable-word-problem`,
  `parity-task` (the word problem of Z2), `swap-word-problem` (S_n over its transpositions), `reflection-word-problem`
  (a word problem whose group has a faithful orthogonal representation, split across a layer's heads where that
  helps: every element a product of at most `group.reflections` reflections per head, `representations.py`),
  `dihedral-word-problem` (the group is cyclic or dihedral),
  `star-free`, `regular`, `solvable-monoid` (a regular language whose transition monoid has only solvable groups),
  `tc0` (in uniform TC0), `indexed-recall`, `state-recall`, `key-recall` (an answer found by content: the token after
  an earlier key), `position-recall` (an answer read at an input position computed from the output's), `padded-formula`
  (boolean formulas with polynomial padding);
- obstacles it contains: `parity` (restricted to some inputs it computes parity), `mod-odd` (it counts modulo an odd
  prime), `high-order-element` (an input element of order above 2, so the running product cycles with period above 2
  on a run of it), `cycling-run` (a block of at most two tokens whose repetition makes the answer cycle),
  `nc1-complete`, `l-complete`, `nl-complete` (complete for NC1, deterministic or nondeterministic log space),
  `nonregular`, `unbounded-recall` (the state it needs grows with `length`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from expressivity.tasks.groups import group as make_group
from expressivity.theory.representations import element_orders, head_representations

KIND_PROPERTIES = (
    "word-problem",
    "solvable-word-problem",
    "parity-task",
    "swap-word-problem",
    "reflection-word-problem",
    "dihedral-word-problem",
    "star-free",
    "regular",
    "solvable-monoid",
    "tc0",
    "indexed-recall",
    "state-recall",
    "key-recall",
    "position-recall",
    "padded-formula",
)
OBSTACLES = (
    "parity",
    "mod-odd",
    "high-order-element",
    "cycling-run",
    "nc1-complete",
    "l-complete",
    "nl-complete",
    "nonregular",
    "unbounded-recall",
)
PROPERTIES = KIND_PROPERTIES + OBSTACLES


@dataclass(frozen=True)
class GroupFacts:
    """What the predictions need to know about a finite group, computed from its Cayley table."""

    name: str
    order: int
    solvable: bool
    abelian: bool
    max_order: int = 0  # the largest order of an element (0: not computed)
    dihedral: bool = False  # cyclic or dihedral (a cyclic subgroup of index <= 2, every element outside it of order 2)
    reflections: int | None = None  # every element: at most this many reflections per head of `representation`
    representation: str = ""  # the faithful orthogonal representation (one head, or a head per direct factor)
    heads: int = 1  # how many heads of a layer that representation takes

    @property
    def odd_prime(self) -> int | None:
        """The smallest odd prime dividing the order (then an element of that order exists, by Cauchy), or None."""
        n = self.order
        while n % 2 == 0:
            n //= 2
        p = 3
        while p * p <= n:
            if n % p == 0:
                return p
            p += 2
        return n if n > 1 else None

    @classmethod
    def of(cls, name: str) -> GroupFacts:
        g = make_group(name)
        orders = element_orders(g)
        heads = head_representations(name)
        return cls(
            name=g.name,
            order=g.order,
            solvable=g.is_solvable,
            abelian=g.is_abelian,
            max_order=int(orders.max()),
            dihedral=_cyclic_or_dihedral(g, orders),
            reflections=None if heads is None else max(h.reflections for h in heads),
            representation="" if heads is None else _heads_text(heads),
            heads=1 if heads is None else len(heads),
        )


def _heads_text(heads) -> str:
    if len(heads) == 1:
        return f"{heads[0].name}, dimension {heads[0].dim}"
    each = "; ".join(f"{h.name}, dimension {h.dim}" for h in heads)
    return f"a head per direct factor, {each}"


def _cyclic_or_dihedral(g, orders) -> bool:
    """Cyclic (an element of order |G|), or dihedral: an element r of order |G|/2 with every element outside <r> of
    order 2 (that is the dihedral group of order |G|; for |G| = 4 the Klein group, D2)."""
    n = g.order
    if orders.max() == n:
        return True
    if n % 2:
        return False
    for r in np.flatnonzero(orders == n // 2):
        rotations, power = {g.identity}, int(r)
        while power != g.identity:
            rotations.add(power)
            power = int(g.table[power, r])
        outside = np.setdiff1d(np.arange(n), list(rotations))
        if (orders[outside] == 2).all():
            return True
    return False


@dataclass(frozen=True)
class TaskFacts:
    """A task's complexity facts: its declared level, the group inside it (if any) and the derived properties, with
    one line per property saying how it was derived (`why`)."""

    name: str
    params: dict[str, Any]
    family: str
    level: str
    group: GroupFacts | None
    properties: frozenset[str]
    why: dict[str, str] = field(default_factory=dict)

    def has(self, prop: str) -> bool:
        return prop in self.properties


def _group_props(g: GroupFacts, why: dict[str, str], via: str = "") -> None:
    """Obstacles a group's word problem carries: a subgroup's word problem is the restriction to its elements."""
    if g.order % 2 == 0:
        why["parity"] = f"{g.name} has an element of order 2 (its order {g.order} is even){via}"
    if g.odd_prime is not None:
        why["mod-odd"] = f"{g.name} has an element of order {g.odd_prime}{via}"
    if not g.solvable:
        why["nc1-complete"] = f"{g.name} is not solvable: its word problem is NC1-complete (Barrington 1989){via}"


def _word_problem(g: GroupFacts, why: dict[str, str]) -> None:
    why["word-problem"] = f"the word problem of {g.name}"
    why["regular"] = "a finite group's word problem is a regular language"
    if g.solvable:
        why["solvable-word-problem"] = f"{g.name} is solvable: its word problem is in TC0"
    if g.order == 2:
        why["parity-task"] = "the word problem of Z2 is parity"
    if g.reflections is not None:
        per_head = " per head" if g.heads > 1 else ""
        why["reflection-word-problem"] = (
            f"every element of {g.name} is a product of at most {g.reflections} reflections{per_head} in a faithful "
            f"orthogonal representation ({g.representation}; rank(rho(g) - I) reflections each, Cartan-Dieudonne)"
        )
    if g.dihedral:
        why["dihedral-word-problem"] = f"{g.name} is cyclic or dihedral"
    if g.max_order > 2:
        why["high-order-element"] = f"{g.name} has an element of order {g.max_order}"
    if g.order > 1:  # the inputs generate the group, so one of them is not the identity
        why["cycling-run"] = f"a run of one input element (one token) makes the running product cycle ({g.name})"
    _group_props(g, why)


def _swap_tracking(k: int, why: dict[str, str], what: str) -> GroupFacts:
    """Tracking k items under swaps: the state lives in S_k. Obstacles come from restricting the swaps used."""
    # S_k by its known facts: the Cayley table is only built for k <= 6 (one-line tokens), k reaches 26 here.
    g = GroupFacts(name=f"S{k}", order=math.factorial(k), solvable=k <= 4, abelian=k <= 2)
    if k >= 4:
        why["parity"] = f"{what}: restricted to the swaps (0 1) and (2 3), whether 0 and 1 are exchanged is parity"
    if k >= 3:
        why["mod-odd"] = f"{what}: the pair of swaps (0 1)(1 2) is a 3-cycle, so reading every second step counts mod 3"
    if k >= 5:
        why["nc1-complete"] = f"{what}: swaps generate the non-solvable S{k}, an NC1-complete word problem (Barrington)"
    return g


def _from_level(level: str, why: dict[str, str]) -> None:
    """Properties read from the task's declared level."""
    low = level.lower()
    for cls in ("nc1", "l", "nl"):  # not "NC1 (..., NC1-complete for k >= 5)": parameters decide those
        if low.startswith(f"{cls}-complete"):
            why[f"{cls}-complete"] = f"the task's level is {level!r}"
    if low in ("dcf", "cf", "cs") or low.startswith(("dcf", "cs ", "cf ")):
        why["nonregular"] = f"the task's level is {level!r} (Chomsky hierarchy above regular)"
    if low == "r" or low.startswith(("regular", "r ")):
        why["regular"] = f"the task's level is {level!r}"
    if "star-free" in low:
        why["star-free"] = f"the task's level is {level!r}"
        why["regular"] = "star-free languages are regular"


def _declared(task, why: dict[str, str]) -> GroupFacts | None:
    """Properties from the facts the task declares about itself (tasks/base.py); returns the group inside it."""
    group: GroupFacts | None = None
    if task.word_group is not None:
        group = GroupFacts.of(task.word_group)
        _word_problem(group, why)
    elif task.swap_items is not None:
        k = task.swap_items
        group = _swap_tracking(k, why, "swap-only tracking" if task.swap_word_problem else "pointer swaps")
        if task.swap_word_problem:
            why["word-problem"] = f"the word problem of S{k} over its transpositions"
            why["swap-word-problem"] = why["word-problem"]
            why["regular"] = "a finite group's word problem is a regular language"
            if group.solvable:
                why["solvable-word-problem"] = f"{group.name} is solvable"
            why["cycling-run"] = "a run of one transposition (one token) swaps two items back and forth: period 2"
    if task.summed_group is not None:
        _group_props(GroupFacts.of(task.summed_group), why, via=" (sums of residues)")
    if task.finite_state:
        why["regular"] = "finitely many variables: a finite-state program"
    if task.star_free:
        why["star-free"] = "a star-free (aperiodic) regular language"
        why["regular"] = "star-free languages are regular"
    if task.nonregular:
        why["nonregular"] = "it needs unbounded memory (e.g. balanced parentheses of unbounded depth)"
    if task.solvable_monoid:
        why["solvable-monoid"] = task.solvable_monoid
    if task.cycling_run:
        why["cycling-run"] = task.cycling_run
    if task.in_tc0:
        why["tc0"] = task.in_tc0
    if task.complete_for is not None:
        why[f"{task.complete_for.lower()}-complete"] = f"it is {task.complete_for}-complete ({task!r})"
    if task.recall == "indexed":
        why["indexed-recall"] = "look up one of `length` items by its index"
    elif task.recall == "state":
        why["state-recall"] = "pointer tracking (a finite-state program) then a lookup of bits[address] among m bits"
    elif task.recall == "key":
        why["key-recall"] = "the answer is the token after an earlier occurrence of a key the query names"
    elif task.recall == "position":
        why["position-recall"] = "each answer symbol is the input symbol at a position computed from the output's own"
    if task.state_grows:
        why["unbounded-recall"] = "the state it needs grows with `length` (every item may be asked for)"
    if task.padded:
        why["padded-formula"] = f"polynomially padded input: {task!r}"
    return group


def task_facts(task) -> TaskFacts:
    """Facts of a built task (`tasks.make(...)`): its level's properties, then what it declares about itself."""
    why: dict[str, str] = {}
    _from_level(task.level, why)
    group = _declared(task, why)
    return TaskFacts(
        name=task.name,
        params=dict(task.params),
        family=task.family,
        level=task.level,
        group=group,
        properties=frozenset(why),
        why=why,
    )
