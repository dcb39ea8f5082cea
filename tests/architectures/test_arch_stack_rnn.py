"""The Stack-RNN (letter S): its stack against a Python list, its mixer against the readable reference."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from expressivity import architectures
from expressivity.architectures.backends import rel_err
from expressivity.architectures.stack_rnn import NOOP, POP, PUSH, StackRNNMixer, stack_rnn_reference, update_stack

ACTIONS = st.lists(st.sampled_from([PUSH, POP, NOOP]), min_size=1, max_size=12)


@given(ACTIONS, st.integers(0, 2**31 - 1))
def test_one_hot_actions_make_a_discrete_stack(actions, seed):
    """Actions of weight 1 push, pop and keep exactly as a list does (popping an empty stack leaves it empty: zeros
    come up from below), cell by cell."""
    gen = torch.Generator().manual_seed(seed)
    depth, cell = len(actions), 3
    stack = torch.zeros(1, depth, cell, dtype=torch.float64)
    reference: list[torch.Tensor] = []
    for action in actions:
        value = torch.randn(1, cell, generator=gen, dtype=torch.float64)
        weights = torch.zeros(1, 3, dtype=torch.float64)
        weights[0, action] = 1.0
        stack = update_stack(stack, weights, value)
        if action == PUSH:
            reference.insert(0, value[0])
        elif action == POP and reference:
            reference.pop(0)
        expected = torch.zeros(depth, cell, dtype=torch.float64)
        for i, v in enumerate(reference):
            expected[i] = v
        assert torch.equal(stack[0], expected)


def test_mixed_actions_mix_the_three_stacks():
    stack = torch.arange(12, dtype=torch.float64).reshape(1, 4, 3)
    value = torch.full((1, 3), -1.0, dtype=torch.float64)
    weights = torch.tensor([[0.5, 0.25, 0.25]], dtype=torch.float64)
    got = update_stack(stack, weights, value)
    pushed = torch.cat([value[:, None], stack[:, :-1]], 1)
    popped = torch.cat([stack[:, 1:], torch.zeros(1, 1, 3, dtype=torch.float64)], 1)
    assert torch.allclose(got, 0.5 * pushed + 0.25 * popped + 0.25 * stack)


@pytest.mark.parametrize("T", [2, 7, 40])  # at T = 1 the stack is never read: push and act get no gradient
def test_mixer_is_the_reference_loop_outputs_and_gradients_in_float64(T):
    torch.manual_seed(T)
    mixer = StackRNNMixer(d_model=12, hidden=16, cell=4).double()
    x = torch.randn(3, T, 12, dtype=torch.float64, requires_grad=True)
    got = mixer(x)
    ref = stack_rnn_reference(mixer, x)
    assert rel_err(got, ref) <= 1e-12
    probe = torch.randn_like(got)
    grads = torch.autograd.grad((got * probe).sum(), [x, *mixer.parameters()])
    ref_grads = torch.autograd.grad((ref * probe).sum(), [x, *mixer.parameters()])
    for g, r in zip(grads, ref_grads, strict=True):
        assert rel_err(g, r, floor=1e-4) <= 1e-10


def test_registry_builds_deletangs_form_and_matches_the_budget_by_default():
    paper = architectures.build("stack_rnn", vocab_size=5, n_layers=1, stack_hidden=256)
    mixer = paper.blocks[0].mixer
    assert isinstance(mixer, StackRNNMixer) and mixer.hidden == 256 and mixer.cell == 8
    assert paper.cfg.block == "plain" and paper.blocks[0].mlp is None and isinstance(paper.norm, torch.nn.Identity)
    matched = architectures.build("stack_rnn", vocab_size=5)
    reference = architectures.build("transformer", vocab_size=5).num_params()
    assert abs(matched.num_params() / reference - 1) <= 0.10
    assert matched.state_size(100) - matched.state_size(10) == 2 * 90 * 8  # two layers' stacks grow with T
    with pytest.raises(ValueError, match="block must be 'plain'"):
        architectures.build("stack_rnn", vocab_size=5, block="prenorm")
    with pytest.raises(ValueError, match="stack_cell must be an integer >= 1"):
        architectures.build("stack_rnn", vocab_size=5, stack_cell=0)
