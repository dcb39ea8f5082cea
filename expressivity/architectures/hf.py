"""Olmo Hybrid as the ecosystem ships it: this package's models to and from transformers, weight for weight.

    from transformers import OlmoHybridForCausalLM
    from expressivity.architectures.hf import from_hf, to_hf

    ours = from_hf(hf_model)          # a SequenceModel with the same weights: the same logits (fp32, to ~1e-6)
    back = to_hf(ours)                # an OlmoHybridForCausalLM (Olmo3ForCausalLM for a transformer)
    back.save_pretrained(path)        # to_hf(from_hf(m)).state_dict() equals m.state_dict() exactly

`from_hf` takes transformers' `OlmoHybridForCausalLM` or `Olmo3ForCausalLM` and returns `hybrid` (or `transformer`)
built with `block="olmo"`; `to_hf` takes a model of G and A layers with `block="olmo"`, `qk_norm` and one MLP width.
Which configs map, and the one-line reason for each that does not, are in hf_config.py. The mapping is exact: this
package fuses projections HF keeps apart (attention's q, k, v; GDN's q, k, v, output gate, beta and decay inputs; the
SwiGLU's gate and up), and a fused weight is the HF weights stacked in that order.

transformers is the optional extra `hf` (pip install -r requirements-cpu.txt 'expressivity[hf]'); without it these
functions raise a one-line ValueError naming it.
"""

from __future__ import annotations

from typing import Any

from expressivity.architectures.hf_config import OLMO3, build_params, hf_config_kwargs, layer_letters, summary

__all__ = ["from_hf", "layer_letters", "summary", "to_hf", "vocab_tokenizer", "weight_map"]


def _transformers():
    try:
        import transformers
    except ImportError:
        raise ValueError(
            "transformers is not installed: install the `hf` extra (pip install -r requirements-cpu.txt "
            "'expressivity[hf]')"
        ) from None
    return transformers


def weight_map(layers: str, *, tied: bool) -> list[tuple[str, list[str]]]:
    """(this package's parameter, the HF parameters stacked along dim 0 to make it), for a stack of G and A layers."""
    out = [("embed.weight", ["model.embed_tokens.weight"]), ("norm.weight", ["model.norm.weight"])]
    out.append(("head.weight", ["model.embed_tokens.weight" if tied else "lm_head.weight"]))
    for i, c in enumerate(layers):
        ours, hf = f"blocks.{i}.", f"model.layers.{i}."
        mlp = [
            (ours + "mlp.gate_up.weight", [hf + "mlp.gate_proj.weight", hf + "mlp.up_proj.weight"]),
            (ours + "mlp.down.weight", [hf + "mlp.down_proj.weight"]),
        ]
        if c == "G":  # pre-norm: input_layernorm before the mixer, post_attention_layernorm before the MLP
            g = hf + "linear_attn."
            out += [
                (ours + "norm1.weight", [hf + "input_layernorm.weight"]),
                (ours + "norm2.weight", [hf + "post_attention_layernorm.weight"]),
                (ours + "mixer.proj.weight", [g + f"{p}_proj.weight" for p in "qkvgba"]),  # DeltaRuleMixer.splits
                (ours + "mixer.conv.conv.weight", [g + "conv1d.weight"]),
                (ours + "mixer.A_log", [g + "A_log"]),
                (ours + "mixer.dt_bias", [g + "dt_bias"]),
                (ours + "mixer.norm.weight", [g + "o_norm.weight"]),
                (ours + "mixer.out.weight", [g + "o_proj.weight"]),
            ]
        elif c == "A":  # post-norm: each norm follows its sublayer
            a = hf + "self_attn."
            out += [
                (ours + "norm1.weight", [hf + "post_attention_layernorm.weight"]),
                (ours + "norm2.weight", [hf + "post_feedforward_layernorm.weight"]),
                (ours + "mixer.qkv.weight", [a + f"{p}_proj.weight" for p in "qkv"]),
                (ours + "mixer.out.weight", [a + "o_proj.weight"]),
                (ours + "mixer.q_norm.weight", [a + "q_norm.weight"]),
                (ours + "mixer.k_norm.weight", [a + "k_norm.weight"]),
            ]
        else:
            raise ValueError(f"HF layer_types have no layer for letter {c!r}")
        out += mlp
    return out


def from_hf(model) -> Any:
    """A transformers OlmoHybridForCausalLM or Olmo3ForCausalLM as this package's SequenceModel (fp32, on the CPU)
    with the same weights. A config that does not map -> ValueError with the reason (hf_config.py)."""
    import torch

    from expressivity import architectures

    config = model.config
    nope = getattr(getattr(model, "model", None), "rotary_emb", "absent") is None
    name, params = build_params(config, nope=nope)
    with torch.random.fork_rng(devices=[]):  # the weights are overwritten: leave the caller's RNG untouched
        ours = architectures.build(name, vocab_size=config.vocab_size, **params)
    theirs = model.state_dict()
    state = {
        key: torch.cat([theirs[k].detach().to("cpu", torch.float32) for k in parts])
        for key, parts in weight_map(ours.cfg.layers, tied=ours.cfg.tie_embeddings)
    }
    ours.load_state_dict(state, strict=True)
    return ours


def hf_config(model):
    """The transformers config of the HF model that computes what this package's `model` computes."""
    transformers = _transformers()
    model_type, kwargs = hf_config_kwargs(model.cfg)
    cls = transformers.Olmo3Config if model_type == OLMO3 else transformers.OlmoHybridConfig
    return cls(**kwargs)


def to_hf(model, **overrides: Any) -> Any:
    """This package's model (G and A layers, block="olmo") as a transformers OlmoHybridForCausalLM (Olmo3ForCausalLM
    when every layer attends) with the same weights, in eval mode on the CPU. `overrides` set other config fields
    (pad_token_id, bos_token_id, max_position_embeddings, ...). A model HF cannot express -> ValueError naming why."""
    import torch

    transformers = _transformers()
    config = hf_config(model)
    for key, value in overrides.items():
        setattr(config, key, value)
    cls = transformers.Olmo3ForCausalLM if config.model_type == OLMO3 else transformers.OlmoHybridForCausalLM
    with torch.random.fork_rng(devices=[]):
        theirs = cls(config)
    ours = model.state_dict()
    sizes = {k: v.shape[0] for k, v in theirs.state_dict().items()}
    state: dict[str, torch.Tensor] = {}
    for key, parts in weight_map(model.cfg.layers, tied=model.cfg.tie_embeddings):
        chunks = ours[key].detach().to("cpu").split([sizes[k] for k in parts])
        state.update({k: t.clone() for k, t in zip(parts, chunks, strict=True)})
    if model.cfg.tie_embeddings:
        state["lm_head.weight"] = state["model.embed_tokens.weight"]
    theirs.load_state_dict(state, strict=True)
    if model.cfg.tie_embeddings:
        theirs.tie_weights()
    return theirs.eval()


def vocab_tokenizer(vocab: list[str], *, pad: str | None = None, bos: str | None = None):
    """A word-level transformers tokenizer for a model that has none: token i of `vocab` is id i (how this package's
    models read a task), words are separated by single spaces, `bos` (when given) is prepended as a special token
    when special tokens are added, and `pad` is the padding token. A word outside `vocab` fails to encode."""
    _transformers()
    from tokenizers import Tokenizer, pre_tokenizers, processors
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    bad = [t for t in vocab if not t or " " in t]
    if bad:
        raise ValueError(f"a word-level tokenizer needs tokens without spaces; got {bad[:3]!r}")
    ids = {tok: i for i, tok in enumerate(vocab)}
    tok = Tokenizer(WordLevel(ids, unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.Split(" ", behavior="removed")
    if bos is not None:
        tok.post_processor = processors.TemplateProcessing(single=f"{bos} $A", special_tokens=[(bos, ids[bos])])
    special = {k: v for k, v in (("pad_token", pad), ("bos_token", bos)) if v is not None}
    return PreTrainedTokenizerFast(tokenizer_object=tok, **special)


def describe(config) -> str:
    """One line on an HF config: type, layers and widths (for logs and errors)."""
    s = summary(config)
    return f"{s['model_type']} layers={s['layers']} d_model={s['d_model']} heads={s['n_heads']} vocab={s['vocab_size']}"
