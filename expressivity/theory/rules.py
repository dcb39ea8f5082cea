"""The rule type of the EXPRESS table (`express.py`) and the conditions rules may put on a class.

A rule applies to a class by its `scope`:

- "all":    every layer is of one of `kinds` (obstacles: a stack of such layers cannot do it, whatever the depth);
- "any":    some layer is of one of `kinds` (constructions: that layer does it, the others pass the residual through);
- "before": a layer of `kinds` comes below a layer of `then` (Olmo Hybrid Thm 1: the tracker must feed attention);
- "both":   the stack has a layer of `kinds` and one of `then`, in any order.

A rule may add a condition `when(facts, cls)` on the class's depth or Householder factors per token (one layer; n_h
at least the group's reflection count; two layers that reach reflections), or on whether the class contains a shipped
construction (`embeds`: its layers as a subsequence, its eigenvalue range and positional encoding).

Besides "no" (an impossibility) and "yes" (a construction), a rule may answer "unknown" with its reason (`unknown`):
where neither is known, it says what is missing, e.g. which construction stops short of the class and why.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from expressivity.theory import constructions
from expressivity.theory.answers import Answer
from expressivity.theory.classes import KINDS, REFLECTING, ArchClass, arch_class
from expressivity.theory.facts import PROPERTIES, TaskFacts

SCOPES = ("all", "any", "before", "both")
# What the attention constructions assume about attention itself: the literature's idealisation. Softmax with fixed
# weights puts weight 1 / (1 + (n - 1) e^-gap) on a unique best match, so it matches hard attention at every length
# only where the score gap can grow like log n.
HARD_ATTENTION = "averaging-hard attention (softmax comes close at a length only with score gaps growing like log n)"


@dataclass(frozen=True)
class Rule:
    prop: str
    kinds: frozenset[str]
    scope: str
    answer: Answer
    then: frozenset[str] = frozenset()
    when: Callable[[TaskFacts, ArchClass], bool] | None = None  # a further condition on the class, e.g. its depth

    def __post_init__(self):
        if self.prop not in PROPERTIES or self.scope not in SCOPES or not self.kinds <= set(KINDS):
            raise ValueError(f"bad rule: property {self.prop!r}, scope {self.scope!r}, kinds {sorted(self.kinds)}")

    def applies(self, facts: TaskFacts, cls: ArchClass) -> bool:
        if not facts.has(self.prop) or (self.when is not None and not self.when(facts, cls)):
            return False
        if self.scope == "all":
            return cls.kinds <= self.kinds
        if self.scope == "any":
            return bool(cls.kinds & self.kinds)
        if self.scope == "before":
            return cls.before(self.kinds, self.then)
        return bool(cls.kinds & self.kinds) and bool(cls.kinds & self.then)


def no(prop, kinds, reason, sources, assumptions, *, asymptotic, when=None) -> Rule:
    """An impossibility: every layer of the class is of one of `kinds`."""
    answer = Answer("no", reason, sources, assumptions, asymptotic=asymptotic)
    return Rule(prop, frozenset(kinds), "all", answer, when=when)


def yes(prop, kinds, reason, sources, assumptions, scope="any", then=(), when=None) -> Rule:
    """A construction: by default, some layer of the class is of one of `kinds`."""
    return Rule(prop, frozenset(kinds), scope, Answer("yes", reason, sources, assumptions), frozenset(then), when)


def unknown(prop, kinds, reason, sources=(), assumptions="", scope="any", then=(), when=None) -> Rule:
    """Neither a construction nor an impossibility covers the class: the reason says what is missing."""
    return Rule(prop, frozenset(kinds), scope, Answer("unknown", reason, sources, assumptions), frozenset(then), when)


# ---- conditions on the class (`when`) --------------------------------------------------------------------------------
def one_layer(facts: TaskFacts, cls: ArchClass) -> bool:
    return cls.depth == 1


def two_factors_at_most(facts: TaskFacts, cls: ArchClass) -> bool:
    return "P" not in cls.pattern or cls.num_householder <= 2


def enough_reflections(facts: TaskFacts, cls: ArchClass) -> bool:
    """A layer whose n_h reflections per token cover every element of the group (facts.group.reflections)."""
    needed = facts.group.reflections if facts.group is not None else None
    return needed is not None and cls.factors(REFLECTING) >= needed


def two_reflecting_layers(facts: TaskFacts, cls: ArchClass) -> bool:
    return cls.count(REFLECTING) >= 2


def not_a_counted_group(facts: TaskFacts, cls: ArchClass) -> bool:
    """Not a word problem whose group's reflection count decides it (`enough_reflections` does)."""
    return facts.group is None or facts.group.reflections is None


# ---- containing a shipped construction ---------------------------------------------------------------------------
# A residual block whose weights are all zero is the identity (constructions/embedding.py shows it for every layer
# kind), so a class whose stack has a construction's layers in order, with the same eigenvalue range, Householder
# factors and positional encoding, runs that construction with its other blocks zeroed.
@functools.cache
def construction_class(name: str) -> ArchClass:
    """The class of what construction `name` builds, read from its registry entry (nothing is built)."""
    spec = constructions.REGISTRY[name]
    return arch_class(spec.arch, spec.model_params)


def _stack_embeds(name: str, cls: ArchClass) -> bool:
    """The layers, eigenvalue range and factors per token of construction `name` fit in the class (any pos)."""
    from expressivity.theory.constructions.embedding import positions

    c = construction_class(name)
    same_factors = "P" not in c.pattern or cls.num_householder == c.num_householder
    return positions(c.pattern, cls.pattern) is not None and cls.neg_eigval == c.neg_eigval and same_factors


def _same_pos(name: str, cls: ArchClass) -> bool:
    c = construction_class(name)
    return c.pos is None or cls.pos == c.pos  # a construction without attention needs no positions


def embeds(name: str) -> Callable[[TaskFacts, ArchClass], bool]:
    """`when`: the class contains construction `name` (layers in order, eigenvalue range, factors, positions)."""
    return lambda facts, cls: _stack_embeds(name, cls) and _same_pos(name, cls)


def embeds_but_for_positions(name: str) -> Callable[[TaskFacts, ArchClass], bool]:
    """`when`: the class has construction `name`'s stack, but attention with other positions than it was built for."""
    return lambda facts, cls: _stack_embeds(name, cls) and not _same_pos(name, cls)


def misses_stack(name: str) -> Callable[[TaskFacts, ArchClass], bool]:
    """`when`: the class lacks construction `name`'s layers in order (or its eigenvalue range or factors)."""
    return lambda facts, cls: not _stack_embeds(name, cls)
