"""Which runs may train fused (fused.py): those that share a fusion key, i.e. everything but what may differ per run
(`PER_RUN_TRAIN`, `PER_RUN_MODEL`: the seed, the eigenvalue range, the optimiser's settings, the schedule, early
stop and divergence thresholds, the training lengths, a curriculum or a mixture, the test protocol, and the task
itself), and sequences of about one padded length (`longest_sequence`), since a fused step pads every run's batch
to the longest. Architectures with a layer that has no fused form (LayerKind.fusable) have no fusion key. A grid
fuses by `grid_fusion_key`: the fusion key, except for runs whose layers EXPRESSIVITY_UNFUSED keeps apart (by
default those of LayerKind.fused_in_grids False: the LSTM's).

    fusion_key(config)        # a string, equal for runs that may share a fused group; None: never fused
    grid_fusion_key(config)   # what the grid's driver groups by: fusion_key, or None for a layer kept apart
    row_length(configs)       # the packed row length a group trains with (packing.py), 0 for one example a row
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import numpy as np

from expressivity.runners.training.batches import bucket, curriculum_also, draws_other_tasks

PER_RUN_TRAIN = (
    "lr", "weight_decay", "beta2", "warmup", "schedule", "decay_frac", "min_lr_frac", "clip", "target_acc",
    "diverge_loss", "train_min_length", "train_max_length", "length_schedule", "length_sampling", "eval_lengths",
    "eval_examples", "eval_batch_size", "curriculum_param", "curriculum_from", "curriculum_frac", "mixture",
    "train_examples", "curriculum_also", "curriculum_also_hold", "curriculum_also_frac",
)  # fmt: skip
PER_RUN_MODEL = ("neg_eigval",)


def fusion_key(config: dict[str, Any]) -> str | None:
    """What runs must share to train fused (None: this run cannot be fused: it has a layer without a fused form)."""
    from expressivity.architectures import LAYER_KINDS

    if not all(LAYER_KINDS[letter].fusable for letter in _letters(config)):
        return None
    shared = {
        "sequence": longest_sequence(config),
        "arch": config["arch"],
        "size": config["size"],
        "model_params": {k: v for k, v in config["model_params"].items() if k not in PER_RUN_MODEL},
        "train": {k: v for k, v in config["train"].items() if k not in PER_RUN_TRAIN},
    }
    return json.dumps(shared, sort_keys=True, default=str)


def _letters(config: dict[str, Any]) -> str:
    """The run's layer letters (architectures.LAYER_KINDS)."""
    from expressivity import architectures

    return architectures.layer_letters(config["arch"], config["size"], **config["model_params"])


def default_unfused() -> str:
    """The letters a grid keeps unfused when EXPRESSIVITY_UNFUSED is unset: LayerKind.fused_in_grids False (the
    LSTM's; models.py says why)."""
    from expressivity.architectures import LAYER_KINDS

    return "".join(letter for letter, kind in LAYER_KINDS.items() if not kind.fused_in_grids)


def unfused_letters() -> str:
    """EXPRESSIVITY_UNFUSED, checked: the layer letters whose runs a grid trains unfused though the layer has a fused
    form; `default_unfused()` when unset, and "" fuses every layer that can."""
    from expressivity.architectures import LAYER_KINDS

    letters = os.environ.get("EXPRESSIVITY_UNFUSED", default_unfused())
    unknown = sorted(set(letters) - set(LAYER_KINDS))
    if unknown:
        raise ValueError(f"EXPRESSIVITY_UNFUSED={letters!r} names no layer {', '.join(unknown)}; valid letters are "
                         f"{''.join(sorted(LAYER_KINDS))} (or nothing, to fuse every layer that can)")  # fmt: skip
    return letters


def grid_fusion_key(config: dict[str, Any]) -> str | None:
    """What a grid's driver groups runs by: `fusion_key`, or None (a job of its own) for a run with a layer that
    `unfused_letters` keeps apart. `train_fused` itself fuses any runs of one fusion key it is given."""
    return None if set(_letters(config)) & set(unfused_letters()) else fusion_key(config)


def longest_sequence(config: dict[str, Any]) -> int:
    """The padded length (`bucket`) of one training example at the run's longest training length: runs fused
    together should be of about one length, since every run's batch is padded to the longest."""
    return bucket(_example_lengths(config, 1)[0])


def _example_lengths(config: dict[str, Any], count: int) -> list[int]:
    """The sequence lengths of `count` examples of the run's task at its longest training length (seeds 0, 1, ...)."""
    from expressivity import tasks

    task = tasks.make(config["task"], **config["task_params"])
    return _probe(task, config["train"]["train_max_length"], count)


def _probe(task, length: int, count: int) -> list[int]:
    """The sequence lengths of `count` examples of `task` at `length` (seeds 0, 1, ...)."""
    return [task.sample(np.random.default_rng(s), 1, length).seq_len for s in range(count)]


PROBES = 8  # examples drawn at a run's longest length to tell a task of one sequence length from a varying one


def padded_length(configs: list[dict[str, Any]]) -> int:
    """The one length a group with compiled stages pads every step to (each new length compiles them again): the
    longest of its runs' examples at their longest training length, exactly, where a run's examples there all have
    one length and come from its own task alone (most tasks: 42 at Grazzi et al.'s length 40, not the bucket's 48,
    which the step time measured against padded length puts at about 10% more a GDN step: BENCHMARKS.md; the
    illusion-of-state word problems at 8, 16, 32 and 64: 9, 17, 33 and 65, not 16, 32, 48 and 128), else that
    length's bucket, as headroom for a longer draw (a task whose lengths vary, a mixture's other tasks, a curriculum's
    other parameter values). A step longer still pads to its own bucket (StepArrays), and is compiled then."""
    longest = 0
    for config in configs:
        seen = set(_example_lengths(config, PROBES))
        exact = len(seen) == 1 and not draws_other_tasks(config["train"])
        longest = max(longest, max(seen) if exact else bucket(max(seen)))
    return longest


PADS = ("longest", "bucket", "ladder")  # how a group with compiled stages pads its steps (EXPRESSIVITY_PAD; the first:
# the default)
LADDER_RATIO = 2**0.5  # EXPRESSIVITY_PAD=ladder: each rung this much shorter than the one above


def pad_mode() -> str:
    """EXPRESSIVITY_PAD, checked: one of PADS."""
    pad = os.environ.get("EXPRESSIVITY_PAD", PADS[0])
    if pad not in PADS:
        raise ValueError(f"EXPRESSIVITY_PAD={pad!r} is not valid; choose one of {', '.join(PADS)}")
    return pad


def least_length(configs: list[dict[str, Any]], *, bucketed: bool, compiled: bool) -> int:
    """The length every step of a group is padded to at least (StepArrays' `least`; 0: each step to its own bucket,
    or, unbucketed, to its longest example). Compiled stages compile once per padded length (tens of seconds each, in
    every group's process), so by default such a group pads every step to its longest (`padded_length`): among many
    runs most steps' longest draw is there anyway. A long run whose lengths grow (a curriculum) may gain by its steps'
    own buckets instead, a compile each: EXPRESSIVITY_PAD=bucket (olmo-hybrid's n-axis groups: 235 tokens a step on
    average against 320; testbed-v1's negative-eigenvalues groups, whose buckets StepArrays cuts to their longest,
    42: 35.3 against 42; benchmarks/pad_lengths.py), or a few sizes in between: EXPRESSIVITY_PAD=ladder
    (`pad_ladder`). Padding is not part of a run's key: the masked loss of a causal model does not see it."""
    return padded_length(configs) if bucketed and compiled and pad_mode() == "longest" else 0


def pad_ladder(configs: list[dict[str, Any]], *, bucketed: bool, compiled: bool) -> tuple[int, ...]:
    """The lengths a compiled group pads its steps to (StepArrays' `ladder`), ascending; () for one length.
    EXPRESSIVITY_PAD=ladder: its longest (`padded_length`) and sizes LADDER_RATIO times shorter each, down to 64, each
    a `bucket`. For runs whose lengths spread wide, where one size wastes most of each step and a bucket each
    (multiples of 64) compiles dozens of times: olmo-hybrid's m = 256 runs, whose mixture and list-size curriculum
    put 0.31 of the tokens of the longest in an average step (about 9 rungs, 1536 down to 64;
    benchmarks/pad_lengths.py). A group padding by a ladder is not captured as CUDA graphs by default (train_fused):
    each rung's graph would keep memory of its own, and steps this long are not launch-bound.
    The default (`longest`) pads to one length, except where every run holds its second curriculum at its FROM for
    a while (curriculum_also_hold): two rungs then, the held steps' longest (`held_length`) and the group's, each
    compiled and captured once. The staged m axis's first 8000 steps, at m = 16, padded to m = 256's length ran
    36 ms a step against 6.6 for the same batches at m = 16's own (2026-12-06, one H100; BENCHMARKS.md)."""
    if not (bucketed and compiled):
        return ()
    if pad_mode() == "ladder":
        return ladder(padded_length(configs))
    held, longest = held_length(configs), padded_length(configs)
    return (held, longest) if pad_mode() == "longest" and 0 < held < longest else ()


def held_length(configs: list[dict[str, Any]]) -> int:
    """The longest held step of the runs (their second curriculum's parameter at its FROM, the value it holds for
    curriculum_also_hold of the steps), bucketed: `padded_length` of the held runs, or longer where a mixture's other
    parts are (`mixture_length`); 0 where some run holds none (its steps are long from the start). A held step
    longer than this rung pads to the group's longest: on 2026-12-06 the rung was the run's own task's bucket (192
    tokens at m = 16) and all_three_dense's dense recall part (277) sent 38% of the held steps to 1536, 15.9 ms a
    held step on one H100 against 6.6 for the m = 16 pilot's (BENCHMARKS.md)."""
    held = []
    for config in configs:
        also = curriculum_also(config["train"])
        if also is None or config["train"].get("curriculum_also_hold", 0.0) <= 0.0:
            return 0
        param, start = also
        held.append({**config, "task_params": {**config["task_params"], param: start}})
    return max(padded_length(held), *(mixture_length(config) for config in held))


def mixture_length(config: dict[str, Any]) -> int:
    """The bucket of the longest of PROBES examples of each part of the run's mixture at the run's longest training
    length (each part at its own unit: `mixtures.components`); 0 for a run without a mixture."""
    from expressivity import tasks
    from expressivity.runners.training.mixtures import components

    mixture = config["train"].get("mixture")
    if mixture is None:
        return 0
    task = tasks.make(config["task"], **config["task_params"])
    length = config["train"]["train_max_length"]
    return bucket(max(max(_probe(made, length_of(length), PROBES)) for _, made, length_of in components(mixture, task)))


def ladder(top: int) -> tuple[int, ...]:
    """`top` and the buckets of top / LADDER_RATIO^k down to 64, ascending (1536: 64, 128, 192, 320, ..., 1088)."""
    rungs, size = {top}, top / LADDER_RATIO
    while size > 64:
        rungs.add(min(bucket(math.ceil(size)), top))
        size /= LADDER_RATIO
    return tuple(sorted(rungs | {min(64, top)}))


# "auto" packed rows: the longest example rounded up to this (fla's chunk length)
ROW_CHUNK = 64


def pack_setting(value: str) -> str:
    """A packing setting (`--pack`, EXPRESSIVITY_PACK) checked: "auto", a row length in tokens, or "0" (off)."""
    if value == "auto":
        return value
    if value.isdigit():
        return str(int(value))  # "064" -> "64", "00" -> "0"
    raise ValueError(f"packing {value!r} is not valid: give a row length in tokens, auto or 0")


def row_length(configs: list[dict], requested: int | str | None = None) -> int:
    """The packed row length runs of `configs` (one fused group, or one run) train with, 0 for one example a row.

    `requested`: a row length, "auto" (the group's longest example rounded up to ROW_CHUNK), 0 (off), or None: the
    environment's EXPRESSIVITY_PACK, off when unset. Packing applies only where it can help and work: lengths drawn
    per example (`length_sampling="example"`; one length a batch leaves no padding inside a run's batch to remove)
    and layers that read packed rows (not an LSTM or Stack-RNN). A row shorter than the longest example -> ValueError.
    """
    from expressivity import architectures
    from expressivity.architectures.models import packable

    setting = pack_setting(str((os.environ.get("EXPRESSIVITY_PACK") or "0") if requested is None else requested))
    if setting == "0":
        return 0
    for c in configs:
        letters = architectures.layer_letters(c["arch"], c["size"], **c["model_params"])
        if c["train"]["length_sampling"] != "example" or not packable(letters):
            return 0
    longest = padded_length(configs)
    if setting == "auto":
        return ROW_CHUNK * math.ceil(longest / ROW_CHUNK)
    row = int(setting)
    if row < longest:
        raise ValueError(f"packed rows of {row} tokens are shorter than these runs' examples ({longest} tokens); give "
                         f"at least {longest}, auto or 0")  # fmt: skip
    return row
