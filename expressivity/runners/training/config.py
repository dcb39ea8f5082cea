"""The resolved run config: one flat `--set key=value` namespace over task, model and training parameters.

A run is fully described by a JSON-able dict, and its key is a hash of that dict:

    {"task": "parity", "task_params": {"targets": "running"},
     "arch": "lstm", "size": "tiny", "model_params": {"d_model": 64},
     "seed": 0, "train": {"steps": 2000, "lr": 0.001, ...}, "eval_task_params": {}}

`--set` keys are spelled bare (`lr=3e-4`, `targets=final`, `d_model=64`) and routed to whichever namespace owns them;
a name two namespaces share must be prefixed (`task.x`, `model.x`, `train.x`). Unknown keys are rejected with the list
of valid ones. `eval.x` (always prefixed) sets task parameter x for evaluation only: the config's `eval_task_params`
(e.g. train with `queries=every_line`, test with `eval.queries=final`), which must keep the training vocabulary.
`curriculum_param=num_vars curriculum_from=2` raises a task parameter over training (batches.py); every value on
the way must build the task with the training vocabulary (e.g. with `max_vars=5` fixing the variable tokens).
`mixture=all_three` trains state_based_recall beside its two primitives (mixtures.py); evaluation stays on the task.
`train_examples=N` trains on a fixed set drawn once, `val_examples=V` stops early on held-out accuracy (train_set.py).
`model_params` holds only what was set explicitly: the size preset supplies everything else, and the package version
and git commit stored beside each run pin what the preset meant.

Defaults follow the published protocols: train lengths 3-40 and test lengths up to 256 (Grazzi et al. 2025, Delétang
et al. 2022), state-based recall trained at n = m <= 16 and tested to 64 (Olmo Hybrid). The optimiser defaults (3000
steps of batch 128, AdamW at 3e-3) are the calibration point recorded in DEVICE.md: a 2-layer GDN with beta in [0, 2]
learns running parity with length generalisation under them in about a GPU-minute. The keys themselves, with their
defaults and bounds, are in keys.py.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from expressivity.runners.training.keys import (
    TOP_KEYS,
    TRAIN_KEYS,
    coerce,
    task_protocol,
)
from expressivity.runners.training.mixtures import check_mixture
from expressivity.runners.training.run_tasks import check_curriculum, check_eval_lengths, checked_eval_task, same
from expressivity.runners.training.train_set import check_sets


def _namespaces(task: str, arch: str) -> dict[str, dict[str, Any]]:
    from expressivity import architectures, tasks

    if arch not in architectures.names():
        raise ValueError(f"unknown architecture {arch!r}; valid: {', '.join(architectures.names())}")
    return {
        "train": {**{k: s.default for k, s in TOP_KEYS.items()}, **{k: s.default for k, s in TRAIN_KEYS.items()}},
        "task": tasks.get(task).param_defaults(),
        "model": architectures.param_defaults(arch),
    }


def valid_keys(task: str, arch: str) -> list[str]:
    """Every `--set` key a run of (task, arch) accepts, bare where unambiguous, prefixed otherwise; then the
    evaluation overrides `eval.<task parameter>`."""
    spaces = _namespaces(task, arch)
    counts: dict[str, int] = {}
    for names in spaces.values():
        for k in names:
            counts[k] = counts.get(k, 0) + 1
    keys = [k if counts[k] == 1 else f"{ns}.{k}" for ns, names in spaces.items() for k in names]
    return keys + [f"eval.{k}" for k in spaces["task"]]


def _route(key: str, spaces: dict[str, dict[str, Any]], task: str, arch: str) -> tuple[str, str]:
    """`key` or `ns.key` -> (namespace, name); unknown or ambiguous -> ValueError listing the valid keys. `eval.x`
    routes to the "eval" namespace when x is a task parameter (never bare: it would shadow the training task's)."""
    ns, dot, name = key.partition(".")
    if dot and ns == "eval":
        if name in spaces["task"]:
            return ns, name
    elif dot and ns in spaces:
        if name in spaces[ns]:
            return ns, name
    elif not dot:
        owners = [n for n, names in spaces.items() if key in names]
        if len(owners) == 1:
            return owners[0], key
        if len(owners) > 1:
            raise ValueError(
                f"key {key!r} is ambiguous for {task}/{arch}; write one of {', '.join(f'{o}.{key}' for o in owners)}"
            )
    raise ValueError(f"unknown key {key!r} for {task}/{arch}; valid keys: {', '.join(valid_keys(task, arch))}")


def resolve(task: str, arch: str, sets: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The full run config for (task, arch) with `sets` applied (values already parsed, e.g. by `parse_sets`).

    Validates every key and value, and the task parameters by building the task; length defaults are clipped to the
    task's own min/max length, explicit lengths outside them are errors.
    """
    from expressivity import tasks

    spaces = _namespaces(task, arch)
    chosen: dict[str, dict[str, Any]] = {"train": {}, "task": {}, "model": {}, "eval": {}}
    for key, value in (sets or {}).items():
        ns, name = _route(key, spaces, task, arch)
        if name in chosen[ns]:
            raise ValueError(f"key {name!r} set twice")
        chosen[ns][name] = value

    made = tasks.make(task, **chosen["task"])
    train = {**{k: s.default for k, s in TRAIN_KEYS.items()}, **task_protocol(task)}
    top = {k: s.default for k, s in TOP_KEYS.items()}
    for name, value in chosen["train"].items():
        spec = TOP_KEYS.get(name) or TRAIN_KEYS[name]
        (top if name in TOP_KEYS else train)[name] = coerce(name, spec, value)
    _fit_lengths(train, made, explicit=set(chosen["train"]))
    check_sets(train)
    for step_task in check_curriculum(train, made):
        check_mixture(train["mixture"], step_task, drawn_sets=_drawn_sets(train))
    evaluated = checked_eval_task(made, chosen["eval"])
    check_eval_lengths(train, evaluated)

    from expressivity import architectures

    if top["size"] not in architectures.sizes():
        raise ValueError(f"size={top['size']!r} is not valid; choose one of {', '.join(architectures.sizes())}")
    _check_model(arch, len(made.vocab), top["size"], json.dumps(chosen["model"], sort_keys=True))
    config = {
        "task": task,
        "task_params": made.params,
        "arch": arch,
        "size": top["size"],
        "model_params": dict(sorted(chosen["model"].items())),
        "seed": top["seed"],
        "train": train,
        # only what differs from the training task: an override equal to it evaluates the same (and keys the same)
        "eval_task_params": {
            k: evaluated.params[k] for k in sorted(chosen["eval"]) if not same(evaluated.params[k], made.params[k])
        },
    }
    from expressivity.runners.training.limits import check_run

    check_run(config, made, len(made.vocab), evaluated)  # refuse what cannot fit before it reaches a store
    return config


@functools.lru_cache(maxsize=1024)
def _check_model(arch: str, vocab_size: int, size: str, params_json: str) -> None:
    """Build the model on the meta device (no memory, no initialisation) so bad model values fail before any run."""
    import torch

    from expressivity import architectures

    with torch.random.fork_rng(devices=[]), torch.device("meta"):
        architectures.build(arch, vocab_size=vocab_size, size=size, **json.loads(params_json))


def _drawn_sets(train: dict[str, Any]) -> tuple[str, ...]:
    """The sets drawn once for this run (train_set.py), by the keys that ask for them."""
    return tuple(k for k in ("train_examples", "val_examples") if train.get(k) is not None)


def _fit_lengths(train: dict[str, Any], task, *, explicit: set[str]) -> None:
    lo, hi = task.min_length, task.max_length
    for name in ("train_min_length", "train_max_length"):
        value = train[name]
        if name not in explicit:
            value = max(value, lo) if hi is None else min(max(value, lo), hi)
        elif value < lo or (hi is not None and value > hi):
            raise ValueError(f"{name}={value} is outside {task.name}'s lengths [{lo}, {hi if hi else 'inf'}]")
        train[name] = value
    if train["train_min_length"] > train["train_max_length"]:
        raise ValueError(f"train_min_length={train['train_min_length']} > train_max_length={train['train_max_length']}")
    lengths = train["eval_lengths"]
    if "eval_lengths" not in explicit:
        lengths = tuple(n for n in lengths if n >= lo and (hi is None or n <= hi)) or (train["train_max_length"],)
    else:
        bad = [n for n in lengths if n < lo or (hi is not None and n > hi)]
        if bad:
            raise ValueError(f"eval_lengths {bad} are outside {task.name}'s lengths [{lo}, {hi if hi else 'inf'}]")
    train["eval_lengths"] = tuple(lengths)


# ---- run keys: stable when keys are added -------------------------------------------------------------------------
# What a resolved config held when run keys were first committed (commit 85ff8b5): these keys are always part of the
# canonical config. A key added since enters it (and so the run key) only when set away from its default, so adding a
# training key, a task parameter or a top-level entry never changes the key of a run already in a store.
KEYED_CONFIG = frozenset({"task", "task_params", "arch", "size", "model_params", "seed", "train"})
KEYED_TRAIN = frozenset({
    "steps", "batch_size", "lr", "weight_decay", "beta2", "warmup", "schedule", "decay_frac", "min_lr_frac", "clip",
    "train_min_length", "train_max_length", "length_schedule", "eval_lengths", "eval_examples", "eval_batch_size",
    "target_acc", "check_every", "checkpoint_every", "diverge_loss",
})  # fmt: skip
KEYED_TASK_PARAMS: dict[str, frozenset[str]] = {
    name: frozenset(params.split())
    for name, params in {
        "associative_recall": "num_keys num_queries num_values",
        "boolean_formula": "not_share pad_factor pad_power",
        "bucket_sort": "alphabet_size",
        "connectivity": "num_nodes",
        "copy": "alphabet_size",
        "cycle_navigation": "cycle_length",
        "duplicate_string": "alphabet_size",
        "dyck": "kinds max_depth negatives",
        "flip_flop": "p_read p_write targets",
        "induction": "alphabet_size",
        "missing_duplicate": "alphabet_size",
        "modular_arithmetic": "modulus operators",
        "modular_arithmetic_brackets": "modulus mult",
        "modular_counting": "m targets",
        "needle": "num_fillers num_keys num_needles value_digits",
        "odds_first": "alphabet_size",
        "parity": "targets",
        "pointer_tracking": "num_vars ops",
        "program_trace": "num_vars p trace",
        "reachability": "num_nodes",
        "reverse_string": "alphabet_size",
        "selective_copy": "alphabet_size num_tokens",
        "solve_equation": "modulus",
        "state_based_recall": "m num_vars ops",
        "swap_word_problem": "n targets",
        "variable_binding": "distractors num_names num_values",
        "word_problem": "group targets",
    }.items()
}  # fmt: skip  (tasks with no parameter then are absent: every parameter they gain since is new)


def is_pretrained(config: Mapping[str, Any]) -> bool:
    """A row of `eval-lm`: a pretrained model evaluated through lm-eval (arch "hf:<name>", model_params a summary of
    its HF config, train the evaluation protocol), not a training run: its config is keyed and read as stored."""
    return str(config.get("arch", "")).startswith("hf:")


def _train_defaults(task: str) -> dict[str, Any]:
    """The training keys' defaults for `task`: the generic ones, then the task's protocol."""
    return {**{k: s.default for k, s in TRAIN_KEYS.items()}, **task_protocol(task)}


def keyed(config: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a config its run key hashes: everything, except keys added since the first committed runs that
    sit at their default (a top-level entry added since: when None or empty)."""
    from expressivity import tasks

    if is_pretrained(config):
        return dict(config)
    out = {k: v for k, v in config.items() if k in KEYED_CONFIG or v not in (None, {}, [], ())}
    defaults = _train_defaults(config["task"])
    out["train"] = {
        k: v for k, v in config["train"].items() if k in KEYED_TRAIN or k not in defaults or not same(v, defaults[k])
    }
    old = KEYED_TASK_PARAMS.get(config["task"], frozenset())
    task_defaults = tasks.get(config["task"]).param_defaults()
    out["task_params"] = {
        k: v
        for k, v in config["task_params"].items()
        if k in old or k not in task_defaults or not same(v, task_defaults[k])
    }
    return out


def complete(config: Mapping[str, Any]) -> dict[str, Any]:
    """A stored (keyed) config with the defaults of keys it leaves out filled in: what `resolve` returns today."""
    from expressivity import tasks

    out = dict(config)
    if is_pretrained(config):  # no training keys to fill in
        out["train"] = {**config["train"], "eval_lengths": tuple(config["train"]["eval_lengths"])}
        out["task_params"] = {**tasks.get(config["task"]).param_defaults(), **config["task_params"]}
        return out
    out["train"] = {**_train_defaults(config["task"]), **config["train"]}
    out["train"]["eval_lengths"] = tuple(out["train"]["eval_lengths"])
    out["task_params"] = {**tasks.get(config["task"]).param_defaults(), **config["task_params"]}
    out["eval_task_params"] = dict(config.get("eval_task_params") or {})
    return out


def canonical(config: Mapping[str, Any]) -> str:
    """The keyed config as canonical JSON (sorted keys, tuples as lists): what the run key hashes, the store keeps."""
    return json.dumps(keyed(config), sort_keys=True, separators=(",", ":"))


def run_key(config: Mapping[str, Any]) -> str:
    """16 hex digits of sha256 over the canonical config: equal configs share a key, so a grid never runs one twice."""
    return hashlib.sha256(canonical(config).encode()).hexdigest()[:16]


def sets_of(config: Mapping[str, Any]) -> dict[str, Any]:
    """`--set` values that make `resolve` give this config back (every key spelled with its namespace)."""
    return {
        **{f"train.{k}": v for k, v in config["train"].items()},
        **{f"task.{k}": v for k, v in config["task_params"].items()},
        **{f"model.{k}": v for k, v in config["model_params"].items()},
        **{f"eval.{k}": v for k, v in (config.get("eval_task_params") or {}).items()},
        "train.seed": config["seed"],
        "train.size": config["size"],
    }


def from_json(text: str) -> dict[str, Any]:
    """A stored config back as the dict `resolve` returns (defaults filled in, lists of lengths back to tuples)."""
    return complete(json.loads(text))
