"""Evaluation on another task than training (`--set eval.x=v`, the config's `eval_task_params`): part of the run key,
validated, and changing evaluation only."""

import json

import pytest
import torch

from expressivity import tasks
from expressivity.runners.execution.grid import expand
from expressivity.runners.training.batches import EVAL_STREAM, rng_for
from expressivity.runners.training.config import canonical, complete, from_json, keyed, resolve, run_key, sets_of
from expressivity.runners.training.evaluate import evaluate_by_length
from expressivity.runners.training.run_tasks import eval_task
from expressivity.runners.training.train import build_model, train

EVERY = {"queries": "every_line"}


def test_an_override_is_stored_keyed_and_round_trips():
    plain = resolve("state_based_recall", "gdn", EVERY)
    config = resolve("state_based_recall", "gdn", {**EVERY, "eval.queries": "final", "eval.m": 32})
    assert config["eval_task_params"] == {"m": 32, "queries": "final"}
    assert config["task_params"] == plain["task_params"] and config["train"] == plain["train"]
    assert run_key(config) != run_key(plain)
    assert eval_task(config).params == {**plain["task_params"], "m": 32, "queries": "final"}
    assert resolve("state_based_recall", "gdn", sets_of(config)) == config
    assert from_json(canonical(config)) == config
    assert "eval_task_params" not in keyed(plain) and complete(keyed(plain)) == plain


def test_an_override_equal_to_the_training_task_is_no_override():
    config = resolve("state_based_recall", "gdn", {**EVERY, "eval.queries": "every_line", "eval.num_vars": 5})
    assert config["eval_task_params"] == {}
    assert run_key(config) == run_key(resolve("state_based_recall", "gdn", EVERY))


@pytest.mark.parametrize(
    ("sets", "expected"),
    [
        ({"eval.num_vars": 3}, r"eval.num_vars=3 changes the vocabulary \(30 tokens, training has 32\)"),
        ({"eval.queries": "sometimes"}, "eval task: state_based_recall: queries='sometimes' is not valid"),
        ({"eval.depth": 3}, r"unknown key 'eval.depth' .*eval.m, eval.num_vars"),
        ({"eval.m": 3}, r"eval task: .*m \(list size, at least num_vars\) must be >= 5"),
    ],
)
def test_bad_overrides_are_one_line_errors(sets, expected):
    with pytest.raises(ValueError, match=expected) as err:
        resolve("state_based_recall", "gdn", sets)
    assert "\n" not in str(err.value)


def test_the_variable_tokens_fixed_an_override_of_num_vars_is_valid():
    config = resolve("pointer_tracking", "gdn", {"max_vars": 5, "num_vars": 2, "eval.num_vars": 5})
    assert eval_task(config).num_vars == 5 and len(eval_task(config).vocab) == len(tasks.make("pointer_tracking").vocab)


def test_a_grid_sweeps_an_override_beside_the_training_parameter():
    spec = {
        "tasks": [{"name": "state_based_recall", "queries": "every_line"}],
        "archs": ["gdn"],
        "sweep": {"eval": {"queries": ["final", "every_line"]}},
    }
    configs = expand(spec).configs
    assert [c["eval_task_params"] for c in configs] == [{"queries": "final"}, {}]


SHORT = {"steps": 12, "batch_size": 8, "check_every": 4, "warmup": 2, "eval_lengths": [3, 6], "eval_examples": 12,
         "train_min_length": 2, "train_max_length": 4, "checkpoint_every": 0}  # fmt: skip


def test_an_override_changes_evaluation_only(tmp_path):
    plain = resolve("state_based_recall", "gdn", {**SHORT, **EVERY})
    overridden = resolve("state_based_recall", "gdn", {**SHORT, **EVERY, "eval.queries": "final"})
    a, b = train(plain), train(overridden, checkpoint=tmp_path / "run.pt")
    assert json.dumps(a["history"]) == json.dumps(b["history"]) and a["train_tokens"] == b["train_tokens"]
    # the override's metrics are those of its trained model on the eval task, with the eval task's test stream
    model = build_model(overridden, len(tasks.make("state_based_recall").vocab))
    model.load_state_dict(torch.load(tmp_path / "run.pt", weights_only=True)["model"])
    for n in SHORT["eval_lengths"]:
        expected = evaluate_by_length(model, eval_task(overridden), [n], rng_for(0, EVAL_STREAM, n), num_examples=12,
                                      batch_size=64)  # fmt: skip
        assert b["metrics"][n] == expected[n]
        assert b["metrics"][n]["token_acc"] == b["metrics"][n]["final_acc"]  # one query per program
    assert a["metrics"] != b["metrics"]
