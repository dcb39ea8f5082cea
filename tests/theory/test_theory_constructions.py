"""Hand-set constructions: exact at length >= 2000 through the runners' own evaluation, and on random inputs against
plain-Python oracles (running parity, permutation composition, CPython running the program)."""

import functools

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from expressivity.runners.training.evaluate import evaluate_by_length
from expressivity.theory import constructions

LONG = 2048


@functools.cache
def built(name):
    return constructions.build(name, max_length=LONG)


def predict(name, inputs):
    model = built(name).model
    with torch.no_grad():
        return model(torch.as_tensor(np.asarray(inputs), dtype=torch.int64)).argmax(-1).numpy()


@pytest.mark.parametrize(
    ("name", "examples"),
    [
        ("parity", 32),
        ("swap_s5", 32),
        ("indexed_recall", 8),
        ("indexed_recall_dict", 8),
        ("word_problem_a5", 8),
        ("word_problem_s5", 8),
        ("word_problem_a4xz5", 8),
        ("reverse_string", 8),
    ],  # fmt: skip
)
def test_exact_at_long_lengths(name, examples):
    b = built(name)
    metrics = evaluate_by_length(b.model, b.task, [8, LONG], np.random.default_rng(0), num_examples=examples)
    for length in (8, LONG):
        assert metrics[length]["final_acc"] == 1.0 and metrics[length]["token_acc"] == 1.0, (length, metrics)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["state_based_recall", "state_based_recall_dict"])
def test_state_based_recall_exact_at_2000_lines(name):
    """n = m = 2000: 2000 swap lines over a 2000-bit list (or dict), T ~ 20000 tokens (about 10 s on one core)."""
    b = built(name)
    metrics = evaluate_by_length(b.model, b.task, [2000], np.random.default_rng(0), num_examples=1, batch_size=1)
    assert metrics[2000]["final_acc"] == 1.0


@pytest.mark.parametrize("bits_format", ["list", "dict"])
def test_state_based_recall_construction_answers_every_assert_of_the_redone_preset(bits_format):
    # The olmo-hybrid rows' variant (issue 15): an assert after every update line, m fixed apart from n, a fixed
    # vocabulary of 5 names. EXPRESS "yes" for it rests on the construction, so it must answer every assert exactly.
    from expressivity import tasks
    from expressivity.theory.constructions.recall import state_based_recall_model

    task = tasks.make("state_based_recall", m=16, max_vars=5, queries="every_line", bits_format=bits_format)
    model = state_based_recall_model(task, 64)
    metrics = evaluate_by_length(model, task, [8, 32], np.random.default_rng(0), num_examples=16)
    assert all(m["token_acc"] == 1.0 and m["final_acc"] == 1.0 for m in metrics.values()), metrics


def test_the_dict_constructions_answer_every_lookup_of_a_program():
    # indexed_recall with several lookups a program (the m axis's dense recall): every answer scored, at lists of
    # 1-digit to 3-digit indices
    from expressivity import tasks
    from expressivity.theory.constructions.recall import indexed_recall_model

    task = tasks.make("indexed_recall", bits_format="dict", lookups=16)
    model = indexed_recall_model(task, 1000)
    metrics = evaluate_by_length(model, task, [9, 64, 1000], np.random.default_rng(0), num_examples=4)
    assert all(m["token_acc"] == 1.0 for m in metrics.values()), metrics


def test_the_recall_constructions_refuse_one_token_indices():
    from expressivity import tasks
    from expressivity.theory.constructions.recall import indexed_recall_model, state_based_recall_model

    for fmt in ("list", "dict"):
        with pytest.raises(ValueError, match="read indices in digits, got numbers='tokens'"):
            indexed_recall_model(tasks.make("indexed_recall", bits_format=fmt, numbers="tokens"), 64)
        with pytest.raises(ValueError, match="read indices in digits, got numbers='tokens'"):
            state_based_recall_model(tasks.make("state_based_recall", bits_format=fmt, numbers="tokens"), 64)


def test_the_state_based_recall_construction_refuses_layouts_it_does_not_read():
    # It names each value digit's variable by counting commas in the one tuple line `a, b, ... = 6, 2, ...`: on one
    # assignment a line it is not exact (about chance when tried), so it refuses such a task rather than claim it.
    from expressivity import tasks
    from expressivity.theory.constructions.recall import state_based_recall_model

    with pytest.raises(ValueError, match="needs init_format='tuple', got 'lines'"):
        state_based_recall_model(tasks.make("state_based_recall", init_format="lines"), 64)
    with pytest.raises(ValueError, match="needs ops='swap', got 'mixed'"):
        state_based_recall_model(tasks.make("state_based_recall", ops="mixed"), 64)


@given(st.lists(st.integers(0, 1), min_size=1, max_size=300))
def test_parity_follows_the_running_parity(bits):
    task = built("parity").task
    pred = predict("parity", [[task.token_id["<bos>"], *(task.token_id[str(b)] for b in bits)]])[0, 1:]
    parity, expected = 0, []
    for b in bits:
        parity ^= b
        expected.append(task.token_id[str(parity)])
    assert pred.tolist() == expected


swaps = st.tuples(st.integers(0, 4), st.integers(1, 4)).map(lambda t: (t[0], (t[0] + t[1]) % 5))


@given(st.lists(swaps, min_size=1, max_size=300))
def test_swap_s5_follows_permutation_composition(pairs):
    task = built("swap_s5").task
    tokens, state, expected = [task.token_id["<bos>"]], list(range(5)), []
    for i, j in pairs:
        swap = list(range(5))
        swap[i], swap[j] = j, i
        tokens.append(task.token_id["".join(map(str, swap))])
        state = [swap[s] for s in state]  # state_t(i) = x_t(state_{t-1}(i))
        expected.append(task.token_id["".join(map(str, state))])
    assert predict("swap_s5", [tokens])[0, 1:].tolist() == expected


@pytest.mark.parametrize("name", ["word_problem_a5", "word_problem_s5"])
@given(seed=st.integers(0, 2**32 - 1), length=st.integers(1, 300))
def test_deltaproduct_word_problems_follow_permutation_composition(name, seed, length):
    task = built(name).task
    group = task.elements
    rng = np.random.default_rng(seed)
    elements = rng.integers(0, group.order, size=length)
    state, expected = list(range(len(group.tokens[0]))), []
    for x in elements:
        p = [int(ch) for ch in group.tokens[x]]
        state = [p[s] for s in state]  # state_t(i) = x_t(state_{t-1}(i))
        expected.append(task.token_id["".join(map(str, state))])
    tokens = [task.token_id["<bos>"], *(task.token_id[group.tokens[x]] for x in elements)]
    assert predict(name, [tokens])[0, 1:].tolist() == expected


@given(seed=st.integers(0, 2**32 - 1), length=st.integers(1, 300))
def test_the_a4xz5_construction_follows_both_factors(seed, length):
    """A4 as permutations of 4 points composed, Z5 as residues added: the oracle never reads the Cayley table."""
    task = built("word_problem_a4xz5").task
    group = task.elements
    elements = np.random.default_rng(seed).integers(0, group.order, size=length)
    state, turn, expected = [0, 1, 2, 3], 0, []
    for x in elements:
        perm, residue = group.tokens[x].split("x")
        state = [int(perm[s]) for s in state]  # state_t(i) = x_t(state_{t-1}(i))
        turn = (turn + int(residue)) % 5
        expected.append(task.token_id[f"{''.join(map(str, state))}x{turn}"])
    tokens = [task.token_id["<bos>"], *(task.token_id[group.tokens[x]] for x in elements)]
    assert predict("word_problem_a4xz5", [tokens])[0, 1:].tolist() == expected


@pytest.mark.parametrize(
    ("name", "n_h", "heads"), [("word_problem_a5", 2, 1), ("word_problem_s5", 4, 1), ("word_problem_a4xz5", 2, 2)]
)
def test_each_token_applies_its_elements_representation(name, n_h, heads):
    """The layer's own op inputs per token (k, beta over its n_h steps) multiply, in each head, to that head's
    rho(element) on the tracked key dims, and leave the other dims alone: the weights implement the reflections, not
    just the answers. A4xZ5 takes a head per factor (A4, then Z5), each needing 2 reflections where one head needs 4."""
    from expressivity.theory.representations import head_representations

    b = built(name)
    group, model = b.task.elements, b.model
    reps = head_representations(group.name)
    mixer = model.blocks[0].mixer
    assert len(reps) == mixer.n_heads == heads
    ids = torch.tensor([[b.task.token_id[t] for t in group.tokens]])  # every element once, as one sequence
    with torch.no_grad():
        x = model.blocks[0].norm1(model.embed(ids))
        # the short convolution reads only the current token (taps), so one sequence serves every element
        p, _ = mixer.op_inputs(x)
    k = p["k"].double().numpy().reshape(group.order, n_h, heads, mixer.dk)
    beta = p["beta"].double().numpy().reshape(group.order, n_h, heads)
    for h, rep in enumerate(reps):
        d = rep.dim
        for g in range(group.order):
            M = np.eye(mixer.dk)
            for j in range(n_h):
                M = (np.eye(mixer.dk) - beta[g, j, h] * np.outer(k[g, j, h], k[g, j, h])) @ M
            np.testing.assert_allclose(M[:d, :d], rep.matrices[g], atol=1e-5)
            np.testing.assert_allclose(M[d:, d:], np.eye(mixer.dk - d), atol=1e-5)


RECALL = ["indexed_recall", "state_based_recall", "indexed_recall_dict", "state_based_recall_dict"]


@pytest.mark.parametrize("name", RECALL)
@given(seed=st.integers(0, 2**32 - 1), length=st.integers(1, 60))
def test_recall_answers_what_python_computes(name, seed, length):
    task = built(name).task
    batch = task.sample(np.random.default_rng(seed), 4, length)
    pred = predict(name, batch.inputs)
    for i in range(4):
        namespace = {}
        exec(task.to_python(batch, i), namespace)  # the program as CPython runs it
        last = np.flatnonzero(batch.mask[i])[-1]
        assert task.vocab[pred[i, last]] == str(namespace["answer"]), task.render(batch, i)


@pytest.mark.parametrize("name", constructions.names())
def test_theory_says_yes_where_a_construction_proves_it(name):
    """A construction is an executable proof: the EXPRESS table must not call its class unable, or unknown."""
    from expressivity.theory import predict as theory_predict

    b = built(name)
    p = theory_predict(b.task.name, b.arch, task_params=b.task.params, model_params=b.model_params)
    assert p.express.value == "yes", p.render()
    assert len(b.model.blocks) == len(p.arch.layers) or p.arch.depth == len(b.model.blocks)


def test_unknown_construction_names_the_valid_ones():
    with pytest.raises(ValueError, match="parity, reverse_string, state_based_recall, state_based_recall_dict, swap"):
        constructions.build("nope")


@given(seed=st.integers(0, 2**32 - 1), length=st.integers(1, 60))
def test_the_stack_rnn_reverses_what_python_reverses(seed, length):
    task = built("reverse_string").task
    batch = task.sample(np.random.default_rng(seed), 4, length)
    pred = predict("reverse_string", batch.inputs)
    for i in range(4):
        symbols = [task.vocab[t] for t in batch.inputs[i, 1 : length + 1]]
        answer = [task.vocab[t] for t in pred[i][batch.mask[i]]]
        assert answer == symbols[::-1], task.render(batch, i)
