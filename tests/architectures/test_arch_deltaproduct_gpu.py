"""CUDA only (skipped without it): fla's DeltaProduct kernels against the float64 definition, and `auto` never trying
them where they crash. Run with `-s` to see the measured errors.

fla-core 0.4.2 compiles its kernels on first use (about 140 s per shape and dtype on an H200, DEVICE.md): the shapes
here are few on purpose, and the key dim 32 test never launches an fla kernel (a crash there poisons the process).
"""

import warnings

import pytest
import torch
import torch.nn.functional as F

from expressivity import architectures
from expressivity.architectures import deltaproduct
from expressivity.architectures.backends import TOLERANCE, rel_err

pytestmark = pytest.mark.gpu


def problem(T: int, H: int, K: int, V: int, n: int, dtype: torch.dtype, seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator(device="cuda").manual_seed(seed)

    def randn(*shape):
        return torch.randn(*shape, generator=gen, device="cuda")

    B = 2
    return {
        "q": randn(B, T, H, K).to(dtype),
        "k": F.normalize(randn(B, T * n, H, K), dim=-1).to(dtype),
        "v": randn(B, T * n, H, V).to(dtype),
        "g": F.logsigmoid(randn(B, T, H) + 3.0),  # log decays stay fp32, as the layers make them
        "beta": (2 * torch.rand(B, T * n, H, generator=gen, device="cuda")).to(dtype),  # [0, 2]
        "initial_state": randn(B, H, K, V),
    }


def outputs_and_grads(backend: str, x: dict[str, torch.Tensor], n: int, cast: torch.dtype | None = None):
    leaves = {m: (t.to(cast) if cast else t).clone().requires_grad_() for m, t in x.items()}
    o, h = deltaproduct.gated_delta_product(
        leaves["q"], leaves["k"], leaves["v"], g=leaves["g"], beta=leaves["beta"], num_householder=n,
        initial_state=leaves["initial_state"], output_final_state=True, backend=backend,
    )  # fmt: skip
    gen = torch.Generator(device="cuda").manual_seed(1)
    loss = (o.double() * torch.randn(o.shape, generator=gen, device="cuda", dtype=torch.float64)).sum()
    loss = loss + (h.double() * torch.randn(h.shape, generator=gen, device="cuda", dtype=torch.float64)).sum()
    loss.backward()
    return {"o": o, "h": h, **{f"d{m}": t.grad for m, t in leaves.items()}}


@pytest.mark.parametrize(("K", "n"), [(64, 2), (64, 3), (128, 2)], ids=["K64-nh2", "K64-nh3", "K128-nh2"])
def test_fla_matches_the_float64_recurrence_in_bf16(K, n):
    """Outputs, final state and every gradient (q, k, v, g, beta, initial state), beta in [0, 2], T*n not a multiple
    of fla's chunk of 64, within the tolerance the GDN op's self-check allows in bf16."""
    pytest.importorskip("fla.ops.gated_delta_product")
    x = problem(T=100, H=4, K=K, V=2 * K, n=n, dtype=torch.bfloat16)
    got = outputs_and_grads("fla", x, n)
    ref = outputs_and_grads("recurrent", x, n, cast=torch.float64)  # the same bf16-rounded inputs, in fp64
    errors = {name: rel_err(got[name], ref[name]) for name in ref}
    print(f"\nfla bf16 vs fp64 recurrence (K={K}, n_h={n}):", {k: f"{v:.1e}" for k, v in errors.items()})
    assert max(errors.values()) <= TOLERANCE[torch.bfloat16], errors


def test_torch_backend_on_cuda_matches_recurrent_in_float64():
    x = {m: t.double() for m, t in problem(T=50, H=2, K=32, V=48, n=3, dtype=torch.float64).items()}
    got, ref = outputs_and_grads("torch", x, 3), outputs_and_grads("recurrent", x, 3)
    errors = {name: rel_err(got[name], ref[name]) for name in ref}
    assert max(errors.values()) <= 1e-10, errors


def test_auto_takes_fla_at_key_dim_32_padded(monkeypatch):
    """The tiny preset (d_model 64, 2 heads: K = 32) is where fla crashed the CUDA context unpadded: the wrapper pads
    the key dim to 64, so `auto` takes fla there, in the op and in a model trained under bf16 autocast."""
    pytest.importorskip("fla.ops.gated_delta_product")
    monkeypatch.setattr(deltaproduct.CHOOSER, "choices", {})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert deltaproduct.resolve_backend("auto", "cuda", torch.bfloat16, shape=(2, 32, 64, 2)) == "fla"
        model = architectures.build("deltaproduct", vocab_size=16, size="tiny", neg_eigval=True).cuda()
        x = torch.randint(0, 16, (4, 60), device="cuda")
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = model(x)
        logits.float().logsumexp(-1).mean().backward()
    assert torch.isfinite(logits.float()).all()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_auto_takes_fla_in_bf16_at_key_dim_64_and_not_in_fp32(monkeypatch):
    pytest.importorskip("fla.ops.gated_delta_product")
    monkeypatch.setattr(deltaproduct.CHOOSER, "choices", {})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert deltaproduct.resolve_backend("auto", "cuda", torch.bfloat16, shape=(4, 64, 128, 2)) == "fla"
    with pytest.warns(RuntimeWarning, match="takes only bfloat16, float16"):
        assert deltaproduct.resolve_backend("auto", "cuda", torch.float32, shape=(4, 64, 128, 2)) == "torch"


def test_deltaproduct_model_on_cuda_matches_the_torch_backend():
    """The base preset's heads (d_model 256, 4 heads: K = 64, V = 128), n_h = 2, bf16 autocast: auto (fla) against
    the torch backend, same weights; and it trains (finite gradients everywhere)."""
    torch.manual_seed(0)
    params = {"vocab_size": 32, "size": "base", "n_layers": 2, "neg_eigval": True}
    model = architectures.build("deltaproduct", **params).cuda()
    reference = architectures.build("deltaproduct", **params, backend="torch").cuda()
    reference.load_state_dict(model.state_dict())
    x = torch.randint(0, 32, (4, 200), device="cuda")
    with torch.autocast("cuda", dtype=torch.bfloat16):
        logits, ref_logits = model(x), reference(x)
    logits.float().logsumexp(-1).mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    err = rel_err(logits, ref_logits)
    print(f"\ndeltaproduct base, auto vs torch backend under bf16 autocast: logits rel err {err:.1e}")
    assert err <= 3e-2
