"""CUDA only (skipped without it): fused training with its step captured as CUDA graphs against the same group run
eagerly, and against the single-run trainer, on the GPU."""

import pytest

from expressivity.runners.training.config import resolve
from expressivity.runners.training.fused import train_fused
from expressivity.runners.training.train import train

pytestmark = pytest.mark.gpu
SETS = {"steps": 120, "batch_size": 64, "check_every": 20, "lr": 1e-3, "eval_lengths": [40, 80], "eval_examples": 128}


def _group(arch: str, tasks=("parity",) * 3) -> list[dict]:
    ranges = {} if arch == "transformer" else {"neg_eigval": True}
    return [resolve(task, arch, {**SETS, "seed": s, **ranges}) for s, task in enumerate(tasks)]


@pytest.mark.parametrize("arch", ["gdn", "transformer", "diagonal", "gdn, three tasks"])
def test_captured_steps_train_as_eager_steps(arch):
    mixed = arch.endswith("three tasks")  # vocabularies of 4, 5 and 11 tokens, padded in the fused model
    arch = arch.split(",")[0]
    configs = _group(arch, ("parity", "parity_check", "modular_arithmetic")) if mixed else _group(arch)
    captured = train_fused(configs, device="cuda", graphs=True)
    eager = train_fused(configs, device="cuda", graphs=False)
    for c, e in zip(captured, eager, strict=True):
        assert c["status"] == e["status"] == "done" and c["steps"] == e["steps"] == SETS["steps"]
        for a, b in zip(c["history"], e["history"], strict=True):  # the same kernels replayed: near-identical
            assert abs(a["loss"] - b["loss"]) <= 2e-2 * b["loss"], (a, b)
    if arch == "gdn":
        assert all("gdn backend fla" in r["device"] for r in captured), captured[0]["device"]


def test_fused_gpu_runs_track_their_single_runs():
    configs = _group("gdn")
    fused = train_fused(configs, device="cuda")
    single = [train(c, device="cuda") for c in configs]
    for f, s in zip(fused, single, strict=True):
        # bf16 on the GPU: fusion changes rounding, so the curves agree loosely, the learning outcome closely
        assert abs(f["history"][-1]["loss"] - s["history"][-1]["loss"]) <= 0.1 * s["history"][0]["loss"]
        assert abs(f["summary"]["id"]["final_acc"] - s["summary"]["id"]["final_acc"]) <= 0.1
