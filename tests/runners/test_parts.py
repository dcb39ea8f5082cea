"""A run's training history split by part (parts.py): what each step trained on, read from the batch itself; the
parts adding up to the window; fused and single runs agreeing; a resumed run's history equal to an unbroken one's."""

import numpy as np
import pytest
import torch

from expressivity import tasks
from expressivity.runners.training import train as train_module
from expressivity.runners.training.batches import train_batch
from expressivity.runners.training.config import resolve
from expressivity.runners.training.fused import train_fused
from expressivity.runners.training.parts import brief, has_parts, step_part
from expressivity.runners.training.train import train

# pointer_tracking over 5 names with a curriculum over how many are used (2 up to 5): the vocabulary stays fixed
TASK = {"num_vars": 5, "max_vars": 5}
SETS = {"steps": 12, "batch_size": 8, "check_every": 5, "checkpoint_every": 3, "warmup": 2, "lr": 5e-4,
        "train_min_length": 2, "train_max_length": 6, "eval_lengths": [4], "eval_examples": 16,
        "curriculum_param": "num_vars", "curriculum_from": 2, **TASK}  # fmt: skip


def _config(seed: int = 0, **extra) -> dict:
    return resolve("pointer_tracking", "transformer", {**SETS, "seed": seed, **extra})


def _names_in_first_line(task, row: np.ndarray) -> int:
    """How many variables the program declares: the distinct name tokens before its first newline."""
    names = {task.tok[n] for n in "abcde"}
    line = row[: list(row).index(task.tok["\n"], 2)]
    return len({t for t in line if t in names})


def test_each_steps_label_names_what_its_batch_holds():
    config = _config()
    task = tasks.make("pointer_tracking", **config["task_params"])
    seen = set()
    for step in range(SETS["steps"]):
        label = step_part(task, config["train"], config["seed"], step)
        batch = train_batch(task, config["train"], config["seed"], step)
        declared = {_names_in_first_line(task, row) for row in batch.inputs}
        assert label == f"pointer_tracking num_vars={declared.pop()}" and not declared, (step, label)
        seen.add(label)
    assert len(seen) > 1, "the curriculum should draw more than one value over these steps"


def test_the_parts_of_a_window_add_up_to_it():
    config = _config()
    task = tasks.make("pointer_tracking", **config["task_params"])
    result = train(config)
    assert [row["step"] for row in result["history"]] == [5, 10, 12]
    first = 0
    for row in result["history"]:
        parts = row["parts"]
        steps = sum(p["steps"] for p in parts.values())
        assert steps == (5 if row["step"] < 12 else 2)
        labels = [step_part(task, config["train"], config["seed"], s) for s in range(first, row["step"])]
        assert {label: p["steps"] for label, p in parts.items()} == {x: labels.count(x) for x in set(labels)}
        first = row["step"]
        mean = sum(p["loss"] * p["steps"] for p in parts.values()) / steps
        assert mean == pytest.approx(row["loss"], rel=1e-12)
        assert all(label.startswith("pointer_tracking num_vars=") for label in parts)


def test_a_run_without_mixture_or_curriculum_keeps_its_rows():
    config = resolve("parity", "transformer", {"steps": 10, "batch_size": 8, "check_every": 5, "eval_lengths": [4],
                                                "eval_examples": 8})  # fmt: skip
    assert not has_parts(config["train"])
    assert all("parts" not in row for row in train(config)["history"])


def test_a_mixtures_parts_are_its_components():
    config = resolve("state_based_recall", "transformer", {**{k: v for k, v in SETS.items() if k not in (
        "curriculum_param", "curriculum_from")}, "m": 8, "mixture": "all_three", "steps": 15})  # fmt: skip
    labels = set()
    for row in train(config)["history"]:
        labels |= set(row["parts"])
    assert labels <= {"state_based_recall", "pointer_tracking", "indexed_recall"} and len(labels) > 1, labels


def test_fused_and_single_runs_split_their_windows_alike():
    configs = [_config(seed) for seed in (0, 1)]
    for fused, config in zip(train_fused(configs, device="cpu"), configs, strict=True):
        single = train(config)
        for a, b in zip(fused["history"], single["history"], strict=True):
            assert a["parts"].keys() == b["parts"].keys()
            for label in a["parts"]:
                assert a["parts"][label]["steps"] == b["parts"][label]["steps"]
                assert a["parts"][label]["loss"] == pytest.approx(b["parts"][label]["loss"], rel=1e-5)


def test_a_resumed_run_reads_the_parts_an_unbroken_one_does(tmp_path, monkeypatch):
    config, path = _config(), tmp_path / "run.pt"
    unbroken = train(config)

    def failing(task, cfg, seed, step):  # stops the run at step 7, after the checkpoint at step 6 (mid-window)
        if step == 7:
            raise KeyboardInterrupt
        return train_batch(task, cfg, seed, step)

    monkeypatch.setattr(train_module, "train_batch", failing)
    with pytest.raises(KeyboardInterrupt):
        train(config, checkpoint=path)
    saved = torch.load(path, weights_only=False)
    assert saved["step"] == 6 and sum(v[5] for v in saved["parts"].values()) == 1  # step 5's sums, not yet read
    monkeypatch.undo()
    assert train(config, checkpoint=path)["history"] == unbroken["history"]


def test_a_log_line_names_each_part_by_what_sets_it_apart():
    row = {"pointer_tracking num_vars=2": {"loss": 0.2134}, "indexed_recall": {"loss": 0.5}}
    assert brief(row) == "num_vars=2 0.213, indexed_recall 0.500"
    row = {"pointer_tracking num_vars=2": {"loss": 0.3}, "state_based_recall num_vars=2": {"loss": 0.6},
           "state_based_recall num_vars=3": {"loss": 0.7}}  # fmt: skip
    assert brief(row) == "pointer_tracking num_vars=2 0.300, state_based_recall num_vars=2 0.600, num_vars=3 0.700"
