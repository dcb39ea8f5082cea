"""The model key `init`: "fla" starts delta-rule models from fla's layer initialisation (what Grazzi et al. trained),
"normal" (the default) is the testbed's own and unchanged."""

import math

import pytest
import torch

from expressivity import architectures

PARAMS = {"d_model": 64, "n_heads": 2, "n_layers": 2, "expand_v": 1, "output_gate": False, "mlp_width": 96}


def _build(seed: int = 0, **params):
    torch.manual_seed(seed)
    return architectures.build("deltanet", vocab_size=11, **{**PARAMS, **params})


def test_normal_is_the_default_and_unchanged():
    default, normal = _build(), _build(init="normal")
    for (name, a), (_, b) in zip(default.state_dict().items(), normal.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    std = default.blocks[0].mixer.proj.weight.std().item()
    assert abs(std - 0.02) < 0.002  # the normal init, std 0.02


def test_fla_init_draws_each_projection_over_its_own_fan_out():
    model, normal = _build(init="fla"), _build()
    d = PARAMS["d_model"]
    for block in model.blocks:
        mixer = block.mixer
        for rows in mixer.proj.weight.split(mixer.splits):
            if not rows.numel():
                continue
            bound = 2**-2.5 * math.sqrt(6 / (d + rows.shape[0]))  # xavier-uniform, gain 2^-2.5, this block's fan-out
            assert rows.abs().max().item() <= bound
            assert rows.abs().max().item() > 0.9 * bound  # uniform over the bound: its largest draw is near it
        out_bound = 2**-2.5 * math.sqrt(6 / sum(mixer.out.weight.shape))
        assert 0.9 * out_bound < mixer.out.weight.abs().max().item() <= out_bound
    # the down projections are the normal init scaled by 1 / sqrt(2 n_layers), the rest as the normal init
    for fla_block, normal_block in zip(model.blocks, normal.blocks, strict=True):
        scaled = normal_block.mlp.down.weight / math.sqrt(2 * PARAMS["n_layers"])
        assert torch.allclose(fla_block.mlp.down.weight, scaled)
        assert torch.equal(fla_block.mlp.gate_up.weight, normal_block.mlp.gate_up.weight)
    assert torch.equal(model.embed.weight, normal.embed.weight)


def test_fla_init_runs_for_every_delta_rule_arch_and_a_bad_value_is_refused():
    for name, extra in (("gdn", {}), ("deltaproduct", {"num_householder": 2}), ("hybrid", {"pattern": "GA"})):
        torch.manual_seed(0)
        model = architectures.build(name, vocab_size=7, d_model=32, n_heads=2, init="fla", **extra)
        assert model(torch.zeros(1, 5, dtype=torch.long)).shape == (1, 5, 7)
    with pytest.raises(ValueError, match="init must be one of normal, fla"):
        architectures.build("gdn", vocab_size=7, init="xavier")
