"""Packed training rows (training/packing.py): every example is computed as if alone in its row, so packing changes a
run's losses and gradients by float rounding only, fused or not; the packer keeps every example, scored position and
final answer; what cannot be packed is refused in one line."""

import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from expressivity import architectures, tasks
from expressivity.runners.training.batches import StepArrays, fresh_batch
from expressivity.runners.training.config import resolve, run_key
from expressivity.runners.training.fused import train_fused
from expressivity.runners.training.fusion import row_length
from expressivity.runners.training.packing import ROW_STEP, example_lengths, first_fit, pack, pack_stack
from expressivity.runners.training.train import train

MIXED = {"length_sampling": "example", "train_min_length": 3, "train_max_length": 40, "steps": 10}


def _batch(task: str = "parity_check", seed: int = 0, batch_size: int = 12):
    """A batch whose examples draw their lengths in 3-40 (padded to the longest)."""
    cfg = resolve(task, "gdn", {**MIXED, "batch_size": batch_size})["train"]
    return fresh_batch(tasks.make(task), cfg, seed, 0)


def _unpack(values: torch.Tensor, batch, row_length: int) -> torch.Tensor:
    """Packed per-token values (R, L, ...) back to the batch's layout (B, T, ...), zeros past each example."""
    lengths = example_lengths(batch)
    out = values.new_zeros(*batch.inputs.shape, *values.shape[2:])
    for r, members in enumerate(first_fit(lengths, row_length)):
        at = 0
        for i in members:
            n = int(lengths[i])
            out[i, :n] = values[r, at : at + n]
            at += n
    return out


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), task=st.sampled_from(["parity_check", "modular_arithmetic", "reverse_string"]),
       row=st.sampled_from([100, 128, 200]))  # fmt: skip
def test_packing_keeps_every_example_and_scored_position(seed, task, row):
    batch = _batch(task, seed)
    packed = pack(batch, row)
    lengths = example_lengths(batch)
    assert packed.mask.sum() == batch.mask.sum()
    assert packed.ends.sum() == batch.mask.any(1).sum()
    assert (packed.pos == 0).sum() >= len(lengths)  # every example starts a segment (tails start their own)
    back = _unpack(torch.from_numpy(packed.inputs), batch, row).numpy()
    for i, n in enumerate(lengths):
        assert (back[i, :n] == batch.inputs[i, :n]).all()
    again = pack(batch, row)
    assert all((a == b).all() for a, b in zip(packed.arrays(), again.arrays(), strict=True))  # deterministic
    assert packed.inputs.size <= max(row, batch.inputs.size)  # never more rows than examples


def test_stacked_runs_share_a_row_count_in_steps_of_row_step():
    packed = pack_stack([_batch(seed=0), _batch(seed=1, batch_size=40)], 64)
    M, R, L = packed.inputs.shape
    assert (M, L) == (2, 64) and R % ROW_STEP == 0
    assert packed.mask[0].sum() == _batch(seed=0).mask.sum()


def test_a_packed_group_takes_one_row_count_whatever_step_it_starts_at():
    """StepArrays.least_rows: the most the first steps need, so captured steps meet one shape, and a group resumed
    later (a fresh StepArrays) takes the same."""
    configs = [resolve("parity_check", "gdn", {**MIXED, "batch_size": 64, "seed": s}) for s in (0, 1)]
    first = StepArrays(configs, bucketed=True, packed=64)
    shapes = {first(step)[0][0].shape for step in range(40)}
    assert len(shapes) == 1 and shapes.pop()[1] % ROW_STEP == 0
    resumed = StepArrays(configs, bucketed=True, packed=64)
    assert resumed(30)[0][0].shape == first(30)[0][0].shape
    tall = pack_stack([_batch(seed=0, batch_size=200)], 64, least_rows=first._least_rows)  # needs more: its own count
    assert tall.inputs.shape[1] > first._least_rows


def test_a_worker_copy_of_a_packed_group_keeps_its_row_count(monkeypatch):
    """A data process gets a pickled copy of make(): the row count travels with the copy instead of being probed
    again (ROW_PROBES steps of every run) there."""
    configs = [resolve("parity_check", "gdn", {**MIXED, "batch_size": 64, "seed": s}) for s in (0, 1)]
    make = StepArrays(configs, bucketed=True, packed=64)
    copy = pickle.loads(pickle.dumps(make))
    monkeypatch.setattr(StepArrays, "least_rows", lambda self: pytest.fail("the row count was probed again"))
    made, again = copy(7)[0], make(7)[0]
    assert all((a == b).all() for a, b in zip(made, again, strict=True))


MODELS = [
    ("transformer", {}),
    ("transformer", {"pos": "nope"}),
    ("gdn", {"neg_eigval": True, "backend": "torch"}),
    ("deltanet", {"backend": "torch"}),
    ("deltaproduct", {"backend": "torch"}),
    ("deltaproduct", {"gated": False, "backend": "torch"}),
    ("diagonal", {"neg_eigval": True}),
    ("hybrid", {"pattern": "GGGA", "backend": "torch"}),
]


@pytest.mark.parametrize("arch, params", MODELS, ids=[f"{a}-{'-'.join(map(str, p.values()))}" for a, p in MODELS])
def test_packed_rows_compute_each_example_as_if_alone(arch, params):
    """float64: logits, the loss and every gradient, packed against one example a row. What differs is the state a
    recurrence keeps across a reset, exp(-30) of it."""
    batch = _batch()
    vocab = len(tasks.make("parity_check").vocab)
    torch.manual_seed(0)
    model = architectures.build(arch, vocab_size=vocab, **params).double()
    packed = pack(batch, 96)
    valid = torch.from_numpy(np.arange(batch.inputs.shape[1])[None, :] < example_lengths(batch)[:, None])

    def loss_and_grads(logits, targets, mask):
        loss = F.cross_entropy(logits[mask], targets[mask])
        model.zero_grad()
        loss.backward()
        return loss.item(), [p.grad.clone() for p in model.parameters()]

    alone = model(torch.from_numpy(batch.inputs))
    rows = model(torch.from_numpy(packed.inputs), torch.from_numpy(packed.pos))
    back = _unpack(rows, batch, 96)
    assert ((back - alone).abs().amax(-1) * valid).max() <= 1e-10 * alone.abs().max()
    loss_a, grads_a = loss_and_grads(alone, torch.from_numpy(batch.targets), torch.from_numpy(batch.mask))
    loss_p, grads_p = loss_and_grads(rows, torch.from_numpy(packed.targets), torch.from_numpy(packed.mask))
    assert loss_p == pytest.approx(loss_a, rel=1e-12)
    for a, p in zip(grads_a, grads_p, strict=True):
        assert (a - p).abs().max() <= 1e-9 * max(a.abs().max(), 1e-12)


SETS = {**MIXED, "steps": 30, "batch_size": 16, "check_every": 5, "eval_lengths": [40], "eval_examples": 32,
        "checkpoint_every": 0}  # fmt: skip


@pytest.mark.parametrize("arch", ["gdn", "transformer", "diagonal"])
def test_a_packed_run_trains_as_its_padded_run(arch):
    """fp32 on CPU, 30 steps: the same losses to float rounding, the same final metrics."""
    config = resolve("parity_check", arch, SETS)
    padded = train(config, packed_length=0)
    packed = train(config, packed_length=64)
    for a, b in zip(padded["history"], packed["history"], strict=True):
        assert abs(a["loss"] - b["loss"]) <= 1e-5 * a["loss"]
        assert a["final_acc"] == b["final_acc"]  # the window counts examples, not rows
    # The same test metrics; the test loss to float rounding (packed rows sum in another order: 7e-8 apart on one
    # CPU, 2026-12-06, equal on another).
    assert packed["metrics"].keys() == padded["metrics"].keys()
    for n, m in padded["metrics"].items():
        rest = {k: v for k, v in m.items() if k != "loss"}
        assert {k: v for k, v in packed["metrics"][n].items() if k != "loss"} == rest
        assert packed["metrics"][n]["loss"] == pytest.approx(m["loss"], rel=1e-5)
    assert packed["train_tokens"] < padded["train_tokens"]
    assert packed["device"].endswith("packed rows of 64") and "packed" not in padded["device"]


def test_fused_packed_runs_train_as_their_single_packed_runs():
    configs = [resolve("parity_check", "gdn", {**SETS, "seed": s, "lr": lr, "neg_eigval": s == 1})
               for s, lr in enumerate((5e-4, 1e-3))]  # fmt: skip
    fused = train_fused(configs, device="cpu", packed_length=64)
    for config, result in zip(configs, fused, strict=True):
        single = train(config, packed_length=64)
        for a, b in zip(result["history"], single["history"], strict=True):
            assert abs(a["loss"] - b["loss"]) <= 1e-5 * b["loss"]
        assert result["metrics"] == single["metrics"]
        assert result["train_tokens"] == single["train_tokens"]
        assert "packed rows of 64" in result["device"]


def test_rows_are_packed_only_where_they_help_and_work(monkeypatch):
    mixed = resolve("parity_check", "gdn", SETS)
    assert row_length([mixed], "auto") == 64  # the longest example, 42 tokens, rounded up to fla's chunk
    assert row_length([mixed], 0) == row_length([mixed]) == 0  # off unless asked for
    monkeypatch.setenv("EXPRESSIVITY_PACK", "auto")
    assert row_length([mixed]) == 64
    assert row_length([resolve("parity_check", "gdn", {**SETS, "length_sampling": "batch"})], 128) == 0
    assert row_length([resolve("parity_check", "lstm", SETS)], 128) == 0  # an LSTM reads no packed rows
    with pytest.raises(ValueError, match="packed rows of 20 tokens are shorter than these runs' examples"):
        row_length([mixed], 20)
    with pytest.raises(ValueError, match="packing 'wide' is not valid: give a row length in tokens, auto or 0"):
        row_length([mixed], "wide")


def test_what_cannot_be_packed_is_refused_in_one_line():
    with pytest.raises(ValueError, match="packed rows of 8 tokens are shorter than a training example"):
        pack(_batch(), 8)
    with pytest.raises(ValueError, match="packed rows need layers that read them") as err:
        architectures.build("lstm", vocab_size=5)(torch.zeros(1, 4, dtype=torch.long), torch.zeros(1, 4).long())
    assert "\n" not in str(err.value)


def test_the_cli_packs_on_request_and_refuses_a_bad_setting(tmp_path, monkeypatch):
    """`--pack` on train (and grid, reproduce): the run is stored under its usual key, its device says how it ran."""
    from typer.testing import CliRunner

    from expressivity.runners.cli import app
    from expressivity.runners.execution.store import Store

    monkeypatch.setenv("EXPRESSIVITY_PACK", "0")  # restored after the test, whatever --pack sets
    sets = ["--set", "steps=6", "--set", "batch_size=16", "--set", "length_sampling=example", "--set",
            "eval_lengths=40", "--set", "eval_examples=8", "--set", "check_every=3"]  # fmt: skip
    store = str(tmp_path / "r.sqlite")
    done = CliRunner().invoke(app, ["train", "parity_check", "gdn", *sets, "--store", store, "--quiet", "--pack", "64"])
    assert done.exit_code == 0, done.output
    with Store(store) as st:
        (row,) = st.rows()
    assert row["device"].endswith("packed rows of 64") and row["key"] == run_key(resolve("parity_check", "gdn", {
        "steps": 6, "batch_size": 16, "length_sampling": "example", "eval_lengths": [40], "eval_examples": 8,
        "check_every": 3}))  # fmt: skip
    bad = CliRunner().invoke(app, ["reproduce", "negative-eigenvalues", "--dry-run", "--store", store, "--pack", "x"])
    assert bad.exit_code == 2 and "packing 'x' is not valid: give a row length in tokens, auto or 0" in bad.output
