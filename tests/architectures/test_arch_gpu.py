"""CUDA only (skipped without it): fla against the torch backend, the torch backend on the GPU, models on the GPU.

Shapes use H=4, K=64, V=128 throughout (the base preset's GDN layer) so that fla compiles its kernels once per dtype.
Run with `-s` to see the measured errors.
"""

import warnings

import pytest
import torch
import torch.nn.functional as F

from expressivity import architectures
from expressivity.architectures import gdn
from expressivity.architectures.backends import rel_err

pytestmark = pytest.mark.gpu
H, K, V = 4, 64, 128
TOL = {torch.bfloat16: 1e-2, torch.float32: 5e-3}


def problem(B: int, T: int, dtype: torch.dtype, seed: int = 0, *, H=H, K=K, V=V) -> dict[str, torch.Tensor]:
    gen = torch.Generator(device="cuda").manual_seed(seed)

    def randn(*shape):
        return torch.randn(*shape, generator=gen, device="cuda")

    return {
        "q": randn(B, T, H, K).to(dtype),
        "k": F.normalize(randn(B, T, H, K), dim=-1).to(dtype),
        "v": randn(B, T, H, V).to(dtype),
        "g": F.logsigmoid(randn(B, T, H) + 3.0),  # log decays stay fp32, as the layers make them
        "beta": (2 * torch.rand(B, T, H, generator=gen, device="cuda")).to(dtype),  # [0, 2]
        "initial_state": randn(B, H, K, V),
    }


def outputs_and_grads(backend: str, x: dict[str, torch.Tensor], cast: torch.dtype | None = None):
    leaves = {n: (t.to(cast) if cast and n != "g" else t).clone().requires_grad_() for n, t in x.items()}
    o, h = gdn.gated_delta_rule(
        leaves["q"], leaves["k"], leaves["v"], g=leaves["g"], beta=leaves["beta"],
        initial_state=leaves["initial_state"], output_final_state=True, backend=backend,
    )  # fmt: skip
    gen = torch.Generator(device="cuda").manual_seed(1)
    loss = (o.float() * torch.randn(o.shape, generator=gen, device="cuda")).sum()
    loss = loss + (h.float() * torch.randn(h.shape, generator=gen, device="cuda")).sum()
    loss.backward()
    return {"o": o, "h": h, **{f"d{n}": t.grad for n, t in leaves.items()}}


@pytest.mark.parametrize(
    "dtype, shape",
    [
        (torch.bfloat16, (H, K, V)),
        (torch.float32, (H, K, V)),
        (torch.bfloat16, (2, 32, 64)),
        (torch.bfloat16, (6, 32, 64)),
    ],
    ids=["bf16", "fp32", "bf16-K32-padded", "bf16-K32-fused-heads"],
)
def test_fla_matches_torch_outputs_and_gradients(dtype, shape):
    """K = 32 is the tiny and small presets' key dim, where fla-core 0.4.2 crashed in bf16 unpadded: the wrapper pads
    it to 64. 6 heads: three tiny models fused (their heads folded together)."""
    pytest.importorskip("fla.ops.gated_delta_rule")
    h, k, v = shape
    x = problem(2, 300, dtype, H=h, K=k, V=v)  # T not a multiple of 64
    got = outputs_and_grads("fla", x)
    ref = outputs_and_grads("torch", x, cast=torch.float32)
    errors = {name: rel_err(got[name], ref[name]) for name in ref}
    print(f"\nfla vs torch ({dtype}, beta in [0, 2]):", {k: f"{v:.1e}" for k, v in errors.items()})
    assert max(errors.values()) <= TOL[dtype], errors


def test_torch_backend_on_cuda_matches_recurrent_in_float64():
    x = {n: t.double() for n, t in problem(1, 150, torch.float64).items()}
    got, ref = outputs_and_grads("torch", x), outputs_and_grads("recurrent", x)
    errors = {name: rel_err(got[name], ref[name]) for name in ref}
    assert max(errors.values()) <= 1e-10, errors


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32], ids=["bf16", "fp32"])
def test_auto_picks_fla_when_it_agrees(dtype):
    pytest.importorskip("fla.ops.gated_delta_rule")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gdn.resolve_backend("auto", torch.device("cuda"), dtype, shape=(H, K, V)) == "fla"
        assert gdn.resolve_backend("auto", torch.device("cuda"), dtype, shape=(2, 32, 64)) == "fla"  # padded


@pytest.mark.parametrize("autocast", [True, False], ids=["bf16-autocast", "fp32"])
def test_hybrid_forward_backward_on_cuda(autocast):
    torch.manual_seed(0)
    params = {"vocab_size": 32, "size": "base", "pattern": "GDMA", "neg_eigval": True}
    model = architectures.build("hybrid", **params).cuda()  # d_model 256, 4 heads: H, K, V as above
    reference = architectures.build("hybrid", **params, backend="torch").cuda()
    reference.load_state_dict(model.state_dict())
    x = torch.randint(0, 32, (4, 200), device="cuda")
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
        logits, ref_logits = model(x), reference(x)
    assert logits.shape == (4, 200, 32) and torch.isfinite(logits).all()
    logits.float().logsumexp(-1).mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    err = rel_err(logits, ref_logits)
    print(f"\nhybrid GDMA base, auto backend vs torch backend (autocast={autocast}): logits rel err {err:.1e}")
    assert err <= (3e-2 if autocast else 5e-3)
