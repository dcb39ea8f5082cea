"""A fixed training set and a validation set (train_set.py): drawn once from the run's seed, every example once per
epoch, held-out examples apart from the training and test streams, early stop on validation accuracy, the same in a
fused group as alone."""

import numpy as np
import pytest
import torch

from expressivity import tasks
from expressivity.runners.training.batches import fixed_set, fresh_batch, train_batch, validation_set
from expressivity.runners.training.config import canonical, resolve, run_key
from expressivity.runners.training.fused import train_fused
from expressivity.runners.training.train import check_window, train
from expressivity.runners.training.train_set import epoch_rows

SETS = {"steps": 12, "batch_size": 16, "check_every": 4, "warmup": 2, "eval_lengths": [8, 60], "eval_examples": 16,
        "lr": 5e-4}  # fmt: skip


def _config(**extra) -> dict:
    return resolve("parity", "gdn", {**SETS, **extra})


def _rows(stored, batch) -> list[bytes]:
    """Each example of `batch` as bytes of its tokens (padding stripped), to find it in the set."""
    return [row[row != tasks.PAD_ID].tobytes() for row in batch.inputs]


@pytest.mark.parametrize("n", [48, 50])  # a multiple of the batch, and not
def test_every_example_is_seen_once_per_epoch_in_a_new_order(n):
    task, cfg = tasks.make("parity"), _config(train_examples=n)["train"]
    stored = fixed_set(task, cfg, 0)
    assert len(stored) == n
    steps = n * 2 // cfg["batch_size"] + 1
    rows = np.concatenate([epoch_rows(0, n, s, cfg["batch_size"]) for s in range(steps)])
    first, second = rows[:n], rows[n : 2 * n]
    assert sorted(first) == list(range(n)) and sorted(second) == list(range(n))
    assert not np.array_equal(first, second)  # reshuffled each epoch
    whole = set(_rows(stored, stored.take(np.arange(n))))
    for s in range(steps):  # a step's batch is made of the set's examples, cut to its own longest
        batch = train_batch(task, cfg, 0, s)
        assert set(_rows(stored, batch)) <= whole
        assert batch.inputs.shape[1] == max(len(r) // 8 for r in _rows(stored, batch))


def test_the_sets_follow_the_seed_and_differ_from_each_other_and_from_fresh_data():
    task, cfg = tasks.make("parity"), _config(train_examples=64, val_examples=32)["train"]
    a, b = fixed_set(task, cfg, 0), fixed_set(task, dict(cfg), 0)
    assert a is b  # drawn once, then shared (the prefetcher's threads ask at once)
    again = fixed_set(task, {**cfg, "train_examples": 64}, 0)
    assert np.array_equal(a.inputs, again.inputs)
    other = fixed_set(task, cfg, 1)
    assert not np.array_equal(other.inputs[:16], a.inputs[:16])
    val = validation_set(task, cfg, 0)
    # its own stream (short parity strings repeat by chance, so the sets are told apart by their draws, not by
    # disjointness, which the paper's 80/20 split of one draw does not promise either)
    assert len(val) == 32 and _rows(val, val.take(np.arange(16))) != _rows(a, a.take(np.arange(16)))
    # the set is the run's first fresh batches, so it follows its lengths and length sampling
    first = fresh_batch(task, cfg, 0, 0)
    assert _rows(a, first) == _rows(a, a.take(np.arange(16)))


def test_early_stop_reads_validation_accuracy_when_there_is_a_set():
    cfg = _config(target_acc=0.9)["train"]
    window = torch.tensor([1.0, 10.0, 10.0, 10.0, 10.0, 1.0], dtype=torch.float64)  # training accuracy 1.0
    history = []
    assert check_window(window.clone(), 4, cfg, history, val=(0.5, 1.0)) == ""
    assert history[-1]["val_final_acc"] == 0.5 and history[-1]["final_acc"] == 1.0
    low = torch.tensor([1.0, 0.0, 0.0, 10.0, 10.0, 1.0], dtype=torch.float64)  # training accuracy 0
    assert check_window(low, 8, cfg, history, val=(0.95, 0.99)) == "target_acc"
    assert check_window(window.clone(), 12, cfg, history) == "target_acc"  # no set: the window decides


def test_a_run_on_a_fixed_set_logs_validation_and_trains_as_its_fused_self():
    configs = [_config(seed=s, train_examples=40, val_examples=24) for s in range(2)]
    singles = [train(c) for c in configs]
    for run in singles:
        assert all("val_final_acc" in row and 0 <= row["val_token_acc"] <= 1 for row in run["history"])
    for fused, single in zip(train_fused(configs, device="cpu"), singles, strict=True):
        for a, b in zip(fused["history"], single["history"], strict=True):
            assert abs(a["loss"] - b["loss"]) <= 1e-5 * abs(b["loss"])
            assert abs(a["val_token_acc"] - b["val_token_acc"]) <= 1e-6
    assert singles[0]["history"] == train(configs[0])["history"]  # same seed, same sets, same run


def test_fixed_set_keys_enter_the_run_key_only_when_set():
    plain = _config()
    assert "train_examples" not in canonical(plain) and run_key(plain) == run_key(_config(train_examples=None))
    assert run_key(plain) != run_key(_config(train_examples=100))
    assert run_key(_config(train_examples=100)) != run_key(_config(train_examples=100, val_examples=10))


@pytest.mark.parametrize(
    "sets, message",
    [
        ({"train_examples": 10, "length_schedule": "increasing"}, "cannot follow a curriculum"),
        ({"train_examples": 10**12}, "stored examples of parity needs about"),
        ({"val_examples": 0}, "val_examples must be >= 1"),
    ],
)
def test_bad_set_requests_get_one_line_errors(sets, message):
    with pytest.raises(ValueError, match=message) as err:
        _config(**sets)
    assert "\n" not in str(err.value)
