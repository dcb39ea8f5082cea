"""A second curriculum beside the first (curriculum_also=NAME=FROM): its values from a stream of its own, so the first
parameter's draws stay as they were; every pair of values one vocabulary; one-line errors; fused runs as single runs.
The case it is for: issue 15's m axis, the list size m rising beside the number of pointers."""

import numpy as np
import pytest

from expressivity import tasks
from expressivity.runners.training.batches import (
    curriculum_range,
    curriculum_value,
    curriculum_values,
    step_task,
    train_batch,
)
from expressivity.runners.training.config import resolve, run_key
from expressivity.runners.training.fused import train_fused
from expressivity.runners.training.fusion import fusion_key
from expressivity.runners.training.parts import step_part
from expressivity.runners.training.train import train

POINTERS = {"m": 64, "max_vars": 5, "curriculum_param": "num_vars", "curriculum_from": 2}
BOTH = {**POINTERS, "curriculum_also": "m=16"}


def _fields(batch):
    return batch.inputs, batch.targets, batch.mask


def test_the_first_parameters_draws_stay_as_they_were():
    one = resolve("state_based_recall", "gdn", {**POINTERS, "steps": 300})["train"]
    two = resolve("state_based_recall", "gdn", {**BOTH, "steps": 300})["train"]
    task = tasks.make("state_based_recall", m=64, max_vars=5)
    for step in range(0, 300, 7):
        assert curriculum_value(task, one, 5, step) == curriculum_value(task, two, 5, step)
        assert curriculum_values(task, two, 5, step)["num_vars"] == curriculum_value(task, one, 5, step)


def test_both_rise_over_the_same_steps_and_cover_their_ranges():
    cfg = resolve("state_based_recall", "gdn", {**BOTH, "steps": 400, "curriculum_frac": 0.5})["train"]
    task = tasks.make("state_based_recall", m=64, max_vars=5)
    drawn = [curriculum_values(task, cfg, 3, s) for s in range(400)]
    ms = np.array([d["m"] for d in drawn])
    assert set(d["num_vars"] for d in drawn) == {2, 3, 4, 5}
    assert ms.min() == 16 and ms.max() == 64 and len(set(ms)) > 30
    for step in range(400):
        lo, hi = curriculum_range(step, cfg, 64, 16)
        assert 16 == lo <= ms[step] <= hi <= 64
        assert hi == 64 if step >= 199 else step > 150 or hi < 64  # the run's m by curriculum_frac, as num_vars
    assert ms[:50].mean() < ms[300:].mean()


def test_a_held_second_curriculum_stays_at_its_from_then_rises_while_the_first_draws_as_before():
    # The staged m axis: the pointers rise first while m stays at 16, then m rises (curriculum_also_hold).
    plain = resolve("state_based_recall", "gdn", {**BOTH, "steps": 400, "curriculum_frac": 0.25})["train"]
    held = resolve("state_based_recall", "gdn", {**BOTH, "steps": 400, "curriculum_frac": 0.25,
                                                 "curriculum_also_hold": 0.5})["train"]  # fmt: skip
    task = tasks.make("state_based_recall", m=64, max_vars=5)
    tops = [curriculum_range(s, held, 64, 16, held["curriculum_also_hold"])[1] for s in range(400)]
    assert set(tops[:201]) == {16} and tops[205] > 16 and tops[290] < 64 == tops[299] == tops[-1]
    assert all(a <= b for a, b in zip(tops, tops[1:], strict=False))  # it only rises
    drawn = [curriculum_values(task, held, 3, s) for s in range(400)]
    assert {d["m"] for d in drawn[:200]} == {16} and max(d["m"] for d in drawn[300:]) > 56
    assert [d["num_vars"] for d in drawn] == [curriculum_values(task, plain, 3, s)["num_vars"] for s in range(400)]
    # the hold is a fraction of the steps: held longer than the rise leaves, the rise takes what is left
    late = {**held, "curriculum_also_hold": 0.9}
    assert curriculum_range(359, late, 64, 16, 0.9)[1] == 16 and curriculum_range(399, late, 64, 16, 0.9)[1] == 64


def test_a_held_second_curriculum_rises_over_its_own_fraction_when_given_one():
    # curriculum_also_frac: the pointers over half the steps, m held to step 200, then up to 64 in 40 steps.
    base = {**BOTH, "steps": 400, "curriculum_frac": 0.5, "curriculum_also_hold": 0.5}
    quick = resolve("state_based_recall", "gdn", {**base, "curriculum_also_frac": 0.1})["train"]
    plain = resolve("state_based_recall", "gdn", base)["train"]
    same = resolve("state_based_recall", "gdn", {**base, "curriculum_also_frac": 0.5})["train"]
    task = tasks.make("state_based_recall", m=64, max_vars=5)
    tops = [curriculum_range(s, quick, 64, 16, 0.5, 0.1)[1] for s in range(400)]
    assert set(tops[:200]) == {16} and 16 < tops[220] < 64 and tops[238] < 64 == tops[239] == tops[-1]
    drawn = [curriculum_values(task, quick, 3, s) for s in range(400)]
    assert {d["m"] for d in drawn[:200]} == {16} and max(d["m"] for d in drawn[250:]) > 56
    assert [d["num_vars"] for d in drawn] == [curriculum_values(task, plain, 3, s)["num_vars"] for s in range(400)]
    # unset, it is curriculum_frac: the same draws as given that value
    assert [curriculum_values(task, plain, 3, s) for s in range(400)] == [
        curriculum_values(task, same, 3, s) for s in range(400)
    ]


def test_a_hold_enters_the_run_key_only_when_set():
    assert run_key(resolve("state_based_recall", "gdn", {**BOTH, "curriculum_also_hold": 0.0})) == run_key(
        resolve("state_based_recall", "gdn", BOTH)
    )
    assert run_key(resolve("state_based_recall", "gdn", {**BOTH, "curriculum_also_hold": 0.5})) != run_key(
        resolve("state_based_recall", "gdn", BOTH)
    )
    assert run_key(resolve("state_based_recall", "gdn", {**BOTH, "curriculum_also_frac": None})) == run_key(
        resolve("state_based_recall", "gdn", BOTH)
    )
    assert run_key(resolve("state_based_recall", "gdn", {**BOTH, "curriculum_also_frac": 0.1})) != run_key(
        resolve("state_based_recall", "gdn", BOTH)
    )


def test_every_held_step_of_a_mixture_fits_the_held_rung():
    """A mixture's other parts can be longer than the run's own task (all_three_dense's dense recall, 16 lookups:
    277 tokens at m = 16 against state-based recall's 163): the held rung covers them, else those steps pad to the
    group's longest (38% of the held steps on 2026-12-06)."""
    from expressivity.runners.training.batches import StepArrays
    from expressivity.runners.training.config import complete
    from expressivity.runners.training.fusion import held_length, padded_length

    sets = {**BOTH, "steps": 60, "batch_size": 4, "queries": "every_line", "bits_format": "dict",
            "mixture": "all_three_dense", "curriculum_also_hold": 0.5, "train_min_length": 4,
            "train_max_length": 4, "length_schedule": "fixed", "seed": 0}  # fmt: skip
    configs = [complete(resolve("state_based_recall", "hybrid", {**sets, "pattern": "GGGA", "pos": "nope"}))]
    held = held_length(configs)
    own = {**configs[0], "task_params": {**configs[0]["task_params"], "m": 16}, "train": {**configs[0]["train"],
           "mixture": None}}  # fmt: skip
    plain = StepArrays(configs, bucketed=False)
    widths = [plain(step)[0][0].shape[2] for step in range(30)]  # the held half of the steps
    assert max(widths) <= held < padded_length(configs), (widths, held)
    assert max(widths) > padded_length([own])  # some held step is longer than the run's own task alone


def test_a_held_group_pads_its_held_steps_to_their_own_longest(monkeypatch):
    """By default a compiled group pads every step to its longest; while every run holds m at its FROM the steps
    are far shorter (m = 16 against 256: 36 ms a step against 6.6 on one H100), so a held group has two rungs: the
    held steps' longest, the group's longest. The same batches, padded less; a group with a run that holds nothing
    pads as before."""
    from expressivity.runners.training.batches import StepArrays
    from expressivity.runners.training.config import complete
    from expressivity.runners.training.fusion import held_length, pad_ladder, padded_length

    sets = {**BOTH, "steps": 60, "batch_size": 8, "queries": "every_line", "bits_format": "dict",
            "curriculum_frac": 0.25, "train_min_length": 4, "train_max_length": 4,
            "length_schedule": "fixed"}  # fmt: skip
    configs = [complete(resolve("state_based_recall", "gdn", {**sets, "curriculum_also_hold": 0.5, "seed": s}))
               for s in range(2)]  # fmt: skip
    at_from = [complete(resolve("state_based_recall", "gdn", {**POINTERS, **{k: v for k, v in sets.items() if k
               != "curriculum_also"}, "m": 16, "seed": s})) for s in range(2)]  # fmt: skip
    rungs = pad_ladder(configs, bucketed=True, compiled=True)
    assert rungs == (held_length(configs), padded_length(configs)) and rungs[0] == padded_length(at_from) < rungs[1]
    assert pad_ladder(configs, bucketed=True, compiled=False) == ()
    assert pad_ladder(configs, bucketed=False, compiled=True) == ()
    unheld = [configs[0], complete(resolve("state_based_recall", "gdn", {**sets, "seed": 1}))]
    assert held_length(unheld) == 0 and pad_ladder(unheld, bucketed=True, compiled=True) == ()
    padded, plain = StepArrays(configs, bucketed=True, ladder=rungs), StepArrays(configs, bucketed=False)
    widths = {}
    for step in (0, 13, 29, 31, 45, 59):
        (inputs, targets, mask), tokens = padded(step)
        (ref_inputs, ref_targets, ref_mask), ref_tokens = plain(step)
        T = widths[step] = ref_inputs.shape[2]
        assert inputs.shape[2] == (rungs[0] if T <= rungs[0] else rungs[1]) and tokens == ref_tokens
        assert np.array_equal(inputs[..., :T], ref_inputs) and np.array_equal(targets[..., :T], ref_targets)
        assert np.array_equal(mask[..., :T], ref_mask) and not mask[..., T:].any()
    assert max(widths[s] for s in (0, 13, 29)) <= rungs[0] < max(widths[s] for s in (45, 59))  # held, then not
    monkeypatch.setenv("EXPRESSIVITY_PAD", "bucket")
    assert pad_ladder(configs, bucketed=True, compiled=True) == ()


def test_a_steps_batch_is_the_batch_of_the_task_at_both_values():
    config = resolve("state_based_recall", "gdn", {**BOTH, "steps": 40, "queries": "every_line"})
    plain = resolve("state_based_recall", "gdn", {"m": 64, "max_vars": 5, "steps": 40, "queries": "every_line"})
    task = tasks.make("state_based_recall", **config["task_params"])
    for step in (0, 17, 39):
        values = curriculum_values(task, config["train"], 2, step)
        stepped = step_task(task, config["train"], 2, step)
        assert (stepped.num_vars, stepped.m) == (values["num_vars"], values["m"]) and stepped.vocab == task.vocab
        at_values = tasks.make("state_based_recall", **{**config["task_params"], **values})
        for a, b in zip(_fields(train_batch(task, config["train"], 2, step)),
                        _fields(train_batch(at_values, plain["train"], 2, step)), strict=True):  # fmt: skip
            np.testing.assert_array_equal(a, b)


def test_the_history_splits_by_the_first_parameter_alone():
    # m would make up to 49 labels here (hundreds at the m axis's 1024): the parts stay those of the pointers.
    config = resolve("state_based_recall", "gdn", {**BOTH, "steps": 40})
    task = tasks.make("state_based_recall", **config["task_params"])
    labels = {step_part(task, config["train"], 0, s) for s in range(40)}
    assert labels <= {f"state_based_recall num_vars={v}" for v in range(2, 6)} and len(labels) > 1


def test_a_second_curriculum_enters_the_run_key():
    both, pointers = (run_key(resolve("state_based_recall", "gdn", sets)) for sets in (BOTH, POINTERS))
    assert both != pointers
    assert run_key(resolve("state_based_recall", "gdn", {**BOTH, "curriculum_also": "m=8"})) != run_key(
        resolve("state_based_recall", "gdn", BOTH)
    )


@pytest.mark.parametrize(
    ("sets", "expected"),
    [
        ({**POINTERS, "curriculum_also": "m"}, "curriculum_also='m' is not NAME=FROM with an integer FROM"),
        ({**POINTERS, "curriculum_also_hold": 0.5}, "curriculum_also_hold=0.5 shapes the second curriculum, which is "
         "not set"),
        ({**BOTH, "curriculum_also_hold": 1.0}, "curriculum_also_hold"),
        ({**POINTERS, "curriculum_also_frac": 0.1}, "curriculum_also_frac=0.1 shapes the second curriculum, which is "
         "not set"),
        ({**BOTH, "curriculum_also_frac": 1.5}, "curriculum_also_frac"),
        ({**POINTERS, "curriculum_also": "m=x"}, "is not NAME=FROM with an integer FROM"),
        ({"m": 64, "curriculum_also": "m=16"}, "rises beside curriculum_param, which is not set"),
        ({**POINTERS, "curriculum_also": "num_vars=3"}, "names num_vars, which curriculum_param raises"),
        ({**POINTERS, "curriculum_also": "depth=3"}, "curriculum_also='depth' is not a parameter of state_based_"),
        ({**POINTERS, "curriculum_also": "m=80"}, "curriculum_also's FROM=80 is above m=64"),
        ({**POINTERS, "m": None, "curriculum_also": "m=16"}, "needs an integer m to rise to, got m=None"),
        ({**POINTERS, "curriculum_also": "m=3"}, r"over num_vars from 2 and m from 3: at num_vars=4 m=3: .*m"),
        ({"m": 64, "num_vars": 5, "curriculum_param": "m", "curriculum_from": 16, "curriculum_also": "num_vars=2"},
         r"over m from 16 and num_vars from 2 changes the vocabulary \(\d+ tokens at m=16 num_vars=2, \d+ at m=64 "
         "num_vars=5"),
    ],
)  # fmt: skip
def test_bad_second_curricula_are_one_line_errors(sets, expected):
    with pytest.raises(ValueError, match=expected) as err:
        resolve("state_based_recall", "gdn", sets)
    assert "\n" not in str(err.value)


SETS = {"steps": 30, "batch_size": 8, "check_every": 5, "warmup": 5, "clip": 1.0, "eval_lengths": [4],
        "eval_examples": 16, "train_min_length": 2, "train_max_length": 6, "checkpoint_every": 10,
        "queries": "every_line", "m": 24}  # fmt: skip


def test_fused_runs_with_two_curricula_train_as_their_single_runs():
    per_run = [
        {**BOTH, "m": 24, "curriculum_also": "m=8", "lr": 2.5e-4},
        {**BOTH, "m": 24, "curriculum_also": "m=12", "curriculum_also_hold": 0.4, "lr": 5e-4, "seed": 1},
        {**POINTERS, "m": 24, "lr": 7.5e-4, "seed": 2},
    ]
    configs = [resolve("state_based_recall", "gdn", {**SETS, **p}) for p in per_run]
    assert len({fusion_key(c) for c in configs}) == 1
    for fused, single in zip(train_fused(configs, device="cpu"), [train(c) for c in configs], strict=True):
        assert fused["steps"] == single["steps"] and fused["train_tokens"] == single["train_tokens"]
        for a, b in zip(fused["history"], single["history"], strict=True):
            assert abs(a["loss"] - b["loss"]) <= 1e-5 * abs(b["loss"]), (a, b)
        for n, m in single["metrics"].items():
            assert fused["metrics"][n]["final_acc"] == m["final_acc"]
