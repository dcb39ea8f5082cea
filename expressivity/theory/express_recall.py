"""EXPRESS rules on recall: finding again, by index, key, position or tracked pointer, what the input said earlier.

A recurrent layer holds what it will be asked in a state of fixed size, so recall of items that grow with the length
is out of its reach (`IMPOSSIBLE`); attention looks the item up (`CONSTRUCTIONS`), and a hybrid's recurrent layers
can prepare what attention matches (index digits, tracked pointers, the previous token).
"""

from __future__ import annotations

from expressivity.theory.classes import ATTENTION, HOUSEHOLDER_NEG, NONLINEAR_RNN, RECURRENT
from expressivity.theory.rules import HARD_ATTENTION, no, yes

IMPOSSIBLE = (
    no("unbounded-recall", RECURRENT,
       "a state of fixed size cannot hold the items the query may ask for once they outgrow it",
       ("wen",), "state size fixed as the length grows (finite or log precision)", asymptotic=True),
)  # fmt: skip

CONSTRUCTIONS = (
    yes("indexed-recall", {HOUSEHOLDER_NEG},
        "GDN rotation counters give every bit its index digits, NoPE attention matches them with the query's",
        ("this-package",), "log precision (the construction runs in float64)", scope="before", then={ATTENTION}),
    yes("indexed-recall", {ATTENTION}, "one attention layer looks up the bit whose position matches the index",
        ("wen",), "absolute positional encodings; RoPE/NoPE alone give no exact absolute position (not covered)"),
    yes("state-recall", {HOUSEHOLDER_NEG},
        "GDN(neg) tracks which slot each pointer names (swaps are reflections), attention then reads slot -> index "
        "-> bit; one alternation suffices", ("olmo-hybrid", "this-package"), "log precision",
        scope="before", then={ATTENTION}),
    yes("state-recall", {NONLINEAR_RNN},
        "Thm 1's argument with an LSTM tracker: pointer tracking is a finite automaton, attention dereferences",
        ("olmo-hybrid", "automata"), "log precision", scope="before", then={ATTENTION}),
    # Content lookup needs the key and the token after it at one position: a previous-token head (or a recurrent
    # layer's short convolution) moves the key onto the next token, then a matching head finds the query's key.
    yes("key-recall", {ATTENTION},
        "an induction head: one layer copies each token's predecessor onto it, a second matches the query's key "
        "against those and reads the token found; a recurrent layer below attention (a GDN's short convolution, or "
        "a write with decay 0) can do the first step",
        ("olsson", "zoology"), f"two attention layers, or one above such a recurrent layer; {HARD_ATTENTION}; keys "
        "from a fixed vocabulary"),
    # Position lookup: RASP's `select(indices, f(indices, length))`, compiled to a layer that finds the length and
    # one that attends to the computed position.
    yes("position-recall", {ATTENTION},
        "attention reads the input symbol at the position the output position names (index arithmetic on positions, "
        "the length and counts, as in RASP's reverse), after a layer that finds the length or the counts",
        ("weiss", "jelassi"), f"absolute positions (i and i^2, for a sharp match) at log precision; {HARD_ATTENTION}; "
        "two attention layers"),
)  # fmt: skip
