"""A construction inside a larger stack (constructions/embedding.py): a zeroed block is the identity for every layer
kind and block form, so state-based recall's GGA construction is exact inside GGGA and GAGA, and the EXPRESS table
says "yes" exactly for the stacks it embeds in."""

import functools
import re

import numpy as np
import pytest
import torch

from expressivity import architectures
from expressivity.runners.training.evaluate import evaluate_by_length
from expressivity.theory import constructions, predict
from expressivity.theory.constructions.embedding import embed, positions, zero_block

LENGTH = 64  # lines and list bits (n = m): two index digits, about 650 tokens per program


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These models are small: on a busy 2-core machine a second OpenMP thread only spins (float64 depthwise
    convolutions took seconds instead of milliseconds), so the module runs on one and restores the count."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@functools.cache
def recall(pattern=None):
    return constructions.build("state_based_recall", max_length=LENGTH, pattern=pattern)


@pytest.mark.parametrize("block", ["prenorm", "olmo"])
@pytest.mark.parametrize("backend", ["torch", "recurrent"])
def test_a_zeroed_block_is_the_identity(block, backend):
    """Every layer kind, both block forms: with all weights zero (norms, decays, biases too) the output is the input,
    bit for bit, over more than one chunk of the chunked ops (T = 70 > 64)."""
    model = architectures.build("hybrid", vocab_size=8, pattern="AGDPML", d_model=16, n_heads=2, neg_eigval=True,
                                block=block, backend=backend).double()  # fmt: skip
    x = torch.randn(2, 70, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for letter, b in zip(model.cfg.layers, model.blocks, strict=True):
            assert not torch.equal(b(x), x), letter  # random weights: not the identity, so the check below can fail
            zero_block(b)
            assert torch.equal(b(x), x), letter


@pytest.mark.parametrize("pattern", ["GGGA", "GAGA"])
def test_state_based_recall_is_exact_inside_a_larger_stack(pattern):
    """Same logits as the GGA construction, bit for bit, and every answer right at n = m = LENGTH."""
    small, big = recall(), recall(pattern)
    assert big.model.cfg.layers == pattern and big.model_params["pattern"] == pattern
    batch = small.task.sample(np.random.default_rng(1), 4, LENGTH)
    inputs = torch.as_tensor(batch.inputs)
    with torch.no_grad():
        assert torch.equal(big.model(inputs), small.model(inputs))
    metrics = evaluate_by_length(big.model, big.task, [LENGTH], np.random.default_rng(0), num_examples=8)
    assert metrics[LENGTH]["final_acc"] == 1.0, metrics


def test_the_exactness_check_can_fail():
    """Zeroing one of the construction's own blocks (the tracker) inside GGGA is no longer exact."""
    big = recall("GGGA")
    broken = embed(recall().model, "GGGA")
    zero_block(broken.blocks[big.model.cfg.layers.index("G") + 1])
    metrics = evaluate_by_length(broken, big.task, [LENGTH], np.random.default_rng(0), num_examples=8)
    assert metrics[LENGTH]["final_acc"] < 1.0


def test_embedding_needs_the_layers_in_order_and_a_residual():
    small = recall().model
    for pattern in ("AGG", "GA", "GAG"):
        with pytest.raises(ValueError, match="not a subsequence"):
            embed(small, pattern)
    lstm = architectures.build("lstm", vocab_size=4, d_model=8, n_layers=1, lstm_hidden=4, block="plain")
    with pytest.raises(ValueError, match="no residual"):
        embed(lstm, "LL")
    assert positions("GGA", "GAGA") == [0, 2, 3] and positions("GGA", "AGGA") == [1, 2, 3]


@pytest.mark.parametrize("name", constructions.names())
def test_the_registry_describes_what_is_built(name):
    """The EXPRESS rules read REGISTRY without building: it must say what the builder makes."""
    built = recall() if name == "state_based_recall" else constructions.build(name, max_length=64)
    spec = constructions.REGISTRY[name]
    cfg = built.model.cfg
    assert architectures.layer_letters(spec.arch, **spec.model_params) == cfg.layers
    for key in ("neg_eigval", "pos", "num_householder", "gated"):
        if key in spec.model_params:
            assert getattr(cfg, key) == spec.model_params[key], key


@pytest.mark.parametrize("pattern", ["GGA", "GGGA", "GAGA", "AGGA", "GGAA", "GMGA", "GA", "AG", "AGGG", "GAG", "GDA"])
@pytest.mark.parametrize("pos", ["nope", "rope"])
def test_express_says_yes_exactly_where_the_construction_embeds(pattern, pos):
    """Yes iff G, G, A occur in order (written here as a regex, not through the package) and attention is NoPE; where
    it says yes, the embedded construction builds and carries the same class."""
    params = {"pattern": pattern, "neg_eigval": True, "pos": pos}
    p = predict("state_based_recall", "hybrid", model_params=params)
    fits = re.search("G.*G.*A", pattern) is not None
    assert p.express.value == ("yes" if fits and pos == "nope" else "unknown"), p.render()
    if p.express.value == "yes":
        assert "identity" in p.express.reason and "GGA as a subsequence" in p.express.reason
        assert recall(pattern).model_params == params
