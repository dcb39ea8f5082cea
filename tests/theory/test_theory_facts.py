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
    """The group the permutations `gens` of n points generate (their monoid: finite permutation groups are closed)."""
    return transformation_monoid(list(gens) or [tuple(range(n))])


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


@pytest.mark.parametrize(("name", "reflections", "heads"), [("A5", 2, 1), ("S5", 4, 1), ("A4xZ5", 2, 2)])
def test_the_reflection_count_is_per_head_where_the_group_splits_across_heads(name, reflections, heads):
    facts = task_facts(tasks.make("word_problem", group=name))
    assert (facts.group.reflections, facts.group.heads) == (reflections, heads)
    assert ("per head" in facts.why["reflection-word-problem"]) == (heads > 1)


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


# ---- declared facts checked against the tasks' own automata -------------------------------------------------------
def transformation_monoid(generators: list[tuple[int, ...]]) -> set[tuple[int, ...]]:
    """Every composition of the maps (tuples: state -> state), the identity included."""
    identity = tuple(range(len(generators[0])))
    monoid, frontier = {identity}, [identity]
    while frontier:
        new = []
        for a in frontier:
            for g in generators:
                c = compose(a, g)
                if c not in monoid:
                    monoid.add(c)
                    new.append(c)
        frontier = new
    return monoid


def groups_of(monoid: set[tuple[int, ...]]) -> list[set[tuple[int, ...]]]:
    """The maximal subgroups (H-classes of idempotents), each as permutations of its idempotent's image."""
    out = []
    for e in (x for x in monoid if compose(x, x) == x):
        image = sorted(set(e))
        where = {v: i for i, v in enumerate(image)}
        members = {a for a in monoid if compose(a, e) == a == compose(e, a) and sorted(set(a)) == image}
        out.append({tuple(where[a[v]] for v in image) for a in members})
    return out


@pytest.mark.parametrize("m", [2, 3, 5])
def test_modular_arithmetic_has_only_solvable_groups_as_it_declares(m):
    from expressivity.tasks.regular import _precedence_automaton

    table = _precedence_automaton(m)
    monoid = transformation_monoid([tuple(int(s) for s in row) for row in table])
    assert all(solvable(g, len(next(iter(g)))) for g in groups_of(monoid))
    facts = task_facts(tasks.make("modular_arithmetic", modulus=m))
    assert facts.has("solvable-monoid") and facts.has("cycling-run") and not facts.has("star-free")


def test_bounded_dyck_is_aperiodic_as_it_declares():
    """The automaton of Dyck-2 with depth <= 2 (stacks as tuples, one reject state): x^n = x^(n+1) for every x."""
    stacks = [()] + [(a,) for a in range(2)] + [(a, b) for a in range(2) for b in range(2)]
    reject = len(stacks)
    index = {s: i for i, s in enumerate(stacks)}

    def letter(kind, opening):
        def step(i):
            if i == reject:
                return reject
            s = stacks[i]
            if opening:
                return index.get((*s, kind), reject)
            return index[s[:-1]] if s and s[-1] == kind else reject

        return tuple(step(i) for i in range(reject + 1))

    monoid = transformation_monoid([letter(k, o) for k in range(2) for o in (True, False)])
    n = len(monoid)
    for x in monoid:
        power = x
        for _ in range(n - 1):
            power = compose(power, x)
        assert compose(power, x) == power
    assert task_facts(tasks.make("dyck", kinds=2, max_depth=2)).has("star-free")
    assert not task_facts(tasks.make("dyck")).has("star-free")


def test_complexity_declarations_follow_parameters():
    assert task_facts(tasks.make("modular_arithmetic_brackets", mult=True)).has("nc1-complete")
    plain = task_facts(tasks.make("modular_arithmetic_brackets"))
    assert plain.has("tc0") and not plain.has("nc1-complete")
    assert task_facts(tasks.make("program_trace", num_vars=3)).has("nc1-complete")
    assert not task_facts(tasks.make("program_trace", num_vars=2)).has("nc1-complete")
    assert task_facts(tasks.make("connectivity")).has("l-complete")
    assert task_facts(tasks.make("reachability")).has("nl-complete")
    assert task_facts(tasks.make("copy")).has("position-recall")
    assert task_facts(tasks.make("associative_recall")).has("key-recall")
    for name in ("induction", "needle", "selective_copy"):  # bounded memories: star-free, whatever the length
        assert task_facts(tasks.make(name)).has("star-free"), name
