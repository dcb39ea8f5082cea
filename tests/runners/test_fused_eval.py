"""A fused group's stacked evaluation against `evaluate_by_length` run by run (the reference), on CPU in fp32: the
same examples, the same counts, the same losses to float rounding; runs of different tasks and vocabularies, a
skipped (diverged) run, and batches that do not divide the examples."""

import pytest
import torch

from expressivity import tasks
from expressivity.architectures.fused import FusedModel
from expressivity.runners.training.batches import EVAL_STREAM, rng_for
from expressivity.runners.training.config import resolve
from expressivity.runners.training.evaluate import evaluate_by_length, evaluate_stacked
from expressivity.runners.training.train import build_model

TASKS = ("parity", "parity_check", "modular_arithmetic")  # vocabularies of 4, 5 and 11 tokens
LENGTHS = (5, 23)


def _members(arch: str) -> tuple[list, list, FusedModel]:
    torch.manual_seed(0)
    configs = [resolve(name, arch, {"seed": seed}) for seed, name in enumerate(TASKS)]
    made = [tasks.make(c["task"], **c["task_params"]) for c in configs]
    members = [build_model(c, len(t.vocab)) for c, t in zip(configs, made, strict=True)]
    return configs, made, FusedModel(members)


@pytest.mark.parametrize("arch", ["gdn", "transformer"])
def test_stacked_evaluation_is_each_run_evaluated_alone(arch):
    configs, made, fused = _members(arch)
    fused.eval()
    skipped = 1  # a diverged run: its rows ride along, its metrics are not taken
    tested = [None if m == skipped else t for m, t in enumerate(made)]
    with torch.no_grad():
        stacked = evaluate_stacked(
            fused, tested, lambda m, n: rng_for(configs[m]["seed"], EVAL_STREAM, n), LENGTHS, num_examples=50,
            batch_size=16,
        )  # fmt: skip
    assert stacked[skipped] == {}
    for m in (0, 2):
        alone = build_model(configs[m], len(made[m].vocab))
        alone.load_state_dict(fused.member_state_dict(m))
        for n in LENGTHS:
            want = evaluate_by_length(alone, made[m], [n], rng_for(configs[m]["seed"], EVAL_STREAM, n),
                                      num_examples=50, batch_size=16)[n]  # fmt: skip
            got = stacked[m][n]
            assert {k: got[k] for k in got if k != "loss"} == {k: want[k] for k in want if k != "loss"}, (m, n)
            assert got["loss"] == pytest.approx(want["loss"], rel=1e-5)


def test_stacked_evaluation_refuses_an_empty_request():
    _, made, fused = _members("transformer")
    with pytest.raises(ValueError, match="num_examples and batch_size must be >= 1"):
        evaluate_stacked(fused, made, lambda m, n: rng_for(0, EVAL_STREAM, n), LENGTHS, num_examples=0)
