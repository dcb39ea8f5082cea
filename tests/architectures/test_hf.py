"""from_hf / to_hf against transformers' own OlmoHybridForCausalLM and Olmo3ForCausalLM: same logits, exact round trips,
one-line refusals. Small random configs (hidden 64, 4 layers) with every parameter moved away from its init."""

import sys

import numpy as np
import pytest
import torch

from expressivity import architectures, tasks
from expressivity.architectures.hf_config import compress, layer_letters, summary

transformers = pytest.importorskip("transformers")
from expressivity.architectures.hf import from_hf, to_hf, vocab_tokenizer  # noqa: E402

V = 40


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    # Tiny models: threads fighting other processes for a shared machine's cores slow them down by orders of magnitude.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


CONFIGS = {  # id -> OlmoHybridConfig fields: the pattern of the paper, and two others; [-1,1] and [0,1]; RoPE and NoPE
    "GGGA-neg-rope": dict(layer_types=["linear_attention"] * 3 + ["full_attention"]),
    "AGAG-nonneg-rope-gdnheads": dict(
        layer_types=["full_attention", "linear_attention"] * 2,
        linear_allow_neg_eigval=False,
        linear_num_key_heads=2,
        linear_num_value_heads=2,
        linear_key_head_dim=16,
        linear_value_head_dim=48,
        rope_parameters={"rope_type": "default", "rope_theta": 500.0},
    ),
    "GAGG-neg-nope-tied": dict(
        layer_types=["linear_attention", "full_attention", "linear_attention", "linear_attention"],
        rope_parameters={"rope_type": "default", "rope_theta": None},
        tie_word_embeddings=True,
        rms_norm_eps=1e-5,
    ),
}


def _perturb(model, seed: int):
    """Move every parameter away from its init (norm weights off 1, A_log and dt_bias shifted), so each one matters."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g) * (0.3 if p.dim() < 2 else 0.05))
    return model


def hybrid(name: str, seed: int = 0):
    cfg = transformers.OlmoHybridConfig(
        vocab_size=V, hidden_size=64, intermediate_size=96, num_hidden_layers=4, num_attention_heads=4,
        pad_token_id=None, eos_token_id=None, **CONFIGS[name],
    )  # fmt: skip
    torch.manual_seed(seed)
    return _perturb(transformers.OlmoHybridForCausalLM(cfg), seed).eval()


def olmo3(**fields):
    cfg = transformers.Olmo3Config(
        vocab_size=V, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
        pad_token_id=None, eos_token_id=None, **{"layer_types": ["full_attention"] * 2, **fields},
    )  # fmt: skip
    torch.manual_seed(0)
    return _perturb(transformers.Olmo3ForCausalLM(cfg), 3).eval()


def _rel_error(hf_model, ours, T: int = 70) -> float:
    x = torch.randint(0, V, (3, T), generator=torch.Generator().manual_seed(5))  # T > 64: two GDN chunks
    with torch.no_grad():
        want, got = hf_model(x).logits, ours.eval()(x)
    return float((want - got).abs().max() / want.abs().max())


@pytest.mark.parametrize("name", CONFIGS)
def test_from_hf_gives_hf_logits(name):
    m = hybrid(name)
    ours = from_hf(m)
    assert ours.cfg.layers == "".join("G" if t == "linear_attention" else "A" for t in m.config.layer_types)
    assert ours.cfg.pos == ("nope" if m.model.rotary_emb is None else "rope")
    assert _rel_error(m, ours) < 1e-4


def test_from_hf_takes_olmo3_as_a_transformer():
    m = olmo3()
    ours = from_hf(m)
    assert ours.cfg.layers == "AA" and ours.cfg.norm_eps == 1e-5 and ours.cfg.rope_base == 500000.0
    assert _rel_error(m, ours, T=20) < 1e-4
    back = to_hf(ours)
    assert type(back).__name__ == "Olmo3ForCausalLM"
    assert all(torch.equal(v, back.state_dict()[k]) for k, v in m.state_dict().items())


@pytest.mark.parametrize("name", CONFIGS)
def test_to_hf_of_from_hf_is_the_same_state_dict(name):
    m = hybrid(name)
    back = to_hf(from_hf(m))
    want, got = m.state_dict(), back.state_dict()
    assert want.keys() == got.keys()
    assert all(torch.equal(want[k], got[k]) for k in want)
    for field in ("layer_types", "linear_key_head_dim", "linear_allow_neg_eigval", "tie_word_embeddings"):
        assert getattr(back.config, field) == getattr(m.config, field)
    assert (back.model.rotary_emb is None) == (m.model.rotary_emb is None)


def test_the_gdn_layer_needs_olmo_arithmetic():
    """One GDN layer with the same weights: Olmo's arithmetic (output norm eps 1e-5, fla's L2 norm) matches HF's layer,
    this package's default (eps 1e-6) does not: block='olmo' is what makes it Olmo's layer."""
    m = hybrid("GGGA-neg-rope")
    theirs, ours = m.model.layers[0].linear_attn, from_hf(m).blocks[0].mixer
    plain = architectures.gdn_layer.DeltaRuleMixer(64, 4, neg_eigval=True, head_dim=12, backend="torch")
    plain.load_state_dict(ours.state_dict())
    x = torch.randn(2, 70, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = theirs(x)
        errors = [float((want - mixer(x)).abs().max() / want.abs().max()) for mixer in (ours, plain)]
    assert errors[0] < 1e-5 < 1e-2 < errors[1]


def test_a_model_trained_here_survives_the_round_trip():
    task = tasks.make("parity")
    torch.manual_seed(0)
    model = architectures.build(
        "hybrid", vocab_size=len(task.vocab), pattern="GGA", neg_eigval=True, block="olmo", tie_embeddings=False,
        mlp_width=64, backend="torch",
    )  # fmt: skip
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    rng = np.random.default_rng(0)
    for _ in range(50):
        batch = task.sample(rng, 16, 8)
        logits = model(torch.from_numpy(batch.inputs))
        mask = torch.from_numpy(batch.mask)
        loss = torch.nn.functional.cross_entropy(logits[mask], torch.from_numpy(batch.targets)[mask])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    hf_model = to_hf(model)
    again = from_hf(hf_model).eval()
    x = torch.from_numpy(task.sample(rng, 4, 30).inputs)
    with torch.no_grad():
        assert torch.equal(model(x), again(x))
        want = hf_model(x).logits
        assert float((want - model(x)).abs().max() / want.abs().max()) < 1e-4


@pytest.mark.parametrize(
    "fields, why",
    [
        (dict(num_key_value_heads=2), "grouped key-value heads"),
        (dict(linear_num_value_heads=8), "key heads"),
        (dict(linear_key_head_dim=16, linear_value_head_dim=24), "whole multiple"),
        (dict(attention_bias=True), "attention_bias"),
        (dict(rope_parameters={"rope_type": "linear", "rope_theta": 1e4, "factor": 2.0}), "rope_type"),
    ],
)
def test_from_hf_refuses_what_does_not_map_with_one_line(fields, why):
    cfg = transformers.OlmoHybridConfig(
        vocab_size=V, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
        layer_types=["linear_attention", "full_attention"], pad_token_id=None, eos_token_id=None, **fields,
    )  # fmt: skip
    with pytest.raises(ValueError, match=why) as err:
        from_hf(transformers.OlmoHybridForCausalLM(cfg))
    assert "\n" not in str(err.value)


def test_from_hf_refuses_sliding_window_layers():
    with pytest.raises(ValueError, match="sliding_attention"):
        from_hf(olmo3(layer_types=["sliding_attention", "full_attention"]))


@pytest.mark.parametrize(
    "params, why",
    [
        (dict(pattern="GGGA", mlp_width=64), "block='olmo'"),
        (dict(pattern="GGGA", block="olmo"), "one intermediate_size"),
        (dict(pattern="GGG", block="olmo", mlp_width=64), "without attention"),
        (dict(pattern="GDA", block="olmo", mlp_width=64), "not D"),
        (dict(pattern="GA", block="olmo", mlp_width=64, qk_norm=False), "qk_norm"),
        (dict(pattern="AA", block="olmo", mlp_width=64, pos="nope"), "NoPE"),
    ],
)
def test_to_hf_refuses_what_hf_cannot_express(params, why):
    model = architectures.build("hybrid", vocab_size=V, **params)
    with pytest.raises(ValueError, match=why):
        to_hf(model)


def test_without_transformers_the_error_names_the_extra(monkeypatch):
    model = architectures.build("hybrid", vocab_size=V, pattern="GA", block="olmo", mlp_width=64)
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(ValueError, match=r"`hf` extra"):
        to_hf(model)


def test_layer_letters_and_summary_read_plain_configs():
    cfg = {"model_type": "olmo_hybrid", "num_hidden_layers": 8, "linear_allow_neg_eigval": True,
           "layer_types": (["linear_attention"] * 3 + ["full_attention"]) * 2, "hidden_size": 64}  # fmt: skip
    assert layer_letters(cfg) == "GGGAGGGA" and compress("GGGAGGGA") == "GGGA*2" and compress("GGA") == "GGA"
    assert summary(cfg)["layers"] == "GGGA*2" and summary(cfg)["neg_eigval"] is True
    assert summary({"model_type": "llama", "num_hidden_layers": 3})["layers"] == "A*3"
    assert summary({"model_type": "mamba", "num_hidden_layers": 3})["layers"] is None


def test_vocab_tokenizer_maps_token_i_to_id_i():
    vocab = tasks.make("state_based_recall").vocab  # with a "\n" token
    tok = vocab_tokenizer(vocab, pad="<pad>", bos="<bos>")
    words = vocab[2:]
    assert tok(" ".join(words))["input_ids"] == [1, *range(2, len(vocab))]
    assert tok(" ".join(words), add_special_tokens=False)["input_ids"][0] == vocab.index(words[0])
