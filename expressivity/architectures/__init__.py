"""Models for the testbed, built the way Olmo Hybrid is built, all in one registry.

    from expressivity import architectures
    architectures.names()     # transformer, gdn, deltanet, deltaproduct, diagonal, hybrid, lstm, stack_rnn
    model = architectures.build("hybrid", vocab_size=V, size="tiny", pattern="GGGA", neg_eigval=True)
    logits = model(inputs)                         # int64 (B, T) -> float (B, T, V); causal
    model.num_params(), model.state_size(T)

The size preset (`sizes()`) supplies d_model, n_layers (a hybrid's depth is its pattern's length) and n_heads;
explicit parameters override it. The MLP width (LSTM and Stack-RNN: hidden size) is matched so that every block has
a transformer block's parameter count (presets.py). Unknown names, sizes or parameters raise a one-line ValueError
naming the valid ones.

Olmo Hybrid at small size (what transformers' `OlmoHybridForCausalLM` computes; `hf.py` converts both ways):

    architectures.build("hybrid", vocab_size=V, pattern="GGGA", neg_eigval=True, block="olmo",
                        tie_embeddings=False, mlp_width=256)
"""

from __future__ import annotations

from typing import Any

from expressivity.architectures.models import (
    LAYER_KINDS,
    LETTERS,
    MAX_LAYERS,
    NO_MLP,
    ModelConfig,
    SequenceModel,
    parse_pattern,
)
from expressivity.architectures.presets import SIZES, matched_lstm_hidden, matched_mlp_width, matched_stack_hidden

__all__ = [
    "LAYER_KINDS",
    "LETTERS",
    "REGISTRY",
    "SequenceModel",
    "build",
    "describe",
    "layer_letters",
    "names",
    "param_defaults",
    "single_letters",
    "sizes",
]

_BACKENDS = ("auto", "torch", "recurrent", "fla")
_INITS = ("normal", "fla")  # models.SequenceModel: normal (std 0.02 everywhere) or fla's layer init (Grazzi et al.'s)
_BLOCKS = ("prenorm", "olmo", "plain")  # plain: an RNN alone, no residual and no norms (Delétang et al.'s)
_COMMON = {
    "d_model": None, "n_layers": None, "n_heads": None, "mlp_width": None, "tie_embeddings": True, "norm_eps": 1e-6,
}  # fmt: skip
_ATTN = {"pos": "rope", "qk_norm": True, "rope_base": 10000.0, "block": "prenorm"}
_DELTA = {
    "neg_eigval": False, "backend": "auto", "conv_size": 4, "expand_v": 2, "block": "prenorm", "gdn_heads": None,
    "gdn_head_dim": None, "output_gate": True, "init": "normal",
}  # fmt: skip
_DIAG = {"neg_eigval": False, "conv_size": 4, "expand_v": 2}
_PRODUCT = {"num_householder": 2, "gated": True}  # P layers only

_MODEL_OPTIONS = ("tie_embeddings", "pos", "qk_norm", "rope_base", "neg_eigval", "backend", "conv_size", "expand_v",
                  "block", "norm_eps", "gdn_heads", "gdn_head_dim", "num_householder", "gated",
                  "output_gate", "init", "stack_hidden", "stack_cell")  # fmt: skip

# name -> (layer letter, or None for a pattern; parameters and defaults; one line of description)
REGISTRY: dict[str, tuple[str | None, dict[str, Any], str]] = {
    "transformer": ("A", {**_COMMON, **_ATTN}, "causal attention, RoPE (or NoPE), QK-norm, SwiGLU"),
    "gdn": ("G", {**_COMMON, **_DELTA}, "Gated DeltaNet (Olmo Hybrid's recurrent layer)"),
    "deltanet": ("D", {**_COMMON, **_DELTA}, "DeltaNet: GDN without the decay gate"),
    "deltaproduct": (
        "P",
        {**_COMMON, **_DELTA, **_PRODUCT},
        "Gated DeltaProduct: num_householder generalised Householder steps per token (gated: GDN's decay)",
    ),
    "diagonal": ("M", {**_COMMON, **_DIAG}, "gated diagonal recurrence (Mamba2/GLA-like), no delta rule"),
    "hybrid": (
        None,
        {
            "pattern": "GGGA",
            **{k: v for k, v in _COMMON.items() if k != "n_layers"},
            **_ATTN,
            **_DELTA,
            "lstm_hidden": None,
            **_PRODUCT,
        },
        "layers as a pattern of A G D P M L, e.g. GGGA*2 (Olmo Hybrid) or AG, GA, AGA, GAG",
    ),
    "lstm": (
        "L",
        {
            **{k: v for k, v in _COMMON.items() if k not in ("n_heads", "mlp_width")},
            "lstm_hidden": None,
            "block": "prenorm",
        },  # fmt: skip
        "nonlinear RNN control (torch LSTM)",
    ),
    "stack_rnn": (
        "S",
        {
            **{k: v for k, v in _COMMON.items() if k not in ("n_heads", "mlp_width")},
            "stack_hidden": None,
            "stack_cell": 8,
            "block": "plain",
        },  # fmt: skip
        "Stack-RNN: a tanh RNN with a differentiable stack (Joulin & Mikolov; Delétang et al.'s DCF control)",
    ),
}


def single_letters() -> dict[str, str]:
    """Registry name -> layer letter, for the architectures made of one kind of layer (a hybrid spells a pattern)."""
    return {name: letter for name, (letter, _, _) in REGISTRY.items() if letter is not None}


def names() -> list[str]:
    """Every registered architecture, in registry order."""
    return list(REGISTRY)


def sizes() -> list[str]:
    """The size presets, smallest first."""
    return list(SIZES)


def _spec(name: str):
    if name not in REGISTRY:
        raise ValueError(f"unknown architecture {name!r}; valid: {', '.join(names())}")
    return REGISTRY[name]


def param_defaults(name: str) -> dict[str, Any]:
    """Every keyword `build(name, ...)` accepts besides vocab_size and size, with its default (None: from the size
    preset or matched)."""
    return dict(_spec(name)[1])


def describe(name: str) -> str:
    """One line on what the architecture is."""
    return _spec(name)[2]


def _check_int(name: str, key: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name}: {key} must be an integer >= {low}, got {value!r}")


def _check_bool(name: str, key: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{name}: {key} must be true or false, got {value!r}")


def _check_choice(name: str, key: str, value: Any, choices) -> None:
    if value not in choices:
        raise ValueError(f"{name}: {key} must be one of {', '.join(map(str, choices))}; got {value!r}")


def _validate(name: str, p: dict[str, Any]) -> None:
    for key in (
        "d_model",
        "n_layers",
        "n_heads",
        "conv_size",
        "expand_v",
        "num_householder",
        "gdn_heads",
        "gdn_head_dim",
        "stack_hidden",
        "stack_cell",
    ):
        if p.get(key) is not None:
            _check_int(name, key, p[key], 1)
    if p.get("n_layers") is not None and p["n_layers"] > MAX_LAYERS:
        raise ValueError(f"{name}: n_layers={p['n_layers']} is more than the {MAX_LAYERS} layers allowed")
    for key in ("mlp_width", "lstm_hidden"):
        if p.get(key) is not None:
            _check_int(name, key, p[key], 0 if key == "mlp_width" else 1)
    for key in ("tie_embeddings", "qk_norm", "neg_eigval", "gated", "output_gate"):
        if key in p:
            _check_bool(name, key, p[key])
    if "pos" in p:
        _check_choice(name, "pos", p["pos"], ("rope", "nope"))
    if "init" in p:
        _check_choice(name, "init", p["init"], _INITS)
    if "backend" in p:
        _check_choice(name, "backend", p["backend"], _BACKENDS)
    if "block" in p:
        _check_choice(name, "block", p["block"], _BLOCKS)
        if p["block"] == "plain" and name not in ("lstm", "stack_rnn"):
            raise ValueError(f"{name}: block='plain' is an RNN alone (Deletang et al.'s controls): lstm, stack_rnn")
        if name == "stack_rnn" and p["block"] != "plain":
            raise ValueError(f"{name}: block must be 'plain' (the Stack-RNN alone, as Deletang et al. train it)")
    if "norm_eps" in p and (
        isinstance(p["norm_eps"], bool) or not isinstance(p["norm_eps"], (int, float)) or not 0 < p["norm_eps"] < 1
    ):
        raise ValueError(f"{name}: norm_eps must be a number in (0, 1), got {p['norm_eps']!r}")
    if "rope_base" in p and (
        isinstance(p["rope_base"], bool) or not isinstance(p["rope_base"], (int, float)) or p["rope_base"] <= 0
    ):
        raise ValueError(f"{name}: rope_base must be a number > 0, got {p['rope_base']!r}")


def layer_letters(name: str, size: str = "tiny", **params: Any) -> str:
    """The stack of `build(name, size=size, **params)` as layer letters, bottom to top (no model is built)."""
    letter, defaults, _ = _spec(name)
    p = {**defaults, **params}
    return parse_pattern(p["pattern"]) if letter is None else letter * (p["n_layers"] or SIZES[size]["n_layers"])


def build(name: str, *, vocab_size: int, size: str = "tiny", **params: Any) -> SequenceModel:
    """Build architecture `name` for a vocabulary of `vocab_size` tokens at preset `size`, `params` overriding.

    Returns a SequenceModel: model(inputs int64 (B, T)) -> logits (B, T, vocab_size), with num_params(),
    state_size(T) and config.
    """
    letter, defaults, _ = _spec(name)
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; valid: {', '.join(sizes())}")
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        valid = ", ".join(f"{k}={v!r}" for k, v in defaults.items())
        raise ValueError(f"unknown parameter(s) {', '.join(unknown)} for architecture {name!r}; valid: {valid}")
    _check_int(name, "vocab_size", vocab_size, 1)
    p = {**defaults, **params}
    _validate(name, p)
    preset = SIZES[size]
    d_model = p["d_model"] or preset["d_model"]
    n_heads = p.get("n_heads") or preset["n_heads"]
    layers = layer_letters(name, size, **params)
    if set(layers) - set(NO_MLP) and d_model % n_heads:
        raise ValueError(f"{name}: d_model ({d_model}) must be a multiple of n_heads ({n_heads})")
    if "A" in layers and p["pos"] == "rope" and (d_model // n_heads) % 2:
        raise ValueError(f"{name}: RoPE needs an even head dim; d_model / n_heads = {d_model // n_heads}")
    if set(layers) & set("GDP") and p.get("gdn_heads") and not p.get("gdn_head_dim") and d_model % p["gdn_heads"]:
        raise ValueError(f"{name}: d_model ({d_model}) must be a multiple of gdn_heads ({p['gdn_heads']})")
    options = {k: p[k] for k in _MODEL_OPTIONS if k in p}
    cfg = ModelConfig(vocab_size=vocab_size, layers=layers, d_model=d_model, n_heads=n_heads, **options)
    for c in sorted(set(layers) - set(NO_MLP)):
        cfg.mlp_widths[c] = p["mlp_width"] if p.get("mlp_width") is not None else matched_mlp_width(c, cfg)
    if "L" in layers:
        cfg.lstm_hidden = p["lstm_hidden"] or matched_lstm_hidden(cfg)
    if "S" in layers:
        cfg.stack_hidden = p.get("stack_hidden") or matched_stack_hidden(cfg)
    return SequenceModel(cfg)
