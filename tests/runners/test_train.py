"""The training loop on CPU: it learns, it is deterministic, it resumes bitwise, and divergence is a status."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from expressivity import architectures, tasks
from expressivity.runners.training.config import resolve, run_key
from expressivity.runners.training.train import build_model, draw_length, lr_at, train

TIMING = ("train_seconds", "eval_seconds", "device")


def _same(a: dict, b: dict) -> bool:
    """Equal results apart from wall-clock timings (NaN losses compare equal)."""
    strip = {k: v for k, v in a.items() if k not in TIMING}, {k: v for k, v in b.items() if k not in TIMING}
    return json.dumps(strip[0], sort_keys=True) == json.dumps(strip[1], sort_keys=True)


schedules = st.builds(
    lambda steps, warmup, schedule, frac, floor: resolve(
        "parity",
        "lstm",
        {"steps": steps, "warmup": warmup, "schedule": schedule, "decay_frac": frac, "min_lr_frac": floor},
    )["train"],
    st.integers(1, 400),
    st.integers(0, 50),
    st.sampled_from(["cosine", "wsd", "constant"]),
    st.floats(0, 1),
    st.floats(0, 1),
)


@given(schedules)
def test_learning_rate_warms_up_then_never_exceeds_the_peak_or_drops_below_the_floor(cfg):
    lrs = [lr_at(s, cfg) for s in range(cfg["steps"])]
    peak, floor = cfg["lr"], cfg["lr"] * cfg["min_lr_frac"]
    warm = lrs[: cfg["warmup"]]
    assert all(b > a for a, b in zip(warm, warm[1:], strict=False))
    after = lrs[cfg["warmup"] :]
    assert all(min(floor, peak) - 1e-12 <= x <= peak + 1e-12 for x in after)
    if after and cfg["schedule"] != "constant" and cfg["steps"] - cfg["warmup"] > 1:
        assert all(b <= a + 1e-12 for a, b in zip(after, after[1:], strict=False))  # non-increasing after warm-up


@given(schedules, st.integers(0, 2**32 - 1), st.sampled_from(["uniform", "increasing", "fixed"]))
def test_step_lengths_stay_in_the_training_range(cfg, seed, how):
    cfg = {**cfg, "length_schedule": how}
    rng = np.random.default_rng(seed)
    lengths = [draw_length(rng, s, cfg) for s in range(0, cfg["steps"], max(1, cfg["steps"] // 20))]
    assert all(cfg["train_min_length"] <= n <= cfg["train_max_length"] for n in lengths)
    if how == "fixed":
        assert set(lengths) == {cfg["train_max_length"]}
    if how == "increasing":  # the first step draws from the bottom of the range only
        lo, hi = cfg["train_min_length"], cfg["train_max_length"]
        assert draw_length(rng, 0, cfg) <= lo + round((hi - lo) / cfg["steps"])


def test_lstm_learns_parity_in_distribution_and_stops_at_its_target():
    sets = {"steps": 600, "batch_size": 64, "warmup": 20, "target_acc": 0.995, "check_every": 25}
    config = resolve("parity", "lstm", {**sets, "eval_lengths": [10, 20, 40], "eval_examples": 256})
    result = train(config)
    assert result["status"] == "done" and result["stop_reason"] == "target_acc"
    assert result["summary"]["id"]["final_acc"] >= 0.99


SHORT = {
    "steps": 24,
    "batch_size": 32,
    "check_every": 4,
    "checkpoint_every": 4,
    "eval_lengths": [6, 50],
    "eval_examples": 24,
}


def test_same_seed_same_result_and_another_seed_differs():
    first, second = train(resolve("parity", "lstm", SHORT)), train(resolve("parity", "lstm", SHORT))
    assert _same(first, second)
    other = train(resolve("parity", "lstm", {**SHORT, "seed": 1}))
    assert other["history"] != first["history"]


# The child trains until step KILL_AT (between two checkpoints), says so on stdout and blocks there: the kill lands
# mid-training at a known step however busy the machine is (an event, not a race against a poll).
KILL_AT = 10
_KILLABLE = """
import json, sys, torch
from expressivity.runners.training import train as training
torch.set_num_threads(1)  # as in this test process (tests/runners/conftest.py)
draw = training.train_batch
def train_batch(task, cfg, seed, step):
    if step == int(sys.argv[3]):
        print("ready", flush=True)
        sys.stdin.read()  # blocks until the test kills this process
    return draw(task, cfg, seed, step)
training.train_batch = train_batch
training.train(json.loads(sys.argv[1]), checkpoint=sys.argv[2])
"""


def test_a_killed_run_resumes_from_its_checkpoint_bitwise(tmp_path):
    config = resolve("parity", "lstm", {**SHORT, "steps": 200})
    path = tmp_path / "run.pt"
    cmd = [sys.executable, "-c", _KILLABLE, json.dumps(config), str(path), str(KILL_AT)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready", "the child ended before the step it should stop at"
        proc.kill()
    finally:
        proc.wait()
    saved = torch.load(path, weights_only=True)  # checkpoints load without unpickling arbitrary objects
    assert saved["step"] == KILL_AT - KILL_AT % SHORT["checkpoint_every"]  # the last checkpoint before the kill
    resumed = train(config, checkpoint=path)
    assert _same(resumed, train(config))


def test_the_final_checkpoint_holds_the_trained_weights(tmp_path):
    path = tmp_path / "run.pt"
    config = resolve("parity", "lstm", SHORT)
    result = train(config, checkpoint=path)
    saved = torch.load(path, weights_only=True)
    assert saved["step"] == result["steps"] == 24 and saved["stop_reason"] == "steps"
    fresh = build_model(config, len(tasks.make("parity").vocab))
    before = {k: v.clone() for k, v in fresh.state_dict().items()}
    fresh.load_state_dict(saved["model"])  # strict: every weight is there
    assert any(not torch.equal(before[k], v) for k, v in fresh.state_dict().items()), "trained weights differ from init"


def test_an_exploding_loss_ends_the_run_as_diverged_with_its_curve():
    result = train(resolve("parity", "lstm", {**SHORT, "lr": 1e6, "warmup": 0, "clip": 0.0}))
    assert result["status"] == "diverged" and result["stop_reason"] == "diverged"
    last = result["history"][-1]["loss"]
    assert not math.isfinite(last) or last > 50
    assert result["metrics"] == {} and result["steps"] < 24


@pytest.mark.parametrize("arch", architectures.names())
def test_every_architecture_trains_and_evaluates(arch):
    result = train(resolve("parity", arch, {**SHORT, "steps": 2, "eval_lengths": [5], "eval_examples": 4}))
    assert result["status"] == "done" and result["metrics"][5]["examples"] == 4
    assert math.isfinite(result["history"][-1]["loss"])


@pytest.mark.parametrize("name", tasks.names())
def test_every_task_trains_and_evaluates(name):
    smallest = max(tasks.make(name).min_length, 3)
    sets = {"steps": 1, "batch_size": 4, "train_min_length": smallest, "train_max_length": smallest + 2}
    result = train(resolve(name, "lstm", {**sets, "eval_lengths": [smallest + 4], "eval_examples": 4}))
    assert result["status"] == "done" and 0.0 <= result["summary"]["ood"]["final_acc"] <= 1.0


def test_the_deterministic_key_switches_torchs_deterministic_algorithms_for_the_run_only(monkeypatch):
    seen = []
    original = torch.use_deterministic_algorithms
    monkeypatch.setattr(torch, "use_deterministic_algorithms", lambda on, **kw: (seen.append(on), original(on, **kw)))
    config = resolve("parity", "lstm", {**SHORT, "deterministic": True})
    assert _same(train(config), train(resolve("parity", "lstm", SHORT)))  # on CPU torch is deterministic anyway
    assert seen == [True, False] and not torch.are_deterministic_algorithms_enabled()


def test_a_grid_workers_run_logs_its_step_loss_and_pace_at_each_checkpoint(capsys):
    """Without the progress bar (a grid worker), each checkpoint's step writes one line to the worker's log (stderr)
    naming the run, its step, time and loss, so a run cut off by a time limit still says how far it got."""
    config = resolve("parity", "lstm", {**SHORT, "check_every": 4, "checkpoint_every": 8})
    result = train(config)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("parity/lstm/")]
    assert [line.split(": step ")[1].split(" ")[0] for line in lines] == ["8", "16", "24"]
    logged = [row for row in result["history"] if row["step"] % 8 == 0]
    assert [f"loss {row['loss']:.3f}," in line for row, line in zip(logged, lines, strict=True)] == [True] * 3
    assert lines[0].startswith(f"parity/lstm/{config['size']}/seed{config['seed']} {run_key(config)}: step 8 at ")
