"""Executable proofs: registry models with hand-set weights that solve a task exactly, at any length.

    from expressivity.theory import constructions
    constructions.names()                       # ['indexed_recall', 'parity', 'state_based_recall', 'swap_s5',
                                                #  'word_problem_a5', 'word_problem_s5']
    built = constructions.build("swap_s5")      # Construction(task, model, ...)
    evaluate_by_length(built.model, built.task, [4096], rng)   # the runners' own evaluation: accuracy 1.0

Each construction is a model built by `architectures.build` (so runners evaluate it like a trained one) whose every
weight is set in code (`wiring.py`); the docstring of each builder is its proof sketch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from expressivity.theory.constructions import recall, reflections, tracking


@dataclass(frozen=True)
class Construction:
    name: str
    task: Any  # expressivity.tasks.Task
    model: Any  # expressivity.architectures.SequenceModel
    arch: str  # registry name
    model_params: dict[str, Any]
    summary: str

    def test_lengths(self, max_length: int) -> list[int]:
        """Lengths (the task's units) from short to `max_length`, each 8 times the one before."""
        lengths, n = [], max(self.task.min_length, 8)
        while n < max_length:
            lengths.append(n)
            n *= 8
        return [*lengths, max_length]


def _parity(max_length: int) -> Construction:
    from expressivity import tasks

    task = tasks.make("parity")
    model = tracking.parity_model(task)
    return Construction("parity", task, model, "gdn", {"neg_eigval": True, "n_layers": 1},
                        "1-layer GDN, beta = 2: each 1-bit reflects the state")  # fmt: skip


def _swap(max_length: int) -> Construction:
    from expressivity import tasks

    task = tasks.make("swap_word_problem", n=5)
    model = tracking.swap_model(task)
    return Construction("swap_s5", task, model, "gdn", {"neg_eigval": True, "n_layers": 1},
                        "1-layer GDN, beta = 2: transposition (i j) is I - 2kk^T, k = (e_i - e_j)/sqrt 2")  # fmt: skip


def _indexed_recall(max_length: int) -> Construction:
    from expressivity import tasks

    task = tasks.make("indexed_recall")
    model = recall.indexed_recall_model(task, max_length)
    params = {"pattern": "GA", "neg_eigval": True, "pos": "nope"}
    summary = f"GDN counters give each bit its index digits, NoPE attention matches them (m <= {max_length})"
    return Construction("indexed_recall", task, model, "hybrid", params, summary)


def _state_based_recall(max_length: int) -> Construction:
    from expressivity import tasks

    task = tasks.make("state_based_recall")
    model = recall.state_based_recall_model(task, max_length)
    params = {"pattern": "GGA", "neg_eigval": True, "pos": "nope"}
    summary = f"GDN tracks pointers by reflections, attention reads bits[index] (n = m <= {max_length})"
    return Construction("state_based_recall", task, model, "hybrid", params, summary)


def _word_problem(group: str, num_householder: int) -> Callable[[int], Construction]:
    def build(max_length: int) -> Construction:
        from expressivity import tasks

        task = tasks.make("word_problem", group=group)
        model = reflections.word_problem_model(task, num_householder)
        params = {"neg_eigval": True, "num_householder": num_householder, "gated": False, "n_layers": 1}
        summary = (f"1-layer DeltaProduct, n_h = {num_householder}, beta = 2: each {group} element is a product of at "
                   f"most {num_householder} reflections of a faithful orthogonal representation")  # fmt: skip
        return Construction(f"word_problem_{group.lower()}", task, model, "deltaproduct", params, summary)

    return build


BUILDERS: dict[str, Callable[[int], Construction]] = {
    "indexed_recall": _indexed_recall,
    "parity": _parity,
    "state_based_recall": _state_based_recall,
    "swap_s5": _swap,
    "word_problem_a5": _word_problem("A5", 2),  # the icosahedron's rotations: two reflections each
    "word_problem_s5": _word_problem("S5", 4),  # the standard representation on R^4: up to four
}


def names() -> list[str]:
    return sorted(BUILDERS)


def build(name: str, *, max_length: int = 4096) -> Construction:
    """Build construction `name`, exact up to `max_length` (the recall constructions size their digit machinery by
    it); unknown name -> ValueError naming the valid ones."""
    if name not in BUILDERS:
        raise ValueError(f"unknown construction {name!r}; valid: {', '.join(names())}")
    if not isinstance(max_length, int) or max_length < 1:
        raise ValueError(f"max_length must be a positive integer, got {max_length!r}")
    return BUILDERS[name](max_length)
