"""Faithful orthogonal representations of finite groups, and each element as a product of reflections.

A DeltaProduct token applies n_h generalised Householders; at beta = 2 each is a reflection I - 2kk^T. An orthogonal
matrix Q is a product of exactly rank(Q - I) reflections and no fewer (Cartan-Dieudonne, constructively below), so a
group whose elements all have rank(rho(g) - I) <= r in a faithful orthogonal representation rho is tracked by one
layer with n_h >= r. This module finds such representations from the group's own Cayley table:

    rep = best_representation(group("A5"))    # the 3-dim irreducible (the icosahedron's rotations): reflections 2
    rep.matrices[g]                            # rho(g), d x d orthogonal, rho(a then b) = rho(b) @ rho(a)
    keys = reflection_keys(rep.matrices[g])    # unit k_1..k_r: rho(g) = H(k_r) ... H(k_1), k_1 applied first

Candidates: the permutation representation (P e_i = e_p(i)); for groups of order <= MAX_DECOMPOSED the real
irreducible representations, split off the regular representation by the eigenspaces of a random symmetric matrix
that commutes with it (a generic element of its commutant, so each eigenspace is one irreducible copy); for cyclic
groups the rotation of the plane; for direct products (names with "x") the block sum of the factors' best. The best is
the faithful one with the fewest reflections, then the smallest dimension.

A layer has several heads, each with its own state, so the representation may also be split across them
(`head_representations`): a direct product's factors each in a head of their own, whose block sum is faithful. A4xZ5
then needs 2 reflections per head (A4 on R^3, Z5 on the plane) where one head needs 4. No single head does with 2: if
every rho(g) had rank(rho(g) - I) <= 2, an element (a, z) of order 15 would move one plane P only, and so would its
powers (1, z) and (a, 1); every 3-cycle a of A4 would then act on P alone, and A4, which they generate, would embed in
GL_2(R), whose finite subgroups are cyclic or dihedral.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from expressivity.tasks.groups import Group
from expressivity.tasks.groups import group as make_group

MAX_DECOMPOSED = 360  # regular representations up to this order are split (A6: an eigh of 360 x 360, well under 1 s)
TOL = 1e-8


@dataclass(frozen=True)
class Representation:
    """rho(g) for every element index g of a group, as float64 matrices (N, d, d)."""

    name: str  # how it was obtained, in words
    matrices: np.ndarray

    @property
    def dim(self) -> int:
        return self.matrices.shape[-1]

    @functools.cached_property
    def reflection_counts(self) -> np.ndarray:
        """(N,) rank(rho(g) - I): the number of reflections whose product is rho(g)."""
        eye = np.eye(self.dim)
        return np.linalg.matrix_rank(self.matrices - eye, tol=1e-6).astype(int)

    @property
    def reflections(self) -> int:
        """The most reflections any element needs."""
        return int(self.reflection_counts.max())

    def faithful(self) -> bool:
        """No element but the identity maps to the identity matrix."""
        return int((self.reflection_counts == 0).sum()) == 1


def element_orders(g: Group) -> np.ndarray:
    """(N,) the order of every element, from the Cayley table (one vector step per power)."""
    n = g.order
    x = np.arange(n)
    power, orders = x.copy(), np.zeros(n, np.int64)
    for k in range(1, n + 1):
        orders[(power == g.identity) & (orders == 0)] = k
        if orders.all():
            break
        power = g.table[power, x]  # x^(k+1) = x^k then x
    return orders


def is_homomorphism(rep: Representation, g: Group) -> bool:
    """rho(a then b) = rho(b) rho(a) for every pair, and every rho(g) orthogonal."""
    m = rep.matrices
    orthogonal = np.allclose(m @ m.transpose(0, 2, 1), np.eye(rep.dim), atol=1e-9)
    products = np.einsum("bij,ajk->abik", m, m)  # [a, b] = rho(b) rho(a)
    return orthogonal and np.allclose(m[g.table], products, atol=1e-9)


def permutation(g: Group) -> Representation | None:
    """P_g e_i = e_g(i) on R^n, for a group built from permutations (None otherwise)."""
    if g.perms is None:
        return None
    N, n = g.perms.shape
    m = np.zeros((N, n, n))
    m[np.arange(N)[:, None], g.perms, np.arange(n)[None, :]] = 1.0
    return Representation(f"permutations of {n} points", m)


def plane_rotation(g: Group) -> Representation | None:
    """For a cyclic group of order m >= 3, the rotations of the plane by multiples of 2 pi / m (None otherwise)."""
    orders = element_orders(g)
    if g.order < 3 or orders.max() != g.order:
        return None
    gen, m = int(np.argmax(orders)), g.order
    exponent = np.zeros(m, np.int64)  # g = gen^exponent[g]
    power = g.identity
    for k in range(m):
        exponent[power] = k
        power = g.table[power, gen]
    angle = 2 * np.pi * exponent / m
    rot = np.empty((m, 2, 2))
    rot[:, 0, 0], rot[:, 0, 1], rot[:, 1, 0], rot[:, 1, 1] = np.cos(angle), -np.sin(angle), np.sin(angle), np.cos(angle)
    return Representation(f"rotations of the plane by multiples of 2 pi / {m}", rot)


def irreducibles(g: Group, seed: int = 0) -> list[Representation]:
    """The real irreducible representations of g (one per character), split off its regular representation."""
    N = g.order
    # Regular: L(a) e_x = e_(x then a). Its commutant is spanned by R(h) e_x = e_(h then x), and sum_h c_h R(h) is
    # symmetric when c_h = c_(h^-1): its eigenspaces are then invariant, one irreducible copy each (generic c).
    r = np.random.default_rng(seed).standard_normal(N)
    c = r + r[g.inverses]
    M = np.zeros((N, N))
    M[g.table, np.arange(N)[None, :]] = c[:, None]  # M[h then x, x] = c_h
    values, vectors = np.linalg.eigh(M)
    cuts = np.flatnonzero(np.diff(values) > TOL * max(1.0, np.abs(values).max())) + 1
    pulled = np.argsort(g.table, axis=0).T  # pulled[a, y] = the x with (x then a) = y: (L(a) U)[y] = U[x]
    seen, reps = set(), []
    for block in np.split(np.arange(N), cuts):
        U = vectors[:, block]  # (N, d), orthonormal columns spanning one invariant subspace
        chars = np.einsum("xd,axd->a", U, U[pulled])  # trace(U^T L(a) U) for every a
        key = tuple(np.round(chars, 6))
        if key in seen:
            continue
        seen.add(key)
        matrices = np.einsum("xd,axe->ade", U, U[pulled])
        reps.append(Representation("an irreducible split off the regular representation", matrices))
    return reps


def block_sum(a: Representation, b: Representation) -> Representation:
    """rho_a(x) + rho_b(y) (block-diagonal) on the product's element x * |B| + y."""
    na, nb = len(a.matrices), len(b.matrices)
    m = np.zeros((na * nb, a.dim + b.dim, a.dim + b.dim))
    m[:, : a.dim, : a.dim] = np.repeat(a.matrices, nb, axis=0)
    m[:, a.dim :, a.dim :] = np.tile(b.matrices, (na, 1, 1))
    return Representation(f"({a.name}) + ({b.name})", m)


@functools.lru_cache(maxsize=32)
def best_representation(name: str) -> Representation | None:
    """The faithful orthogonal representation of group `name` with the fewest reflections per element (then the
    smallest dimension), among the candidates in the module docstring; None for the trivial group or none found."""
    g = make_group(name)
    if g.order == 1:
        return None
    candidates = [permutation(g), plane_rotation(g)]
    if g.order <= MAX_DECOMPOSED:
        candidates += irreducibles(g)
    parts = name.split("x")
    if len(parts) > 1:
        first, rest = best_representation(parts[0]), best_representation("x".join(parts[1:]))
        if first is not None and rest is not None:
            candidates.append(block_sum(first, rest))
    faithful = [c for c in candidates if c is not None and c.faithful()]
    return min(faithful, key=lambda c: (c.reflections, c.dim), default=None)


@functools.lru_cache(maxsize=32)
def head_representations(name: str) -> tuple[Representation, ...] | None:
    """Representations of group `name`, one per head of a layer, whose block sum is faithful: each direct factor's
    best (pulled back to the product's elements: head h reads only factor h of each element) when that needs fewer
    reflections per element in every head than `best_representation` needs in one; else that one alone. None where
    `best_representation` is None."""
    best = best_representation(name)
    parts = name.split("x")
    if best is None or len(parts) == 1:
        return None if best is None else (best,)
    reps = [best_representation(part) for part in parts]
    if any(rep is None for rep in reps):
        return (best,)
    # an element's index is its factors' indices in mixed radix, the first factor most significant (direct_product)
    digits = np.unravel_index(np.arange(best.matrices.shape[0]), [len(rep.matrices) for rep in reps])
    heads = tuple(
        Representation(f"{part}: {rep.name}", rep.matrices[d]) for part, rep, d in zip(parts, reps, digits, strict=True)
    )
    return heads if max(h.reflections for h in heads) < best.reflections else (best,)


def reflection_keys(Q: np.ndarray) -> list[np.ndarray]:
    """Unit keys k_1 .. k_r, r = rank(Q - I), with Q = H(k_r) ... H(k_1) where H(k) = I - 2 k k^T (k_1 applied first).

    Each step reflects a moved basis vector x back: k = (Qx - x)/|Qx - x| makes H(k) Q fix x and everything Q fixed
    (k is orthogonal to Q's fixed space), so the fixed space grows by one per reflection.
    """
    eye = np.eye(len(Q))
    rest, found = Q.copy(), []
    while True:
        moved = np.linalg.norm(rest - eye, axis=0)  # |rest e_j - e_j| per basis vector j
        j = int(np.argmax(moved))
        if moved[j] < 1e-9:
            break
        k = (rest[:, j] - eye[:, j]) / moved[j]
        rest = (eye - 2 * np.outer(k, k)) @ rest
        found.append(k)
    return found[::-1]  # Q = H(found[0]) ... H(found[-1]): the last found is applied first
