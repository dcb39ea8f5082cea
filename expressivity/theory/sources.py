"""The papers the predictions cite, by short key (a rule names a key; reports print the full reference)."""

from __future__ import annotations

SOURCES = {
    "barrington": "Barrington 1989, Bounded-width polynomial-size branching programs recognize exactly NC1",
    "buss": "Buss 1987, The Boolean formula value problem is in ALOGTIME",
    "chiang": "Chiang & Cholak 2022, Overcoming a Theoretical Limitation of Self-Attention (a transformer for parity)",
    "deletang": "Deletang et al. 2023, Neural Networks and the Chomsky Hierarchy (train <= 40, test 41-500)",
    "deltaproduct": "Siems et al. 2025, DeltaProduct: Improving State-Tracking in Linear RNNs via Householder Products "
    "(arXiv 2502.10297)",
    "grazzi": "Grazzi et al. 2025, Unlocking State-Tracking in Linear RNNs Through Negative Eigenvalues",
    "grazzi-table": "Grazzi et al. 2025, Table (train 3-40, test 40-256, scaled accuracy, best of 3 seeds)",
    "illusion": "Merrill, Petty & Sabharwal 2024, The Illusion of State in State-Space Models",
    "liu": "Liu et al. 2023, Transformers Learn Shortcuts to Automata (Thm 2: solvable semiautomata)",
    "mamba3": "Mamba-3 (arXiv 2603.15569), state-tracking table",
    "merrill-sabharwal": "Merrill & Sabharwal 2023, The Parallelism Tradeoff: log-precision transformers are in TC0",
    "olmo-hybrid": "Merrill et al. 2026, Olmo Hybrid: From Theory to Practice and Back (arXiv 2604.03444)",
    "sarrof": "Sarrof, Veitsman & Hahn 2024, The Expressive Capacity of State Space Models",
    "wen": "Wen, Dang & Lyu 2024, RNNs are not Transformers (Yet): The Key Bottleneck on In-context Retrieval",
    "automata": "finite-precision recurrent state is a finite automaton (and a saturated RNN simulates any DFA)",
    "this-package": "expressivity.theory.constructions (hand-set weights, checked exact at length >= 2000 in tests)",
}


def cite(keys: tuple[str, ...]) -> str:
    """Full references of `keys`, joined with '; '."""
    return "; ".join(SOURCES[k] for k in keys)
