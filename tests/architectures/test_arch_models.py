"""The architecture registry and models: build errors, patterns, parameter matching, shapes, state sizes, causality."""

from dataclasses import dataclass

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from expressivity import architectures
from expressivity.architectures.layers import Attention, ShortConv
from expressivity.architectures.models import parse_pattern
from expressivity.architectures.stack_rnn import StackRNNMixer

ALL_LETTERS = "GDPMLA"  # a hybrid that has every kind of layer


def small(name: str, **params):
    """A fast model of any registered architecture (d_model 16, 2 heads)."""
    extra = {"pattern": ALL_LETTERS} if name == "hybrid" else {}
    heads = {} if name in ("lstm", "stack_rnn") else {"n_heads": 2}
    return architectures.build(name, vocab_size=11, d_model=16, **heads, **extra, **params)


def test_registry_lists():
    assert architectures.names() == [
        "transformer", "gdn", "deltanet", "deltaproduct", "diagonal", "hybrid", "lstm", "stack_rnn"
    ]  # fmt: skip
    assert architectures.sizes() == ["tiny", "small", "base"]
    for name in architectures.names():
        defaults = architectures.param_defaults(name)
        assert ("neg_eigval" in defaults) == (name not in ("transformer", "lstm", "stack_rnn"))
        assert ("backend" in defaults) == (name in ("gdn", "deltanet", "deltaproduct", "hybrid"))
        assert ("num_householder" in defaults) == ("gated" in defaults) == (name in ("deltaproduct", "hybrid"))
        assert ("pattern" in defaults) == (name == "hybrid")
        assert architectures.describe(name)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"name": "mamba"},
            "unknown architecture 'mamba'; valid: transformer, gdn, deltanet, deltaproduct, diagonal, hybrid, lstm, "
            "stack_rnn",
        ),
        ({"size": "huge"}, "unknown size 'huge'; valid: tiny, small, base"),
        ({"bogus": 1}, "unknown parameter(s) bogus for architecture 'gdn'; valid: d_model=None"),
        ({"neg_eigval": "yes"}, "neg_eigval must be true or false"),
        ({"backend": "cuda"}, "backend must be one of auto, torch, recurrent, fla"),
        ({"d_model": 0}, "d_model must be an integer >= 1"),
        ({"n_layers": 2.5}, "n_layers must be an integer >= 1"),
        ({"d_model": 30, "n_heads": 4}, "d_model (30) must be a multiple of n_heads (4)"),
        ({"vocab_size": 0}, "vocab_size must be an integer >= 1"),
        ({"name": "transformer", "pos": "alibi"}, "pos must be one of rope, nope"),
        ({"name": "transformer", "d_model": 12, "n_heads": 4}, "RoPE needs an even head dim"),
        ({"name": "transformer", "neg_eigval": True}, "unknown parameter(s) neg_eigval for architecture 'transformer'"),
        ({"name": "lstm", "n_heads": 2}, "unknown parameter(s) n_heads for architecture 'lstm'"),
        ({"name": "hybrid", "n_layers": 2}, "unknown parameter(s) n_layers for architecture 'hybrid'"),
        ({"name": "deltaproduct", "num_householder": 0}, "num_householder must be an integer >= 1"),
        ({"name": "hybrid", "num_householder": 1.5}, "num_householder must be an integer >= 1"),
        ({"name": "deltaproduct", "gated": "no"}, "gated must be true or false"),
        ({"num_householder": 2}, "unknown parameter(s) num_householder for architecture 'gdn'"),
    ],
)
def test_build_errors_are_one_line_and_name_the_problem(kwargs, expected):
    kwargs = {"name": "gdn", "vocab_size": 5, **kwargs}
    with pytest.raises(ValueError) as err:
        architectures.build(kwargs.pop("name"), **kwargs)
    assert expected in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("", "non-empty"),
        ("GGX", "unknown letter(s) X; letters: A attention, G Gated DeltaNet"),
        ("gga", "malformed"),
        ("GGGA*", "malformed"),
        ("GA*2*2", "malformed"),
        ("GGGA*0", "repeat count after * must be >= 1"),
        (3, "non-empty string"),
    ],
)
def test_bad_patterns(pattern, expected):
    with pytest.raises(ValueError, match="pattern") as err:
        architectures.build("hybrid", vocab_size=5, pattern=pattern)
    assert expected in str(err.value)


@pytest.mark.parametrize(
    ("pattern", "layers"),
    [
        ("GGGA", "GGGA"),
        ("GGGA*2", "GGGAGGGA"),
        ("AG", "AG"),
        ("GA", "GA"),
        ("AGA", "AGA"),
        ("GAG", "GAG"),
        ("L*3", "LLL"),
        ("GPA", "GPA"),
    ],
)
def test_a_pattern_is_the_layer_stack_bottom_to_top(pattern, layers):
    assert parse_pattern(pattern) == layers
    model = architectures.build("hybrid", vocab_size=5, pattern=pattern, num_householder=3)
    assert len(model.blocks) == len(layers)
    kinds = {"A": "Attention", "M": "DiagonalMixer", "L": "LSTMMixer", **dict.fromkeys("GDP", "DeltaRuleMixer")}
    assert [type(b.mixer).__name__ for b in model.blocks] == [kinds[c] for c in layers]
    assert all(b.mixer.decay == (c in "GP") for b, c in zip(model.blocks, layers, strict=True) if c in "GDP")
    assert all(b.mixer.num_householder == (3 if c == "P" else 1) for b, c in zip(model.blocks, layers, strict=True)
               if c in "GDP")  # fmt: skip


@pytest.mark.parametrize("size", ["tiny", "small", "base"])
@pytest.mark.parametrize("vocab_size", [4, 300])
def test_presets_match_parameter_counts_within_ten_percent(size, vocab_size):
    reference = architectures.build("transformer", vocab_size=vocab_size, size=size).num_params()
    for name in architectures.names():
        if name != "hybrid":
            count = architectures.build(name, vocab_size=vocab_size, size=size).num_params()
            assert abs(count / reference - 1) <= 0.10, (name, count, reference)
    for pattern in ("GGGA", "AG", "GAG", "GDML", "GGGA*2", "PPPA", "GPMA"):
        depth = len(parse_pattern(pattern))
        ref = architectures.build("transformer", vocab_size=vocab_size, size=size, n_layers=depth).num_params()
        count = architectures.build("hybrid", vocab_size=vocab_size, size=size, pattern=pattern).num_params()
        assert abs(count / ref - 1) <= 0.10, (pattern, count, ref)


def test_explicit_parameters_override_the_preset():
    model = architectures.build("hybrid", vocab_size=9, d_model=128, pattern="GGGA", neg_eigval=True, mlp_width=40)
    assert model.cfg.d_model == 128 and model.cfg.n_heads == 2 and model.cfg.neg_eigval
    assert all(b.mlp.down.in_features == 40 for b in model.blocks)
    untied = architectures.build("transformer", vocab_size=50, tie_embeddings=False)
    tied = architectures.build("transformer", vocab_size=50)
    assert tied.head.weight is tied.embed.weight and untied.head.weight is not untied.embed.weight
    assert untied.num_params() == tied.num_params() + 50 * 64
    assert sum(p.numel() for p in tied.parameters()) == tied.num_params()
    assert tied.config["layers"] == "AA"


@pytest.mark.parametrize("name", architectures.names())
def test_forward_shapes_and_state_sizes(name):
    model = small(name)
    x = torch.randint(0, 11, (3, 13))
    logits = model(x)
    assert logits.shape == (3, 13, 11) and logits.dtype == torch.float32 and torch.isfinite(logits).all()
    logits.sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    grows = model.state_size(200) - model.state_size(100)
    n_attention = sum(isinstance(b.mixer, Attention) for b in model.blocks)
    n_stack = sum(isinstance(b.mixer, StackRNNMixer) for b in model.blocks)
    assert grows == n_attention * 2 * 100 * 16 + n_stack * 100 * 8  # only the KV cache and a stack grow with T
    assert model.state_size(1) > 0


def test_deltaproduct_state_size_counts_its_matrix_state_and_the_wider_convolution():
    model = architectures.build("deltaproduct", vocab_size=5, d_model=32, n_heads=2, n_layers=3, num_householder=3)
    dk = dv_half = 16
    conv_channels = 2 * dk + 3 * 2 * dk + 3 * 2 * 2 * dv_half  # q, then 3 keys and 3 values (value dim 2 * dk)
    per_layer = 2 * dk * (2 * dk) + (4 - 1) * conv_channels
    assert model.state_size(10) == model.state_size(1000) == 3 * per_layer
    ungated = architectures.build("deltaproduct", vocab_size=5, d_model=32, n_heads=2, gated=False)
    assert not hasattr(ungated.blocks[0].mixer, "A_log") and ungated.blocks[0].mixer.num_householder == 2


@pytest.mark.parametrize("name", ["gdn", "deltaproduct", "hybrid"])
def test_bf16_autocast_with_backward_inside_the_region(name):
    """As a training loop may do it; the torch op's backward and the backend check must not inherit autocast."""
    model = small(name, backend="auto")
    x = torch.randint(0, 11, (2, 40))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(x)
        logits.float().logsumexp(-1).mean().backward()
    assert torch.isfinite(logits.float()).all()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


@dataclass(frozen=True)
class Probe:
    T: int
    t: int  # the last position that both sequences share
    seed: int


probes = st.integers(2, 20).flatmap(
    lambda T: st.builds(Probe, T=st.just(T), t=st.integers(0, T - 2), seed=st.integers(0, 2**31 - 1))
)


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    plain = ("transformer", "lstm", "stack_rnn")  # no eigenvalue range to set
    return {name: small(name) if name in plain else small(name, neg_eigval=True) for name in architectures.names()}


@pytest.mark.parametrize("name", architectures.names())
def test_changing_later_tokens_never_changes_earlier_logits(name, models):
    model = models[name].double()

    @settings(max_examples=20)
    @given(probes)
    def check(probe):
        gen = torch.Generator().manual_seed(probe.seed)
        a = torch.randint(0, 11, (2, probe.T), generator=gen)
        b = a.clone()
        b[:, probe.t + 1 :] = torch.randint(0, 11, (2, probe.T - probe.t - 1), generator=gen)
        b[:, probe.t + 1] = (a[:, probe.t + 1] + 1) % 11  # differs right after t, at least
        with torch.no_grad():
            la, lb = model(a), model(b)
        torch.testing.assert_close(la[:, : probe.t + 1], lb[:, : probe.t + 1], rtol=1e-12, atol=1e-12)
        assert not torch.allclose(la[:, probe.t + 1 :], lb[:, probe.t + 1 :])  # the probe can see a change

    check()


@pytest.mark.parametrize("T", [1, 3, 9])
def test_short_conv_as_shifted_multiply_adds_is_the_convolution(T):
    """ShortConv.shifted (what compiled stages run) against conv1d, at lengths below, at and above the kernel."""
    torch.manual_seed(0)
    conv = ShortConv(6, 4)
    x = torch.randn(2, T, 6)
    reference = conv.conv(x.transpose(1, 2))[..., :T].transpose(1, 2)
    assert torch.allclose(conv.shifted(x), reference, atol=1e-6)
