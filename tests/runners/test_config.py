"""Run configs: one flat --set namespace, protocol defaults, validation with the valid keys named, stable run keys."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from expressivity import architectures, tasks
from expressivity.runners.training.config import TRAIN_KEYS, canonical, from_json, resolve, run_key, valid_keys


def test_defaults_follow_the_published_protocol():
    config = resolve("parity", "lstm")
    train = config["train"]
    assert (train["train_min_length"], train["train_max_length"]) == (3, 40)
    assert max(train["eval_lengths"]) == 256 and 40 in train["eval_lengths"]
    assert config["seed"] == 0 and config["size"] == "tiny" and config["model_params"] == {}
    assert config["task_params"] == tasks.make("parity").params


@pytest.mark.skipif("state_based_recall" not in tasks.names(), reason="code tasks not registered")
def test_state_based_recall_trains_to_16_and_tests_to_64():
    train = resolve("state_based_recall", "lstm")["train"]
    assert train["train_max_length"] == 16 and max(train["eval_lengths"]) == 64


def test_bare_keys_reach_their_namespace():
    model_key = next(iter(architectures.param_defaults("lstm")))
    value = architectures.param_defaults("lstm")[model_key]
    config = resolve("parity", "lstm", {"lr": 3e-4, "targets": "final", "seed": 4, f"model.{model_key}": value})
    assert config["train"]["lr"] == 3e-4
    assert config["task_params"]["targets"] == "final"
    assert config["seed"] == 4
    assert config["model_params"] == {model_key: value}
    assert resolve("parity", "lstm", {"task.targets": "final", "train.lr": 3e-4, "seed": 4, model_key: value}) == config


def test_unknown_key_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown key 'bogus'") as err:
        resolve("parity", "lstm", {"bogus": 1})
    message = str(err.value)
    assert "\n" not in message
    for key in ("lr", "steps", "targets", *architectures.param_defaults("lstm")):
        assert key in message
    assert set(valid_keys("parity", "lstm")) >= {"lr", "targets", "seed", "size"}


@pytest.mark.parametrize(
    ("sets", "expected"),
    [
        ({"lr": "fast"}, "lr must be float"),
        ({"steps": 1.5}, "steps must be int"),
        ({"schedule": "linear"}, "cosine, wsd, constant"),
        ({"length_schedule": "random"}, "uniform, increasing, fixed"),
        ({"eval_lengths": "40,x"}, "eval_lengths"),
        ({"train_min_length": 50}, "train_min_length=50 > train_max_length=40"),
        ({"targets": "sometimes"}, "targets"),
        ({"size": "huge"}, "tiny"),
        ({"warmup": -1}, "warmup must be >= 0"),
        ({"target_acc": 1.5}, r"target_acc must be in \[0.0, 1.0\]"),
        ({"d_model": -3}, "d_model"),
    ],
)
def test_bad_values_are_one_line_errors(sets, expected):
    with pytest.raises(ValueError, match=expected) as err:
        resolve("parity", "lstm", sets)
    assert "\n" not in str(err.value)


def test_unknown_task_and_architecture():
    with pytest.raises(ValueError, match="unknown task"):
        resolve("nope", "lstm")
    with pytest.raises(ValueError, match="unknown architecture 'nope'"):
        resolve("parity", "nope")


def test_eval_lengths_parse_from_the_command_line_and_toml():
    assert resolve("parity", "lstm", {"eval_lengths": "64,40, 64"})["train"]["eval_lengths"] == (40, 64)
    assert resolve("parity", "lstm", {"eval_lengths": [256, 40]})["train"]["eval_lengths"] == (40, 256)


@pytest.mark.parametrize("name", tasks.names())
def test_default_lengths_fit_every_task(name):
    """Defaults are clipped to the task's own min/max length (e.g. a needle needs room, recall keys run out)."""
    task = tasks.make(name)
    train = resolve(name, "lstm")["train"]
    lo, hi = task.min_length, task.max_length or 10**9
    assert lo <= train["train_min_length"] <= train["train_max_length"] <= hi
    assert all(lo <= n <= hi for n in train["eval_lengths"])
    task.sample(np.random.default_rng(0), 1, train["train_min_length"])  # really samplable


def test_explicit_lengths_outside_a_tasks_range_are_errors():
    capped = next(n for n in tasks.names() if tasks.make(n).max_length is not None)
    hi = tasks.make(capped).max_length
    with pytest.raises(ValueError, match="outside"):
        resolve(capped, "lstm", {"eval_lengths": [hi + 1]})
    floored = next((n for n in tasks.names() if tasks.make(n).min_length > 3), None)
    if floored is not None:
        with pytest.raises(ValueError, match="outside"):
            resolve(floored, "lstm", {"train_min_length": 3})


sets_strategy = st.fixed_dictionaries(
    {},
    optional={
        "lr": st.sampled_from([1e-3, 3e-4, 1]),
        "steps": st.integers(1, 10_000),
        "seed": st.integers(0, 5),
        "targets": st.sampled_from(["running", "final"]),
        "schedule": st.sampled_from(["cosine", "wsd", "constant"]),
    },
)


@given(sets_strategy, sets_strategy)
def test_run_key_is_equal_exactly_when_the_resolved_configs_are(a, b):
    ca, cb = resolve("parity", "lstm", a), resolve("parity", "lstm", b)
    assert (run_key(ca) == run_key(cb)) == (ca == cb)
    assert from_json(canonical(ca)) == ca  # the store's JSON round-trips to the same config


def test_every_training_key_has_a_valid_default():
    config = resolve("parity", "lstm")
    assert set(config["train"]) == set(TRAIN_KEYS)


@pytest.mark.parametrize(("task", "before"), [("state_based_recall", "936ce0f6226488d7"),
                                              ("pointer_tracking", "8e441070a6b8e4bc")])  # fmt: skip
def test_init_format_enters_the_run_key_only_away_from_its_default(task, before):
    # `before`: the run keys of these configs before init_format existed (commit 73c1f15)
    plain, tuple_ = (resolve(task, "gdn", {"steps": 100, **extra}) for extra in ({}, {"init_format": "tuple"}))
    assert run_key(plain) == run_key(tuple_) == before and "init_format" not in canonical(plain)
    lines = resolve(task, "gdn", {"steps": 100, "init_format": "lines"})
    assert run_key(lines) != before and lines["task_params"]["init_format"] == "lines"
    assert from_json(canonical(lines)) == lines
