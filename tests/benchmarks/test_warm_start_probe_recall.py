"""benchmarks/warm_start_probe.py --task state_based_recall, its pieces on CPU: the random twin has the construction's
config and shapes, and balancing the anchor column leaves the construction exact (same logits at every scored
position, every final assert right)."""

import argparse
import copy

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    # as the script runs (--threads 1): on a shared 2-core machine two threads make a float64 forward ~40x slower
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _recall(load_benchmark, float64: bool):
    probe = load_benchmark("warm_start_probe")
    args = argparse.Namespace(task="state_based_recall", length=4, also_length=None, seed=0, float64=float64)
    return probe, *probe.models(args)


def test_the_twin_has_the_constructions_config_and_shapes(load_benchmark):
    _, _, star, rand = _recall(load_benchmark, float64=False)
    assert rand.cfg == star.cfg
    assert {k: v.shape for k, v in rand.state_dict().items()} == {k: v.shape for k, v in star.state_dict().items()}
    assert all(v.dtype == torch.float32 for v in (*rand.state_dict().values(), *star.state_dict().values()))
    assert not torch.equal(rand.blocks[2].mixer.qkv.weight, star.blocks[2].mixer.qkv.weight)


def test_balance_keeps_the_recall_construction_exact(load_benchmark):
    probe, task, star, _ = _recall(load_benchmark, float64=True)
    held = task.sample(np.random.default_rng(0), 24, 4)
    inputs, mask = torch.from_numpy(held.inputs), torch.from_numpy(held.mask)
    balanced = copy.deepcopy(star)
    probe.balance(balanced)
    assert float(balanced.blocks[0].norm2.weight[0]) == 1.0 and float(balanced.norm.weight[0]) == 1.0
    with torch.no_grad():
        change = (balanced(inputs) - star(inputs)).abs()
    # unscored positions may sit on an MLP step's threshold, where rounding alone can flip it: scored ones only
    assert float(change[mask].max()) < 1e-6
    loss, final, token = probe.scores(balanced, held)
    assert final == 1.0 and token == 1.0 and loss < 1e-6
    assert probe.scores(balanced.float(), held)[1:] == (1.0, 1.0)  # float32, the dtype the probe trains in
