"""Accuracy by length against plain-Python oracles, with hand-built models (a parity solver and a constant guesser)."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from expressivity import tasks
from expressivity.runners.training.evaluate import (
    across_seeds,
    batch_counts,
    evaluate_by_length,
    last_scored,
    rescaled,
    summarize,
)


def _case(seed: int, b: int, t: int, v: int):
    """Random logits (B, T, V), targets and a mask scoring at least one position per row."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(b, t, v)).astype(np.float32)
    targets = rng.integers(0, v, size=(b, t))
    # Bias towards right answers so that all-correct rows occur too.
    right = rng.random((b, t)) < 0.7
    logits[np.arange(b)[:, None], np.arange(t)[None, :], targets] += 10.0 * right
    mask = rng.random((b, t)) < 0.6
    mask[np.arange(b), rng.integers(0, t, size=b)] = True
    return logits, targets, mask


cases = st.builds(_case, st.integers(0, 2**32 - 1), st.integers(1, 6), st.integers(1, 7), st.integers(2, 5))


@given(cases)
def test_batch_counts_match_a_per_example_oracle(case):
    logits, targets, mask = case
    counts = {k: int(v) for k, v in batch_counts(*map(torch.from_numpy, (logits, targets, mask))).items()}
    final = token = seq = 0
    for b in range(logits.shape[0]):
        scored = [t for t in range(logits.shape[1]) if mask[b, t]]
        right = [int(np.argmax(logits[b, t])) == targets[b, t] for t in scored]
        final += right[-1]
        token += sum(right)
        seq += all(right)
    assert counts == {"final": final, "token": token, "seq": seq, "scored": int(mask.sum()), "examples": len(mask)}


@given(cases)
def test_last_scored_is_the_last_true(case):
    _, _, mask = case
    assert list(last_scored(mask)) == [max(t for t in range(mask.shape[1]) if row[t]) for row in mask]


class ParitySolver(torch.nn.Module):
    """Hand-built exact model of running parity: the cumulative xor of the bits read so far, as one-hot logits."""

    def __init__(self, task):
        super().__init__()
        self.zero, self.vocab = task.token_id["0"], len(task.vocab)
        self.scale = torch.nn.Parameter(torch.tensor(5.0))

    def forward(self, inputs):
        bits = (inputs - self.zero).clamp(0, 1)  # BOS and PAD read as 0: they do not change the parity
        parity = torch.cumsum(bits, dim=1) % 2
        return torch.nn.functional.one_hot(parity + self.zero, self.vocab).float() * self.scale


class ConstantZero(torch.nn.Module):
    """Always answers "0" (or another `symbol`)."""

    def __init__(self, task, symbol: str = "0"):
        super().__init__()
        self.logits = torch.nn.Parameter(
            torch.nn.functional.one_hot(torch.tensor(task.token_id[symbol]), len(task.vocab)).float()
        )

    def forward(self, inputs):
        return self.logits.expand(*inputs.shape, -1)


def test_an_exact_model_scores_one_everywhere():
    task = tasks.make("parity")
    metrics = evaluate_by_length(
        ParitySolver(task), task, [3, 50], np.random.default_rng(0), num_examples=40, batch_size=16
    )
    for m in metrics.values():
        assert m["final_acc"] == m["token_acc"] == m["seq_acc"] == m["scaled_acc"] == 1.0 and m["examples"] == 40


def test_a_constant_model_matches_the_plain_oracle_on_the_same_draws():
    task = tasks.make("parity")
    lengths, n, bs = [5, 12], 30, 7
    metrics = evaluate_by_length(
        ConstantZero(task), task, lengths, np.random.default_rng(3), num_examples=n, batch_size=bs
    )
    rng = np.random.default_rng(3)
    zero = task.token_id["0"]
    for length in lengths:
        finals, tokens, scored, seqs = 0, 0, 0, 0
        for start in range(0, n, bs):
            batch = task.sample(rng, min(bs, n - start), length)
            for b in range(batch.batch_size):
                positions = [t for t in range(batch.seq_len) if batch.mask[b, t]]
                right = [batch.targets[b, t] == zero for t in positions]
                finals, tokens, scored, seqs = (
                    finals + right[-1],
                    tokens + sum(right),
                    scored + len(right),
                    seqs + all(right),
                )
        m = metrics[length]
        assert m["final_acc"] == pytest.approx(finals / n)
        assert m["token_acc"] == pytest.approx(tokens / scored)
        assert m["seq_acc"] == pytest.approx(seqs / n)
        assert m["scaled_acc"] == pytest.approx((finals / n - 0.5) / 0.5)


def test_a_sequence_answer_is_scaled_by_its_token_accuracy_not_its_last_position():
    # Stack manipulation's answer ends with `end`: a model that always says `end` has the last position right every
    # time, and nearly nothing else. Its scaled accuracy comes from the whole answer (Task.scored_by = "token").
    task = tasks.make("stack_manipulation")
    assert task.scored_by == "token" and tasks.make("parity").scored_by == "final"
    metrics = evaluate_by_length(ConstantZero(task, "end"), task, [12, 30], np.random.default_rng(0), num_examples=64)
    for m in metrics.values():
        assert m["final_acc"] == 1.0 and m["token_acc"] < 0.3
        assert m["scaled_acc"] == pytest.approx((m["token_acc"] - task.chance) / (1 - task.chance))
    assert rescaled(metrics, task.chance, task.scored_by) == metrics


def test_evaluation_restores_training_mode_and_is_deterministic():
    task = tasks.make("parity")
    model = ConstantZero(task).train()
    first = evaluate_by_length(model, task, [9], np.random.default_rng(1), num_examples=20)
    assert model.training
    assert first == evaluate_by_length(model, task, [9], np.random.default_rng(1), num_examples=20)


def test_summarize_splits_at_the_longest_training_length():
    metrics = {
        n: {"final_acc": n / 100, "token_acc": 1.0, "seq_acc": 0.0, "scaled_acc": 0.0} for n in (10, 40, 64, 256)
    }
    summary = summarize(metrics, train_max_length=40)
    assert summary["id"]["lengths"] == [10, 40] and summary["id"]["final_acc"] == pytest.approx(0.25)
    assert summary["ood"]["lengths"] == [64, 256] and summary["ood"]["final_acc"] == pytest.approx(1.6)
    assert "ood" not in summarize(metrics, train_max_length=300)


def test_summarize_scores_a_protocols_lengths_only_where_the_run_has_them():
    metrics = {
        n: {"final_acc": n / 100, "token_acc": 1.0, "seq_acc": 0.0, "scaled_acc": 0.0} for n in (10, 40, 64, 256)
    }
    scored = summarize(metrics, train_max_length=40, ood_lengths=(64,))
    assert scored["ood"]["lengths"] == [64] and scored["ood"]["final_acc"] == pytest.approx(0.64)
    assert scored["id"] == summarize(metrics, train_max_length=40)["id"]  # in distribution untouched
    # a scored length the run was not tested at, or one inside training, leaves every length above training
    assert summarize(metrics, 40, ood_lengths=(128,)) == summarize(metrics, 40)
    assert summarize(metrics, 40, ood_lengths=(10,)) == summarize(metrics, 40)


@given(st.lists(st.floats(-1, 1), min_size=1, max_size=6))
def test_across_seeds(values):
    out = across_seeds(values)
    assert out["best"] == out["max"] == max(values) and out["min"] == min(values) and out["n"] == len(values)
    assert out["mean"] == pytest.approx(sum(values) / len(values))
