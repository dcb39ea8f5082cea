"""EXPRESS rules on state tracking: group word problems, parity and modular counting, star-free and regular languages.

`TC0_BOUND` is the circuit bound on NC1-complete tasks, `IMPOSSIBLE` the obstacles from the transitions' eigenvalues
and `CONSTRUCTIONS` the constructions; `express.py` puts them in table order.
"""

from __future__ import annotations

from expressivity.theory.classes import (
    ATTENTION,
    DIAGONAL,
    DIAGONAL_NEG,
    HOUSEHOLDER,
    HOUSEHOLDER_NEG,
    HOUSEHOLDER_NONNEG,
    NONLINEAR_RNN,
    NONNEGATIVE,
    PRODUCT_NEG,
    PRODUCT_NONNEG,
    REFLECTING,
    STACK_RNN,
    TC0_LAYERS,
)
from expressivity.theory.rules import (
    enough_reflections,
    no,
    not_a_counted_group,
    one_layer,
    two_factors_at_most,
    two_reflecting_layers,
    yes,
)

TC0_BOUND = (
    no("nc1-complete", TC0_LAYERS,
       "the task is NC1-complete and fixed-depth stacks of these layers compute only TC0 functions",
       ("merrill-sabharwal", "illusion", "barrington"), "log precision, fixed depth, TC0 != NC1", asymptotic=True),
)  # fmt: skip

IMPOSSIBLE = (
    no("parity", NONNEGATIVE,
       "the task contains parity; linear RNNs whose transitions have only nonnegative eigenvalues cannot compute it",
       ("grazzi", "sarrof"), "finite precision (Grazzi et al. Thm 1; Sarrof et al. for diagonal)", asymptotic=False),
    no("parity", NONNEGATIVE | {PRODUCT_NONNEG},
       "the task contains parity; with beta in [0,1] a product of two generalised Householders is a product of two "
       "positive semidefinite matrices, whose eigenvalues are real and nonnegative (AB is similar to A^1/2 B A^1/2), "
       "and linear RNNs with such transitions cannot compute parity",
       ("grazzi",), "finite precision (Grazzi et al. Thm 1); n_h <= 2 (three or more factors can have complex "
       "eigenvalues)", asymptotic=False, when=two_factors_at_most),
    no("high-order-element", HOUSEHOLDER,
       "a single layer applies one generalised Householder per token: a symmetric matrix with real eigenvalues in "
       "[-1,1], so on a run of one element its state is eventually periodic with period at most 2, while the running "
       "product cycles with the element's order",
       ("grazzi",), "finite precision (Grazzi et al. Thm 1's argument for a repeated input); one layer: after the "
       "short convolution's window every step of the run is the same", asymptotic=False, when=one_layer),
    no("mod-odd", DIAGONAL,
       "the task counts modulo an odd prime, which needs non-real eigenvalues; diagonal real transitions have none",
       ("grazzi",), "finite precision (Grazzi et al. Thm 2, stated for mod 3)", asymptotic=False),
    # Grazzi et al.'s proof of Thm 1 is about parity, but what it shows is that on a repeated input such an LRNN
    # settles: its output becomes constant, so it cannot follow any answer that cycles on a run. A block of two tokens
    # keeps the hypothesis (AB of two PSD matrices has real nonnegative eigenvalues), and so does any depth.
    no("cycling-run", NONNEGATIVE,
       "on a run of one block of at most two tokens the answer cycles with period >= 2, but a finite-precision linear "
       "RNN whose transitions have nonnegative real eigenvalues settles on a repeated block (the product of two "
       "generalised Householders with beta in [0,1], or of two nonnegative diagonals, keeps real nonnegative "
       "eigenvalues), so its output becomes constant",
       ("grazzi", "sarrof"), "finite precision (the argument of Grazzi et al. Thm 1, there for parity, applied to the "
       "block; after the short convolution's window every block of the run is the same); any depth: each layer's "
       "output settles, so the next one's input does", asymptotic=False),
)  # fmt: skip

CONSTRUCTIONS = (
    yes("parity-task", {DIAGONAL_NEG}, "a decay of -1 on each 1-bit flips the sign of the state",
        ("grazzi", "sarrof"), "one layer"),
    yes("parity-task", REFLECTING, "beta = 2 makes each 1-bit a reflection I - 2kk^T that flips the state",
        ("grazzi", "this-package"), "one layer"),
    yes("swap-word-problem", REFLECTING,
        "a transposition (i j) is the reflection I - 2kk^T with k = (e_i - e_j)/sqrt 2: beta = 2 applies it exactly",
        ("grazzi", "deltaproduct", "this-package"), "one layer"),
    yes("reflection-word-problem", REFLECTING,
        "a layer with n_h Householder steps per token (beta = 2, or 0 for unused steps) applies rho(element) to its "
        "state when every element is a product of at most n_h reflections (a head may carry one direct factor of the "
        "group, so the count is per head); BOS writes a reference, the read-out compares the state with each "
        "element's matrix",
        ("deltaproduct", "this-package"),
        "one layer with n_h >= the group's reflection count per head (S_n: n - 1 transpositions, Siems et al.; "
        "rotations of R^3 such as A5's: 2; A4xZ5 with a head per factor: 2) and as many heads as the representation "
        "takes; finite precision (the constructions are exact in float32 at length 2000)",
        when=enough_reflections),
    yes("dihedral-word-problem", REFLECTING,
        "two DeltaNet layers with beta in [0,2] solve dihedral word problems (Siems et al. sec. 4); a cyclic group is "
        "the rotation subgroup of a dihedral group", ("deltaproduct",), "two layers with beta in [0,2]",
        when=two_reflecting_layers),
    yes("parity-task", {ATTENTION}, "a two-layer transformer computes parity at every length",
        ("chiang",), "the construction's positional encoding (i/n and (-1)^i), layer norm"),
    yes("solvable-word-problem", {ATTENTION},
        "transformers simulate solvable semiautomata with depth that grows with the group, not the length",
        ("liu",), "log precision, the construction's positional encodings"),
    yes("solvable-monoid", {ATTENTION},
        "a regular language whose automaton has only solvable groups is recognised by a solvable semiautomaton, which "
        "transformers simulate with depth that grows with the automaton, not the length (Krohn-Rhodes shortcuts)",
        ("liu",), "log precision, the construction's positional encodings"),
    yes("star-free", {ATTENTION}, "star-free (aperiodic) semiautomata are solvable: constant-depth shortcuts exist",
        ("liu",), "log precision, the construction's positional encodings"),
    yes("star-free", DIAGONAL | {HOUSEHOLDER_NONNEG, HOUSEHOLDER_NEG, PRODUCT_NONNEG, PRODUCT_NEG},
        "a cascade of set/reset memories (decay 0, or a delta write with beta = 1) recognises star-free languages",
        ("sarrof",), "finite precision; one layer per level of the cascade"),
    yes("regular", REFLECTING,
        "products of generalised Householder transitions with eigenvalues in [-1,1] recognise any regular language",
        ("grazzi", "deltaproduct"),
        "finite precision; enough layers, and products of several Householder factors per token (DeltaProduct's n_h) "
        "where the automaton needs them (one factor per token, as in GDN, suffices for swaps and parity); a group "
        "word problem is left to the rules on its reflection count", when=not_a_counted_group),
    yes("regular", {NONLINEAR_RNN, STACK_RNN}, "a nonlinear RNN simulates any finite automaton (a Stack-RNN's "
        "controller too, its stack left alone)", ("automata",),
        "saturated units; state size grows with the automaton, not the length"),
)  # fmt: skip
