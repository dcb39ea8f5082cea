"""Executable proofs: registry models with hand-set weights that solve a task exactly, at any length.

    from expressivity.theory import constructions
    constructions.names()    # ['indexed_recall', 'indexed_recall_dict', 'parity', 'reverse_string',
                             #  'state_based_recall', 'state_based_recall_dict', 'swap_s5', 'word_problem_a4xz5', ...]
    built = constructions.build("swap_s5")      # Construction(task, model, ...)
    evaluate_by_length(built.model, built.task, [4096], rng)   # the runners' own evaluation: accuracy 1.0
    constructions.build("state_based_recall", pattern="GGGA")  # inside a larger stack, other blocks zeroed
    constructions.REGISTRY["state_based_recall"].model_params  # what it builds, known without building it

Each construction is a model built by `architectures.build` (so runners evaluate it like a trained one) whose every
weight is set in code (`wiring.py`); the docstring of each builder is its proof sketch. `REGISTRY` says what each
one builds (architecture and parameters) without importing torch: theory's EXPRESS rules read it (`rules.embeds`),
and tests check that it describes the model built. `embedding.py` puts a construction inside any stack that has its
layers as a subsequence, zeroing the other blocks (the identity).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

# The builders import their modules (and with them torch) when called: theory's rule tables import this registry.


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


def _parity(max_length: int):
    from expressivity import tasks
    from expressivity.theory.constructions import tracking

    task = tasks.make("parity")
    return task, tracking.parity_model(task), "1-layer GDN, beta = 2: each 1-bit reflects the state"


def _swap(max_length: int):
    from expressivity import tasks
    from expressivity.theory.constructions import tracking

    task = tasks.make("swap_word_problem", n=5)
    summary = "1-layer GDN, beta = 2: transposition (i j) is I - 2kk^T, k = (e_i - e_j)/sqrt 2"
    return task, tracking.swap_model(task), summary


def _indexed_recall(bits_format: str):
    def make(max_length: int):
        from expressivity import tasks
        from expressivity.theory.constructions import recall

        task = tasks.make("indexed_recall", bits_format=bits_format)
        how = "counters give each bit its index digits" if bits_format == "list" else "a window reads each bit's key"
        summary = f"GDN {how}, NoPE attention matches them with the query's (m <= {max_length})"
        return task, recall.indexed_recall_model(task, max_length), summary

    return make


def _state_based_recall(bits_format: str):
    def make(max_length: int):
        from expressivity import tasks
        from expressivity.theory.constructions import recall

        task = tasks.make("state_based_recall", bits_format=bits_format)
        summary = f"GDN tracks pointers by reflections, attention reads bits[index] (n = m <= {max_length})"
        if bits_format == "dict":
            summary += "; the bits as a dict, each key read through a window"
        return task, recall.state_based_recall_model(task, max_length), summary

    return make


def _reverse_string(max_length: int):
    from expressivity import tasks
    from expressivity.theory.constructions import stack

    task = tasks.make("reverse_string")
    return task, stack.reverse_string_model(task), "1-layer Stack-RNN: push each symbol, pop one per answer blank"


def _word_problem(group: str, num_householder: int):
    def make(max_length: int):
        from expressivity import tasks
        from expressivity.theory.constructions import reflections

        task = tasks.make("word_problem", group=group)
        summary = (f"1-layer DeltaProduct, n_h = {num_householder}, beta = 2: each {group} element is a product of at "
                   f"most {num_householder} reflections per head of a faithful orthogonal representation")  # fmt: skip
        return task, reflections.word_problem_model(task, num_householder), summary

    return make


@dataclass(frozen=True)
class Spec:
    """What a construction builds (registry architecture and parameters, as `arch_class` reads them) and how:
    `make(max_length)` -> (task, model, summary)."""

    arch: str
    model_params: Mapping[str, Any]
    make: Callable[[int], tuple[Any, Any, str]]


_GDN1 = {"neg_eigval": True, "n_layers": 1}
_NOPE_HYBRID = {"neg_eigval": True, "pos": "nope"}  # the recall constructions: NoPE attention (lookup.py says why)
REGISTRY: dict[str, Spec] = {
    # the recall constructions, for bits written as a list (the tasks' default) and as a dict keyed by index
    **{
        f"{task}{suffix}": Spec("hybrid", MappingProxyType({"pattern": pattern, **_NOPE_HYBRID}), make(fmt))
        for task, pattern, make in (
            ("indexed_recall", "GA", _indexed_recall),
            ("state_based_recall", "GGA", _state_based_recall),
        )
        for fmt, suffix in (("list", ""), ("dict", "_dict"))
    },
    "parity": Spec("gdn", MappingProxyType(_GDN1), _parity),
    "swap_s5": Spec("gdn", MappingProxyType(_GDN1), _swap),
    "reverse_string": Spec("stack_rnn", MappingProxyType({"n_layers": 1}), _reverse_string),
    # the icosahedron's rotations: two reflections each; S5's standard representation on R^4: up to four; A4xZ5 with
    # a head per factor (the tetrahedron's rotations, the plane's): two per head (one head would need four)
    **{
        f"word_problem_{group.lower()}": Spec(
            "deltaproduct",
            MappingProxyType({"neg_eigval": True, "num_householder": n_h, "gated": False, "n_layers": 1}),
            _word_problem(group, n_h),
        )
        for group, n_h in (("A5", 2), ("S5", 4), ("A4xZ5", 2))
    },
}


def names() -> list[str]:
    return sorted(REGISTRY)


def build(name: str, *, max_length: int = 4096, pattern: str | None = None) -> Construction:
    """Build construction `name`, exact up to `max_length` (the recall constructions size their digit machinery by
    it); with `pattern`, inside that stack (`embedding.embed`: a `hybrid` whose other blocks are zero). Unknown name
    -> ValueError naming the valid ones; a pattern without the construction's layers in order -> ValueError."""
    if name not in REGISTRY:
        raise ValueError(f"unknown construction {name!r}; valid: {', '.join(names())}")
    if not isinstance(max_length, int) or max_length < 1:
        raise ValueError(f"max_length must be a positive integer, got {max_length!r}")
    spec = REGISTRY[name]
    task, model, summary = spec.make(max_length)
    if pattern is None:
        return Construction(name, task, model, spec.arch, dict(spec.model_params), summary)
    from expressivity import architectures
    from expressivity.theory.constructions.embedding import embed

    big = embed(model, pattern)
    # as a hybrid: the parameters a hybrid takes (a single-kind model's n_layers is the pattern now), and its pos
    hybrid = architectures.param_defaults("hybrid")
    params = {k: v for k, v in spec.model_params.items() if k in hybrid and k != "n_layers"}
    params["pattern"] = pattern
    if "A" in big.cfg.layers:
        params["pos"] = big.cfg.pos
    zeroed = len(big.cfg.layers) - len(model.cfg.layers)
    summary = f"{summary}; inside {big.cfg.layers} ({zeroed} more block(s), every weight zero: the identity)"
    return Construction(name, task, big, "hybrid", params, summary)
