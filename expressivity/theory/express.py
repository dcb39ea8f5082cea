"""EXPRESS: can a class represent a task at every length with fixed depth? A table of theorems, matched on the task's
computed properties (`facts.py`) and the layer kinds of the class (`classes.py`).

A rule applies to a class by its `scope`:

- "all":    every layer is of one of `kinds` (obstacles: a stack of such layers cannot do it, whatever the depth);
- "any":    some layer is of one of `kinds` (constructions: that layer does it, the others pass the residual through);
- "before": a layer of `kinds` comes below a layer of `then` (Olmo Hybrid Thm 1: the tracker must feed attention);
- "both":   the stack has a layer of `kinds` and one of `then`, in any order.

A rule may add a condition `when(facts, cls)` on the class's depth or Householder factors per token (one layer; n_h
at least the group's reflection count; two layers that reach reflections). A matching "no" wins over a matching "yes"
(the test suite checks that no task and class match both); nothing matching gives "unknown". A "no" is `asymptotic`
when it rests on state size, depth or automaton size, which a given model may still cover at the lengths tested; the
sign-flip obstacles (no negative eigenvalue) and the one-layer period obstacle hold at every length.
Each "yes" for a hybrid assumes it has as many layers of the kind as the construction needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from expressivity.theory.answers import Answer
from expressivity.theory.classes import (
    ATTENTION,
    DIAGONAL,
    DIAGONAL_NEG,
    HOUSEHOLDER,
    HOUSEHOLDER_NEG,
    HOUSEHOLDER_NONNEG,
    KINDS,
    NONLINEAR_RNN,
    NONNEGATIVE,
    PRODUCT_NEG,
    PRODUCT_NONNEG,
    RECURRENT,
    REFLECTING,
    TC0_LAYERS,
    ArchClass,
)
from expressivity.theory.facts import PROPERTIES, TaskFacts

SCOPES = ("all", "any", "before", "both")


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


def _no(prop, kinds, reason, sources, assumptions, *, asymptotic, when=None) -> Rule:
    answer = Answer("no", reason, sources, assumptions, asymptotic=asymptotic)
    return Rule(prop, frozenset(kinds), "all", answer, when=when)


def _yes(prop, kinds, reason, sources, assumptions, scope="any", then=(), when=None) -> Rule:
    return Rule(prop, frozenset(kinds), scope, Answer("yes", reason, sources, assumptions), frozenset(then), when)


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


EXPRESS_RULES: tuple[Rule, ...] = (
    # ---- impossibilities ----------------------------------------------------------------------------------------
    _no("nc1-complete", TC0_LAYERS,
        "the task is NC1-complete and fixed-depth stacks of these layers compute only TC0 functions",
        ("merrill-sabharwal", "illusion", "barrington"), "log precision, fixed depth, TC0 != NC1", asymptotic=True),
    _no("unbounded-recall", RECURRENT,
        "a state of fixed size cannot hold the items the query may ask for once they outgrow it",
        ("wen",), "state size fixed as the length grows (finite or log precision)", asymptotic=True),
    _no("nonregular", RECURRENT,
        "a fixed-size finite-precision state is a finite automaton, and the language is not regular",
        ("automata",), "finite precision", asymptotic=True),
    _no("parity", NONNEGATIVE,
        "the task contains parity; linear RNNs whose transitions have only nonnegative eigenvalues cannot compute it",
        ("grazzi", "sarrof"), "finite precision (Grazzi et al. Thm 1; Sarrof et al. for diagonal)", asymptotic=False),
    _no("parity", NONNEGATIVE | {PRODUCT_NONNEG},
        "the task contains parity; with beta in [0,1] a product of two generalised Householders is a product of two "
        "positive semidefinite matrices, whose eigenvalues are real and nonnegative (AB is similar to A^1/2 B A^1/2), "
        "and linear RNNs with such transitions cannot compute parity",
        ("grazzi",), "finite precision (Grazzi et al. Thm 1); n_h <= 2 (three or more factors can have complex "
        "eigenvalues)", asymptotic=False, when=two_factors_at_most),
    _no("high-order-element", HOUSEHOLDER,
        "a single layer applies one generalised Householder per token: a symmetric matrix with real eigenvalues in "
        "[-1,1], so on a run of one element its state is eventually periodic with period at most 2, while the running "
        "product cycles with the element's order",
        ("grazzi",), "finite precision (Grazzi et al. Thm 1's argument for a repeated input); one layer: after the "
        "short convolution's window every step of the run is the same", asymptotic=False, when=one_layer),
    _no("mod-odd", DIAGONAL,
        "the task counts modulo an odd prime, which needs non-real eigenvalues; diagonal real transitions have none",
        ("grazzi",), "finite precision (Grazzi et al. Thm 2, stated for mod 3)", asymptotic=False),
    # ---- constructions ------------------------------------------------------------------------------------------
    _yes("parity-task", {DIAGONAL_NEG}, "a decay of -1 on each 1-bit flips the sign of the state",
         ("grazzi", "sarrof"), "one layer"),
    _yes("parity-task", REFLECTING, "beta = 2 makes each 1-bit a reflection I - 2kk^T that flips the state",
         ("grazzi", "this-package"), "one layer"),
    _yes("swap-word-problem", REFLECTING,
         "a transposition (i j) is the reflection I - 2kk^T with k = (e_i - e_j)/sqrt 2: beta = 2 applies it exactly",
         ("grazzi", "deltaproduct", "this-package"), "one layer"),
    _yes("reflection-word-problem", REFLECTING,
         "a layer with n_h Householder steps per token (beta = 2, or 0 for unused steps) applies rho(element) to its "
         "state when every element is a product of at most n_h reflections; BOS writes a reference, the read-out "
         "compares the state with each element's matrix",
         ("deltaproduct", "this-package"),
         "one layer with n_h >= the group's reflection count (S_n: n - 1 transpositions, Siems et al.; rotations of "
         "R^3 such as A5's: 2); finite precision (the constructions are exact in float32 at length 2000)",
         when=enough_reflections),
    _yes("dihedral-word-problem", REFLECTING,
         "two DeltaNet layers with beta in [0,2] solve dihedral word problems (Siems et al. sec. 4); a cyclic group is "
         "the rotation subgroup of a dihedral group", ("deltaproduct",), "two layers with beta in [0,2]",
         when=two_reflecting_layers),
    _yes("parity-task", {ATTENTION}, "a two-layer transformer computes parity at every length",
         ("chiang",), "the construction's positional encoding (i/n and (-1)^i), layer norm"),
    _yes("solvable-word-problem", {ATTENTION},
         "transformers simulate solvable semiautomata with depth that grows with the group, not the length",
         ("liu",), "log precision, the construction's positional encodings"),
    _yes("star-free", {ATTENTION}, "star-free (aperiodic) semiautomata are solvable: constant-depth shortcuts exist",
         ("liu",), "log precision, the construction's positional encodings"),
    _yes("star-free", DIAGONAL | {HOUSEHOLDER_NONNEG, HOUSEHOLDER_NEG, PRODUCT_NONNEG, PRODUCT_NEG},
         "a cascade of set/reset memories (decay 0, or a delta write with beta = 1) recognises star-free languages",
         ("sarrof",), "finite precision; one layer per level of the cascade"),
    _yes("regular", REFLECTING,
         "products of generalised Householder transitions with eigenvalues in [-1,1] recognise any regular language",
         ("grazzi", "deltaproduct"),
         "finite precision; enough layers, and products of several Householder factors per token (DeltaProduct's n_h) "
         "where the automaton needs them (one factor per token, as in GDN, suffices for swaps and parity); a group "
         "word problem is left to the rules on its reflection count", when=not_a_counted_group),
    _yes("regular", {NONLINEAR_RNN}, "a nonlinear RNN simulates any finite automaton", ("automata",),
         "saturated units; state size grows with the automaton, not the length"),
    _yes("indexed-recall", {HOUSEHOLDER_NEG},
         "GDN rotation counters give every bit its index digits, NoPE attention matches them with the query's",
         ("this-package",), "log precision (the construction runs in float64)", scope="before", then={ATTENTION}),
    _yes("indexed-recall", {ATTENTION}, "one attention layer looks up the bit whose position matches the index",
         ("wen",), "absolute positional encodings; RoPE/NoPE alone give no exact absolute position (not covered)"),
    _yes("state-recall", {HOUSEHOLDER_NEG},
         "GDN(neg) tracks which slot each pointer names (swaps are reflections), attention then reads slot -> index "
         "-> bit; one alternation suffices", ("olmo-hybrid", "this-package"), "log precision",
         scope="before", then={ATTENTION}),
    _yes("state-recall", {NONLINEAR_RNN},
         "Thm 1's argument with an LSTM tracker: pointer tracking is a finite automaton, attention dereferences",
         ("olmo-hybrid", "automata"), "log precision", scope="before", then={ATTENTION}),
    _yes("padded-formula", {HOUSEHOLDER_NEG}, "with polynomial padding, GDN(neg)-attention hybrids express all of NC1",
         ("olmo-hybrid",), "padding polynomial in the formula size (sec 3.4)", scope="both", then={ATTENTION}),
)  # fmt: skip


def matching(facts: TaskFacts, cls: ArchClass) -> list[Rule]:
    """Every rule of the table that applies to (task, class), in table order."""
    return [r for r in EXPRESS_RULES if r.applies(facts, cls)]


def express(facts: TaskFacts, cls: ArchClass) -> Answer:
    """The EXPRESS answer: the first matching "no", else the first matching "yes", else "unknown"."""
    rules = matching(facts, cls)
    for value in ("no", "yes"):
        for rule in rules:
            if rule.answer.value == value:
                why = facts.why.get(rule.prop, "")
                reason = f"{rule.answer.reason} (here: {why})" if why else rule.answer.reason
                return Answer(value, reason, rule.answer.sources, rule.answer.assumptions, rule.answer.asymptotic)
    props = ", ".join(sorted(facts.properties)) or "none"
    return Answer("unknown", f"no theorem in the table covers this task (properties: {props}) for {cls.describe()}")
