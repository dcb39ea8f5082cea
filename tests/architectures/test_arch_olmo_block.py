"""The Olmo layer forms as model options: block="olmo", norm_eps, gdn_heads, gdn_head_dim (defaults: today's models)."""

import pytest
import torch

from expressivity import architectures


def _x(vocab: int = 12) -> torch.Tensor:
    return torch.randint(0, vocab, (2, 9), generator=torch.Generator().manual_seed(0))


def test_defaults_are_todays_models():
    for name in ("transformer", "gdn", "hybrid"):
        defaults = architectures.param_defaults(name)
        assert defaults["block"] == "prenorm" and defaults["norm_eps"] == 1e-6
        torch.manual_seed(0)
        plain = architectures.build(name, vocab_size=12)
        torch.manual_seed(0)
        explicit = architectures.build(name, vocab_size=12, block="prenorm", norm_eps=1e-6)
        assert torch.equal(plain(_x()), explicit(_x()))
        assert not any(b.post_norm for b in plain.blocks)


def test_olmo_attention_blocks_norm_each_sublayers_output():
    torch.manual_seed(0)
    model = architectures.build("hybrid", vocab_size=12, pattern="GA", block="olmo", mlp_width=32, norm_eps=1e-5)
    g, a = model.blocks
    assert not g.post_norm and a.post_norm and a.norm1.eps == 1e-5 and g.mixer.norm.eps == 1e-5
    assert a.mixer.q_norm.weight.shape == (64,)  # over the whole q projection, not one head's 32 dims
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
        x = torch.randn(2, 5, 64)
        want = x + a.norm1(a.mixer(x))
        want = want + a.norm2(a.mlp(want))
        assert torch.allclose(a(x), want)


def test_gdn_heads_and_head_dim_shape_the_delta_rule_layers_only():
    model = architectures.build("hybrid", vocab_size=12, pattern="GA", gdn_heads=4, gdn_head_dim=12, expand_v=2)
    g, a = model.blocks
    assert (g.mixer.n_heads, g.mixer.dk, g.mixer.dv) == (4, 12, 24)
    assert a.mixer.n_heads == 2  # the tiny preset's attention heads
    assert g.mixer.state_size(10) == 4 * 12 * 24 + g.mixer.conv.state_size()
    assert model(_x()).shape == (2, 9, 12)


def test_gdn_heads_and_head_dim_shape_deltaproduct_layers_too():
    # Until 2026-12-03 a P layer ignored them silently (a pilot's "8 heads" would have trained 2).
    model = architectures.build("deltaproduct", vocab_size=12, num_householder=2, gdn_heads=8, gdn_head_dim=6)
    p = model.blocks[0].mixer
    assert (p.n_heads, p.dk, p.dv) == (8, 6, 12)
    assert model(_x()).shape == (2, 9, 12)
    with pytest.raises(ValueError, match="multiple of gdn_heads"):
        architectures.build("deltaproduct", vocab_size=12, gdn_heads=5)


@pytest.mark.parametrize(
    "params, why",
    [
        ({"block": "postnorm"}, "block must be one of prenorm, olmo"),
        ({"norm_eps": 0}, "norm_eps"),
        ({"gdn_heads": 0}, "gdn_heads"),
        ({"gdn_heads": 3}, "multiple of gdn_heads"),
    ],
)
def test_bad_olmo_options_are_one_line_errors(params, why):
    with pytest.raises(ValueError, match=why):
        architectures.build("hybrid", vocab_size=12, **params)


@pytest.mark.parametrize(("arch", "extra"), [("deltanet", {}), ("gdn", {}), ("deltaproduct", {"num_householder": 2})])
def test_without_the_output_gate_a_delta_rule_layer_is_the_gated_one_with_a_plain_norm(arch, extra):
    """output_gate=False (fla's DeltaNet layer, as Grazzi et al. trained it): no gate rows in the input projection and
    RMSNorm(o) where the default has RMSNorm(o) * silu(W_gate x); every other weight means the same."""
    from expressivity.architectures.layers import RMSNorm

    torch.manual_seed(0)
    gated = architectures.build(arch, vocab_size=11, size="tiny", neg_eigval=True, **extra).blocks[0].mixer
    plain = architectures.build(arch, vocab_size=11, size="tiny", neg_eigval=True, output_gate=False, **extra)
    plain = plain.blocks[0].mixer
    keep = torch.ones(gated.proj.weight.shape[0], dtype=torch.bool)
    start = sum(gated.splits[:3])
    keep[start : start + gated.splits[3]] = False  # the gate's rows
    with torch.no_grad():
        plain.proj.weight.copy_(gated.proj.weight[keep])
        for name, p in plain.named_parameters():
            if name != "proj.weight":
                p.copy_(dict(gated.named_parameters())[name])
    x = torch.randn(2, 7, gated.proj.in_features)
    args, _ = gated.op_inputs(x)
    o = gated.op(**args)
    expected = gated.out(RMSNorm.forward(gated.norm, o).reshape(2, 7, -1))
    assert plain.proj.weight.shape[0] == gated.proj.weight.shape[0] - gated.splits[3]
    torch.testing.assert_close(plain(x), expected, rtol=1e-5, atol=1e-6)
