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
    monkeypatch.setitem(gdn.MIN_KEY_DIM, "counting", 64)
    fake_fast("counting")
    with pytest.warns(RuntimeWarning, match="crashed the CUDA context at key head dim 32"):
        assert gdn.resolve_backend("auto", "cpu", torch.float32, shape=(2, 32, 64)) == "torch"
    assert calls == [], "the unsafe shape must not run the backend at all"
    with warnings.catch_warnings():  # another shape is decided on its own, by the self-check
        warnings.simplefilter("error")
        assert gdn.resolve_backend("auto", "cpu", torch.float32, shape=(2, 64, 128)) == "counting"
    assert calls and set(calls) == {64}


def test_fla_is_known_unsafe_below_key_dim_64_only():
    assert "32" in gdn.known_unsafe("fla", (2, 32, 64))
    assert gdn.known_unsafe("fla", (4, 64, 128)) == ""
    assert gdn.known_unsafe("torch", (2, 32, 64)) == ""
