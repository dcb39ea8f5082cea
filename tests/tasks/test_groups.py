"""Groups for word problems: known facts, Cayley-table laws, and the table against plain permutation composition."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from expressivity.tasks.groups import group

NAMES = ["Z2", "Z7", "Z12", "S3", "S4", "S5", "A4", "A5", "D3", "D4", "D7", "D10", "Q8", "A4xZ5", "S3xZ2", "Q8xZ3xZ2"]


def compose(name: str, a: str, b: str) -> str:
    """Plain-Python oracle: the token of "a then b", componentwise for products (residues add, permutations compose)."""
    out = []
    for part, x, y in zip(name.split("x"), a.split("x"), b.split("x"), strict=True):
        if part.startswith("Z"):
            out.append(str((int(x) + int(y)) % int(part[1:])))
        else:  # one-line permutations: i -> y(x(i))
            out.append("".join(y[int(c)] for c in x))
    return "x".join(out)


def plain_closure(gens: list[str]) -> set[str]:
    """Every product of generators, by breadth-first search over one-line strings."""
    seen, frontier = set(gens), list(gens)
    while frontier:
        frontier = [p for p in ("".join(g[int(c)] for c in f) for f in frontier for g in gens) if p not in seen]
        seen.update(frontier)
    return seen


@pytest.mark.parametrize(
    ("name", "order", "abelian", "solvable"),
    [
        ("S5", 120, False, False),
        ("A5", 60, False, False),
        ("S6", 720, False, False),
        ("A6", 360, False, False),
        ("S4", 24, False, True),
        ("A4", 12, False, True),
        ("A4xZ5", 60, False, True),
        ("Q8", 8, False, True),
        ("Z60", 60, True, True),
        ("Z2", 2, True, True),
        ("S3xS3", 36, False, True),
        ("A5xZ2", 120, False, False),
    ],
)
def test_known_groups(name, order, abelian, solvable):
    g = group(name)
    assert g.order == order and len(set(g.tokens)) == order
    assert g.is_abelian is abelian and g.is_solvable is solvable


@pytest.mark.parametrize(
    "name, orders",
    [("S4", [24, 12, 4, 1]), ("A4xZ5", [60, 4, 1]), ("S5", [120, 60]), ("A5", [60]), ("Z60", [60, 1])],
)
def test_derived_series_ends_at_the_trivial_group_or_the_perfect_core(name, orders):
    """S4 > A4 > V4 > 1; A4xZ5's commutator subgroup is V4 x 1; S5's series stops at A5, which is perfect."""
    series = group(name).derived_series
    assert [len(s) for s in series] == orders
    assert all(np.isin(inner, outer).all() for outer, inner in zip(series, series[1:], strict=False))


@pytest.mark.parametrize("n", range(3, 11))
def test_dihedral_order_and_closure(n):
    g = group(f"D{n}")
    assert g.order == 2 * n and not g.is_abelian and g.is_solvable
    rotation = "".join(str((i + 1) % n) for i in range(n))
    reflection = "".join(str((-i) % n) for i in range(n))
    assert set(g.tokens) == plain_closure([rotation, reflection])


@pytest.mark.parametrize("n", range(2, 7))
def test_symmetric_and_alternating_are_all_and_the_even_permutations(n):
    perms = ["".join(map(str, p)) for p in itertools.permutations(range(n))]
    assert set(group(f"S{n}").tokens) == set(perms)
    if n >= 3:
        even = {p for p in perms if sum(int(p[i]) > int(p[j]) for i in range(n) for j in range(i + 1, n)) % 2 == 0}
        assert set(group(f"A{n}").tokens) == even


def test_q8_is_quaternion_not_dihedral():
    g = group("Q8")
    # Q8 has one element of order 2 (-1); D4, the other non-abelian group of order 8, has five.
    squares = g.table[np.arange(8), np.arange(8)]
    order_two = [a for a in range(8) if a != g.identity and squares[a] == g.identity]
    assert g.order == 8 and not g.is_abelian and len(order_two) == 1


def test_identity_tokens_and_product_format():
    assert group("S5").tokens[group("S5").identity] == "01234"
    assert group("Z9").tokens[group("Z9").identity] == "0"
    g = group("A4xZ5")
    assert g.tokens[g.identity] == "0123x0"
    assert "1032x4" in g.index
    assert all(len(t) == 6 and t[4] == "x" and t[:4].isdigit() and t[5].isdigit() for t in g.tokens)
    assert {t.split("x")[0] for t in g.tokens} == set(group("A4").tokens)


@pytest.mark.parametrize("name", NAMES)
def test_cayley_table_is_a_latin_square_with_inverses(name):
    g = group(name)
    full = np.arange(g.order)
    assert (np.sort(g.table, axis=0) == full[:, None]).all() and (np.sort(g.table, axis=1) == full[None, :]).all()
    assert (g.table[g.identity] == full).all() and (g.table[:, g.identity] == full).all()
    assert (g.table[full, g.inverses] == g.identity).all() and (g.table[g.inverses, full] == g.identity).all()


elements = st.builds(
    lambda name, i, j, k: (name, i, j, k),
    st.sampled_from(NAMES),
    *(st.integers(0, 10**6) for _ in range(3)),
).map(lambda t: (group(t[0]), *(x % group(t[0]).order for x in t[1:])))


@given(elements)
def test_table_is_associative(case):
    g, a, b, c = case
    t = g.table
    assert t[t[a, b], c] == t[a, t[b, c]]


@given(elements)
def test_table_matches_plain_composition(case):
    g, a, b, _ = case
    assert g.tokens[g.table[a, b]] == compose(g.name, g.tokens[a], g.tokens[b])
    # Closed: the plain product of two elements is again an element.
    assert compose(g.name, g.tokens[a], g.tokens[b]) in g.index


@given(
    st.builds(
        lambda name, seed, b, length: (name, seed, b, length),
        st.sampled_from(NAMES),
        st.integers(0, 2**32 - 1),
        st.integers(1, 4),
        st.integers(1, 30),
    )
)
def test_running_product_matches_a_plain_fold(case):
    name, seed, b, length = case
    g = group(name)
    x = np.random.default_rng(seed).integers(0, g.order, size=(b, length))
    out = g.running_product(x)
    for row, got in zip(x, out, strict=True):
        state = g.tokens[row[0]]
        expected = [state]
        for e in row[1:]:
            state = compose(name, state, g.tokens[e])
            expected.append(state)
        assert [g.tokens[i] for i in got] == expected


@pytest.mark.parametrize(
    "name",
    [
        "S7",
        "A2",
        "D2",
        "D11",
        "Z1",
        "Z0",
        "Q9",
        "",
        "S5x",
        "xS5",
        "foo",
        "s5",
        "Z9999",
        "S6xS6",
        "S5 ",
        "S5\n",
        "S05",
        "D-3",
    ],
)
def test_bad_names_list_the_valid_forms(name):
    with pytest.raises(ValueError, match="valid forms"):
        group(name)


def test_orders_match_formulas():
    for n in range(2, 7):
        assert group(f"S{n}").order == math.factorial(n)
    for n in range(3, 7):
        assert group(f"A{n}").order == math.factorial(n) // 2
