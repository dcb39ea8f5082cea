"""Faithful orthogonal representations found from Cayley tables, and their factorisation into reflections, against
plain checks: homomorphism and orthogonality, products of the reflections, element orders by repeated composition."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from expressivity.tasks.groups import group
from expressivity.theory.representations import (
    best_representation,
    element_orders,
    head_representations,
    irreducibles,
    is_homomorphism,
    permutation,
    reflection_keys,
)

# group -> (reflections, dimension) of the best representation: what n_h one layer needs, and where
KNOWN = {
    "Z2": (1, 1),  # a sign: parity
    "Z3": (2, 2),  # rotations of the plane
    "Z60": (2, 2),
    "S3": (2, 2),  # the triangle's symmetries
    "D5": (2, 2),
    "A4": (2, 3),  # the tetrahedron's rotations
    "S4": (2, 3),  # the cube's rotations
    "A5": (2, 3),  # the icosahedron's rotations
    "S5": (4, 4),  # the standard representation: a 5-cycle moves all of R^4
    "Q8": (4, 4),  # the quaternions acting on themselves: -1 is -I
    "A4xZ5": (4, 5),  # tetrahedron rotations beside plane rotations
}


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_best_representation_is_faithful_orthogonal_with_the_known_reflection_count(name):
    g = group(name)
    rep = best_representation(name)
    assert is_homomorphism(rep, g) and rep.faithful()
    assert (rep.reflections, rep.dim) == KNOWN[name], rep.name


@pytest.mark.parametrize(
    ("name", "heads"),
    [("A4xZ5", [(2, 3), (2, 2)]), ("A5", [(2, 3)]), ("S5", [(4, 4)]), ("Z60", [(2, 2)]), ("S3xZ2", [(2, 2)])],
)
def test_heads_take_a_direct_factor_each_only_where_that_needs_fewer_reflections(name, heads):
    """A4xZ5: a head per factor, 2 reflections each (one head needs 4); S3xZ2 (the hexagon's symmetries) needs 2 in
    one head, so it stays whole. Each head is a representation of the whole group, and their block sum is faithful."""
    g = group(name)
    reps = head_representations(name)
    assert [(rep.reflections, rep.dim) for rep in reps] == heads
    assert all(is_homomorphism(rep, g) for rep in reps)
    moved = np.stack([rep.reflection_counts > 0 for rep in reps]).any(axis=0)
    assert moved.sum() == g.order - 1  # only the identity is the identity in every head


@pytest.mark.parametrize("name", ["A5", "S5", "S4", "Z60", "Q8", "A4xZ5"])
def test_every_element_is_the_product_of_its_reflections(name):
    """rho(g) = H(k_r) ... H(k_1) with r = rank(rho(g) - I) unit keys: what a DeltaProduct token applies at beta = 2."""
    rep = best_representation(name)
    for g, (Q, count) in enumerate(zip(rep.matrices, rep.reflection_counts, strict=True)):
        keys = reflection_keys(Q)
        assert len(keys) == count <= rep.reflections, g
        product = np.eye(rep.dim)
        for k in keys:  # k_1 first: each later reflection multiplies from the left
            assert abs(np.linalg.norm(k) - 1) < 1e-12
            product = (np.eye(rep.dim) - 2 * np.outer(k, k)) @ product
        np.testing.assert_allclose(product, Q, atol=1e-12)


@given(st.sampled_from([3, 4, 5, 6]))
def test_permutations_need_n_minus_cycles_transpositions(n):
    g = group(f"S{n}")
    rep = permutation(g)
    assert is_homomorphism(rep, g) and rep.reflections == n - 1
    for p, count in zip(g.perms, rep.reflection_counts, strict=True):
        seen, cycles = set(), 0
        for start in range(n):
            if start not in seen:
                cycles += 1
                while start not in seen:
                    seen.add(start)
                    start = p[start]
        assert count == n - cycles
    keys = reflection_keys(rep.matrices[int(np.argmax(rep.reflection_counts))])
    for k in keys:  # each is a transposition's key (e_i - e_j)/sqrt 2
        assert sorted(np.round(np.abs(k) * np.sqrt(2), 12)) == [0.0] * (n - 2) + [1.0, 1.0]


@given(st.integers(0, 2**31 - 1), st.integers(1, 6))
def test_reflection_keys_factor_any_orthogonal_matrix(seed, d):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    keys = reflection_keys(Q)
    assert len(keys) == np.linalg.matrix_rank(Q - np.eye(d), tol=1e-9) <= d
    product = np.eye(d)
    for k in keys:
        product = (np.eye(d) - 2 * np.outer(k, k)) @ product
    np.testing.assert_allclose(product, Q, atol=1e-10)


@pytest.mark.parametrize("name", ["S4", "A5", "D5", "Q8"])
def test_irreducibles_satisfy_the_sum_of_squares(name):
    """Real irreducibles of real type have dimension d with multiplicity d in the regular representation; complex and
    quaternionic ones are counted by their character norms. Over all of them: sum of d^2 / |chi|^2 = |G|."""
    g = group(name)
    total = 0.0
    for rep in irreducibles(g):
        assert is_homomorphism(rep, g)
        chars = np.trace(rep.matrices, axis1=1, axis2=2)
        norm = float(chars @ chars) / g.order  # 1 real, 2 complex, 4 quaternionic type
        total += rep.dim**2 / norm
    assert abs(total - g.order) < 1e-6


@given(st.sampled_from(["Z12", "S4", "A5", "D7", "Q8", "A4xZ5"]))
def test_element_orders_by_repeated_composition(name):
    g = group(name)
    orders = element_orders(g)
    for x in range(g.order):
        power, k = x, 1
        while power != g.identity:
            power, k = g.table[power, x], k + 1
        assert orders[x] == k
