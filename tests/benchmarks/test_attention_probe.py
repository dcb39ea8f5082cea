"""benchmarks/attention_probe.py: the entry each query names is found by running the program (checked against the
task's own answers), the recorded weights are the attention the layer computes, and a stored run's checkpoint gives
one share per layer and head."""

import numpy as np
import pytest
import torch

from expressivity import tasks
from expressivity.runners.training.config import resolve
from expressivity.runners.training.train import build_model

PROGRAMS = [
    ("state_based_recall", {"m": 64, "num_vars": 5, "bits_format": "dict", "queries": "every_line"}, 6),
    ("state_based_recall", {"m": 24, "num_vars": 3, "bits_format": "dict", "init_format": "lines"}, 9),
    ("indexed_recall", {"bits_format": "dict", "lookups": 4}, 32),
]


@pytest.mark.parametrize(("name", "params", "length"), PROGRAMS)
def test_every_scored_query_is_found_and_its_named_entry_holds_the_answer(load_benchmark, name, params, length):
    probe = load_benchmark("attention_probe")
    task = tasks.make(name, **params)
    batch = task.sample(np.random.default_rng(5), 40, length)
    for b in range(40):
        tokens = task.decode(batch.inputs[b])
        entries = probe.dict_entries(tokens)
        found = probe.named_keys(tokens)
        assert [pos for pos, _ in found] == list(np.flatnonzero(batch.mask[b]))
        for pos, key in found:
            assert tokens[entries[key][-1]] == task.decode([batch.targets[b, pos]])[0]
            assert tokens[entries[key][-2]] == ":" and "".join(tokens[entries[key][0] : entries[key][-2]]) == str(key)


def test_the_recorded_weights_are_the_attention_the_layer_computes_and_the_layer_is_restored(load_benchmark):
    probe = load_benchmark("attention_probe")
    sets = {"d_model": 32, "n_heads": 2, "pattern": "GA", "pos": "nope"}
    model = build_model(resolve("indexed_recall", "hybrid", sets), 40).eval()
    layer = next(m for m in model.modules() if isinstance(m, probe.Attention))
    x = torch.randn(3, 11, 32, generator=torch.Generator().manual_seed(0))
    args, _ = layer.op_inputs(x)
    with torch.no_grad(), probe.recorded_attention(model) as weights:
        out = layer.op(**args)  # (B, T, H, D)
    (w,) = weights[0]  # (B, H, T, T)
    assert torch.allclose(w.sum(-1), torch.ones(3, 2, 11)) and w.triu(1).abs().max() == 0
    torch.testing.assert_close(out, (w @ args["v"].transpose(1, 2)).transpose(1, 2), rtol=1e-5, atol=1e-6)
    assert "op" not in vars(layer)


def test_a_stored_runs_checkpoint_gives_one_share_per_layer_and_head(recall_run_args, load_benchmark, capsys):
    probe = load_benchmark("attention_probe")
    args = recall_run_args
    out = probe.main([*args, "--examples", "6"])
    assert out["queries"] == 6 * 4 and out["list_size"] == 12 and 0 <= out["accuracy"] <= 1
    named, whole = np.array(out["named_share"]), np.array(out["dict_share"])
    assert named.shape == whole.shape == np.array(out["named_is_top"]).shape == (1, 2)
    assert (named >= 0).all() and (named <= whole + 1e-6).all() and (whole <= 1 + 1e-6).all()
    bit, bits = np.array(out["named_bit_share"]), np.array(out["bits_share"])
    assert (bit <= named + 1e-6).all() and (bit <= bits + 1e-6).all() and (bits <= whole + 1e-6).all()
    assert "attention layer 0 head 1" in capsys.readouterr().out
    with pytest.raises(ValueError, match="needs bits_format=dict"):
        probe.main([*args, "--set", "bits_format=list"])
    recall = probe.main([*args, "--examples", "3", "--component", "indexed_recall"])  # the mixture's recall steps
    assert recall["list_size"] == 12 and recall["queries"] == 3 * 16  # 16 lookups a recall program
    with pytest.raises(ValueError, match=r"has components \['indexed_recall', 'state_based_recall'\]"):
        probe.main([*args, "--component", "pointer_tracking"])
    with pytest.raises(ValueError, match="no `bits = {...}` dict"):
        probe.dict_entries(["<bos>", "a", "=", "3", "\n", "assert", "a", "==", "_"])
