"""Complexity facts computed from tasks, against an oracle that builds permutation groups in plain Python."""

from itertools import product

import pytest
from hypothesis import given
from hypothesis import strategies as st

from expressivity import tasks
from expressivity.theory.facts import PROPERTIES, task_facts


# ---- the oracle: groups as sets of permutation tuples, closed under composition -----------------------------------
def compose(p, q):
    """p then q."""
    return tuple(q[i] for i in p)


def closure(gens, n):
    group = {tuple(range(n))}
    frontier = list(group)
    while frontier:
        new = []
        for p in frontier:
            for g in gens:
                r = compose(p, g)
                if r not in group:
                    group.add(r)
                    new.append(r)
        frontier = new
    return group


def inverse(p):
    inv = [0] * len(p)
    for i, v in enumerate(p):
        inv[v] = i
    return tuple(inv)


def solvable(group, n):
    """Derived series: G, [G, G], ... reaches the identity or stalls."""
    while len(group) > 1:
        comms = {compose(compose(compose(inverse(a), inverse(b)), a), b) for a, b in product(group, group)}
        nxt = closure(list(comms), n)
        if len(nxt) == len(group):
            return False
        group = nxt
    return True


def cycle(n, points):
    p = list(range(n))
    for a, b in zip(points, points[1:] + points[:1], strict=True):
        p[a] = b
    return tuple(p)


def oracle_group(kind, n):
    if kind == "S":
        return closure([cycle(n, [0, 1]), cycle(n, list(range(n)))], n), n
    if kind == "A":
        return closure([cycle(n, [0, 1, k]) for k in range(2, n)], n), n
    if kind == "D":
        return closure([cycle(n, list(range(n))), tuple((-i) % n for i in range(n))], n), n
    return closure([cycle(n, list(range(n)))], n), n  # Z_n as the rotations of n points


def odd_prime_divides(order):
    return any(order % p == 0 for p in range(3, order + 1, 2) if all(p % q for q in range(3, p, 2)))


groups = st.one_of(
    st.builds(lambda n: ("S", n), st.integers(3, 5)),
    st.builds(lambda n: ("A", n), st.integers(3, 5)),
    st.builds(lambda n: ("D", n), st.integers(3, 8)),
    st.builds(lambda n: ("Z", n), st.integers(2, 30)),
)


@given(groups)
def test_word_problem_facts_match_the_group(spec):
    kind, n = spec
    group, points = oracle_group(kind, n)
    facts = task_facts(tasks.make("word_problem", group=f"{kind}{n}"))
    assert facts.group.order == len(group)
    assert facts.group.solvable == solvable(group, points)
    assert facts.has("nc1-complete") == (not solvable(group, points))
    assert facts.has("solvable-word-problem") == solvable(group, points)
    assert facts.has("parity") == (len(group) % 2 == 0)
    assert facts.has("mod-odd") == odd_prime_divides(len(group))
    assert facts.has("parity-task") == (len(group) == 2)
    assert facts.has("regular") and facts.has("word-problem")


@given(st.integers(3, 6))
def test_swap_tracking_obstacles_follow_the_number_of_items(n):
    facts = task_facts(tasks.make("swap_word_problem", n=n))
    assert facts.has("nc1-complete") == (n >= 5)
    assert facts.has("parity") == (n >= 4)  # (0 1) and (2 3) need four items
    assert facts.has("mod-odd")  # (0 1)(1 2) is a 3-cycle
    assert facts.has("swap-word-problem")


@given(st.integers(2, 10), st.sampled_from(["swap", "mixed", "assign"]))
def test_state_based_recall_needs_tracking_and_recall(k, ops):
    facts = task_facts(tasks.make("state_based_recall", num_vars=k, ops=ops))
    assert facts.has("state-recall") and facts.has("unbounded-recall")
    assert facts.has("nc1-complete") == (k >= 5 and ops != "assign")


def test_levels_and_parameters_set_properties():
    assert task_facts(tasks.make("dyck")).has("nonregular")
    bounded = task_facts(tasks.make("dyck", max_depth=3))
    assert bounded.has("regular") and not bounded.has("nonregular")
    assert task_facts(tasks.make("flip_flop")).has("star-free")
    assert task_facts(tasks.make("boolean_formula", pad_factor=1)).has("padded-formula")
    assert not task_facts(tasks.make("boolean_formula")).has("padded-formula")
    assert task_facts(tasks.make("indexed_recall")).has("unbounded-recall")
    assert task_facts(tasks.make("parity")).has("parity-task")


def test_every_registered_task_has_facts_with_reasons():
    for name in tasks.names():
        facts = task_facts(tasks.make(name))
        assert facts.properties <= set(PROPERTIES), name
        assert all(facts.why[p] for p in facts.properties), name


@pytest.mark.parametrize("name", tasks.names())
def test_facts_come_from_what_a_task_declares_never_from_its_name(name):
    task = tasks.make(name)
    renamed = tasks.make(name)
    renamed.name = "a_task_theory_has_never_heard_of"
    assert task_facts(renamed).properties == task_facts(task).properties
