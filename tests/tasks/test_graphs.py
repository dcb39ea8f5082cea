"""Graph tasks against networkx: every answer is `nx.has_path` on the edge list as written in the tokens."""

from dataclasses import dataclass

import networkx as nx
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from expressivity import tasks
from expressivity.tasks.graphs import transitive_closure

GRAPH_TASKS = ["reachability", "connectivity"]


@dataclass(frozen=True)
class Case:
    name: str
    num_nodes: int
    length: int
    seed: int


# Short sparse graphs and long dense ones over small and large pools (a pool of 4 forces repeated edges).
cases = st.builds(
    Case,
    name=st.sampled_from(GRAPH_TASKS),
    num_nodes=st.one_of(st.integers(4, 12), st.integers(13, 100)),
    length=st.one_of(st.integers(2, 40), st.integers(41, 300)),
    seed=st.integers(0, 2**32 - 1),
)


def parse(task, row):
    """One example's tokens -> (edges as (u, v) strings, s, t, answer token), checking the layout on the way."""
    toks = [tok for tok in task.decode(row) if tok != "<pad>"]
    assert toks[0] == "<bos>" and toks[-4] == "?" and toks[-1] == "="
    body = toks[1:-4]
    assert len(body) % 3 == 0
    edges = [(body[i], body[i + 1]) for i in range(0, len(body), 3)]
    assert all(body[i] == "," for i in range(2, len(body), 3))
    return edges, toks[-3], toks[-2]


@given(cases)
def test_answers_match_networkx(case):
    task = tasks.make(case.name, num_nodes=case.num_nodes)
    batch = task.sample(np.random.default_rng(case.seed), 8, case.length)
    assert batch.inputs.shape == (8, 1 + 3 * case.length + 4)
    assert batch.mask[:, -1].all() and batch.mask.sum() == 8, "only the final `=` is scored"
    pool = {str(i) for i in range(case.num_nodes)}
    for i in range(8):
        edges, s, t = parse(task, batch.inputs[i])
        assert len(edges) == case.length
        nodes = {x for edge in edges for x in edge}
        assert nodes <= pool, "node ids come from the fixed pool"
        assert len(nodes) <= min(case.num_nodes, case.length + 2)
        assert all(u != v for u, v in edges), "no self-loops"
        assert s != t and s in nodes and t in nodes, "query nodes are distinct and appear in the edge list"
        graph = nx.DiGraph() if case.name == "reachability" else nx.Graph()
        graph.add_edges_from(edges)
        expected = "yes" if nx.has_path(graph, s, t) else "no"
        assert task.vocab[batch.targets[i, -1]] == expected


@pytest.mark.parametrize("name", GRAPH_TASKS)
@pytest.mark.parametrize("length", [2, 12, 300])
def test_answers_balanced(name, length):
    task = tasks.make(name, num_nodes=16)
    batch = task.sample(np.random.default_rng(length), 2000, length)
    yes = (batch.targets[:, -1] == task.token_id["yes"]).mean()
    assert 0.45 < yes < 0.55  # 2000 fair coins: sd 0.011, so this fails only if balance is broken


@pytest.mark.parametrize("name", GRAPH_TASKS)
def test_short_graphs_cover_the_whole_pool(name):
    # Training lengths are short; test lengths must bring no node id that training never showed.
    task = tasks.make(name, num_nodes=64)
    batch = task.sample(np.random.default_rng(0), 256, 4)
    nodes = {int(tok) for tok in task.decode(batch.inputs) if tok.isdigit()}
    assert nodes == set(range(64))


@given(st.builds(lambda seed, n, p: (seed, n, p), st.integers(0, 2**32 - 1), st.integers(1, 20), st.floats(0, 0.4)))
def test_transitive_closure_matches_networkx(args):
    seed, n, p = args
    adj = np.random.default_rng(seed).random((3, n, n)) < p
    reach = transitive_closure(adj)
    for b in range(3):
        graph = nx.DiGraph()
        graph.add_nodes_from(range(n))
        graph.add_edges_from(zip(*np.nonzero(adj[b]), strict=True))
        expected = np.array([[i == j or nx.has_path(graph, i, j) for j in range(n)] for i in range(n)])
        np.testing.assert_array_equal(reach[b], expected)


@pytest.mark.parametrize("name", GRAPH_TASKS)
@pytest.mark.parametrize("bad", [3, 257, 8.0, True, "8"])
def test_rejects_bad_num_nodes(name, bad):
    with pytest.raises(ValueError, match="num_nodes"):
        tasks.make(name, num_nodes=bad)


@pytest.mark.parametrize("name", GRAPH_TASKS)
def test_vocab_fixed_by_num_nodes(name):
    task = tasks.make(name, num_nodes=10)
    assert task.vocab == ["<pad>", "<bos>", *map(str, range(10)), ",", "?", "=", "yes", "no"]
    assert task.info["level"] == {"reachability": "NL-complete", "connectivity": "L-complete"}[name]
    assert task.info["family"] == "graphs" and task.chance == 0.5
