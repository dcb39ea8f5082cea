"""transformers configs as this package's build parameters and back, and as plain data for result rows.

    params = build_params(hf_model.config, nope=hf_model.model.rotary_emb is None)
    # ("hybrid", {"pattern": "GGGA", "neg_eigval": True, "block": "olmo", "mlp_width": 96, ...}) or ValueError: why
    hf_kwargs = hf_config_kwargs(model.cfg)           # (model_type, OlmoHybridConfig / Olmo3Config keyword arguments)
    summary(config)                                    # {"model_type", "layers", "neg_eigval", ...} for store rows

Which configs map (`build_params`), each refusal one line naming the field:
- model_type `olmo_hybrid` (OlmoHybridForCausalLM) or `olmo3` (Olmo3ForCausalLM, whose layers all attend);
- silu MLPs and convolutions, no attention bias, no dropout, no grouped key-value heads, head_dim = hidden / heads;
- GDN layers with as many key heads as value heads (this package's GDN has one head count) and a value head dim that
  is a whole multiple of the key head dim (`expand_v`); their head count and key head dim may differ from attention's
  (`gdn_heads`, `gdn_head_dim`: HF's default key head dim is 0.75 x hidden / heads);
- `full_attention` and `linear_attention` layers only (Olmo 3's `sliding_attention` has no counterpart here);
- RoPE of type `default`, or none: an OlmoHybrid whose `model.rotary_emb` is None (rope_theta None) is NoPE.
One `intermediate_size` serves every HF layer, so the reverse direction needs a model with one MLP width.
"""

from __future__ import annotations

from typing import Any

OLMO_HYBRID, OLMO3 = "olmo_hybrid", "olmo3"
LAYER_TYPES = {"linear_attention": "G", "full_attention": "A", "sliding_attention": "A"}
# HF model types whose every layer is softmax attention, for the theory class of pretrained models (`summary`).
ATTENTION_ONLY = frozenset({"olmo", "olmo2", "olmo3", "llama", "mistral", "qwen2", "qwen3", "gpt2", "gpt_neox"})


def _get(config, key: str, default: Any = None) -> Any:
    return config.get(key, default) if isinstance(config, dict) else getattr(config, key, default)


def layer_letters(config) -> str | None:
    """The layer stack of an HF config (a config object or its dict) as letters bottom to top, or None when its
    layers do not map onto this package's kinds (a model type this package does not know)."""
    model_type = _get(config, "model_type")
    n = _get(config, "num_hidden_layers") or _get(config, "n_layer")
    types = _get(config, "layer_types")
    gdn_ok = model_type == OLMO_HYBRID or "linear_attention" not in (types or ())  # linear layers of other kinds
    if types and all(t in LAYER_TYPES for t in types) and gdn_ok:
        return "".join(LAYER_TYPES[t] for t in types)
    if model_type in ATTENTION_ONLY and n:
        return "A" * int(n)
    return None


def compress(letters: str) -> str:
    """The shortest pattern that spells `letters` ("GGGAGGGA" -> "GGGA*2"), as `parse_pattern` reads it."""
    for size in range(1, len(letters) + 1):
        block, rest = letters[:size], len(letters) % size
        if not rest and block * (len(letters) // size) == letters:
            return block if size == len(letters) else f"{block}*{len(letters) // size}"
    return letters


def _rope(config, model_type: str) -> dict | None:
    params = _get(config, "rope_parameters")
    if model_type == OLMO3 and params is not None:
        params = params.get("full_attention", params)
    return params


def summary(config) -> dict[str, Any]:
    """An HF config as the plain data a result row keeps: what theory reads (`layers` as a pattern or None,
    `neg_eigval`) and what tells models apart (type, widths, positions)."""
    model_type = _get(config, "model_type")
    letters = layer_letters(config)
    rope = _rope(config, model_type) or {}
    out = {
        "model_type": model_type,
        "layers": None if letters is None else compress(letters),
        "neg_eigval": bool(_get(config, "linear_allow_neg_eigval", False)) if letters and "G" in letters else False,
        "d_model": _get(config, "hidden_size"),
        "n_layers": _get(config, "num_hidden_layers"),
        "n_heads": _get(config, "num_attention_heads"),
        "vocab_size": _get(config, "vocab_size"),
    }
    if model_type in (OLMO_HYBRID, OLMO3):
        out["pos"] = "rope" if rope.get("rope_theta") is not None else "nope"
    return out


def _refuse(model_type: str, why: str) -> ValueError:
    return ValueError(f"this {model_type} config does not map onto this package's models: {why}")


def build_params(config, *, nope: bool | None = None) -> tuple[str, dict[str, Any]]:
    """(registry name, build parameters) of the model an OlmoHybrid or Olmo 3 config describes; `nope` says whether
    the HF model has no rotary embedding (default: read from the config). A config that does not map -> ValueError
    with the reason."""
    model_type = _get(config, "model_type")
    if model_type not in (OLMO_HYBRID, OLMO3):
        raise ValueError(f"from_hf takes OlmoHybridForCausalLM or Olmo3ForCausalLM, not model type {model_type!r}")
    d, h = _get(config, "hidden_size"), _get(config, "num_attention_heads")
    checks = [
        (_get(config, "hidden_act") == "silu", f"hidden_act {_get(config, 'hidden_act')!r} (only silu)"),
        (not _get(config, "attention_bias"), "attention_bias (no biases here)"),
        (not _get(config, "attention_dropout"), "attention_dropout (no dropout here)"),
        (_get(config, "num_key_value_heads", h) == h, "grouped key-value heads (num_key_value_heads != heads)"),
        (d % h == 0 and _get(config, "head_dim", d // h) in (None, d // h), "head_dim != hidden_size / heads"),
    ]
    types = list(_get(config, "layer_types") or [])
    bad = sorted(set(types) - {"full_attention", "linear_attention"})
    checks.append((not bad, f"layer type(s) {', '.join(bad)} (full_attention and linear_attention only)"))
    for ok, why in checks:
        if not ok:
            raise _refuse(model_type, why)
    letters = "".join(LAYER_TYPES[t] for t in types)
    rope = _rope(config, model_type)
    if nope is None:
        nope = model_type == OLMO_HYBRID and (rope is None or rope.get("rope_theta") is None)
    if not nope and (rope or {}).get("rope_type", "default") != "default":
        raise _refuse(model_type, f"rope_type {rope.get('rope_type')!r} (default RoPE or none)")
    params: dict[str, Any] = {
        "d_model": d,
        "n_heads": h,
        "mlp_width": _get(config, "intermediate_size"),
        "tie_embeddings": bool(_get(config, "tie_word_embeddings")),
        "block": "olmo",
        "pos": "nope" if nope else "rope",
    }
    if not nope:
        params["rope_base"] = float(rope["rope_theta"])
    if _get(config, "rms_norm_eps") != 1e-6:
        params["norm_eps"] = float(_get(config, "rms_norm_eps"))
    if "G" in letters:
        params.update(_gdn_params(config, d, h, model_type))
    if "G" not in letters:
        return "transformer", {**params, "n_layers": len(letters)}
    return "hybrid", {"pattern": compress(letters), **params}


def _gdn_params(config, d: int, h: int, model_type: str) -> dict[str, Any]:
    key_heads, value_heads = _get(config, "linear_num_key_heads"), _get(config, "linear_num_value_heads")
    dk, dv = _get(config, "linear_key_head_dim"), _get(config, "linear_value_head_dim")
    if key_heads != value_heads:
        raise _refuse(model_type, f"GDN key heads ({key_heads}) != value heads ({value_heads})")
    if dv % dk:
        raise _refuse(model_type, f"GDN value head dim {dv} is not a whole multiple of the key head dim {dk}")
    out = {"neg_eigval": bool(_get(config, "linear_allow_neg_eigval")), "expand_v": dv // dk}
    out["conv_size"] = _get(config, "linear_conv_kernel_dim")
    if key_heads != h:
        out["gdn_heads"] = key_heads
    if dk != d // key_heads:
        out["gdn_head_dim"] = dk
    return out


def hf_config_kwargs(cfg) -> tuple[str, dict[str, Any]]:
    """(model type, config keyword arguments) of the HF model that computes what a ModelConfig `cfg` does; a model
    HF cannot express -> ValueError with the reason."""
    layers = cfg.layers
    if set(layers) - set("GA"):
        other = ", ".join(sorted(set(layers) - set("GA")))
        raise ValueError(f"to_hf: HF's layer_types express GDN (G) and attention (A) layers only, not {other}")
    if cfg.block != "olmo":
        raise ValueError("to_hf: the model must have Olmo's layer forms (build it with block='olmo')")
    if "G" in layers and not cfg.output_gate:
        raise ValueError("to_hf: Olmo's GDN layers always gate their output norm (build it with output_gate=True)")
    if "A" in layers and not cfg.qk_norm:
        raise ValueError("to_hf: Olmo's attention always norms q and k (build it with qk_norm=True)")
    widths = {cfg.mlp_widths[c] for c in set(layers)}
    if len(widths) != 1 or 0 in widths:
        raise ValueError(f"to_hf: HF has one intermediate_size for every layer; this model's MLP widths are "
                         f"{dict(sorted(cfg.mlp_widths.items()))} (build it with mlp_width=W)")  # fmt: skip
    if "A" not in layers:
        raise ValueError("to_hf: OlmoHybridConfig refuses a stack without attention layers (all GDN)")
    kwargs: dict[str, Any] = {
        "vocab_size": cfg.vocab_size,
        "hidden_size": cfg.d_model,
        "intermediate_size": widths.pop(),
        "num_hidden_layers": len(layers),
        "num_attention_heads": cfg.n_heads,
        "num_key_value_heads": cfg.n_heads,
        "hidden_act": "silu",
        "rms_norm_eps": cfg.norm_eps,
        "tie_word_embeddings": cfg.tie_embeddings,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "pad_token_id": None,
        "bos_token_id": None,
        "eos_token_id": None,
    }
    if "G" not in layers:
        if cfg.pos != "rope":
            raise ValueError("to_hf: Olmo 3 always applies RoPE, and OlmoHybrid needs a GDN layer: no NoPE transformer")
        rope = {"rope_type": "default", "rope_theta": cfg.rope_base}
        types = ["full_attention"] * len(layers)
        return OLMO3, {**kwargs, "layer_types": types, "sliding_window": None, "rope_parameters": {t: rope for t in
                       ("full_attention", "sliding_attention")}}  # fmt: skip
    heads = cfg.gdn_heads or cfg.n_heads
    dk = cfg.gdn_head_dim or cfg.d_model // heads
    kwargs.update(
        layer_types=["linear_attention" if c == "G" else "full_attention" for c in layers],
        rope_parameters={"rope_type": "default", "rope_theta": cfg.rope_base if cfg.pos == "rope" else None},
        linear_num_key_heads=heads,
        linear_num_value_heads=heads,
        linear_key_head_dim=dk,
        linear_value_head_dim=cfg.expand_v * dk,
        linear_conv_kernel_dim=cfg.conv_size,
        linear_allow_neg_eigval=cfg.neg_eigval,
    )
    return OLMO_HYBRID, kwargs
