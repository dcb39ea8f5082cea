"""The training keys a run config may set: each key's default, type, bounds and meaning (`Key`), the top-level keys
(`seed`, `size`), and how a `--set` or TOML value becomes the key's type. config.py resolves configs against them.

    TRAIN_KEYS["lr"].default      # 0.003
    coerce("steps", TRAIN_KEYS["steps"], "300")   # 300; a bad value -> ValueError naming what is allowed
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from expressivity.runners.training.batches import LENGTH_SAMPLINGS
from expressivity.runners.training.mixtures import MIXTURES
from expressivity.runners.training.options import parse_value

SCHEDULES = ("cosine", "wsd", "constant")
LENGTH_SCHEDULES = ("uniform", "increasing", "fixed")


@dataclass(frozen=True)
class Key:
    """One training key: its default, type, and what it means (shown in error messages and `--help`)."""

    default: Any
    kind: type
    help: str
    choices: tuple = ()
    lo: float | None = None
    hi: float | None = None
    optional: bool = False  # None allowed (means "off")


TRAIN_KEYS: dict[str, Key] = {
    "steps": Key(3000, int, "optimizer steps (an upper bound when target_acc stops early)", lo=1),
    "batch_size": Key(128, int, "examples per step", lo=1),
    "lr": Key(3e-3, float, "peak learning rate of AdamW", lo=0.0),
    "weight_decay": Key(0.1, float, "AdamW weight decay (matrices only, unless decay_vectors)", lo=0.0),
    "beta2": Key(0.98, float, "AdamW second-moment decay", lo=0.0, hi=1.0),
    "decay_vectors": Key(
        False,
        bool,
        "weight decay on every parameter: norm gains, biases and gates' vectors too, as Grazzi et al.'s "
        "script decays them",
    ),
    "warmup": Key(100, int, "linear warm-up steps", lo=0),
    "schedule": Key("cosine", str, "learning-rate schedule after warm-up", choices=SCHEDULES),
    "decay_frac": Key(0.2, float, "wsd: fraction of steps spent decaying at the end", lo=0.0, hi=1.0),
    "min_lr_frac": Key(0.1, float, "final learning rate as a fraction of lr", lo=0.0, hi=1.0),
    "clip": Key(1.0, float, "gradient-norm clipping threshold (0 turns it off)", lo=0.0),
    "train_min_length": Key(3, int, "shortest training length (task units)", lo=1),
    "train_max_length": Key(40, int, "longest training length (task units)", lo=1),
    "length_schedule": Key("uniform", str, "how each step draws its length", choices=LENGTH_SCHEDULES),
    "length_sampling": Key(
        "batch", str, "one length per batch, or per example (batches mix lengths, padded)", choices=LENGTH_SAMPLINGS
    ),
    "eval_lengths": Key((8, 16, 32, 40, 64, 128, 256), tuple, "test lengths; <= train_max_length counts as in-dist"),
    "eval_examples": Key(256, int, "test examples per length", lo=1),
    "eval_batch_size": Key(64, int, "test batch size", lo=1),
    "target_acc": Key(
        None, float, "stop once training accuracy reaches this (None: never)", lo=0.0, hi=1.0, optional=True
    ),
    "check_every": Key(50, int, "steps between loss/accuracy checks (divergence, early stop, progress)", lo=1),
    "checkpoint_every": Key(500, int, "steps between checkpoints (0: none)", lo=0),
    "diverge_loss": Key(50.0, float, "a checked mean loss above this (or NaN) ends the run as diverged", lo=0.0),
    "deterministic": Key(
        False, bool, "PyTorch's deterministic algorithms on CUDA (they do not reach Triton kernels such as fla's)"
    ),
    "curriculum_param": Key(
        None,
        str,
        "an integer task parameter that rises over training to the run's value (None: no curriculum)",
        optional=True,
    ),
    "curriculum_from": Key(None, int, "the curriculum parameter's value at the first step", optional=True),
    "curriculum_also": Key(
        None,
        str,
        "a second integer task parameter rising beside curriculum_param over the same steps, as NAME=FROM (e.g. m=16; "
        "None: one curriculum)",
        optional=True,
    ),
    "curriculum_also_hold": Key(
        0.0,
        float,
        "the fraction of the steps the second curriculum (curriculum_also) holds at its FROM before it rises, over "
        "curriculum_also_frac (else curriculum_frac) of the steps, to the run's value (0: it rises with the first)",
        lo=0.0,
        hi=0.95,
    ),
    "curriculum_also_frac": Key(
        None,
        float,
        "the fraction of the steps over which the second curriculum (curriculum_also) rises, after its hold (None: "
        "curriculum_frac, the first curriculum's)",
        lo=0.0,
        hi=1.0,
        optional=True,
    ),
    "curriculum_frac": Key(
        1.0,
        float,
        "the fraction of the steps over which curricula (length_schedule=increasing, curriculum_param) rise to the "
        "full range; the rest train at it",
        lo=0.0,
        hi=1.0,
    ),
    "mixture": Key(
        None,
        str,
        "train on a named mixture of the task and its relatives (mixtures.py; None: the task alone)",
        choices=tuple(MIXTURES),
        optional=True,
    ),
    "train_examples": Key(
        None,
        int,
        "a fixed training set of this many examples, drawn once and reshuffled every epoch (train_set.py; None: "
        "fresh examples every step)",
        lo=1,
        optional=True,
    ),
    "val_examples": Key(
        None,
        int,
        "held-out examples at the training lengths, drawn once; early stop (target_acc) then reads their accuracy "
        "at each check instead of the training window's (None: no validation set)",
        lo=1,
        optional=True,
    ),
}
TOP_KEYS: dict[str, Key] = {
    "seed": Key(0, int, "seed of model init, training data and test data", lo=0),
    "size": Key("tiny", str, "model size preset"),
}


def task_protocol(task: str) -> dict[str, Any]:
    """The training keys of the protocol `task` trains under by default (theory.published.TASK_PROTOCOLS; still
    overridable by --set), or {}."""
    from expressivity.theory.published import PROTOCOLS, TASK_PROTOCOLS

    name = TASK_PROTOCOLS.get(task)
    return dict(PROTOCOLS[name].train) if name else {}


def coerce(name: str, spec: Key, value: Any) -> Any:
    """A --set / TOML value as the key's type; ValueError naming what is allowed."""
    if value is None and spec.optional:
        return None
    if spec.kind is tuple:
        if isinstance(value, str):
            value = [parse_value(v) for v in value.replace(" ", "").split(",") if v]
        elif isinstance(value, int) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, (list, tuple)) or not value:
            raise ValueError(f"{name} must be a non-empty list of integers such as 40,64,128, got {value!r}")
        for v in value:
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a list of positive integers such as 40,64,128, got {value!r}")
        return tuple(sorted(set(value)))
    if spec.kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, spec.kind) or isinstance(value, bool) != (spec.kind is bool):
        raise ValueError(f"{name} must be {spec.kind.__name__}, got {value!r}")
    if spec.choices and value not in spec.choices:
        raise ValueError(f"{name}={value!r} is not valid; choose one of {', '.join(spec.choices)}")
    if (spec.lo is not None and value < spec.lo) or (spec.hi is not None and value > spec.hi):
        bounds = f">= {spec.lo}" if spec.hi is None else f"in [{spec.lo}, {spec.hi}]"
        raise ValueError(f"{name} must be {bounds}, got {value}")
    return value
