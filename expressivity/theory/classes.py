"""An architecture's expressivity class, read from its config: which kinds of layer it stacks, in which order.

    cls = arch_class("hybrid", {"pattern": "GGGA", "neg_eigval": True})
    cls.layers          # ('householder[-1,1]', 'householder[-1,1]', 'householder[-1,1]', 'attention')
    cls.label           # 'hybrid GGGA [-1,1]'
    cls.before(HOUSEHOLDER_NEG, ATTENTION)   # True: a GDN(neg) layer comes before an attention layer
    cls.pos             # 'rope': the registry's default positional encoding (`pos="nope"` in the config: 'nope')

Every model is a stack of layers of nine kinds. GDN and DeltaNet layers have transitions exp(g) (I - beta k k^T), a
generalised Householder matrix: with beta in [0, 1] its eigenvalues lie in [0, 1] (a nonnegative linear RNN), with
`neg_eigval` (beta in [0, 2]) in [-1, 1]. A DeltaProduct layer multiplies `num_householder` (n_h) such factors per
token: with n_h = 1 it is a GDN layer (and its kind); with n_h >= 2 and beta in [0, 2] two reflections make a rotation,
so its eigenvalues are complex. A diagonal recurrence (Mamba/GLA-like) is a nonnegative linear RNN with decays in
[0, 1] and is not one with `neg_eigval` (decays in [-1, 1]). Attention is its own kind; an LSTM is a nonlinear RNN;
a Stack-RNN is a nonlinear RNN with an unbounded stack, the one recurrent kind whose state grows with the input.
A hybrid's class depends on its pattern, e.g. whether a GDN layer comes before an attention layer (Olmo Hybrid Thm 1).
The class also knows its depth where the config fixes it (`n_layers`, or a pattern's length): a few theorems are
about one layer; and its attention's positional encoding (`pos`: "rope" or "nope"; None without attention), which
decides whether a construction's content match carries over (the recall constructions are NoPE).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ATTENTION = "attention"
HOUSEHOLDER_NONNEG = "householder[0,1]"
HOUSEHOLDER_NEG = "householder[-1,1]"
PRODUCT_NONNEG = "householder-product[0,1]"
PRODUCT_NEG = "householder-product[-1,1]"
DIAGONAL_NONNEG = "diagonal[0,1]"
DIAGONAL_NEG = "diagonal[-1,1]"
NONLINEAR_RNN = "nonlinear-rnn"
STACK_RNN = "stack-rnn"
KINDS = (
    ATTENTION,
    HOUSEHOLDER_NONNEG,
    HOUSEHOLDER_NEG,
    PRODUCT_NONNEG,
    PRODUCT_NEG,
    DIAGONAL_NONNEG,
    DIAGONAL_NEG,
    NONLINEAR_RNN,
    STACK_RNN,
)

DESCRIPTIONS = {
    ATTENTION: "softmax attention (TC0 at log precision)",
    HOUSEHOLDER_NONNEG: "GDN/DeltaNet with beta in [0,1]: eigenvalues in [0,1], a nonnegative linear RNN",
    HOUSEHOLDER_NEG: "GDN/DeltaNet with beta in [0,2]: generalised Householder transitions, eigenvalues in [-1,1]",
    PRODUCT_NONNEG: "DeltaProduct with beta in [0,1]: a product of n_h generalised Householders per token, each with "
    "eigenvalues in [0,1]",
    PRODUCT_NEG: "DeltaProduct with beta in [0,2]: a product of n_h generalised Householders per token (reflections at "
    "beta = 2, so rotations), eigenvalues in the unit disc",
    DIAGONAL_NONNEG: "diagonal linear RNN with decays in [0,1] (Mamba/GLA-like), a nonnegative linear RNN",
    DIAGONAL_NEG: "diagonal linear RNN with decays in [-1,1]",
    NONLINEAR_RNN: "nonlinear RNN (LSTM)",
    STACK_RNN: "nonlinear RNN with a differentiable stack one cell per position (Stack-RNN): with saturated actions a "
    "real-time pushdown transducer",
}
# The recurrent kinds with a state of fixed size (finite-state at finite precision): what the impossibilities for
# recurrent models are about. A Stack-RNN's stack grows with the input, so none of them covers it.
RECURRENT = frozenset(KINDS) - {ATTENTION, STACK_RNN}
FIXED_STATE = frozenset(KINDS) - {STACK_RNN}  # every kind a fixed-depth NC1 argument covers
NONNEGATIVE = frozenset({HOUSEHOLDER_NONNEG, DIAGONAL_NONNEG})
DIAGONAL = frozenset({DIAGONAL_NONNEG, DIAGONAL_NEG})
HOUSEHOLDER = frozenset({HOUSEHOLDER_NONNEG, HOUSEHOLDER_NEG})  # one generalised Householder factor per token
REFLECTING = frozenset({HOUSEHOLDER_NEG, PRODUCT_NEG})  # factors that reach reflections (beta = 2)
PRESET_DEPTH = 2  # the fewest layers a size preset gives (tiny); a config without n_layers has at least this many
# Layers whose fixed-depth stacks stay in TC0 at log precision (Merrill & Sabharwal 2023; Merrill et al. 2024).
TC0_LAYERS = frozenset({ATTENTION, DIAGONAL_NONNEG, DIAGONAL_NEG})


def _kind(letter: str, neg: bool, factors: int = 1) -> str:
    """A layer letter's kind, from the transition family the architectures declare for it (`factors`: n_h)."""
    from expressivity.architectures import LAYER_KINDS

    transition = LAYER_KINDS[letter].transition
    if transition == "attention":
        return ATTENTION
    if transition == "householder" or (transition == "householder-product" and factors == 1):
        return HOUSEHOLDER_NEG if neg else HOUSEHOLDER_NONNEG
    if transition == "householder-product":
        return PRODUCT_NEG if neg else PRODUCT_NONNEG
    if transition == "diagonal":
        return DIAGONAL_NEG if neg else DIAGONAL_NONNEG
    if transition == "nonlinear":
        return NONLINEAR_RNN
    if transition == "stack":
        return STACK_RNN
    raise ValueError(f"theory knows no layer kind for transition {transition!r} (letter {letter})")


@dataclass(frozen=True)
class ArchClass:
    """A model's expressivity class: its layer kinds bottom to top, and the config it was read from."""

    arch: str
    pattern: str  # expanded letters, bottom to top; one letter for a single-kind model
    neg_eigval: bool
    num_householder: int = 1  # factors per token of its DeltaProduct (P) layers
    depth: int | None = None  # its layers, where the config fixes them; None: a size preset's (>= PRESET_DEPTH)
    pos: str | None = None  # its attention's positional encoding ("rope", "nope"); None: no attention, or not known

    @property
    def layers(self) -> tuple[str, ...]:
        return tuple(self._kind(letter) for letter in self.pattern)

    def _kind(self, letter: str) -> str:
        return _kind(letter, self.neg_eigval, self.num_householder if letter == "P" else 1)

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(self.layers)

    @property
    def label(self) -> str:
        """Short name of the class, e.g. 'transformer', 'gdn[-1,1]', 'hybrid GGGA [0,1]', 'lstm',
        'deltaproduct[-1,1] n_h=2'; a single-kind model of one layer says so ('gdn[-1,1] 1 layer')."""
        has_range = any(k not in (ATTENTION, NONLINEAR_RNN, STACK_RNN) for k in self.layers)
        span = ("[-1,1]" if self.neg_eigval else "[0,1]") if has_range else ""
        factors = f" n_h={self.num_householder}" if "P" in self.pattern else ""
        if self.arch in _single_letters():
            return f"{self.arch}{span}{factors}" + (" 1 layer" if self.depth == 1 else "")
        return f"{self.arch} {self.pattern}" + (f" {span}" if span else "") + factors

    def count(self, kinds: frozenset[str]) -> int:
        """How many of its layers are of one of `kinds` (a preset's depth counts as PRESET_DEPTH)."""
        if self.arch in _single_letters():
            return (self.depth or PRESET_DEPTH) if self.layers[0] in kinds else 0
        return sum(k in kinds for k in self.layers)

    def factors(self, kinds: frozenset[str]) -> int:
        """The most Householder factors per token among its layers of one of `kinds` (0 if it has none)."""
        return max((self.num_householder if c == "P" else 1 for c in self.pattern if self._kind(c) in kinds), default=0)

    def before(self, first: str | frozenset[str], then: str | frozenset[str]) -> bool:
        """Does some layer of kind(s) `first` come below some layer of kind(s) `then`?"""
        first = frozenset({first}) if isinstance(first, str) else first
        then = frozenset({then}) if isinstance(then, str) else then
        lows = [i for i, k in enumerate(self.layers) if k in first]
        return bool(lows) and any(k in then for k in self.layers[lows[0] + 1 :])

    def describe(self) -> str:
        """One line per distinct layer kind, bottom-most first."""
        seen = list(dict.fromkeys(self.layers))
        return "; ".join(DESCRIPTIONS[k] for k in seen)


def _single_letters() -> dict[str, str]:
    from expressivity.architectures import single_letters

    return single_letters()


def arch_class(arch: str, params: Mapping[str, Any] | None = None) -> ArchClass:
    """The class of registry architecture `arch` built with `params` (the registry's defaults fill the rest).

    `neg_eigval` widens every recurrent layer; a hybrid's `pattern` is its layer stack. A pretrained model,
    "hf:<name>", is read from its config summary (`layers` as a pattern, `neg_eigval`). An architecture the theory
    does not know -> ValueError naming the known ones.
    """
    from expressivity import architectures

    if arch.startswith("hf:"):  # a pretrained model (eval-lm): params summarise its HF config (architectures.hf)
        p = dict(params or {})
        if not p.get("layers"):
            raise ValueError(f"no expressivity class for {arch}: {p.get('model_type')} layers map onto no layer kind")
        pattern = architectures.models.parse_pattern(p["layers"])
        pos = p.get("pos") if "A" in pattern else None  # the summary says, for the Olmo types it knows
        return ArchClass(arch=arch, pattern=pattern, neg_eigval=bool(p.get("neg_eigval", False)), pos=pos)
    merged = {**architectures.param_defaults(arch), **dict(params or {})}
    neg = bool(merged.get("neg_eigval", False))
    n_h = int(merged.get("num_householder", 1))
    singles = _single_letters()
    if arch in singles:
        depth, pattern = merged.get("n_layers"), singles[arch]
        pos = merged.get("pos") if "A" in pattern else None
        return ArchClass(arch=arch, pattern=pattern, neg_eigval=neg, num_householder=n_h, depth=depth, pos=pos)
    if "pattern" in merged:  # the registry's own parser: one pattern grammar, ValueError on a bad one
        pattern = architectures.models.parse_pattern(merged["pattern"])
        pos = merged.get("pos") if "A" in pattern else None  # a hybrid's default `pos` means nothing without attention
        return ArchClass(arch=arch, pattern=pattern, neg_eigval=neg, num_householder=n_h, depth=len(pattern), pos=pos)
    known = ", ".join([*singles, "any architecture with a `pattern` (hybrid)"])
    raise ValueError(f"no expressivity class for architecture {arch!r}; the theory knows {known}")
