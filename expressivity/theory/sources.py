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
    "grazzi-released": "Grazzi et al. 2025, their released length curves (automl/unlocking_state_tracking at df8f840, "
    "xlstm/pkl_files/*.pkl: scaled accuracy of one checkpoint per model at each test length, from eval-chomsky.py), "
    "averaged over the lengths 40-256 of their test set",
    "illusion": "Merrill, Petty & Sabharwal 2024, The Illusion of State in State-Space Models",
    "joulin": "Joulin & Mikolov 2015, Inferring Algorithmic Patterns with Stack-Augmented Recurrent Nets (arXiv "
    "1503.01007): the Stack-RNN",
    "suzgun": "Suzgun, Gehrmann, Belinkov & Shieber 2019, Memory-Augmented Recurrent Neural Networks Can Learn "
    "Generalized Dyck Languages (arXiv 1911.03329): stack-augmented RNNs learn Dyck languages, palindromes and the "
    "string-reversal transduction by emulating pushdown automata",
    "kazemnejad": "Kazemnejad et al. 2023, The Impact of Positional Encoding on Length Generalization in Transformers "
    "(NeurIPS 2023): causal attention without positional encoding (NoPE) can represent absolute positions",
    "liu": "Liu et al. 2023, Transformers Learn Shortcuts to Automata (Thm 2: solvable semiautomata)",
    "mamba3": "Mamba-3 (arXiv 2603.15569), state-tracking table",
    "merrill-sabharwal": "Merrill & Sabharwal 2023, The Parallelism Tradeoff: log-precision transformers are in TC0",
    "olmo-hybrid": "Merrill et al. 2026, Olmo Hybrid: From Theory to Practice and Back (arXiv 2604.03444)",
    "sarrof": "Sarrof, Veitsman & Hahn 2024, The Expressive Capacity of State Space Models",
    "wen": "Wen, Dang & Lyu 2024, RNNs are not Transformers (Yet): The Key Bottleneck on In-context Retrieval",
    "chandra": "Chandra, Stockmeyer & Vishkin 1984, Constant Depth Reducibility (SIAM J. Comput. 13(2)): addition "
    "in AC0; multiplication, iterated addition and sorting reduce to majority (TC0)",
    "jelassi": "Jelassi, Brandfonbrener, Kakade & Malach 2024, Repeat After Me: Transformers are Better than State "
    "Space Models at Copying (ICML 2024, arXiv 2402.01032)",
    "jones": "Jones 1975, Space-Bounded Reducibility among Combinatorial Problems (J. Comput. Syst. Sci. 11): directed "
    "s-t reachability is NL-complete",
    "merrill-sabharwal-padding": "Merrill & Sabharwal 2025, Exact Expressive Power of Transformers with Padding "
    "(NeurIPS 2025, arXiv 2505.18948): with polynomial padding, fixed-depth transformers recognise exactly FO-uniform "
    "TC0",
    "olsson": "Olsson et al. 2022, In-context Learning and Induction Heads (Transformer Circuits Thread): the "
    "two-layer induction-head circuit",
    "reingold": "Reingold 2008, Undirected Connectivity in Log-Space (J. ACM 55(4)): undirected s-t connectivity is in "
    "L, where it is complete",
    "weiss": "Weiss, Goldberg & Yahav 2021, Thinking Like Transformers (ICML 2021): RASP programs of fixed depth for "
    "reverse, sort, histograms and Dyck-k",
    "zoology": "Arora et al. 2023, Zoology: Measuring and Improving Recall in Efficient Language Models (arXiv "
    "2312.04927): multi-query associative recall; attention solves it, gated convolutions need a dimension that grows "
    "with the sequence",
    "automata": "finite-precision recurrent state is a finite automaton (and a saturated RNN simulates any DFA)",
    "this-package": "expressivity.theory.constructions (hand-set weights, checked exact at length >= 2000 in tests)",
}


def cite(keys: tuple[str, ...]) -> str:
    """Full references of `keys`, joined with '; '."""
    return "; ".join(SOURCES[k] for k in keys)
