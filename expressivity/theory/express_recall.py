"""EXPRESS rules on recall: finding again, by index, key, position or tracked pointer, what the input said earlier.

A recurrent layer holds what it will be asked in a state of fixed size, so recall of items that grow with the length
is out of its reach (`IMPOSSIBLE`); attention looks the item up (`CONSTRUCTIONS`), and a hybrid's recurrent layers
can prepare what attention matches (index digits, tracked pointers, the previous token).

State-based recall is derived from the shipped construction rather than asserted: "yes" exactly where the class
contains it (`rules.embeds`), and "unknown", with what is missing, for the other stacks with a GDN[-1,1] layer and
attention (`STATE_RECALL_OPEN`).

Both recall constructions read the bits as a list (`bits_format="list"`, the default), where the position of a bit
gives its index, or as a dict (`bits_format="dict"`), where the key written before it does; each layout has its
shipped construction (`indexed_recall_dict`, `state_based_recall_dict`: the same stacks), so the two answer alike.
Both read indices in decimal digits: one token an index (`numbers="tokens"`) has no construction, "unknown" wherever
attention could do the lookup (`LAYOUT_OPEN`), and "no" where the impossibilities hold, as they do for any layout.

The state-recall construction also reads the pointers' initial values from one tuple line, `a, b, ... = 6, 2, ...`
(`init_format="tuple"`, the default), counting commas after `=` to tell which variable a value digit belongs to. One
assignment a line (`init_format="lines"`) is the same function in another layout, with no construction shipped for
it: "unknown" wherever attention could do it (`INIT_LINES_OPEN`), "no" where the impossibilities hold.
"""

from __future__ import annotations

from collections.abc import Callable

from expressivity.theory import constructions
from expressivity.theory.classes import (
    ATTENTION,
    HOUSEHOLDER_NEG,
    HOUSEHOLDER_NONNEG,
    NONLINEAR_RNN,
    RECURRENT,
    ArchClass,
)
from expressivity.theory.facts import TaskFacts
from expressivity.theory.rules import (
    HARD_ATTENTION,
    embeds,
    embeds_but_for_positions,
    misses_stack,
    no,
    unknown,
    yes,
)

STATE_RECALL, INDEXED_RECALL = "state_based_recall", "indexed_recall"  # constructions (constructions/recall.py)
_POS_NAMES = {"nope": "NoPE", "rope": "RoPE"}
_SHIPPED = constructions.REGISTRY[STATE_RECALL].model_params
_PATTERN, _POS = _SHIPPED["pattern"], _POS_NAMES[_SHIPPED["pos"]]
_INDEXED = constructions.REGISTRY[INDEXED_RECALL].model_params
_INDEXED_PATTERN, _INDEXED_POS = _INDEXED["pattern"], _POS_NAMES[_INDEXED["pos"]]


def digit_numbers(facts: TaskFacts) -> bool:
    """The task writes its indices in decimal digits (`numbers="digits"`, the default), as the recall constructions
    read them (tasks without `numbers` have no indices to write otherwise)."""
    return facts.params.get("numbers", "digits") == "digits"


def reads_bits(name: str) -> Callable[[TaskFacts, ArchClass], bool]:
    """`when`: the class contains the shipped construction `name` for the task's layout of the bits (a list: `name`;
    a dict: `name`_dict), and the indices are digits, as every recall construction reads them."""
    dict_name = f"{name}_dict"
    return lambda facts, cls: (
        digit_numbers(facts)
        and embeds(dict_name if facts.params.get("bits_format", "list") == "dict" else name)(facts, cls)
    )


def swaps_only(facts: TaskFacts) -> bool:
    """The update lines are swaps (`ops="swap"`, the default), the only lines the state-recall construction reads:
    it applies each as a reflection and refuses assignments (`a = c`), which overwrite a pointer."""
    return facts.params.get("ops", "swap") == "swap"


def tuple_init(facts: TaskFacts) -> bool:
    """The initial values are one tuple line `a, b, ... = 6, 2, ...` (`init_format="tuple"`, the default), the layout
    the state-recall construction reads (tasks without `init_format` count as tuple: no pointer lines to lay out)."""
    return facts.params.get("init_format", "tuple") == "tuple"


def _of_swaps(when: Callable[[TaskFacts, ArchClass], bool]) -> Callable[[TaskFacts, ArchClass], bool]:
    """`when`, for a task laid out as the state-recall construction reads it: initial values in one tuple line, and
    update lines that are swaps."""
    return lambda facts, cls: tuple_init(facts) and swaps_only(facts) and when(facts, cls)


IMPOSSIBLE = (
    no("unbounded-recall", RECURRENT,
       "a state of fixed size cannot hold the items the query may ask for once they outgrow it",
       ("wen",), "state size fixed as the length grows (finite or log precision)", asymptotic=True),
)  # fmt: skip

CONSTRUCTIONS = (
    yes("indexed-recall", {HOUSEHOLDER_NEG},
        f"the shipped construction ({_INDEXED_PATTERN}, GDN[-1,1], {_INDEXED_POS} attention) runs in this stack: GDN "
        "rotation counters give every list bit its index digits (in a dict, a window reads the key written before "
        "each bit), attention matches them with the query's; blocks whose weights are all zero are the identity, so "
        f"any stack with {_INDEXED_PATTERN} as a subsequence runs it",
        ("this-package",), "log precision (the construction runs in float64; exact at 2000 bits in tests); heads "
        "and width that grow with the digits of the longest index (log n); indices in digits",
        when=reads_bits(INDEXED_RECALL)),
    yes("state-recall", {HOUSEHOLDER_NEG},
        f"the shipped construction ({_PATTERN}, GDN[-1,1], {_POS} attention) runs in this stack: its first G layer "
        "gives each bit its index digits (list positions counted, or a dict's keys read) and names each value "
        "digit's variable, the second tracks the pointers' index digits "
        "through the swaps (reflections), attention looks up bits[index]; a residual block whose weights are all "
        "zero is the identity (pre-norm: x + f(norm(x)) with f = 0), so any stack with "
        f"{_PATTERN} as a subsequence runs it with the extra blocks zeroed",
        ("olmo-hybrid", "this-package"),
        "log precision (the construction runs in float64; exact at 2000 lines, and embedded in larger stacks, in "
        "tests); heads and width that grow with the digits of the longest index (log n), as it sizes its counters; "
        "pre-norm blocks, as it is built (Olmo's post-norm attention, block='olmo', is not checked); swap lines "
        "only; fewer variables than the GDN key dim; indices in digits; the initial values in one tuple line",
        when=_of_swaps(reads_bits(STATE_RECALL))),
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

# Layouts no construction reads, wherever attention could look a bit up (without attention the impossibilities answer
# "no" for any layout). Placed before the other open rules, so their reason is the one given; no source: none covers
# them.
_TOKENS = (
    'the indices are one token each (numbers="tokens", as Olmo\'s tokenizer writes integers below 1000); the '
    "shipped constructions ({pattern}, GDN[-1,1], {pos} attention) read an index's decimal digits, a place at a "
    "time, and are neither built nor checked for one-token indices, whose match is one token against one token; "
    "no construction for them is shipped or cited here, and no obstacle either"
)
LAYOUT_OPEN = (
    unknown("indexed-recall", {ATTENTION}, _TOKENS.format(pattern=_INDEXED_PATTERN, pos=_INDEXED_POS),
            when=lambda facts, cls: not digit_numbers(facts)),
    unknown("state-recall", {ATTENTION}, _TOKENS.format(pattern=_PATTERN, pos=_POS) + "; the pointers still need "
            "tracking through the swaps", when=lambda facts, cls: not digit_numbers(facts)),
    # Assignment lines (ops="assign" or "mixed"): the construction refuses them (constructions/recall.py).
    unknown("state-recall", {ATTENTION},
            f"the update lines include assignments (`a = c`, ops other than swap), which overwrite a pointer and can "
            f"make two of them equal; the shipped construction ({_PATTERN}, GDN[-1,1], {_POS} attention) applies "
            "swaps as reflections and refuses assignments, and no construction or obstacle for them is known here",
            when=lambda facts, cls: not swaps_only(facts)),
)  # fmt: skip

# Initial values one assignment a line, wherever attention could do the task (without attention the impossibilities
# answer "no" for either layout). After LAYOUT_OPEN: one-token indices or assignment lines, when present, give the
# reason.
INIT_LINES_OPEN = (
    unknown("state-recall", {ATTENTION},
            'the initial values are written one assignment a line (`a = 6`, init_format="lines"); the shipped '
            f"construction ({_PATTERN}, GDN[-1,1], {_POS} attention) reads them from one tuple line "
            "`a, b, ... = 6, 2, ...`, where a head counts the commas after `=` to tell which variable a value digit "
            "belongs to, and is neither built nor checked for one line per variable. There each value sits next to "
            "its name, yet no construction for that layout is shipped or cited here, and no obstacle either; the "
            "pointers still need tracking through the swaps", when=lambda facts, cls: not tuple_init(facts)),
)  # fmt: skip

# Indexed recall where no shipped construction reaches (it used to say "yes" for any attention, on absolute
# positional encodings this package's models do not have). Not "no": attention is not shown unable.
INDEXED_RECALL_OPEN = (
    unknown("indexed-recall", {HOUSEHOLDER_NEG},
            f"the stack contains the shipped construction's {_INDEXED_PATTERN}, but its lookup is a content match "
            f"that needs {_INDEXED_POS} attention; RoPE is not covered (no construction, no obstacle)",
            ("this-package",), when=embeds_but_for_positions(INDEXED_RECALL)),
    unknown("indexed-recall", {ATTENTION},
            "one attention layer looks the bit up by position where the model has absolute positional encodings "
            "(Wen et al.); this package's attention has RoPE or NoPE, which give no absolute position directly "
            "(NoPE attention can recover it, Kazemnejad et al., but reading the query's multi-digit index and "
            "matching it against positions has no construction here)", ("wen", "kazemnejad")),
)  # fmt: skip

# Where neither the construction nor an impossibility reaches: stacks with a GDN[-1,1] layer and attention that lack
# the construction, or have it with other positions. Not "no": none of these is shown unable.
STATE_RECALL_OPEN = (
    unknown("state-recall", {HOUSEHOLDER_NEG},
            f"the stack contains the shipped construction's {_PATTERN}, but its lookup is a content match of digit "
            f"vectors that needs {_POS} attention: RoPE makes the scores depend on the distance between query and "
            "key, so the match is not exact at every length; RoPE is not covered (no construction, no obstacle)",
            ("this-package",), when=embeds_but_for_positions(STATE_RECALL)),
    unknown("state-recall", {HOUSEHOLDER_NEG},
            "attention comes only below the GDN[-1,1] layers, and the shipped construction needs GDN below attention; "
            "not 'no': attention in layer 1 could fetch each pointer's initial bit at the initialisation line (if it "
            "can match multi-digit indices against list positions there), after which the GDN layers need to track "
            "only five bits through the swaps, a finite state; no such construction is shipped",
            ("this-package",), scope="both", then={ATTENTION},
            when=lambda facts, cls: not cls.before(HOUSEHOLDER_NEG, ATTENTION)),
    unknown("state-recall", {HOUSEHOLDER_NEG},
            f"a GDN[-1,1] layer comes below attention, but not the shipped construction's {_PATTERN} (two gated "
            "GDN[-1,1] layers, in order, below attention), and no construction with fewer is known here: the "
            "tracker's keys need each value digit's variable ordinal (which variable of the initialisation line a "
            "digit belongs to), which a layer below computes in the shipped construction, since a head cannot read "
            "what another head of its own layer computes. Olmo Hybrid's Thm 1 has a GDN stage below an attention "
            "stage; a single GDN layer is not covered by the construction",
            ("olmo-hybrid", "this-package"), scope="before", then={ATTENTION}, when=misses_stack(STATE_RECALL)),
    # Beta in [0, 1]: the tracker's swaps are reflections (beta = 2), out of reach; yet attention above or below can
    # compute parity, so the sign-flip obstacle (all layers nonnegative) does not cover the stack either.
    unknown("state-recall", {HOUSEHOLDER_NONNEG},
            "the shipped construction applies each swap as a reflection (beta = 2), outside beta in [0,1]; the task "
            "contains parity, which GDN[0,1] layers alone cannot compute at finite precision, but attention in the "
            "stack can, so no impossibility covers it, and no construction is known", ("grazzi", "this-package"),
            scope="both", then={ATTENTION}),
    # This table used to say "yes" here, carrying Thm 1's argument over to an LSTM tracker without a construction.
    # The tracking is a finite automaton, but the dereference is the hard part: the shipped lookup takes each list
    # bit's index digits from GDN rotation counters, and nothing here shows how an LSTM supplies them at every length.
    unknown("state-recall", {NONLINEAR_RNN},
            "an LSTM below attention can track the five pointers (a finite automaton), but the lookup also needs "
            "each list bit's index at every length; the shipped construction takes it from GDN rotation counters, "
            "and no construction with an LSTM is shipped", ("automata", "this-package"),
            scope="before", then={ATTENTION}),
)  # fmt: skip
