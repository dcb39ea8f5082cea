"""One model class for every architecture: a stack of pre-norm blocks read from a pattern of letters.

    A attention   G Gated DeltaNet   D DeltaNet (no decay)   P Gated DeltaProduct   M diagonal recurrence   L LSTM
    S Stack-RNN (a tanh RNN with a differentiable stack)

`transformer` is "A" * n_layers, `gdn` is "G" * n_layers, a hybrid's pattern is its stack read bottom to top
("GGGA" is one Olmo Hybrid block, "GGGA*2" two). Each block is x + mixer(norm(x)) then x + mlp(norm(x)); L and S
blocks have no MLP (the RNN is nonlinear itself). Embedding -> blocks -> RMSNorm -> head (tied to the embedding or not).

`block="olmo"` gives the layers Olmo Hybrid's forms (transformers' `OlmoHybridForCausalLM`): attention blocks norm
each sublayer's output, x + norm(attn(x)) then x + norm(mlp(x)) (Olmo 3's layer), with q and k normed over the whole
projection; GDN and DeltaNet layers stay pre-norm with Olmo's arithmetic (gdn_layer.py); M and L layers are unchanged.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from expressivity.architectures.diagonal import DiagonalMixer
from expressivity.architectures.gdn_layer import DeltaRuleMixer
from expressivity.architectures.layers import Attention, RMSNorm, SwiGLU
from expressivity.architectures.lstm import LSTMMixer
from expressivity.architectures.stack_rnn import StackRNNMixer


@dataclass(frozen=True)
class LayerKind:
    """One layer letter: what it is, the family of its state transition (what theory reads) and its cost."""

    letter: str
    name: str
    transition: str  # "attention", "householder" (delta rules: I - beta k k^T), "householder-product" (n_h such
    # factors per token: DeltaProduct), "diagonal", "nonlinear" or "stack" (a nonlinear RNN with a stack)
    cost: float  # relative GPU time of one layer per token at the tiny size, for scheduling only (BENCHMARKS.md:
    # ms per step of 2-layer models: attention 10.0, GDN and DeltaNet 24.3, diagonal 22.0, LSTM 8.5)
    fusable: bool = True  # has a fused form (fused.py): its sequence op runs several models at once
    fused_in_grids: bool = True  # a grid fuses its runs by default (training/fusion.py's EXPRESSIVITY_UNFUSED)
    packable: bool = True  # reads packed rows (several examples a row: training/packing.py) through `pos`


# The one table of layer letters: patterns, the registry, theory's classes and the scheduler all read it.
LAYER_KINDS: dict[str, LayerKind] = {
    k.letter: k
    for k in (
        LayerKind("A", "attention", "attention", 1.0),
        LayerKind("G", "Gated DeltaNet", "householder", 2.4),
        LayerKind("D", "DeltaNet", "householder", 2.4),
        # not measured: the op runs GDN's chunked form on T * n_h steps, so about n_h times GDN's (2 by default)
        LayerKind("P", "DeltaProduct", "householder-product", 4.8),
        LayerKind("M", "diagonal", "diagonal", 2.2),
        # Fusable, but grids keep its runs apart: its fused op is a loop of small kernels over the positions, and on
        # a card a fused group of 12 ended well after 12 cuDNN runs had (BENCHMARKS.md, issue 13).
        LayerKind("L", "LSTM", "nonlinear", 0.85, packable=False, fused_in_grids=False),
        LayerKind("S", "Stack-RNN", "stack", 3.0, packable=False),  # cost not measured: a Python loop over steps
    )
}
LETTERS = {letter: kind.name for letter, kind in LAYER_KINDS.items()}
_PATTERN = re.compile(r"^([A-Z]+)(?:\*(\d+))?$")
NO_MLP = "LS"  # layers whose block has no MLP: the nonlinear RNNs
MAX_LAYERS = 256  # deeper stacks than any experiment here needs; a cap keeps a typo (G*100000) from hanging a build


def parse_pattern(pattern: str) -> str:
    """The layer letters, bottom to top ("GGGA*2" -> "GGGAGGGA"); a malformed pattern -> ValueError naming why."""
    if not isinstance(pattern, str) or not pattern:
        raise ValueError(f"pattern must be a non-empty string of layer letters such as 'GGGA', got {pattern!r}")
    match = _PATTERN.match(pattern)
    if not match:
        raise ValueError(f"pattern {pattern!r} is malformed: write a block of letters, optionally *N (e.g. 'GGGA*2')")
    block, repeat = match.group(1), match.group(2)
    bad = sorted(set(block) - set(LETTERS))
    if bad:
        known = ", ".join(f"{k} {v}" for k, v in LETTERS.items())
        raise ValueError(f"pattern {pattern!r} has unknown letter(s) {', '.join(bad)}; letters: {known}")
    if repeat is not None and int(repeat) < 1:
        raise ValueError(f"pattern {pattern!r}: the repeat count after * must be >= 1")
    depth = len(block) * (int(repeat) if repeat else 1)
    if depth > MAX_LAYERS:
        raise ValueError(f"pattern {pattern!r} has {depth} layers; at most {MAX_LAYERS} are allowed")
    return block * (int(repeat) if repeat else 1)


def packable(layers: str) -> bool:
    """Whether a stack of these layer letters can train on packed rows (several examples a row)."""
    return all(LAYER_KINDS[c].packable for c in layers)


def unpackable(layers: str) -> str:
    """Why these layers cannot train on packed rows: a one-line message naming the letters that cannot."""
    bad = "".join(sorted({c for c in layers if not LAYER_KINDS[c].packable}))
    can = ", ".join(k.letter for k in LAYER_KINDS.values() if k.packable)
    return f"packed rows need layers that read them ({can}); {', '.join(bad)} cannot: train these one example a row"


@dataclass
class ModelConfig:
    """Everything that defines a model; `build` fills it from a size preset and the caller's parameters."""

    vocab_size: int
    layers: str  # one letter per layer, bottom to top
    d_model: int
    n_heads: int
    mlp_widths: dict[str, int] = field(default_factory=dict)  # letter -> SwiGLU width (0: no MLP)
    lstm_hidden: int = 0
    stack_hidden: int = 0  # S layers: the controller's tanh units (matched, or Delétang et al.'s 256 if set)
    stack_cell: int = 8  # S layers: the width of a stack cell
    tie_embeddings: bool = True
    pos: str = "rope"
    qk_norm: bool = True
    rope_base: float = 10000.0
    neg_eigval: bool = False
    backend: str = "auto"
    conv_size: int = 4
    expand_v: int = 2
    num_householder: int = 2  # P layers: generalised Householder steps per token
    gated: bool = True  # P layers: with GDN's decay gate
    block: str = "prenorm"  # or "olmo": Olmo Hybrid's layer forms; or "plain" (an LSTM alone: no residual, no norms)
    norm_eps: float = 1e-6  # every RMSNorm but the GDN output norm (transformers' rms_norm_eps)
    gdn_heads: int | None = None  # heads of the delta-rule layers, G, D and P (None: n_heads)
    gdn_head_dim: int | None = None  # their key head dim (None: d_model / heads)
    output_gate: bool = True  # G, D and P: silu(W_gate x) on the output norm (fla's DeltaNet layer has none)
    init: str = "normal"  # "fla": fla's layer init on G, D and P mixers and the MLPs' down projections (_init_fla)


def make_mixer(letter: str, cfg: ModelConfig) -> nn.Module:
    """The token mixer of one layer."""
    d, h, olmo = cfg.d_model, cfg.n_heads, cfg.block == "olmo"
    if letter == "A":
        over = "projection" if olmo else "head"
        opts = dict(qk_norm=cfg.qk_norm, rope_base=cfg.rope_base, qk_norm_over=over, norm_eps=cfg.norm_eps)
        return Attention(d, h, pos=cfg.pos, **opts)
    delta = dict(neg_eigval=cfg.neg_eigval, backend=cfg.backend, conv_size=cfg.conv_size, expand_v=cfg.expand_v,
                 output_gate=cfg.output_gate)  # fmt: skip
    if letter in "GD":
        opts = delta
        heads = cfg.gdn_heads or h
        return DeltaRuleMixer(d, heads, decay=letter == "G", head_dim=cfg.gdn_head_dim, olmo=olmo, **opts)
    if letter == "P":
        opts = delta
        heads = cfg.gdn_heads or h
        return DeltaRuleMixer(d, heads, decay=cfg.gated, num_householder=cfg.num_householder,
                              head_dim=cfg.gdn_head_dim, **opts)  # fmt: skip
    if letter == "M":
        return DiagonalMixer(d, h, neg_eigval=cfg.neg_eigval, conv_size=cfg.conv_size, expand_v=cfg.expand_v)
    if letter == "L":
        return LSTMMixer(d, cfg.lstm_hidden)
    if letter == "S":
        return StackRNNMixer(d, cfg.stack_hidden, cfg.stack_cell)
    raise ValueError(f"unknown layer letter {letter!r}; letters: {', '.join(LETTERS)}")


class Block(nn.Module):
    """x + mixer(norm(x)), then x + mlp(norm(x)) when the block has an MLP; with `post_norm`, x + norm(mixer(x)), then
    x + norm(mlp(x)) (Olmo 3's attention layer)."""

    def __init__(
        self, mixer: nn.Module, d_model: int, mlp_width: int, *, post_norm: bool = False, eps: float = 1e-6,
        plain: bool = False,
    ):  # fmt: skip
        super().__init__()
        self.post_norm, self.plain = post_norm, plain
        self.norm1, self.mixer = (nn.Identity() if plain else RMSNorm(d_model, eps)), mixer
        self.norm2 = RMSNorm(d_model, eps) if mlp_width else None
        self.mlp = SwiGLU(d_model, mlp_width) if mlp_width else None

    def forward(self, x: torch.Tensor, pos: torch.Tensor | None = None) -> torch.Tensor:
        h = self.mixer_input(x)
        return self.after_mixer(x, self.mixer(h) if pos is None else self.mixer(h, pos))

    # The block cut at its mixer (fused.py runs the mixer's op for many models between the two halves).
    def mixer_input(self, x: torch.Tensor) -> torch.Tensor:
        """What the mixer reads: x normed, or x itself in the post-norm and plain forms."""
        return x if self.plain or self.post_norm else self.norm1(x)

    def after_mixer(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """The block's output from its input x and its mixer's output."""
        if self.plain:  # the mixer alone: an LSTM stack as Deletang et al. train it
            return out
        if self.post_norm:
            x = x + self.norm1(out)
            return x + self.norm2(self.mlp(x)) if self.mlp is not None else x
        x = x + out
        if self.mlp is not None:
            x = x + self.mlp(self.norm2(x))
        return x


class SequenceModel(nn.Module):
    """inputs int64 (B, T) -> logits (B, T, vocab_size); causal: logits at t read inputs[:, :t+1] only."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.blocks = nn.ModuleList(
            Block(
                make_mixer(c, cfg),
                cfg.d_model,
                0 if c in NO_MLP else cfg.mlp_widths[c],
                post_norm=cfg.block == "olmo" and c == "A",
                eps=cfg.norm_eps,
                plain=cfg.block == "plain",
            )
            for c in cfg.layers
        )
        # A plain LSTM stack has no final norm either: the head reads the LSTM's projected output directly.
        self.norm = nn.Identity() if cfg.block == "plain" else RMSNorm(cfg.d_model, cfg.norm_eps)
        self.head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        self.apply(self._init)
        for module in self.modules():  # mixers that keep their papers' own init (the Stack-RNN's)
            if isinstance(module, StackRNNMixer):
                module.reset_parameters()
        if cfg.init == "fla":
            self._init_fla()
        if cfg.tie_embeddings:
            self.head.weight = self.embed.weight

    @staticmethod
    def _init(module: nn.Module) -> None:
        # Small normal weights (GPT-2 / nanoGPT); the recurrent layers' own inits (decays, convolutions, LSTM) stay.
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
            if getattr(module, "bias", None) is not None:
                nn.init.zeros_(module.bias)

    @torch.no_grad()
    def _init_fla(self) -> None:
        """fla's initialisation, which Grazzi et al.'s models (fla's DeltaNet) started from: each projection of a
        delta-rule mixer xavier-uniform with gain 2^-2.5 (fla's layers init their own Linears so), each over its own
        fan-out (our one input projection holds q, k, v, gate and beta as row blocks: fla's are separate Linears), and
        every MLP's down projection divided by sqrt(2 n_layers) (GPT-2's residual scaling, fla's
        `rescale_prenorm_residual`). Embedding, head, attention and the other layers keep the normal init."""
        for block in self.blocks:
            if isinstance(block.mixer, DeltaRuleMixer):
                for rows in block.mixer.proj.weight.split(block.mixer.splits):  # views into the one weight
                    if rows.numel():
                        nn.init.xavier_uniform_(rows, gain=2**-2.5)
                nn.init.xavier_uniform_(block.mixer.out.weight, gain=2**-2.5)
            if block.mlp is not None:
                block.mlp.down.weight /= math.sqrt(2 * len(self.blocks))

    @property
    def config(self) -> dict:
        """The full configuration as plain data (for result stores)."""
        return asdict(self.cfg)

    def forward(self, inputs: torch.Tensor, pos: torch.Tensor | None = None) -> torch.Tensor:
        """inputs (B, T) -> logits (B, T, V). `pos` (B, T), for packed rows (training/packing.py): each token's
        position within its own example, so that every example is computed as if it were alone in its row."""
        if inputs.dim() != 2:
            raise ValueError(f"inputs must be int64 token ids of shape (B, T), got shape {tuple(inputs.shape)}")
        if pos is not None and not packable(self.cfg.layers):
            raise ValueError(unpackable(self.cfg.layers))
        x = self.embed(inputs)
        for block in self.blocks:
            x = block(x, pos)
        return self.head(self.norm(x))

    def num_params(self) -> int:
        """Trainable parameters, a tied embedding counted once."""
        return sum(p.numel() for p in self.parameters())

    def state_size(self, T: int) -> int:
        """Floats the model carries per sequence to continue after T tokens: recurrent states plus KV caches."""
        return sum(block.mixer.state_size(T) for block in self.blocks)
