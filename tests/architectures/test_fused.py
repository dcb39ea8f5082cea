"""A fused model (architectures/fused.py) computes what each of its members computes alone: outputs and gradients,
for every fusable layer kind and both block forms, with members that differ in their eigenvalue range."""

import pytest
import torch

from expressivity import architectures
from expressivity.architectures.fused import FusedModel, fusable
from expressivity.architectures.lstm import LSTMMixer

CASES = {
    "transformer": ("transformer", {}),
    "transformer untied": ("transformer", {"tie_embeddings": False}),
    "gdn": ("gdn", {"neg_eigval": None}),
    "deltanet": ("deltanet", {"neg_eigval": None}),
    "diagonal": ("diagonal", {"neg_eigval": None}),
    "deltaproduct": ("deltaproduct", {"neg_eigval": None}),
    "hybrid GGA": ("hybrid", {"pattern": "GGA", "neg_eigval": None}),
    "olmo hybrid": ("hybrid", {"pattern": "GGGA", "block": "olmo", "tie_embeddings": False, "neg_eigval": None}),
    "stack_rnn": ("stack_rnn", {}),  # plain blocks; its op takes the models' own weights
    "stack_rnn 2 layers untied": ("stack_rnn", {"n_layers": 2, "tie_embeddings": False}),
    "lstm": ("lstm", {}),  # pre-norm blocks; its op takes the models' own weights, as the Stack-RNN's
    "lstm plain": ("lstm", {"n_layers": 1, "lstm_hidden": 32, "block": "plain"}),  # Deletang et al.'s form
}
M, V = 3, 11


def _members(arch: str, params: dict) -> list:
    out = []
    for m in range(M):
        torch.manual_seed(m)
        own = {k: (bool(m % 2) if v is None else v) for k, v in params.items()}  # neg_eigval differs by member
        out.append(architectures.build(arch, vocab_size=V, size="tiny", **own))
    return out


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_each_member_computes_what_it_computes_alone(case):
    members = _members(*CASES[case])
    fused = FusedModel(members)
    x = torch.randint(0, V, (M, 4, 37), generator=torch.Generator().manual_seed(0))
    out = fused(x)
    ref = torch.stack([m(x[i]) for i, m in enumerate(members)])
    assert torch.allclose(out, ref, rtol=1e-5, atol=1e-5), (out - ref).abs().max()
    out.square().sum().backward()
    for i, m in enumerate(members):
        m(x[i]).square().sum().backward()
    for name, stacked in zip(fused.names, fused.stacked_parameters(), strict=True):
        for i, m in enumerate(members):
            single = m.get_parameter(name).grad
            assert torch.allclose(stacked.grad[i], single, rtol=1e-4, atol=1e-4 * single.abs().max()), name


def test_a_member_state_dict_loads_into_its_own_model():
    members = _members("gdn", {"neg_eigval": None})
    fused = FusedModel(members)
    with torch.no_grad():
        for p in fused.stacked_parameters():
            p.add_(1.0)
    fresh = _members("gdn", {"neg_eigval": None})[1]
    fresh.load_state_dict(fused.member_state_dict(1))  # strict: every key, tied ones included
    x = torch.randint(0, V, (M, 2, 9))
    assert torch.allclose(fused(x)[1], fresh(x[1]), atol=1e-5)


def test_models_of_different_vocabularies_fuse_and_never_predict_beyond_their_own():
    sizes = (5, 11, 8)
    members = []
    for m, v in enumerate(sizes):
        torch.manual_seed(m)
        members.append(architectures.build("gdn", vocab_size=v, size="tiny", neg_eigval=bool(m % 2)))
    fused = FusedModel(members)
    x = torch.stack([torch.randint(0, v, (4, 23), generator=torch.Generator().manual_seed(m)) for m, v in
                     enumerate(sizes)])  # fmt: skip
    out = fused(x)
    for i, (m, v) in enumerate(zip(members, sizes, strict=True)):
        assert torch.allclose(out[i, ..., :v], m(x[i]), rtol=1e-5, atol=1e-5)
        assert torch.isneginf(out[i, ..., v:]).all()
    logp = torch.log_softmax(out, -1)
    targets = x.roll(-1, -1)
    torch.nn.functional.nll_loss(logp.flatten(0, 2), targets.flatten()).backward()
    embed = fused.stacked_parameters()[fused.names.index("embed.weight")]
    for i, v in enumerate(sizes):
        assert (embed.grad[i, v:] == 0).all() and (embed[i, v:] == 0).all()  # padded rows: no gradient, no weight
    for i, m in enumerate(members):
        fresh = architectures.build("gdn", vocab_size=sizes[i], size="tiny", neg_eigval=bool(i % 2))
        fresh.load_state_dict(fused.member_state_dict(i))  # each member's own shapes
        assert torch.allclose(fresh(x[i]), m(x[i]))


def test_models_of_different_shapes_or_with_a_layer_of_no_fused_form_do_not_fuse(monkeypatch):
    with pytest.raises(ValueError, match="d_model"):
        FusedModel(
            [
                architectures.build("gdn", vocab_size=V, size="tiny"),
                architectures.build("gdn", vocab_size=V, size="small"),
            ]
        )
    lstm = architectures.build("lstm", vocab_size=V, size="tiny")
    assert fusable(lstm) == ""
    monkeypatch.delattr(LSTMMixer, "fold")  # a mixer without a fused form, as a new layer kind may come
    assert "LSTMMixer" in fusable(lstm)
    with pytest.raises(ValueError, match="no fused form"):
        FusedModel([lstm, lstm])


def test_segments_of_blocks_built_alike_share_one_function():
    """GGGA: segment 2 (G -> G) runs segment 1's function with its own weights; segment 3 (G -> A) its own; a block
    built otherwise (another head count) shares with none. Outputs are the members' own (the test above)."""
    members = _members(*CASES["olmo hybrid"])
    assert [shared for shared, _ in FusedModel(members)._segments] == [0, 1, 1, 3, 4]
    names = dict(FusedModel(members)._segments[2][1])
    assert names["blocks.1.mixer.proj.weight"] == "blocks.0.mixer.proj.weight"
    assert names["blocks.2.mlp.down.weight"] == "blocks.1.mlp.down.weight"
    other = architectures.build("gdn", vocab_size=V, size="tiny", n_layers=3)
    other.blocks[2] = architectures.build("gdn", vocab_size=V, size="tiny", n_heads=4).blocks[0]
    assert [shared for shared, _ in FusedModel([other])._segments] == [0, 1, 2, 3]


@pytest.mark.slow
@pytest.mark.parametrize("case", ["gdn", "deltaproduct", "diagonal", "olmo hybrid", "lstm"])
def test_compiled_stages_compute_what_the_plain_stages_compute(case):
    """torch.compile of the segments (what fused training on a GPU runs by default) changes no output or gradient
    beyond fp32 rounding, for every kind of layer (the olmo hybrid holds attention with RoPE, and a shared segment)
    and the diagonal recurrence's op, at a second padded length for GDN (its own compiled graph); evaluation (no
    autograd) compiles nothing. Compiling is slow on a CPU (15-60 s a case here)."""
    plain, compiled = FusedModel(_members(*CASES[case])), FusedModel(_members(*CASES[case]))
    # The weights as training holds them: views of one buffer (the olmo hybrid's segment 2 runs segment 1's compiled
    # graph on other views of it).
    for model in (plain, compiled):
        model.flatten_()
    compiled.compile_stages = True
    for T in (16, 32) if case == "gdn" else (16,):
        x = torch.randint(0, V, (M, 3, T), generator=torch.Generator().manual_seed(T))
        for model in (plain, compiled):
            model.flat_grad.zero_()
            model(x).square().sum().backward()
        assert torch.allclose(compiled(x), plain(x), rtol=1e-5, atol=1e-5)
        for a, b in zip(compiled.stacked_parameters(), plain.stacked_parameters(), strict=True):
            assert torch.allclose(a.grad, b.grad, rtol=1e-4, atol=1e-4 * b.grad.abs().max())
    # the diagonal recurrence and the LSTM's cells are plain PyTorch: their ops compile with the stages; fla's and
    # our GDN ops do not
    assert any(key[1] == "op" for key in compiled._stages) == (case in ("diagonal", "lstm"))
    compiled_now = sum(key[2] for key in compiled._stages)
    with torch.no_grad():
        compiled(torch.randint(0, V, (M, 2, 50)))
    assert sum(key[2] for key in compiled._stages) == compiled_now > 0


@pytest.mark.slow
def test_compiled_stages_read_packed_rows_as_the_plain_stages_do():
    """Packed rows (training/packing.py) through compiled stages: attention's segment mask and RoPE at positions
    within each example, the convolutions' and recurrences' resets, as the plain stages compute them."""
    plain, compiled = (FusedModel(_members(*CASES["olmo hybrid"])) for _ in range(2))
    compiled.compile_stages = True
    x = torch.randint(0, V, (M, 3, 24), generator=torch.Generator().manual_seed(0))
    starts = torch.zeros(M, 3, 24, dtype=torch.bool)
    starts[..., [0, 5, 13, 14]] = True  # four examples a row, one of a single token
    pos = torch.arange(24) - torch.cummax(torch.where(starts, torch.arange(24), 0), dim=-1).values
    for model in (plain, compiled):
        model(x, pos).square().sum().backward()
    assert torch.allclose(compiled(x, pos), plain(x, pos), rtol=1e-5, atol=1e-5)
    for a, b in zip(compiled.stacked_parameters(), plain.stacked_parameters(), strict=True):
        assert torch.allclose(a.grad, b.grad, rtol=1e-4, atol=1e-4 * b.grad.abs().max())
    assert not torch.allclose(plain(x, pos), plain(x))  # the rows are read as packed
