"""Mixed-task training (the `mixture` training key) on state_based_recall: each step one component, drawn from the
seed and the step with the mixture's weights; token ids shared; part of the run key; training data only."""

import json

import numpy as np
import pytest

from expressivity import tasks
from expressivity.runners.training.batches import rng_for, step_component, step_task, train_batch
from expressivity.runners.training.config import resolve, run_key
from expressivity.runners.training.fused import train_fused
from expressivity.runners.training.fusion import fusion_key
from expressivity.runners.training.mixtures import MIXTURES, VALUE_DIGITS, vocab_map
from expressivity.runners.training.train import train


def _component(config, seed, step):
    task = step_task(tasks.make(config["task"], **config["task_params"]), config["train"], seed, step)
    return step_component(task, config["train"], seed, step)


def test_every_component_shares_the_runs_token_ids():
    run = tasks.make("state_based_recall")
    assert tasks.make("indexed_recall").vocab == run.vocab[: len(tasks.make("indexed_recall").vocab)]
    assert tasks.make("pointer_tracking").vocab == run.vocab


@pytest.mark.parametrize("length_sampling", ["batch", "example"])
def test_a_steps_batch_is_its_components_batch_at_the_mapped_length(length_sampling):
    config = resolve("state_based_recall", "gdn", {"mixture": "all_three", "steps": 60, "m": 24,
                                                   "length_sampling": length_sampling})  # fmt: skip
    plain = resolve("state_based_recall", "gdn", {"steps": 60, "m": 24, "length_sampling": length_sampling})
    task = tasks.make("state_based_recall", m=24)
    seen = set()
    for step in range(0, 60, 3):
        component, length_of = _component(config, 0, step)
        seen.add(component.name)
        batch = train_batch(task, config["train"], 0, step)
        assert batch.inputs.max() < len(task.vocab)
        if component.name == "state_based_recall":
            expected = train_batch(task, plain["train"], 0, step)
        else:
            assert length_of(5) == (24 if component.name == "indexed_recall" else 5)
            rng = rng_for(0, 0, step)
            if length_sampling == "batch":
                n = int(rng.integers(config["train"]["train_min_length"], config["train"]["train_max_length"] + 1))
                expected = component.sample(rng, 128, length_of(n))
            else:
                expected = None  # lengths per example: checked through the programs below
        if expected is not None:
            np.testing.assert_array_equal(batch.inputs, expected.inputs)
            np.testing.assert_array_equal(batch.targets, expected.targets)
        source = component.source(component.example_ids(batch, 0))
        assert source.startswith("bits" if component.name != "pointer_tracking" else "a, b, c, d, e =")
    assert seen == {"state_based_recall", "pointer_tracking", "indexed_recall"}


def test_components_are_drawn_with_the_mixtures_weights():
    config = resolve("state_based_recall", "gdn", {"mixture": "with_recall", "steps": 600})
    names = [_component(config, 1, s)[0].name for s in range(600)]
    assert abs(names.count("indexed_recall") / 600 - 0.5) < 0.07
    assert names == [_component(config, 1, s)[0].name for s in range(600)]  # deterministic in seed and step


def test_with_recall_draws_indexed_recall_in_the_runs_bits_format():
    config = resolve("state_based_recall", "gdn", {"mixture": "with_recall", "bits_format": "dict", "steps": 40})
    run = tasks.make("state_based_recall", bits_format="dict")
    components = {c.name: c for c in (_component(config, 2, s)[0] for s in range(40))}
    recall = components["indexed_recall"]
    assert recall.bits_format == "dict" and recall.vocab == run.vocab[: len(recall.vocab)]


@pytest.mark.parametrize(
    "mixture", ["all_three", "all_three_dense", "all_three_dense_indices", "all_three_dense_values"]
)
def test_a_dict_runs_tracking_steps_are_written_in_the_runs_token_ids(mixture):
    # pointer_tracking has no `{ } :`, so its variable names sit at other ids than in the dict run's vocabulary: its
    # batches are mapped token by token, and read back through the run's vocabulary they are its own programs.
    config = resolve("state_based_recall", "gdn", {"mixture": mixture, "bits_format": "dict", "m": 24, "steps": 60})
    run = tasks.make("state_based_recall", m=24, bits_format="dict")
    drawn = [(s, _component(config, 5, s)) for s in range(60)]
    step, (tracking, length_of) = next((s, c) for s, c in drawn if c[0].name == "pointer_tracking")
    assert tracking.vocab != run.vocab[: len(tracking.vocab)]
    batch = train_batch(run, config["train"], 5, step)
    rng = rng_for(5, 0, step)
    n = int(rng.integers(config["train"]["train_min_length"], config["train"]["train_max_length"] + 1))
    own = tracking.sample(rng, config["train"]["batch_size"], length_of(n))
    as_run, as_own = np.array(run.vocab, dtype=object), np.array(tracking.vocab, dtype=object)
    np.testing.assert_array_equal(as_run[batch.inputs], as_own[own.inputs])
    np.testing.assert_array_equal(as_run[batch.targets[batch.mask]], as_own[own.targets[own.mask]])
    np.testing.assert_array_equal(batch.mask, own.mask)
    # where the ids agree (the dict's recall steps), the drawn batch is used unchanged
    step, (recall, length_of) = next((s, c) for s, c in drawn if c[0].name == "indexed_recall")
    rng = rng_for(5, 0, step)
    n = int(rng.integers(config["train"]["train_min_length"], config["train"]["train_max_length"] + 1))
    own = recall.sample(rng, config["train"]["batch_size"], length_of(n))
    np.testing.assert_array_equal(train_batch(run, config["train"], 5, step).inputs, own.inputs)


def test_the_indices_mixture_tracks_the_runs_index_values_as_its_pointers_are_drawn():
    # The tracking part takes the step's m (after a curriculum over it) and writes its index values as the run writes
    # its pointers; each query is answered with the held index's digits. The rest is all_three_dense.
    sets = {"mixture": "all_three_dense_indices", "bits_format": "dict", "m": 256, "max_vars": 5,
            "curriculum_param": "num_vars", "curriculum_from": 2, "curriculum_also": "m=16", "steps": 200}  # fmt: skip
    config = resolve("state_based_recall", "hybrid", sets)
    seen = {}
    for step in range(0, 200, 3):
        component, _ = _component(config, 1, step)
        stepped = step_task(tasks.make("state_based_recall", m=256, max_vars=5, bits_format="dict"), config["train"],
                            1, step)  # fmt: skip
        if component.name == "pointer_tracking":
            assert component.m == stepped.m and component.num_vars == stepped.num_vars
            assert component.answer_width == len(str(stepped.m - 1))
            seen[stepped.m] = step
    assert len(seen) > 3 and max(seen) <= 256  # list sizes the curriculum draws, each followed by the tracking part
    dense = {p.name: p for p in MIXTURES["all_three_dense"].parts}
    indices = {p.name: p for p in MIXTURES["all_three_dense_indices"].parts}
    assert indices["indexed_recall"] == dense["indexed_recall"] and indices["state_based_recall"] == dense[
        "state_based_recall"]  # fmt: skip
    batch = train_batch(tasks.make("state_based_recall", m=256, max_vars=5, bits_format="dict"), config["train"], 1,
                        seen[max(seen)])  # fmt: skip
    assert batch.inputs.shape[0] == config["train"]["batch_size"]


def test_the_values_mixture_tracks_one_digit_values_whatever_the_runs_list_size():
    # The tracking part is pointer_tracking with m = VALUE_DIGITS at the step's pointers: distinct digits, one token
    # each, each query answered with the held one; the list size follows the curriculum in the other parts alone.
    sets = {"mixture": "all_three_dense_values", "bits_format": "dict", "m": 256, "max_vars": 5,
            "queries": "every_line", "curriculum_param": "num_vars", "curriculum_from": 2, "curriculum_also": "m=16",
            "steps": 200}  # fmt: skip
    config = resolve("state_based_recall", "hybrid", sets)
    run = tasks.make("state_based_recall", m=256, max_vars=5, bits_format="dict", queries="every_line")
    digits = {str(d) for d in range(VALUE_DIGITS)}
    tracked = 0
    for step in range(0, 200, 3):
        component, _ = _component(config, 1, step)
        if component.name != "pointer_tracking":
            continue
        stepped = step_task(run, config["train"], 1, step)
        assert component.m == VALUE_DIGITS and component.num_vars == stepped.num_vars and component.answer_width == 1
        batch = train_batch(run, config["train"], 1, step)
        answers = {run.vocab[t] for t in batch.targets[batch.mask]}
        assert answers <= digits and len(answers) > 2  # a digit each, not a bit
        tracked += 1
    assert tracked > 10
    dense = {p.name: p for p in MIXTURES["all_three_dense"].parts}
    values = {p.name: p for p in MIXTURES["all_three_dense_values"].parts}
    assert values["indexed_recall"] == dense["indexed_recall"] and values["state_based_recall"] == dense[
        "state_based_recall"]  # fmt: skip
    assert run_key(config) != run_key(resolve("state_based_recall", "hybrid", {**sets, "mixture": "all_three_dense"}))


def test_a_component_token_the_run_lacks_is_a_one_line_error():
    made = tasks.make("state_based_recall", bits_format="dict")  # `{ } :`, which pointer_tracking lacks
    with pytest.raises(ValueError, match="'\\{' '\\}' ':' are not in pointer_tracking's vocabulary") as err:
        vocab_map(made, tasks.make("pointer_tracking"), "all_three")
    assert "\n" not in str(err.value)
    assert vocab_map(tasks.make("indexed_recall"), tasks.make("state_based_recall")) is None  # a prefix: ids agree


def test_with_dense_recall_asks_many_indices_of_the_runs_list_in_its_formats():
    sets = {"mixture": "with_dense_recall", "m": 24, "bits_format": "dict", "numbers": "tokens", "steps": 40}
    config = resolve("state_based_recall", "gdn", sets)
    run = tasks.make("state_based_recall", m=24, bits_format="dict", numbers="tokens")
    drawn = [(s, _component(config, 4, s)) for s in range(40)]
    step, (recall, length_of) = next((s, c) for s, c in drawn if c[0].name == "indexed_recall")
    assert (recall.lookups, recall.bits_format, recall.numbers) == (16, "dict", "tokens") and length_of(3) == 24
    assert recall.vocab == run.vocab[: len(recall.vocab)]
    batch = train_batch(run, config["train"], 4, step)
    assert (batch.mask.sum(axis=1) == 16).all(), "every lookup of every program is scored"
    assert {c.name for _, (c, _) in drawn} == {"state_based_recall", "indexed_recall"}


def test_tracking_components_lay_out_their_initial_values_as_the_run():
    config = resolve("state_based_recall", "gdn", {"mixture": "with_tracking", "init_format": "lines", "steps": 40})
    tracked = next(c for c in (_component(config, 3, s)[0] for s in range(40)) if c.name == "pointer_tracking")
    assert tracked.init_format == "lines" and tracked.vocab == tasks.make("state_based_recall").vocab
    batch = tracked.sample(np.random.default_rng(0), 1, 2)
    head = tracked.source(tracked.example_ids(batch, 0)).split("\n")[:5]
    assert [line[:-1] for line in head] == ["a = ", "b = ", "c = ", "d = ", "e = "]


def test_a_staged_mixture_trains_tracking_alone_first_then_the_run_task_alone():
    config = resolve("state_based_recall", "gdn", {"mixture": "tracking_first", "steps": 80})
    plain = resolve("state_based_recall", "gdn", {"steps": 80})
    task = tasks.make("state_based_recall")
    names = [_component(config, 0, s)[0].name for s in range(80)]
    assert names == ["pointer_tracking"] * 40 + ["state_based_recall"] * 40
    for step in (3, 39):
        source = task.source(task.example_ids(train_batch(task, config["train"], 0, step), 0))
        assert source.startswith("a, b, c, d, e ="), source  # no bits list: a tracking program
    for step in (40, 79):  # the second stage is the plain run's own batch, step for step
        np.testing.assert_array_equal(
            train_batch(task, config["train"], 0, step).inputs, train_batch(task, plain["train"], 0, step).inputs
        )


def test_tracking_then_all_draws_all_three_after_its_tracking_stage():
    config = resolve("state_based_recall", "gdn", {"mixture": "tracking_then_all", "steps": 300})
    names = [_component(config, 0, s)[0].name for s in range(300)]
    assert set(names[:100]) == {"pointer_tracking"}
    later = names[100:]
    assert set(later) == {"pointer_tracking", "state_based_recall", "indexed_recall"}
    assert all(abs(later.count(n) / 200 - 1 / 3) < 0.1 for n in set(later)), later


@pytest.mark.parametrize("drawn", ["train_examples", "val_examples"])
def test_a_staged_mixture_is_refused_with_sets_drawn_once(drawn):
    with pytest.raises(ValueError, match=f"staged by step, which a set drawn once \\({drawn}\\)") as err:
        resolve("state_based_recall", "gdn", {"mixture": "tracking_first", drawn: 256})
    assert "\n" not in str(err.value)


def test_a_mixture_follows_a_curriculum():
    sets = {"mixture": "with_tracking", "max_vars": 5, "curriculum_param": "num_vars", "curriculum_from": 2}
    config = resolve("state_based_recall", "gdn", {**sets, "steps": 100})
    for step in range(0, 100, 7):
        component, _ = _component(config, 0, step)
        stepped = step_task(tasks.make("state_based_recall", max_vars=5), config["train"], 0, step)
        assert component.num_vars == stepped.num_vars and component.vocab == stepped.vocab


def test_a_mixture_enters_the_run_key_only_when_set():
    base = resolve("state_based_recall", "gdn", {"steps": 4})
    mixed = resolve("state_based_recall", "gdn", {"steps": 4, "mixture": "all_three"})
    assert run_key(mixed) != run_key(base) and run_key(base) == run_key(
        resolve("state_based_recall", "gdn", {"steps": 4, "mixture": None})
    )
    assert set(MIXTURES) == {"all_three", "with_tracking", "with_recall", "tracking_first", "tracking_then_all",
                             "with_dense_recall", "all_three_dense", "all_three_dense_indices",
                             "all_three_dense_values"}  # fmt: skip


@pytest.mark.parametrize(
    ("task", "sets", "expected"),
    [
        ("parity", {"mixture": "all_three"}, "mixture='all_three' is for state_based_recall, not parity"),
        ("state_based_recall", {"mixture": "everything"}, "mixture='everything' is not valid; choose one of all_three"),
        ("state_based_recall", {"mixture": "all_three_dense_indices"}, "needs a fixed list size: set m"),
        (
            "state_based_recall",
            {"mixture": "all_three_dense_indices", "m": 64, "numbers": "tokens"},
            "tracks indices written in digits, so it needs numbers='digits'",
        ),
    ],
)
def test_bad_mixtures_are_one_line_errors(task, sets, expected):
    with pytest.raises(ValueError, match=expected) as err:
        resolve(task, "gdn", sets)
    assert "\n" not in str(err.value)


SETS = {"steps": 20, "batch_size": 8, "check_every": 5, "warmup": 5, "eval_lengths": [4, 8], "eval_examples": 16,
        "train_min_length": 2, "train_max_length": 6, "checkpoint_every": 0, "m": 8}  # fmt: skip


def test_fused_runs_with_mixtures_train_as_their_single_runs():
    per_run = [{"mixture": "all_three", "lr": 2.5e-4}, {"mixture": "with_recall", "lr": 5e-4, "seed": 1},
               {"lr": 7.5e-4, "seed": 2}]  # fmt: skip
    configs = [resolve("state_based_recall", "gdn", {**SETS, **p}) for p in per_run]
    assert len({fusion_key(c) for c in configs}) == 1
    for fused, single in zip(train_fused(configs, device="cpu"), [train(c) for c in configs], strict=True):
        for a, b in zip(fused["history"], single["history"], strict=True):
            assert abs(a["loss"] - b["loss"]) <= 1e-5 * abs(b["loss"]), (a, b)
        assert fused["train_tokens"] == single["train_tokens"]
        assert json.dumps(sorted(fused["metrics"])) == json.dumps(sorted(single["metrics"]))
        for n, m in single["metrics"].items():
            assert fused["metrics"][n]["final_acc"] == m["final_acc"]
