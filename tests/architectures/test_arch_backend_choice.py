"""backend="auto": a fast backend that raises or disagrees with `torch` is replaced by `torch`, with one warning."""

import warnings

import pytest
import torch

from expressivity import architectures
from expressivity.architectures import gdn


def raises(*args):
    raise RuntimeError("boom: kernel refused")


def wrong(q, k, v, g, beta, scale, initial_state, output_final_state):
    o, h = gdn.BACKENDS["torch"](q, k, v, g, beta, scale, initial_state, output_final_state)
    return o * 1.05, h  # 5% off: above both tolerances


def good(*args):
    return gdn.BACKENDS["torch"](*args)


@pytest.fixture
def fake_fast(monkeypatch):
    """Register the fakes and make one of them the CPU's fast backend, with a fresh per-process cache."""
    monkeypatch.setitem(gdn.BACKENDS, "raises", raises)
    monkeypatch.setitem(gdn.BACKENDS, "wrong", wrong)
    monkeypatch.setitem(gdn.BACKENDS, "good", good)
    monkeypatch.setattr(gdn.CHOOSER, "choices", {})

    def use(name):
        monkeypatch.setattr(gdn.CHOOSER, "fast", {"cpu": name})

    return use


def tiny_gdn(backend="auto"):
    torch.manual_seed(0)
    return architectures.build("gdn", vocab_size=7, d_model=16, n_heads=2, n_layers=2, backend=backend)


@pytest.mark.parametrize(("fake", "reason"), [("raises", "raised RuntimeError: boom"), ("wrong", "differs from torch")])
def test_a_failing_fast_backend_falls_back_to_torch_with_one_warning(fake_fast, fake, reason):
    fake_fast(fake)
    model, reference = tiny_gdn("auto"), tiny_gdn("torch")
    x = torch.randint(0, 7, (2, 11))
    with pytest.warns(RuntimeWarning) as record:
        out = model(x)
        out_again = model(x)  # second layer and second call: decided already, no new warning
    assert len(record) == 1
    message = str(record[0].message)
    assert fake in message and reason in message and "'torch'" in message and "\n" not in message
    torch.testing.assert_close(out, reference(x))
    torch.testing.assert_close(out_again, out)


def test_the_check_runs_once_per_device_and_dtype(fake_fast):
    fake_fast("wrong")
    with pytest.warns(RuntimeWarning) as record:
        assert gdn.resolve_backend("auto", "cpu", torch.float32) == "torch"
        assert gdn.resolve_backend("auto", "cpu", torch.float32) == "torch"
        assert gdn.resolve_backend("auto", "cpu", torch.float64) == "torch"
    assert len(record) == 2
    assert "float32" in str(record[0].message) and "float64" in str(record[1].message)


def test_an_agreeing_fast_backend_is_used_silently(fake_fast):
    fake_fast("good")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gdn.resolve_backend("auto", "cpu", torch.float32) == "good"
        assert gdn.resolve_backend("auto", "cpu", torch.bfloat16) == "good"


def test_cpu_without_a_fast_backend_uses_torch_silently(monkeypatch):
    monkeypatch.setattr(gdn.CHOOSER, "choices", {})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gdn.resolve_backend("auto", "cpu", torch.float32) == "torch"
        assert gdn.resolve_backend("recurrent", "cpu", torch.float32) == "recurrent"


def test_self_check_catches_a_wrong_gradient(monkeypatch):
    class WrongGrad(torch.autograd.Function):
        @staticmethod
        def forward(ctx, v):
            return v.clone()

        @staticmethod
        def backward(ctx, dv):
            return 1.1 * dv

    def wrong_grad(q, k, v, *rest):
        return gdn.BACKENDS["torch"](q, k, WrongGrad.apply(v), *rest)

    monkeypatch.setitem(gdn.BACKENDS, "wrong_grad", wrong_grad)
    reason = gdn.self_check("wrong_grad", torch.device("cpu"), torch.float32)
    assert reason.startswith("its dv differs from torch")
    assert gdn.self_check("torch", torch.device("cpu"), torch.float32) == ""


def test_a_shape_known_to_crash_is_never_tried(fake_fast, monkeypatch):
    """A crash that kills the CUDA context cannot be caught by the self-check, so such shapes are not even tried."""
    calls = []

    def counting(*args):
        calls.append(args[1].shape[-1])  # K
        return gdn.BACKENDS["torch"](*args)

    monkeypatch.setitem(gdn.BACKENDS, "counting", counting)
    monkeypatch.setitem(gdn.MAX_KEY_DIM, "counting", 32)
    fake_fast("counting")
    with pytest.warns(RuntimeWarning, match="key head dims up to 32, not 64"):
        assert gdn.resolve_backend("auto", "cpu", torch.float32, shape=(2, 64, 128)) == "torch"
    assert calls == [], "the unsafe shape must not run the backend at all"
    with warnings.catch_warnings():  # another shape is decided on its own, by the self-check
        warnings.simplefilter("error")
        assert gdn.resolve_backend("auto", "cpu", torch.float32, shape=(2, 32, 64)) == "counting"
    assert calls and set(calls) == {32}


def test_fla_takes_every_key_dim_up_to_256_small_ones_padded():
    assert gdn.known_unsafe("fla", (2, 32, 64)) == ""  # padded to 64 inside the wrapper
    assert gdn.known_unsafe("fla", (4, 256, 512)) == ""
    assert "256" in gdn.known_unsafe("fla", (2, 320, 64))
    assert gdn.known_unsafe("torch", (2, 320, 64)) == ""


@pytest.mark.parametrize("K", [8, 32, 63])
def test_padding_the_key_dim_with_zeros_is_exact(K):
    """What fla's wrapper does below key dim 64, checked through the torch backend in float64: the same outputs and,
    sliced back, the same final state as the unpadded op, with the scale of the real K."""
    from expressivity.architectures.backends import pad_keys, unpad_state

    gen = torch.Generator().manual_seed(K)
    B, T, H, V = 2, 37, 3, 16
    q = torch.randn(B, T, H, K, generator=gen, dtype=torch.float64)
    k = torch.nn.functional.normalize(torch.randn(B, T, H, K, generator=gen, dtype=torch.float64), dim=-1)
    v = torch.randn(B, T, H, V, generator=gen, dtype=torch.float64)
    g = -torch.rand(B, T, H, generator=gen, dtype=torch.float64)
    beta = 2 * torch.rand(B, T, H, generator=gen, dtype=torch.float64)
    h0 = torch.randn(B, H, K, V, generator=gen, dtype=torch.float64)
    o, h = gdn.gated_delta_rule(q, k, v, g=g, beta=beta, initial_state=h0, output_final_state=True)
    qp, kp, hp = pad_keys(q, k, h0, 64)
    assert qp.shape[-1] == kp.shape[-1] == hp.shape[2] == 64
    op, hpad = gdn.gated_delta_rule(qp, kp, v, g=g, beta=beta, scale=K**-0.5, initial_state=hp, output_final_state=True)
    assert torch.allclose(op, o, rtol=1e-12, atol=1e-12)
    assert torch.allclose(unpad_state(hpad, K), h, rtol=1e-12, atol=1e-12)
    assert hpad[:, :, K:].abs().max() == 0  # the padded rows were never written
