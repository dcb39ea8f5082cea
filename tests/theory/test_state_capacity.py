"""How many bits one gated-delta-rule head can hold and give back: d_k x d_v, one a state entry, by its sign.

The m axis of olmo-hybrid (issue 15) expects a pure GDN's recall to break once the list outgrows its state, and
estimates that limit at heads x key dim (about 128 items at the small preset), one item a key direction, as with
MQAR's arbitrary keys. With index keys the state holds more: bit i is written with key e_{i // d_v}, value
(2 b_i - 1) e_{i mod d_v}, beta < 1 and no decay. The delta rule sets the key's row of the K x V state to
(1 - beta) row + beta v, so the row's earlier entries shrink by (1 - beta) and keep their signs; a later token with
query e_{i // d_v} (and no write) reads the row, and coordinate i mod d_v gives the bit as its sign. So one head of
the small preset (32 x 64) holds 2048 bits, a GDN layer there (4 heads) 8192, and its four layers 32768: more than
any m the testbed's sweep runs. (A model still has to learn this layout from digit tokens; the tests show only that
the state is not what stops it.)
"""

import numpy as np
import pytest
import torch

from expressivity.architectures.gdn import gated_delta_rule

BETA = 0.1  # each later write in a row shrinks its earlier entries by 0.9: 0.9^63 * 0.1 = 1.3e-4 is the least one


def _bits_read_back(bits: np.ndarray, dk: int, dv: int, *, beta: float = BETA, backend: str = "torch") -> np.ndarray:
    """Write `bits` (m <= dk * dv) into one head's state as above, then read each back with a query token; the bits
    read, as 0/1. Shapes for the op: q, k [1, 2m, 1, dk], v [1, 2m, 1, dv], g and beta [1, 2m, 1]."""
    m = len(bits)
    index = np.arange(m)
    k = torch.zeros(1, 2 * m, 1, dk)
    v = torch.zeros(1, 2 * m, 1, dv)
    q = torch.zeros(1, 2 * m, 1, dk)
    k[0, index, 0, index // dv] = 1.0  # the writes: the first m tokens
    v[0, index, 0, index % dv] = torch.from_numpy(2.0 * bits - 1.0).float()
    q[0, m + index, 0, index // dv] = 1.0  # the reads: k = 0 and beta = 0 write nothing
    step_beta = torch.zeros(1, 2 * m, 1)
    step_beta[0, :m, 0] = beta
    out, _ = gated_delta_rule(q, k, v, g=torch.zeros(1, 2 * m, 1), beta=step_beta, backend=backend, scale=1.0)
    read = out[0, m + index, 0, index % dv]  # the coordinate that holds each bit
    return (read > 0).numpy().astype(bits.dtype)


@pytest.mark.parametrize("backend", ["torch", "recurrent"])
def test_one_head_holds_dk_times_dv_bits(backend):
    dk, dv = (32, 64) if backend == "torch" else (8, 16)  # the small preset's head; the recurrence loops in Python
    bits = np.random.default_rng(0).integers(0, 2, dk * dv)
    assert (_bits_read_back(bits, dk, dv, backend=backend) == bits).all()


def test_a_write_that_replaces_the_row_keeps_only_its_last_bit():
    """beta = 1 replaces a key's row with each write: what the sign coding needs beta < 1 for (the test can fail)."""
    dk, dv = 4, 8
    bits = np.random.default_rng(1).integers(0, 2, dk * dv)
    read = _bits_read_back(bits, dk, dv, beta=1.0)
    last = np.arange(dk * dv) % dv == dv - 1  # the last write in each row survives
    assert (read[last] == bits[last]).all()
    assert (read[~last] == 0).all()  # the rest were wiped to 0, read as the bit 0
