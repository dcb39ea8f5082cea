"""EXPRESS rules on formal languages and circuit classes: non-regular tasks, tasks in TC0 (arithmetic, sorting,
brackets), log-space-complete graph problems and padded formulas.

The impossibilities for L- and NL-complete tasks are conditional: no separation of TC0 or NC1 from L is proven, so
each such "no" holds unless the classes collapse, and says so in its assumptions.
"""

from __future__ import annotations

from expressivity.theory.classes import ATTENTION, FIXED_STATE, HOUSEHOLDER_NEG, RECURRENT, STACK_RNN, TC0_LAYERS
from expressivity.theory.rules import HARD_ATTENTION, no, yes

# Fixed-size graphs are finite-state (a finite pool of nodes): the bounds need the nodes to grow with the length.
_GROWING = "the number of nodes growing with the length (with a fixed pool the task is finite-state)"
# Attention at log precision is in TC0 (Merrill & Sabharwal); a finite-precision recurrent layer is a finite-state
# transducer over its inputs, whose outputs a log-depth tree of compositions computes (Barrington: NC1). A fixed stack
# of both stays in NC1.
_NC1_STACK = (
    "a fixed stack of log-precision attention layers (TC0) and finite-precision recurrent layers (finite-state "
    "transducers over their inputs: NC1) computes within NC1"
)

IMPOSSIBLE = (
    no("nonregular", RECURRENT,
       "a fixed-size finite-precision state is a finite automaton, and the language is not regular",
       ("automata",), "finite precision", asymptotic=True),
    no("l-complete", TC0_LAYERS,
       "the task is L-complete (undirected s-t connectivity) and fixed-depth stacks of these layers compute only TC0 "
       "functions", ("reingold", "merrill-sabharwal", "illusion"),
       f"conditional: unless TC0 = L; log precision, fixed depth; {_GROWING}", asymptotic=True),
    no("nl-complete", TC0_LAYERS,
       "the task is NL-complete (directed s-t reachability) and fixed-depth stacks of these layers compute only TC0 "
       "functions", ("jones", "merrill-sabharwal", "illusion"),
       f"conditional: unless TC0 = NL; log precision, fixed depth; {_GROWING}", asymptotic=True),
    no("l-complete", FIXED_STATE, f"the task is L-complete (undirected s-t connectivity), and {_NC1_STACK}",
       ("reingold", "merrill-sabharwal", "barrington"),
       f"conditional: unless NC1 = L; finite precision in recurrent layers, log precision in attention, fixed depth; "
       f"{_GROWING}", asymptotic=True),
    no("nl-complete", FIXED_STATE, f"the task is NL-complete (directed s-t reachability), and {_NC1_STACK}",
       ("jones", "merrill-sabharwal", "barrington"),
       f"conditional: unless NC1 = NL; finite precision in recurrent layers, log precision in attention, fixed depth; "
       f"{_GROWING}", asymptotic=True),
)  # fmt: skip

CONSTRUCTIONS = (
    yes("position-recall", {STACK_RNN},
        "a Stack-RNN whose actions saturate pushes each symbol and pops one per answer blank: reversal is a real-time "
        "pushdown transduction (constructions/stack.py)", ("joulin", "this-package"),
        "saturated units and actions (finite precision); a stack with a cell per position; one layer (the plain block "
        "has no residual, so a deeper stack_rnn does not contain it)",
        when=lambda facts, cls: facts.name == "reverse_string" and cls.arch == "stack_rnn" and cls.depth == 1),
    yes("padded-formula", {HOUSEHOLDER_NEG}, "with polynomial padding, GDN(neg)-attention hybrids express all of NC1",
        ("olmo-hybrid",), "padding polynomial in the formula size (sec 3.4)", scope="both", then={ATTENTION}),
    # The general route, for tasks in TC0 without a construction of their own in the table: padding tokens give a
    # fixed-depth transformer the room a TC0 circuit needs. A padding-free construction may exist; none is relied on.
    yes("tc0", {ATTENTION},
        "fixed-depth transformers with polynomial padding recognise exactly FO-uniform TC0, and the task is in TC0",
        ("merrill-sabharwal-padding", "chandra"),
        f"polynomially many padding tokens after the input (the task itself gives only its answer blanks); log "
        f"precision, masked pre-norm, {HARD_ATTENTION}; a hybrid needs as many attention layers as the construction"),
)  # fmt: skip
