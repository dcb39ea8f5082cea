"""Fused training against the single-run trainer (the reference) on CPU in fp32: the same losses and metrics per run,
per-run learning rates and clipping, checkpoints any run resumes alone from after a kill.

Agreement is to float rounding, not to the bit: a fused model batches its matmuls and elementwise ops over the runs,
which changes rounding by an ulp here and there, and training amplifies that. How much is a property of the run, not
of fusion: a 1e-7 change of one weight moves a tiny GDN's 50-step losses by 4e-4 relative at lr 2e-3 and by 1e-2 at
3e-3 (and a diagonal one's by 3e-4 at 1e-3). The learning rates below keep every run under that chaos threshold, so
any difference above 1e-5 is a real one.
"""

import copy
import json
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

from expressivity import tasks
from expressivity.runners.training.config import complete, resolve, run_key, valid_keys
from expressivity.runners.training.fused import train_fused
from expressivity.runners.training.fusion import fusion_key, grid_fusion_key
from expressivity.runners.training.train import build_model, make_optimizer, train

SETS = {"steps": 50, "batch_size": 16, "check_every": 5, "warmup": 5, "clip": 1.0, "eval_lengths": [8, 60],
        "eval_examples": 32, "checkpoint_every": 10}  # fmt: skip
LRS = (2.5e-4, 5e-4, 7.5e-4)
MIXED = ("parity", "parity_check", "modular_arithmetic")  # vocabularies of 4, 5 and 11 tokens


def _group(arch: str, **extra) -> list[dict]:
    has_range = "neg_eigval" in valid_keys("parity", arch)  # not the transformer, the LSTM or the Stack-RNN
    configs = []
    for seed, lr in enumerate(LRS):
        sets = {**SETS, "seed": seed, "lr": lr, **extra}
        if has_range:
            sets["neg_eigval"] = bool(seed % 2)  # runs may differ in their eigenvalue range too
        configs.append(resolve("parity", arch, sets))
    return configs


_SINGLE: dict[str, dict] = {}


def _single(config: dict) -> dict:
    """The single-run trainer's result for `config` (the reference), trained once per config for this module: several
    tests compare against the same runs, and CPU training at one thread is bitwise repeatable."""
    key = run_key(config)
    if key not in _SINGLE:
        _SINGLE[key] = train(config)
    return copy.deepcopy(_SINGLE[key])


def _agree(fused: dict, single: dict) -> None:
    assert fused["status"] == single["status"] and fused["steps"] == single["steps"]
    assert len(fused["history"]) == len(single["history"])
    for a, b in zip(fused["history"], single["history"], strict=True):
        assert abs(a["loss"] - b["loss"]) <= 1e-5 * abs(b["loss"]), (a, b)
    for n, m in single["metrics"].items():
        assert fused["metrics"][n]["final_acc"] == m["final_acc"] and fused["metrics"][n]["token_acc"] == m["token_acc"]


def test_clipping_is_active_in_these_runs():
    config = _group("gdn")[0]
    model = build_model(config, len(tasks.make("parity").vocab))
    batch = tasks.make("parity").sample(__import__("numpy").random.default_rng(0), 16, 20)
    logits = model(torch.from_numpy(batch.inputs))
    loss = torch.nn.functional.cross_entropy(logits[torch.from_numpy(batch.mask)], torch.from_numpy(batch.targets)[
        torch.from_numpy(batch.mask)])  # fmt: skip
    loss.backward()
    assert torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0) > 1.0


@pytest.mark.parametrize("arch", ["transformer", "gdn", "deltanet", "diagonal", "stack_rnn", "lstm"])
def test_fused_runs_train_as_their_single_runs(arch):
    configs = _group(arch)
    assert len({fusion_key(c) for c in configs}) == 1
    for fused, single in zip(train_fused(configs, device="cpu"), [_single(c) for c in configs], strict=True):
        _agree(fused, single)
        assert "fused x3" in fused["device"]


def test_runs_with_one_length_per_example_fuse_too():
    configs = _group("gdn", length_sampling="example")
    for fused, single in zip(train_fused(configs, device="cpu"), [_single(c) for c in configs], strict=True):
        _agree(fused, single)


def test_runs_tested_at_different_lengths_are_each_evaluated_alone_as_their_single_runs():
    # A group evaluates its runs stacked only when they share their test settings; otherwise run by run.
    configs = [resolve("parity", "gdn", {**SETS, "seed": i, "lr": LRS[i], "eval_lengths": lengths})
               for i, lengths in enumerate(([8, 60], [8, 30]))]  # fmt: skip
    assert len({fusion_key(c) for c in configs}) == 1
    for fused, single in zip(train_fused(configs, device="cpu"), [_single(c) for c in configs], strict=True):
        _agree(fused, single)
        assert sorted(fused["metrics"]) == sorted(single["metrics"])


def test_runs_that_decay_every_parameter_fuse_and_train_as_their_single_runs():
    configs = _group("gdn", decay_vectors=True, weight_decay=0.5)
    for fused, single in zip(train_fused(configs, device="cpu"), [_single(c) for c in configs], strict=True):
        _agree(fused, single)


@pytest.mark.parametrize("decay_vectors", [False, True])
def test_decay_vectors_decays_norm_gains_only_when_set(decay_vectors):
    # One step with zero gradients: AdamW's update is the decay alone, p <- p (1 - lr wd).
    config = resolve("parity", "gdn", {**SETS, "weight_decay": 0.5, "decay_vectors": decay_vectors})
    model = build_model(config, len(tasks.make("parity").vocab))
    opt = make_optimizer(model, {**config["train"], "lr": 0.1}, "cpu")
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    gains = {n: p.detach().clone() for n, p in model.named_parameters() if p.dim() == 1 and "norm" in n}
    opt.step()
    after = dict(model.named_parameters())
    assert gains and all(torch.allclose(after[n], g * (0.95 if decay_vectors else 1.0)) for n, g in gains.items())


def test_runs_of_different_tasks_and_vocabularies_fuse_and_train_as_their_single_runs():
    configs = [resolve(task, "gdn", {**SETS, "seed": i, "lr": LRS[i], "neg_eigval": bool(i % 2)})
               for i, task in enumerate(MIXED)]  # fmt: skip
    assert len({fusion_key(c) for c in configs}) == 1
    for fused, single in zip(train_fused(configs, device="cpu"), [_single(c) for c in configs], strict=True):
        _agree(fused, single)


@pytest.mark.parametrize("arch", ["gdn", "transformer"])
def test_batches_padded_to_the_captured_lengths_train_as_unpadded_ones(arch):
    # What a captured step trains on (each step's batch padded to a bucket length) is exact: padding sits after every
    # real token and is masked, so causal models' losses on the real tokens do not move. The GPU test of captured
    # against eager steps relies on this to give both the same batches.
    configs = _group(arch)
    padded = train_fused(configs, device="cpu", bucketed=True)
    for fused, single in zip(padded, [_single(c) for c in configs], strict=True):
        _agree(fused, single)


def test_batches_made_in_worker_processes_are_the_batches_made_in_threads():
    from expressivity.runners.training.batches import Prefetcher, StepArrays

    configs = [complete(resolve(task, "gdn", {**SETS, "length_sampling": "example"})) for task in MIXED]
    make = StepArrays(configs, bucketed=True)
    with Prefetcher(StepArrays(configs, bucketed=True, compact=True), range(6), processes=2) as ahead:
        for step, (arrays, tokens) in ahead:
            (inputs, targets, mask), want = arrays, make(step)
            assert inputs.dtype == targets.dtype == np.int16 and tokens == want[1]
            for got, ref in zip((inputs, targets, mask), want[0], strict=True):
                assert np.array_equal(got.astype(ref.dtype), ref)


def test_each_data_process_receives_make_once_not_once_a_step(monkeypatch):
    """What a data process's make() builds on first use (its tasks, a packed group's row count) serves every step it
    makes: make() is pickled once a process, when the process starts."""
    from expressivity.runners.training.batches import Prefetcher, StepArrays

    configs = [complete(resolve(task, "gdn", {**SETS, "length_sampling": "example"})) for task in MIXED]
    pickled, state = [], StepArrays.__getstate__
    monkeypatch.setattr(StepArrays, "__getstate__", lambda self: pickled.append(1) or state(self))
    with Prefetcher(StepArrays(configs, bucketed=True, compact=True), range(12), processes=2) as ahead:
        assert [step for step, _ in ahead] == list(range(12))
    assert 1 <= len(pickled) <= 2


def test_a_least_length_pads_every_step_to_it_and_changes_nothing_else():
    """What compiled stages use (one padded length a group, so one compile): the same batches, padded further."""
    from expressivity.runners.training.batches import StepArrays
    from expressivity.runners.training.fusion import padded_length

    configs = [complete(resolve(task, "gdn", {**SETS, "length_sampling": "example"})) for task in MIXED]
    least = padded_length(configs)
    for step in range(4):
        (inputs, targets, mask), tokens = StepArrays(configs, bucketed=True, least=least)(step)
        (ref_inputs, ref_targets, ref_mask), ref_tokens = StepArrays(configs, bucketed=False)(step)
        T = ref_inputs.shape[2]
        assert T <= least and inputs.shape[2] == least and tokens == ref_tokens
        assert np.array_equal(inputs[..., :T], ref_inputs) and np.array_equal(mask[..., :T], ref_mask)
        assert np.array_equal(targets[..., :T], ref_targets) and not mask[..., T:].any()


def test_a_group_pads_to_its_longest_example_exactly_or_to_a_bucket_where_lengths_vary():
    """Grazzi et al.'s length 40: parity_check's examples are 42 tokens, padded to 42 (not the bucket's 48); binary
    addition's vary at one length, so a group of it keeps its bucket's headroom, as does a run with a curriculum. A
    step longer than the group's length pads to its own bucket."""
    from expressivity.runners.training.batches import StepArrays, bucket
    from expressivity.runners.training.fusion import padded_length

    grazzi = {**SETS, "train_min_length": 3, "train_max_length": 40}
    parity = [complete(resolve("parity_check", "gdn", {**grazzi, "seed": s})) for s in range(2)]
    assert padded_length(parity) == 42 and padded_length(parity[:1]) == 42
    addition = complete(resolve("binary_addition", "gdn", grazzi))
    assert padded_length([addition]) % 16 == 0 and padded_length([*parity, addition]) == padded_length([addition])
    # A curriculum draws other parameter values (boolean formulas with other padding): headroom, as for a mixture.
    formula = {**SETS, "train_max_length": 16, "pad_factor": 1}
    assert padded_length([complete(resolve("boolean_formula", "gdn", formula))]) == 34
    curriculum = {**formula, "curriculum_param": "pad_factor", "curriculum_from": 0}
    assert padded_length([complete(resolve("boolean_formula", "gdn", curriculum))]) == 48
    (inputs, *_), _ = StepArrays(parity, bucketed=True, least=20)(0)
    assert inputs.shape[2] == bucket(inputs.shape[2]) > 20


def test_a_step_padded_to_its_bucket_is_cut_to_the_groups_longest_when_it_fits():
    """EXPRESSIVITY_PAD=bucket at Grazzi et al.'s lengths: a step of parity pads to 16, 32 or the group's 42, never to
    the bucket of 48; the same batches otherwise, and a step longer than the cap still pads to its bucket."""
    from expressivity.runners.training.batches import StepArrays, bucket
    from expressivity.runners.training.fusion import padded_length

    grazzi = {**SETS, "train_min_length": 3, "train_max_length": 40, "length_schedule": "uniform"}
    parity = [complete(resolve("parity_check", "gdn", {**grazzi, "seed": s})) for s in range(2)]
    cap = padded_length(parity)
    seen = set()
    for step in range(12):
        (inputs, targets, mask), tokens = StepArrays(parity, bucketed=True, cap=cap)(step)
        (ref_inputs, ref_targets, ref_mask), ref_tokens = StepArrays(parity, bucketed=False)(step)
        T = ref_inputs.shape[2]
        assert inputs.shape[2] == min(bucket(T), cap) and tokens == ref_tokens
        assert np.array_equal(inputs[..., :T], ref_inputs) and not mask[..., T:].any()
        seen.add(inputs.shape[2])
    assert cap == 42 and 42 in seen and max(seen) == 42
    (inputs, *_), _ = StepArrays(parity, bucketed=True, cap=20)(0)
    assert inputs.shape[2] == bucket(inputs.shape[2]) > 20


def test_a_compiled_group_pads_to_its_longest_unless_told_to_pad_each_step_to_its_bucket(monkeypatch):
    from expressivity.runners.training.fusion import least_length, padded_length

    configs = [complete(resolve("parity", "gdn", {**SETS, "seed": s})) for s in range(2)]
    assert least_length(configs, bucketed=True, compiled=True) == padded_length(configs) > 0
    assert least_length(configs, bucketed=True, compiled=False) == least_length(configs, bucketed=False, compiled=True)
    assert least_length(configs, bucketed=False, compiled=True) == 0
    monkeypatch.setenv("EXPRESSIVITY_PAD", "bucket")
    assert least_length(configs, bucketed=True, compiled=True) == 0
    monkeypatch.setenv("EXPRESSIVITY_PAD", "shortest")
    with pytest.raises(ValueError, match="EXPRESSIVITY_PAD='shortest' is not valid; choose one of longest, bucket"):
        least_length(configs, bucketed=True, compiled=True)


def test_runs_of_very_different_sequence_lengths_do_not_fuse():
    short = resolve("parity", "gdn", SETS)
    assert fusion_key(resolve("parity", "gdn", {**SETS, "train_max_length": 200})) != fusion_key(short)


def test_a_layer_kind_without_a_fused_form_has_no_fusion_key(monkeypatch):
    from dataclasses import replace

    from expressivity import architectures

    config = resolve("parity", "lstm", SETS)
    assert fusion_key(config) is not None
    monkeypatch.setitem(architectures.LAYER_KINDS, "L", replace(architectures.LAYER_KINDS["L"], fusable=False))
    assert fusion_key(config) is None
    with pytest.raises(ValueError, match="fusion key"):
        train_fused([config], device="cpu")


def test_a_grid_keeps_the_lstm_apart_unless_told_and_an_unknown_letter_is_refused(monkeypatch):
    lstm, gdn = resolve("parity", "lstm", SETS), resolve("parity", "gdn", SETS)
    monkeypatch.delenv("EXPRESSIVITY_UNFUSED", raising=False)
    assert grid_fusion_key(lstm) is None and grid_fusion_key(gdn) == fusion_key(gdn) is not None
    assert fusion_key(lstm) is not None  # train_fused still fuses LSTM runs it is given
    monkeypatch.setenv("EXPRESSIVITY_UNFUSED", "")
    assert grid_fusion_key(lstm) == fusion_key(lstm)
    monkeypatch.setenv("EXPRESSIVITY_UNFUSED", "G")
    assert grid_fusion_key(gdn) is None and grid_fusion_key(lstm) is not None
    monkeypatch.setenv("EXPRESSIVITY_UNFUSED", "Q")
    with pytest.raises(ValueError, match="names no layer Q; valid letters are ADGLMPS"):
        grid_fusion_key(gdn)


def test_an_early_stop_freezes_one_run_and_the_others_go_on(capsys):
    configs = _group("gdn")
    configs[1]["train"]["target_acc"] = 0.0  # stops at its first check
    fused = train_fused(configs, device="cpu")
    assert fused[1]["stop_reason"] == "target_acc" and fused[1]["steps"] == SETS["check_every"]
    # the group's progress lines mark the stopped run (and only it) where it stopped
    err = capsys.readouterr().err.splitlines()
    lines = [line for line in err if "loss per run" in line]
    assert lines and all(line.count("(target_acc at step 5)") == 1 for line in lines), lines
    # and a line before them names the group's runs in that order: key, task and seed
    members = [line for line in err if ": runs " in line]
    assert len(members) == 1 and err.index(members[0]) < err.index(lines[0])
    named = members[0].split(": runs ", 1)[1].split(" | ")
    assert [m.split()[0] for m in named] == [run_key(c) for c in configs]
    assert [m.split()[-1] for m in named] == [f"seed{c['seed']}" for c in configs]
    assert [r["steps"] for r in (fused[0], fused[2])] == [SETS["steps"]] * 2
    _agree(fused[1], _single(configs[1]))
    _agree(fused[2], _single(configs[2]))


def test_a_run_that_stops_early_is_reported_then_while_its_group_trains_on(tmp_path):
    configs = _group("gdn")
    configs[1]["train"]["target_acc"] = 0.0  # stops at its first check (step 5), before any checkpoint (step 10)
    paths = [tmp_path / f"run{i}.pt" for i in range(len(configs))]
    reported = []

    def on_result(i, result):  # which checkpoints exist now: the others' first comes at step 10
        reported.append((i, copy.deepcopy(result), [p.exists() for p in paths]))

    fused = train_fused(configs, device="cpu", checkpoints=paths, on_result=on_result)
    assert [(i, seen) for i, _, seen in reported] == [(1, [False, True, False])]  # its own: saved when it stopped
    assert reported[0][1] == fused[1] and fused[1]["steps"] == SETS["check_every"]
    _agree(fused[1], _single(configs[1]))  # tested alone, as the single trainer tests it
    _agree(fused[2], _single(configs[2]))


@pytest.mark.parametrize("arch, extra", [("gdn", {}), ("deltaproduct", {"num_householder": 2})])
def test_a_group_shrinks_to_its_runs_still_training_and_each_run_trains_as_its_single_run(
    tmp_path, capsys, arch, extra
):
    # DeltaProduct too: on 2026-12-04 a captured DeltaProduct group failed on the GPU after it shrank (fused.py)
    configs = _group(arch, **extra)
    for stopper in (0, 1):
        configs[stopper]["train"]["target_acc"] = 0.0  # both stop at the first check (step 5): 1 of 3 trains on
    paths = [tmp_path / f"run{i}.pt" for i in range(len(configs))]
    shrunk = train_fused(configs, device="cpu", checkpoints=paths, shrink=0.5)
    groups = [line.split(" in ")[0] for line in capsys.readouterr().err.splitlines() if ": steps " in line]
    assert groups == ["fused x3: steps 0-5", "fused x1: steps 5-50"], groups  # the three until step 5, then run 2
    assert [re.search(r"fused x\d+", r["device"])[0] for r in shrunk] == ["fused x3", "fused x3", "fused x1"]
    assert [r["steps"] for r in shrunk] == [SETS["check_every"]] * 2 + [SETS["steps"]]
    for config, result in zip(configs, shrunk, strict=True):
        _agree(result, _single(config))
    # without `shrink` (the default) the group trains on whole, to the same results
    whole = train_fused(configs, device="cpu")
    assert [re.search(r"fused x\d+", r["device"])[0] for r in whole] == ["fused x3"] * 3
    _agree(shrunk[2], whole[2])


KILL_AT = 23  # between the checkpoints at steps 20 and 30
_KILLABLE = """
import json, sys, torch
from expressivity.runners.training import batches, fused
torch.set_num_threads(1)
draw = batches.train_batch
def train_batch(task, cfg, seed, step):
    if step == int(sys.argv[3]):
        print("ready", flush=True)
        sys.stdin.read()  # blocks until the test kills this process
    return draw(task, cfg, seed, step)
batches.train_batch = train_batch  # StepArrays draws each run's batch there
fused.train_fused(json.loads(sys.argv[1]), device="cpu", checkpoints=json.loads(sys.argv[2]))
"""


def test_every_run_of_a_killed_fused_group_resumes_alone(tmp_path):
    configs = _group("gdn")
    configs[2] = resolve("modular_arithmetic", "gdn", {**SETS, "seed": 2, "lr": LRS[2]})  # a padded vocabulary
    paths = [str(tmp_path / f"run{i}.pt") for i in range(len(configs))]
    cmd = [sys.executable, "-c", _KILLABLE, json.dumps(configs), json.dumps(paths), str(KILL_AT)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        # the batch generator runs ahead of training: the block comes before the step is trained, and the
        # checkpoints up to it are written by then or never (a wait on the event, not on time)
        assert proc.stdout.readline().strip() == "ready", "the group ended before the step it should stop at"
        proc.kill()
    finally:
        proc.wait()
    for config, path in zip(configs, paths, strict=True):
        saved = torch.load(path, weights_only=True)
        assert 0 < saved["step"] < SETS["steps"]
        _agree(train(config, checkpoint=path), train(config))  # the single trainer picks it up


def test_a_ladder_pads_each_step_to_the_first_rung_it_fits_and_changes_nothing_else(monkeypatch):
    """EXPRESSIVITY_PAD=ladder: a few lengths between 64 and the group's longest, LADDER_RATIO apart, each a bucket;
    a step pads to the first that fits (the same batches, padded further), and past the top to its own bucket."""
    from expressivity.runners.training.batches import StepArrays, bucket, padded_to
    from expressivity.runners.training.fusion import ladder, least_length, pad_ladder, padded_length

    assert ladder(1536) == (64, 128, 192, 320, 384, 576, 768, 1088, 1536) and ladder(42) == (42,)
    assert padded_to(300, ladder=ladder(1536)) == 320 and padded_to(1600, ladder=ladder(1536)) == bucket(1600)
    configs = [complete(resolve("parity", "gdn", {**SETS, "seed": s, "train_max_length": 200})) for s in range(2)]
    assert pad_ladder(configs, bucketed=True, compiled=True) == ()  # the default pads to the longest
    monkeypatch.setenv("EXPRESSIVITY_PAD", "ladder")
    rungs = pad_ladder(configs, bucketed=True, compiled=True)
    assert (
        rungs[-1] == padded_length(configs)
        and len(rungs) > 2
        and least_length(configs, bucketed=True, compiled=True) == 0
    )
    assert (
        pad_ladder(configs, bucketed=True, compiled=False) == pad_ladder(configs, bucketed=False, compiled=True) == ()
    )
    for step in range(6):
        (inputs, targets, mask), tokens = StepArrays(configs, bucketed=True, ladder=rungs)(step)
        (ref_inputs, ref_targets, ref_mask), ref_tokens = StepArrays(configs, bucketed=False)(step)
        T = ref_inputs.shape[2]
        assert inputs.shape[2] == min(r for r in rungs if r >= T) and tokens == ref_tokens
        assert np.array_equal(inputs[..., :T], ref_inputs) and np.array_equal(targets[..., :T], ref_targets)
        assert np.array_equal(mask[..., :T], ref_mask) and not mask[..., T:].any()
