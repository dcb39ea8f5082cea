"""Eigenvalue ranges of every recurrent layer's per-token transition, for random weights and inputs.

Without `neg_eigval` they lie in [0, 1]; with it they lie in [-1, 1] and some are negative (what parity needs).
The transitions are built here from the layer's op inputs and their definitions, and numpy computes the eigenvalues.
"""

from dataclasses import dataclass

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from expressivity.architectures import build

EPS = 1e-5


@dataclass(frozen=True)
class Draw:
    letter: str
    neg_eigval: bool
    weight_scale: float  # std of the input projection times sqrt(d_model): from near-default to saturating gates
    seed: int


draws = st.builds(
    Draw,
    letter=st.sampled_from("GDM"),
    neg_eigval=st.booleans(),
    weight_scale=st.sampled_from([0.5, 3.0, 10.0]),
    seed=st.integers(0, 2**31 - 1),
)


def layer_and_input(letter: str, neg_eigval: bool, weight_scale: float, seed: int):
    torch.manual_seed(seed)
    model = build("hybrid", vocab_size=5, pattern=letter, d_model=16, n_heads=2, neg_eigval=neg_eigval)
    mixer = model.blocks[0].mixer
    nn.init.normal_(mixer.proj.weight, std=weight_scale / 4.0)  # d_model 16: std * sqrt(16) = weight_scale
    x = torch.randn(2, 24, 16, generator=torch.Generator().manual_seed(seed))
    return mixer, x


def transition_eigenvalues(letter: str, p: dict[str, torch.Tensor]) -> np.ndarray:
    """All eigenvalues of every (example, step, head) transition, from its definition."""
    if letter == "M":  # a_t times the identity
        return p["decay"].detach().double().numpy().ravel()
    k = p["k"].detach().double().numpy()
    g, beta = p["g"].detach().double().numpy(), p["beta"].detach().double().numpy()
    eye = np.eye(k.shape[-1])
    outer = k[..., :, None] * k[..., None, :]  # (B, T, H, K, K)
    A = np.exp(g)[..., None, None] * (eye - beta[..., None, None] * outer)
    return np.linalg.eigvals(A).ravel()


@given(draws)
def test_transitions_have_eigenvalues_in_the_allowed_range(d):
    mixer, x = layer_and_input(d.letter, d.neg_eigval, d.weight_scale, d.seed)
    with torch.no_grad():
        eig = transition_eigenvalues(d.letter, mixer.op_inputs(x)[0])
    assert np.abs(eig.imag).max() < EPS  # symmetric (GDN, DeltaNet) or scalar (diagonal) transitions: real spectra
    eig = eig.real
    low = -1.0 if d.neg_eigval else 0.0
    assert eig.min() >= low - EPS and eig.max() <= 1.0 + EPS
    if d.neg_eigval and d.weight_scale >= 3.0:
        # The widened range is reached once the gates can saturate (at init a diagonal layer's decays sit near 1).
        assert eig.min() < 0.0


@settings(max_examples=10)
@given(st.integers(0, 2**31 - 1), st.sampled_from([0.5, 3.0]))
def test_lstm_forget_gates_are_in_the_unit_interval(seed, weight_scale):
    """An LSTM cell's state transition is diag(forget gate), recomputed here from the weights and hidden states."""
    torch.manual_seed(seed)
    mixer = build("lstm", vocab_size=5, d_model=16, n_layers=1).blocks[0].mixer
    for w in (mixer.lstm.weight_ih_l0, mixer.lstm.weight_hh_l0):
        nn.init.normal_(w, std=weight_scale / 4.0)
    x = torch.randn(2, 24, 16, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        hidden = mixer.lstm(x)[0]  # h_t, which the gates of step t + 1 read
        h_prev = torch.cat([torch.zeros_like(hidden[:, :1]), hidden[:, :-1]], dim=1)
        lstm = mixer.lstm
        pre = x @ lstm.weight_ih_l0.T + h_prev @ lstm.weight_hh_l0.T + lstm.bias_ih_l0 + lstm.bias_hh_l0
        forget = torch.sigmoid(pre.chunk(4, dim=-1)[1])  # torch orders the gates input, forget, cell, output
    assert forget.min() >= 0.0 and forget.max() <= 1.0


@dataclass(frozen=True)
class ProductDraw:
    n: int  # Householder steps per token
    neg_eigval: bool
    weight_scale: float
    seed: int


product_draws = st.builds(
    ProductDraw,
    n=st.sampled_from([2, 3]),
    neg_eigval=st.booleans(),
    weight_scale=st.sampled_from([0.5, 3.0, 10.0]),
    seed=st.integers(0, 2**31 - 1),
)


@given(product_draws)
def test_deltaproduct_transitions_are_contractions_with_the_stated_spectra(d):
    """A DeltaProduct token's transition is exp(g) H_n ... H_1 (each H = I - beta k k^T, spectral norm <= 1), so its
    eigenvalues lie in the unit disc. With beta in [0, 1] and n = 2 it is a product of two positive semidefinite
    matrices, whose eigenvalues are real and nonnegative; with beta in [0, 2] two reflections make rotations, whose
    eigenvalues are complex."""
    torch.manual_seed(d.seed)
    model = build("deltaproduct", vocab_size=5, d_model=16, n_heads=2, n_layers=1, neg_eigval=d.neg_eigval,
                  num_householder=d.n)  # fmt: skip
    mixer = model.blocks[0].mixer
    nn.init.normal_(mixer.proj.weight, std=d.weight_scale / 4.0)
    x = torch.randn(2, 24, 16, generator=torch.Generator().manual_seed(d.seed))
    with torch.no_grad():
        p, _ = mixer.op_inputs(x)
    k, beta, g = (p[m].double().numpy() for m in ("k", "beta", "g"))
    B, T, H = g.shape
    k, beta = k.reshape(B, T, d.n, H, -1), beta.reshape(B, T, d.n, H)
    eye = np.eye(k.shape[-1])
    A = np.exp(g)[..., None, None] * np.broadcast_to(eye, (B, T, H, *eye.shape))
    for j in range(d.n):  # later steps multiply from the left
        A = (eye - beta[:, :, j, :, None, None] * k[:, :, j, :, :, None] * k[:, :, j, :, None, :]) @ A
    eig = np.linalg.eigvals(A).ravel()
    assert np.abs(eig).max() <= 1.0 + EPS
    if not d.neg_eigval and d.n == 2:
        assert np.abs(eig.imag).max() < EPS and eig.real.min() >= -EPS
    if d.neg_eigval and d.weight_scale >= 10.0:
        assert np.abs(eig.imag).max() > 0.1  # saturated betas near 2: products of two reflections rotate


def test_keys_are_normalised_in_fp32_whatever_the_dtype():
    """In bf16 a key's norm is taken in fp32 and the result rounded once, as fla's l2norm kernel does and as the
    compiled training stages compute it; a bf16 norm (rounded before the divide) leaves |k|^2 about 3e-3 off 1, which
    moves a reflection's eigenvalue off -1 at evaluation only."""
    from expressivity.architectures.gdn_layer import DeltaRuleMixer

    mixer = DeltaRuleMixer(64, 2, neg_eigval=True)
    x = torch.randn(4, 32, 2, 32, generator=torch.Generator().manual_seed(0)).mul(3).to(torch.bfloat16)
    expected = torch.nn.functional.normalize(x.float(), dim=-1, eps=1e-6).to(torch.bfloat16)
    got = mixer._l2(x)
    assert got.dtype == torch.bfloat16
    torch.testing.assert_close(got, expected, rtol=0, atol=0)
    x32 = x.float()
    assert torch.equal(mixer._l2(x32), torch.nn.functional.normalize(x32, dim=-1, eps=1e-6))  # CPU fp32 unchanged
