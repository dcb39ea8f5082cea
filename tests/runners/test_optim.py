"""StackedAdamW's one-buffer path (FusedModel.flatten_: every parameter a view of one (M, P) buffer) against its
per-parameter path, the readable reference: the same weights after steps with per-run learning rates, weight decay,
beta2, clipping (one run clipped hard, one not at all) and a frozen run. (Each path against torch.optim.AdamW on the
runs' own models: tests/runners/test_fused_train.py, through training.)"""

import torch

from expressivity import architectures
from expressivity.architectures.fused import FusedModel
from expressivity.runners.training.optim import StackedAdamW

VOCABS = (5, 11, 8)  # padded rows included


def _fused(flat: bool) -> tuple[FusedModel, StackedAdamW]:
    members = []
    for m, v in enumerate(VOCABS):
        torch.manual_seed(m)
        members.append(architectures.build("gdn", vocab_size=v, size="tiny", neg_eigval=bool(m % 2)))
    model = FusedModel(members)
    buffers = (*model.flatten_(), model.decaying()) if flat else None
    opt = StackedAdamW(model.stacked_parameters(), weight_decay=[0.0, 0.1, 0.01], beta2=[0.999, 0.98, 0.99],
                       flat=buffers)  # fmt: skip
    return model, opt


def _train(flat: bool) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    model, opt = _fused(flat)
    gen = torch.Generator().manual_seed(0)
    x = torch.stack([torch.randint(0, v, (2, 9), generator=gen) for v in VOCABS])
    clip = torch.tensor([0.0, 1.0, 0.05])
    for step in range(6):
        for p in model.stacked_parameters():
            if p.grad is not None:
                p.grad.zero_()
        logits = model(x)
        logits.masked_fill(torch.isinf(logits), 0.0).square().mean().backward()
        opt.clip_(clip)
        active = torch.tensor([True, step % 2 == 0, True])  # run 1 frozen every other step
        opt.step(torch.tensor([1e-3, 3e-3, 2e-3], dtype=torch.float64), active)
    return [p.detach().clone() for p in model.stacked_parameters()], [a.clone() for a in opt.exp_avg_sq]


def test_the_one_buffer_optimizer_computes_what_the_per_parameter_one_computes():
    flat, reference = _train(flat=True), _train(flat=False)
    moved = [(a - b).abs().max() for a, b in zip(_fused(False)[0].stacked_parameters(), reference[0], strict=True)]
    assert max(moved) > 1e-4  # the steps did move the weights
    for got, want in zip(flat[0] + flat[1], reference[0] + reference[1], strict=True):
        # the clipping norms sum in another order: rounding, 1e-8 here; a missed decay would be 1e-6
        assert torch.allclose(got, want, rtol=1e-5, atol=1e-7), (got - want).abs().max()


def test_flattening_keeps_the_weights_and_a_member_state_dict_reads_through_the_buffer():
    model, _ = _fused(flat=False)
    before = [p.detach().clone() for p in model.stacked_parameters()]
    weights, grads = model.flatten_()
    assert weights.shape == grads.shape == (len(VOCABS), sum(p[0].numel() for p in before))
    for p, b in zip(model.stacked_parameters(), before, strict=True):
        assert torch.equal(p, b) and p.grad is not None and p.grad.data_ptr() >= grads.data_ptr()
    with torch.no_grad():
        weights.add_(1.0)
    assert torch.equal(model.member_state_dict(1)["embed.weight"], before[0][1, :11] + 1.0)
