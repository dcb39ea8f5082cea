"""The negative side, honestly: no weights of a GDN with beta in [0, 1] give a transition with a negative eigenvalue,
so the sign flip parity needs is out of its reach (Grazzi et al. 2025, Thm 1); with neg_eigval it is within reach.

The transitions are read from the registry's own layer (`op_inputs`: k, beta, g per token) for random weights and
inputs, and their spectrum is computed by numpy, independently of the layer's arithmetic.
"""

import functools

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st

from expressivity import architectures

VOCAB, T = 16, 12
ROUNDING = 1e-6  # float32: beta saturates at exactly 1 while |k|^2 = 1 + O(1e-7), so 1 - beta |k|^2 ~ -1e-7


@functools.cache
def model(arch: str, neg: bool):
    return architectures.build(arch, vocab_size=VOCAB, n_layers=1, d_model=16, n_heads=2, neg_eigval=neg)


def transitions(seed: int, scale: float, neg: bool, arch: str = "gdn") -> np.ndarray:
    """(B*T*H, d_k, d_k) per-token transitions exp(g) (I - beta k k^T) of a 1-layer model with random weights * scale
    (the decay's A_log and dt_bias at scale <= 3: exp(A_log) must stay finite for g to be a number)."""
    gen = torch.Generator().manual_seed(seed)
    m = model(arch, neg)
    with torch.no_grad():
        for name, p in m.named_parameters():
            s = min(scale, 3.0) if name.endswith(("A_log", "dt_bias")) else scale
            p.copy_(torch.randn(p.shape, generator=gen) * s)
        inputs = torch.randint(0, VOCAB, (3, T), generator=gen)
        block = m.blocks[0]
        p, _ = block.mixer.op_inputs(block.norm1(m.embed(inputs)))
    k, beta, g = (p[n].double().numpy() for n in ("k", "beta", "g"))
    eye = np.eye(k.shape[-1])
    a = np.exp(g)[..., None, None] * (eye - beta[..., None, None] * k[..., :, None] * k[..., None, :])
    return a.reshape(-1, *a.shape[-2:])


weights = st.builds(lambda seed, log_scale: (seed, 10.0**log_scale), st.integers(0, 2**31 - 1), st.floats(-2, 3))


@given(weights, st.sampled_from(["gdn", "deltanet"]))
def test_nonnegative_range_has_no_negative_eigenvalue(w, arch):
    seed, scale = w
    eig = np.linalg.eigvalsh(transitions(seed, scale, neg=False, arch=arch))
    assert eig.min() >= -ROUNDING and eig.max() <= 1 + ROUNDING


@given(weights)
def test_negative_range_stays_within_minus_one_and_one(w):
    seed, scale = w
    eig = np.linalg.eigvalsh(transitions(seed, scale, neg=True))
    assert eig.min() >= -1 - ROUNDING and eig.max() <= 1 + ROUNDING


def test_negative_range_reaches_a_sign_flip():
    """Large weights saturate beta = 2 sigmoid(.) near 2 on some token: an eigenvalue near -1, parity's flip."""
    eig = np.linalg.eigvalsh(transitions(0, 100.0, neg=True))
    assert eig.min() < -0.9
