"""Named mixtures of tasks as one run's training data (the `mixture` training key): each step trains on one task of
the mixture, drawn with the mixture's weights; evaluation stays on the run's own task (or its eval task).

    MIXTURES["all_three"]      state_based_recall with its two primitives, pointer_tracking and indexed_recall
    MIXTURES["tracking_first"] pointer_tracking alone for the first half of the steps, then state_based_recall alone
    MIXTURES["tracking_then_all"] pointer_tracking alone for the first third, then all_three's thirds
    MIXTURES["with_dense_recall"] state_based_recall and indexed_recall with 16 lookups a program, half each
    MIXTURES["all_three_dense"] all_three with with_dense_recall's indexed_recall
    MIXTURES["all_three_dense_values"] all_three_dense with the tracking part over one-digit values, not bits
    components(mixture, task)  -> [(weight, task, length_of)] for the step's task (after a curriculum, if any)
    in_run_vocab(batch, component, task) -> the component's batch in the run's token ids

Why: state-based recall composes tracking and recall, and the composition is one scored bit per program; training
on the primitives beside it gives each skill its own signal. A token means the same in every component: its
batches are written in the run's token ids. Mostly that needs nothing: code_tokens puts the Python tokens first and
the variable names last, so indexed_recall's vocabulary (names: `a`) is a prefix of state_based_recall's (names
`a`..), the ids agree, and the batch is used as drawn. With bits_format="dict" the run's vocabulary gains the dict's
tokens (`{ } :`, before the names), which pointer_tracking lacks, so its names sit at other ids: its batches are
mapped token by token into the run's ids (`in_run_vocab`). config.py checks that every component's tokens are in
the run's vocabulary, and that the run's task is one the mixture is for.

A staged mixture (`first`) trains one component alone for a fraction of the run's steps, then draws with the weights:
`tracking_first` is a warm start inside one run (the tracker learned first, recall then composed on top of it), so it
needs no checkpoint of another run. Its stage follows the step, so it is refused with sets drawn once (a fixed training
set, a validation set), whose rows are not drawn at their steps (config.py).

The component comes from its own stream, SeedSequence(seed, spawn_key=(4, step)); the step's length(s) and batch come
from the step's usual stream, each length mapped to the component's own unit (indexed_recall counts bits: the list
size the step's state_based_recall program would have, m, or max(n, num_vars) when m grows with n).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

POINTER_PARAMS = ("num_vars", "ops", "max_vars", "queries", "init_format")  # pointer_tracking lays out as the run
RECALL_PARAMS = ("bits_format", "numbers")  # indexed_recall writes its bits and indices as the run's programs do
DENSE_LOOKUPS = 16  # with_dense_recall's lookups a program: at m = 16, 8 made recall exact (pilots-cpu, 2026-12-05)
VALUE_DIGITS = 10  # all_three_dense_values' tracked values: distinct digits below this, one token each


def _same_lines(task, n: int) -> int:
    return n


def _list_size(task, n: int) -> int:
    """The bits in the list of `task`'s (a state_based_recall's) programs of n lines."""
    return task.m if task.m is not None else max(n, task.num_vars)


@dataclass(frozen=True)
class Component:
    """One task of a mixture: its registry name, its weight, which of the run's task parameters it takes, and how a
    length drawn in the run's unit maps to its own (`length_of(run_task, n)`). The run's own task is used as it is."""

    name: str
    weight: float
    shared: tuple[str, ...] = ()
    length_of: Callable = _same_lines
    fixed: tuple[tuple[str, object], ...] = ()  # parameters the mixture sets itself, not the run's task


@dataclass(frozen=True)
class Mixture:
    """`first` = (a part's name, fraction): that part alone for the first fraction of the steps, the weights after."""

    name: str
    for_tasks: tuple[str, ...]
    parts: tuple[Component, ...]
    help: str
    first: tuple[str, float] | None = None


_ALL_THREE = (
    Component("state_based_recall", 1.0),
    Component("pointer_tracking", 1.0, POINTER_PARAMS),
    Component("indexed_recall", 1.0, RECALL_PARAMS, _list_size),
)
_DENSE_RECALL = Component("indexed_recall", 1.0, RECALL_PARAMS, _list_size, (("lookups", DENSE_LOOKUPS),))
MIXTURES: dict[str, Mixture] = {
    m.name: m
    for m in (
        Mixture(
            "all_three",
            ("state_based_recall",),
            _ALL_THREE,
            "state_based_recall, pointer_tracking (same lines) and indexed_recall (same list size), a third each",
        ),
        Mixture(
            "with_tracking",
            ("state_based_recall",),
            (
                Component("state_based_recall", 1.0),
                Component("pointer_tracking", 1.0, POINTER_PARAMS),
            ),
            "state_based_recall and pointer_tracking (same lines), half each",
        ),
        Mixture(
            "with_recall",
            ("state_based_recall",),
            (
                Component("state_based_recall", 1.0),
                Component("indexed_recall", 1.0, RECALL_PARAMS, _list_size),
            ),
            "state_based_recall and indexed_recall (same list size), half each",
        ),
        Mixture(
            "tracking_first",
            ("state_based_recall",),
            (
                Component("state_based_recall", 1.0),
                Component("pointer_tracking", 0.0, POINTER_PARAMS),
            ),
            "pointer_tracking (same lines) alone for the first half of the steps, then state_based_recall alone",
            first=("pointer_tracking", 0.5),
        ),
        Mixture(
            "tracking_then_all",
            ("state_based_recall",),
            _ALL_THREE,
            "pointer_tracking alone for the first third of the steps, then all_three (a third each)",
            first=("pointer_tracking", 1 / 3),
        ),
        Mixture(
            "with_dense_recall",
            ("state_based_recall",),
            (Component("state_based_recall", 1.0), _DENSE_RECALL),
            f"state_based_recall and indexed_recall (same list size) asking {DENSE_LOOKUPS} indices a program, half "
            "each: one answer a program taught no recall at m = 64",
        ),
        Mixture(
            "all_three_dense",
            ("state_based_recall",),
            (*_ALL_THREE[:2], _DENSE_RECALL),
            f"state_based_recall, pointer_tracking (same lines) and indexed_recall (same list size, {DENSE_LOOKUPS} "
            "indices a program), a third each: with the dict, the hybrid learned recall and not the tracking that "
            "feeds it (2026-12-05)",
        ),
        Mixture(
            "all_three_dense_indices",
            ("state_based_recall",),
            (_ALL_THREE[0], Component("pointer_tracking", 1.0, (*POINTER_PARAMS, "m")), _DENSE_RECALL),
            "all_three_dense with the tracking part over the run's index values (pointer_tracking with its m, each "
            "query answered with the held index in digits), so the tracker carries indices, as the lookup needs, "
            "not bits: at m = 256 a hybrid that learned all_three_dense's halves held no digit of a pointer's "
            "index at its queries (2026-12-06)",
        ),
        Mixture(
            "all_three_dense_values",
            ("state_based_recall",),
            (
                _ALL_THREE[0],
                Component("pointer_tracking", 1.0, POINTER_PARAMS, fixed=(("m", VALUE_DIGITS),)),
                _DENSE_RECALL,
            ),
            f"all_three_dense with the tracking part over one-digit values (pointer_tracking with m = {VALUE_DIGITS}: "
            "distinct digits, each query answered with the held one), so the tracker learns to carry a value through "
            "the swaps, not a bit, whatever the run's m: of three m = 16 runs only the one that composed carried its "
            "pointer's index to the query, and tracking over the run's own index values (all_three_dense_indices) "
            "learned nothing at m = 64 or 256 (2026-12-06)",
        ),
    )
}


@functools.lru_cache(maxsize=256)
def task_with(name: str, params_json: str):
    """tasks.make(name, **params), built once per distinct parameters (steps reuse a handful of tasks)."""
    from expressivity import tasks

    return tasks.make(name, **json.loads(params_json))


def components(mixture: str, task) -> list[tuple[float, object, Callable[[int], int]]]:
    """(weight, component task, length map) for each part of `mixture`, built from the run's (step's) `task`."""
    out = []
    for part in MIXTURES[mixture].parts:
        if part.name == task.name:
            made = task
        else:
            params = {**{k: task.params[k] for k in part.shared}, **dict(part.fixed)}
            made = task_with(part.name, json.dumps(params, sort_keys=True))
        out.append((part.weight, made, functools.partial(part.length_of, task)))
    return out


def draw_component(mixture: str, task, rng: np.random.Generator, progress: float = 0.0) -> tuple[object, Callable]:
    """The step's component: (its task, its length map), drawn with the mixture's weights; in a staged mixture's first
    stage (`progress`, the step over the run's steps, below its fraction) the first part alone."""
    parts = components(mixture, task)
    spec = MIXTURES[mixture]
    weights = np.array([w for w, _, _ in parts], float)
    if spec.first is not None and progress < spec.first[1]:
        weights = np.array([float(part.name == spec.first[0]) for part in spec.parts])
    i = int(rng.choice(len(parts), p=weights / weights.sum()))
    return parts[i][1], parts[i][2]


def check_mixture(mixture: str | None, task, drawn_sets: tuple[str, ...] = ()) -> None:
    """The mixture is for the run's task, and every component's tokens are in the run's vocabulary; a staged mixture
    is not drawn into sets drawn once (`drawn_sets`: the keys set among train_examples, val_examples)."""
    if mixture is None:
        return
    spec = MIXTURES[mixture]
    if task.name not in spec.for_tasks:
        raise ValueError(f"mixture={mixture!r} is for {', '.join(spec.for_tasks)}, not {task.name}")
    if spec.first is not None and drawn_sets:
        raise ValueError(
            f"mixture={mixture!r} is staged by step, which a set drawn once ({', '.join(drawn_sets)}) does not "
            "follow; leave train_examples and val_examples unset or choose an unstaged mixture"
        )
    if any("m" in part.shared for part in spec.parts):  # a part tracks the run's index values
        if task.params.get("m") is None:
            raise ValueError(f"mixture={mixture!r} tracks the run's index values, so it needs a fixed list size: set m")
        if task.params.get("numbers") == "tokens":
            raise ValueError(f"mixture={mixture!r} tracks indices written in digits, so it needs numbers='digits'")
    for _, made, _ in components(mixture, task):
        vocab_map(made, task, mixture)


def vocab_map(made, task, mixture: str = "") -> np.ndarray | None:
    """(len(made.vocab),) the run's id of each of the component `made`'s token ids, or None where made's vocabulary
    is a prefix of the run's `task`'s (the ids agree already). A token the run lacks is a one-line error."""
    if made.vocab == task.vocab[: len(made.vocab)]:
        return None
    index = {token: i for i, token in enumerate(task.vocab)}
    missing = [token for token in made.vocab if token not in index]
    if missing:
        raise ValueError(
            f"mixture={mixture!r}: {made.name}'s tokens {' '.join(map(repr, missing))} are not in {task.name}'s "
            "vocabulary"
        )
    return np.array([index[token] for token in made.vocab], np.int64)


def in_run_vocab(batch, made, task):
    """`batch`, drawn from the component `made`, in the run's (`task`'s) token ids: the same object where the ids
    agree (every component but pointer_tracking beside a dict run), so the data of every earlier run is unchanged."""
    ids = vocab_map(made, task)
    if ids is None:
        return batch
    return type(batch)(ids[batch.inputs], ids[batch.targets], batch.mask)  # padding (id 0) is id 0 in both
