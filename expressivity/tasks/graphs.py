"""Graphs: is there a path from s to t? Directed `reachability` (NL-complete), undirected `connectivity` (L-complete).

Both tasks write a random graph as an edge list, then a query pair, and score only the final `=`:

    input : <bos> 12 58 , 11 57 , 12 58 , 8 12 , ? 8 58   =
    target:     .  .  . .  .  . .  .  . . .  . . . .  . yes      (reachability, length 4: 8 -> 12 -> 58)

Each edge is `u v ,` (for `reachability` the edge goes from u to v); the `,` after every edge lets a model find edge
boundaries from a local pattern instead of counting positions mod 3. The query is `? s t =` with s != t, and the answer
is `yes` or `no`, drawn 50/50 per example. `length` counts edges, so T = 1 + 3 * length + 4.

Node ids are single tokens "0".."num_nodes-1" from a fixed pool. An example with E edges uses a random subset of
min(num_nodes, E + 2) pool ids, so short training graphs are sparse (many components, multi-hop paths) and still cover
every id, and the vocabulary never depends on length. The complexity classes hold as num_nodes grows: with a fixed pool
the task is finite-state (the reachability matrix is num_nodes**2 bits), so probe length generalisation with a pool
larger than the training graphs.

How graphs are drawn (so that both answers exist at any density): the used nodes are split at random into two groups
A and B of >= 2 nodes each. Undirected edges join two distinct nodes of one group; directed edges never go from A to B
(A->A, B->B and B->A are allowed), so nothing in A reaches B. One edge inside A and one inside B are always present,
so among the nodes that appear in edges there is a reachable pair and an unreachable one. The query pair is drawn
uniformly among appearing pairs with the wanted answer, computed from the graph's transitive closure (not from the
groups); a node that appears in no edge is never queried, so it cannot give the answer away. Edges may repeat.
Short graphs have few long paths: guessing "yes iff s t is an edge" scores about 0.9 at 4 edges and 0.5 to 0.6 at 256
(num_nodes=64).
"""

from __future__ import annotations

import numpy as np

from expressivity.tasks.base import Batch, Task, check_int, register, with_bos

MAX_NODES = 256  # closure costs ~ batch * n**3 / 64 word ops: a batch of 256 takes about 0.4 s at n = 256 on one core


def transitive_closure(adj: np.ndarray) -> np.ndarray:
    """(B, n, n) bool adjacency -> (B, n, n) bool: [b, i, j] iff a path of >= 0 edges leads from i to j.

    Warshall's algorithm on rows packed into 64-bit words: after step k, row i holds every node reachable through
    intermediates 0..k. n steps of (B, n, n/64) word ops; 2x to 4x faster on one core than log2(n) float32 matmul
    squarings (B * n**3 each) at n = 64..256.
    """
    b, n, _ = adj.shape
    words = (n + 63) // 64
    padded = np.zeros((b, n, words * 64), bool)
    padded[:, :, :n] = adj
    padded[:, np.arange(n), np.arange(n)] = True
    rows = np.packbits(padded, axis=-1, bitorder="little").view("<u8")  # (B, n, words); bit j of word w is node 64w+j
    one = np.uint64(1)
    for k in range(n):
        word, bit = divmod(k, 64)
        through_k = (rows[:, :, word] >> np.uint64(bit)) & one  # (B, n) 0/1: row i reaches k
        rows |= through_k[:, :, None] * rows[:, k, None, :]
    return np.unpackbits(rows.view(np.uint8), axis=-1, count=n, bitorder="little").astype(bool)


def _pick_weighted(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """(B, n) non-negative integer weights, each row with a positive sum -> (B,) column drawn in proportion to them."""
    cum = np.cumsum(weights, axis=1)
    pick = (rng.random(len(weights)) * cum[:, -1]).astype(np.int64)
    return np.argmax(cum > pick[:, None], axis=1)


class _GraphTask(Task):
    """Shared generator of `reachability` and `connectivity`; subclasses set `directed`."""

    family = "graphs"
    length_unit = "edges"
    min_length = 2  # one edge inside each group, so both answers exist
    directed: bool = True
    # The nodes in use grow with the edges (min(num_nodes, E + 2)), and every pair may be asked: the state must hold
    # the components (Theta(n log n) bits) or the reachability relation. With a fixed pool this stops at num_nodes,
    # where the task becomes finite-state: theory's bounds then bite only up to the pool (they are asymptotic).
    state_grows = True

    def __init__(self, *, num_nodes: int = 64):
        check_int(self.name, "num_nodes", num_nodes, lo=4, hi=MAX_NODES)
        self.num_nodes = int(num_nodes)
        self._set_symbols([str(i) for i in range(self.num_nodes)] + [",", "?", "=", "yes", "no"])

    @property
    def chance(self) -> float:
        return 0.5

    def _edges(self, rng: np.random.Generator, batch_size: int, length: int, n: int, n_a: np.ndarray):
        """Local node ids (B, E) u, v: A is 0..n_a-1, B is n_a..n-1. Edge 0 lies inside A, edge 1 inside B."""
        r = rng.random((3, batch_size, length))
        u = (r[0] * n).astype(np.int64)
        n_a = n_a[:, None]
        # Force the two guaranteed edges before shuffling, so their positions are random too.
        u[:, 0] = (r[0, :, 0] * n_a[:, 0]).astype(np.int64)
        u[:, 1] = n_a[:, 0] + (r[0, :, 1] * (n - n_a[:, 0])).astype(np.int64)
        in_a = u < n_a
        lo = np.where(in_a, 0, n_a)
        size = np.where(in_a, n_a, n - n_a)
        if self.directed:
            wide = ~in_a  # from B an edge may go anywhere (B->B or B->A), except edge 1
            wide[:, 1] = False
            lo = np.where(wide, 0, lo)
            size = np.where(wide, n, size)
        # A uniform other node of the allowed range: step 1..size-1 forward from u, wrapping inside the range.
        step = 1 + (r[1] * (size - 1)).astype(np.int64)
        v = lo + (u - lo + step) % size
        order = np.argsort(r[2], axis=1)
        return np.take_along_axis(u, order, axis=1), np.take_along_axis(v, order, axis=1)

    def _sample(self, rng: np.random.Generator, batch_size: int, length: int) -> Batch:
        b, e = batch_size, length
        n = min(self.num_nodes, e + 2)
        rows = np.arange(b)[:, None]
        # Local node i of example b is pool id pool_ids[b, i]: a random injective map, so groups are random sets.
        pool_ids = np.argsort(rng.random((b, self.num_nodes)), axis=1)[:, :n]
        n_a = rng.integers(2, n - 1, size=b)  # |A| in [2, n-2]
        u, v = self._edges(rng, b, e, n, n_a)

        adj = np.zeros((b, n, n), bool)
        adj[rows, u, v] = True
        if not self.directed:
            adj[rows, v, u] = True
        reach = transitive_closure(adj)
        seen = np.zeros((b, n), bool)
        seen[rows, u] = True
        seen[rows, v] = True

        # Balance: pick the answer first, then a uniform appearing pair (s != t) that has it.
        answer = rng.integers(0, 2, size=b).astype(bool)
        candidates = seen[:, :, None] & seen[:, None, :] & ~np.eye(n, dtype=bool)
        candidates &= reach == answer[:, None, None]
        # Uniform over candidate pairs in two cheap steps: a row s with probability proportional to its count, then a
        # uniform candidate t in that row (a cumsum over all n * n pairs costs more than the closure).
        s = _pick_weighted(rng, candidates.sum(axis=2))  # counts are >= 1 by construction
        t = _pick_weighted(rng, candidates[np.arange(b), s])

        tid = self.token_id
        node_tok = pool_ids + tid["0"]  # (B, n): the token of each local node; node tokens are consecutive ids
        body = np.empty((b, e, 3), np.int64)
        body[:, :, 0] = np.take_along_axis(node_tok, u, axis=1)
        body[:, :, 1] = np.take_along_axis(node_tok, v, axis=1)
        body[:, :, 2] = tid[","]
        query = np.empty((b, 4), np.int64)
        query[:, 0], query[:, 3] = tid["?"], tid["="]
        query[:, 1] = node_tok[rows[:, 0], s]
        query[:, 2] = node_tok[rows[:, 0], t]
        tokens = np.concatenate([body.reshape(b, 3 * e), query], axis=1)
        targets = np.zeros_like(tokens)
        targets[:, -1] = np.where(answer, tid["yes"], tid["no"])
        mask = np.zeros(tokens.shape, bool)
        mask[:, -1] = True
        return with_bos(tokens, targets, mask)


@register
class Reachability(_GraphTask):
    """Directed s-t reachability (NL-complete). `length` counts edges; each edge `u v ,` goes from u to v.

        input : <bos> 12 58 , 11 57 , 12 58 , 8 12 , ? 8 58   =
        target:     .  .  . .  .  . .  .  . . .  . . . .  . yes      (length 4: 8 -> 12 -> 58)

    Node ids are tokens "0".."num_nodes-1"; T = 1 + 3 * length + 4. See the module docstring for how graphs are drawn.
    """

    name = "reachability"
    level = "NL-complete"
    directed = True


@register
class Connectivity(_GraphTask):
    """Undirected s-t connectivity (L-complete). `length` counts edges; `u v ,` joins u and v both ways.

        input : <bos> 49 62 , 36 18 , 16 36 , 5 62 , ? 5 49   =
        target:     .  .  . .  .  . .  .  . . .  . . . .  . yes      (length 4: 5 - 62 - 49)

    Node ids are tokens "0".."num_nodes-1"; T = 1 + 3 * length + 4. See the module docstring for how graphs are drawn.
    """

    name = "connectivity"
    level = "L-complete"
    directed = False
