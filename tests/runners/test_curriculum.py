"""A curriculum over one task parameter (curriculum_param, curriculum_from): per-step values drawn from the seed and
the step, one vocabulary throughout, validation with one-line errors, and fused training that agrees with single."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from expressivity import tasks
from expressivity.runners.training.batches import (
    curriculum_range,
    curriculum_value,
    length_range,
    step_task,
    train_batch,
)
from expressivity.runners.training.config import resolve, run_key
from expressivity.runners.training.fused import train_fused
from expressivity.runners.training.fusion import fusion_key
from expressivity.runners.training.train import train

CURRICULUM = {"max_vars": 5, "curriculum_param": "num_vars", "curriculum_from": 2}


def _fields(batch):
    return batch.inputs, batch.targets, batch.mask


def test_defaults_keep_todays_run_keys_and_batches():
    # Keys and a batch digest computed before the curriculum, eval overrides, queries and max_vars existed.
    config = resolve("state_based_recall", "gdn", {"steps": 100})
    assert run_key(config) == "936ce0f6226488d7"
    assert config["train"]["curriculum_param"] is None and config["eval_task_params"] == {}
    sampled = resolve("pointer_tracking", "hybrid", {"steps": 100, "length_schedule": "increasing",
                                                     "length_sampling": "example"})  # fmt: skip
    assert run_key(sampled) == "600e05ccb59546be"
    task = tasks.make("state_based_recall", **config["task_params"])
    assert step_task(task, config["train"], 0, 5) is task
    import hashlib

    h = hashlib.sha256()
    batch = train_batch(task, config["train"], 0, 5)
    for a in _fields(batch):
        h.update(np.ascontiguousarray(a).tobytes())
        h.update(str(a.shape).encode())
    assert h.hexdigest()[:16] == "0d76a6e5b9bb0871"


@given(st.integers(1, 500), st.integers(2, 5), st.integers(0, 2**32 - 1))
def test_each_step_draws_its_value_from_the_seed_and_step(steps, start, seed):
    config = resolve("state_based_recall", "gdn", {**CURRICULUM, "curriculum_from": start, "steps": steps})
    cfg, task = config["train"], tasks.make("state_based_recall", **config["task_params"])
    for step in sorted({0, steps // 3, steps // 2, steps - 1}):
        value = curriculum_value(task, cfg, seed, step)
        assert value == curriculum_value(task, cfg, seed, step)  # deterministic
        lo, hi = curriculum_range(step, cfg, 5)
        assert start == lo <= value <= hi <= 5
    assert curriculum_range(steps - 1, cfg, 5)[1] == 5  # the top reaches the run's value at the last step
    assert curriculum_range(0, cfg, 5)[1] == start + round((5 - start) / steps)  # and starts at the bottom


def test_values_rise_over_training_and_cover_the_range():
    cfg = resolve("state_based_recall", "gdn", {**CURRICULUM, "steps": 400})["train"]
    task = tasks.make("state_based_recall", max_vars=5)
    values = np.array([curriculum_value(task, cfg, 7, s) for s in range(400)])
    assert set(values) == {2, 3, 4, 5}
    assert values[:100].mean() < values[300:].mean()
    assert (values[:50] <= 3).all()


def test_a_steps_batch_is_the_batch_of_the_task_at_its_value():
    # The value comes from its own stream: the step's batch is what the task at that value draws from the step's
    # usual stream, so a curriculum changes which task a step samples and nothing else.
    config = resolve("pointer_tracking", "gdn", {**CURRICULUM, "steps": 40, "length_sampling": "example"})
    plain = resolve("pointer_tracking", "gdn", {"max_vars": 5, "steps": 40, "length_sampling": "example"})
    task = tasks.make("pointer_tracking", **config["task_params"])
    for step in (0, 13, 39):
        value = curriculum_value(task, config["train"], 3, step)
        at_value = tasks.make("pointer_tracking", num_vars=value, max_vars=5)
        for a, b in zip(_fields(train_batch(task, config["train"], 3, step)),
                        _fields(train_batch(at_value, plain["train"], 3, step)), strict=True):  # fmt: skip
            np.testing.assert_array_equal(a, b)


def test_the_vocabulary_stays_the_same_throughout():
    config = resolve("state_based_recall", "gdn", {**CURRICULUM, "steps": 60, "queries": "every_line"})
    task = tasks.make("state_based_recall", **config["task_params"])
    seen = set()
    for step in range(60):
        stepped = step_task(task, config["train"], 0, step)
        assert stepped.vocab == task.vocab
        seen.add(stepped.num_vars)
        assert train_batch(task, config["train"], 0, step).inputs.max() < len(task.vocab)
    assert seen == {2, 3, 4, 5}


def test_a_curriculum_enters_the_run_key():
    base = resolve("state_based_recall", "gdn", {"max_vars": 5})
    assert run_key(resolve("state_based_recall", "gdn", CURRICULUM)) != run_key(base)
    assert run_key(resolve("state_based_recall", "gdn", {**CURRICULUM, "curriculum_from": 3})) != run_key(
        resolve("state_based_recall", "gdn", CURRICULUM)
    )


@pytest.mark.parametrize(
    ("sets", "expected"),
    [
        ({"curriculum_param": "num_vars", "curriculum_from": 2}, r"changes the vocabulary \(29 tokens at num_vars=2"),
        ({"curriculum_param": "num_vars"}, "curriculum_param and curriculum_from are set together"),
        ({"curriculum_from": 2}, "curriculum_param and curriculum_from are set together"),
        ({"curriculum_param": "depth", "curriculum_from": 2}, "'depth' is not a parameter of state_based_recall"),
        ({"curriculum_param": "ops", "curriculum_from": 2}, "needs an integer ops to rise to, got ops='swap'"),
        ({"curriculum_param": "m", "curriculum_from": 8}, "needs an integer m to rise to, got m=None"),
        ({**CURRICULUM, "curriculum_from": 6}, "curriculum_from=6 is above num_vars=5"),
        ({**CURRICULUM, "curriculum_from": 1}, r"at num_vars=1: .*num_vars must be in \[2, 26\]"),
        ({"m": 16, "num_vars": 5, "curriculum_param": "m", "curriculum_from": 4}, "at m=4: .*m .* must be >= 5"),
        ({**CURRICULUM, "curriculum_from": 2.5}, "curriculum_from must be int"),
    ],
)
def test_bad_curricula_are_one_line_errors(sets, expected):
    with pytest.raises(ValueError, match=expected) as err:
        resolve("state_based_recall", "gdn", sets)
    assert "\n" not in str(err.value)


def test_a_list_size_curriculum_is_valid():
    config = resolve("state_based_recall", "gdn", {"m": 64, "curriculum_param": "m", "curriculum_from": 8})
    task = tasks.make("state_based_recall", m=64)
    assert {step_task(task, config["train"], 0, s).m for s in range(0, 3000, 100)} <= set(range(8, 65))


SETS = {"steps": 30, "batch_size": 8, "check_every": 5, "warmup": 5, "clip": 1.0, "eval_lengths": [4, 8],
        "eval_examples": 16, "train_min_length": 2, "train_max_length": 6, "checkpoint_every": 10}  # fmt: skip


def test_fused_runs_with_curricula_train_as_their_single_runs():
    # Runs of one group may differ in their curriculum and in the task they are evaluated on.
    per_run = [
        {**CURRICULUM, "lr": 2.5e-4},
        {**CURRICULUM, "curriculum_from": 3, "lr": 5e-4, "seed": 1, "eval.queries": "final"},
        {"max_vars": 5, "lr": 7.5e-4, "seed": 2},
    ]
    configs = [resolve("state_based_recall", "gdn", {**SETS, "queries": "every_line", **p}) for p in per_run]
    assert len({fusion_key(c) for c in configs}) == 1
    for fused, single in zip(train_fused(configs, device="cpu"), [train(c) for c in configs], strict=True):
        assert fused["steps"] == single["steps"] and len(fused["history"]) == len(single["history"])
        for a, b in zip(fused["history"], single["history"], strict=True):
            assert abs(a["loss"] - b["loss"]) <= 1e-5 * abs(b["loss"]), (a, b)
        assert fused["train_tokens"] == single["train_tokens"]
        for n, m in single["metrics"].items():
            assert fused["metrics"][n]["final_acc"] == m["final_acc"]
            assert fused["metrics"][n]["token_acc"] == m["token_acc"]


@given(st.integers(10, 500), st.floats(0.05, 0.95))
def test_curriculum_frac_reaches_the_top_early_and_stays(steps, frac):
    """Both curricula reach the run's value after `curriculum_frac` of the steps and train at it after that."""
    sets = {**CURRICULUM, "curriculum_from": 2, "steps": steps, "curriculum_frac": frac,
            "length_schedule": "increasing", "train_min_length": 1, "train_max_length": 16}  # fmt: skip
    cfg = resolve("state_based_recall", "gdn", sets)["train"]
    full = int(frac * steps)
    for step in range(full, steps):
        assert curriculum_range(step, cfg, 5) == (2, 5) and length_range(step, cfg) == (1, 16)
    assert curriculum_range(0, cfg, 5)[1] < 5 or frac * steps < 2
    plain = resolve("state_based_recall", "gdn", {**sets, "curriculum_frac": 1.0})["train"]
    assert [length_range(s, plain)[1] for s in range(steps)] == [1 + round(15 * (s + 1) / steps) for s in range(steps)]
