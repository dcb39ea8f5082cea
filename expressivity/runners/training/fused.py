"""Fused training: runs that share an architecture and shapes train as one model (architectures/fused.py),
each with its own data stream, loss, learning-rate schedule, clipping, early stop, divergence, checkpoint and
evaluation. Each run computes what its own `train()` computes (the single-run trainer is the readable reference,
tests/runners/test_fused_train.py compares them) and checkpoints in the single-run format, so any run of a group
resumes alone, or fused again, after a kill.

    results = train_fused([config_a, config_b, ...], checkpoints=[path_a, path_b, ...])   # one result per run

Which runs may fuse is fusion.py's (`fusion_key`): they may differ in the task and its parameters (each run has its
own vocabulary: the fused model pads it), the seed, the eigenvalue range, the optimiser's settings, the schedule,
early stop, the training lengths, a curriculum or a mixture and the test protocol, and share everything else, and
sequences of about one length, since a step's batches are padded to the longest run's (padding is unscored and,
the models being causal, invisible to the positions before it). On CUDA the step can run
as a captured CUDA graph (captured.py).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from expressivity.runners.training.batches import (
    Prefetcher,
    StepArrays,
    test_rng,
    validation_set,
)
from expressivity.runners.training.config import complete, run_key
from expressivity.runners.training.evaluate import evaluate_stacked, summarize
from expressivity.runners.training.fused_log import START_STEPS, members_line, progress_line, start_line
from expressivity.runners.training.fusion import (
    fusion_key,
    least_length,
    pad_ladder,
    pad_mode,
    padded_length,
    row_length,
)
from expressivity.runners.training.parts import Parts, has_parts
from expressivity.runners.training.run_tasks import eval_task
from expressivity.runners.training.train import (
    build_model,
    check_window,
    deterministic,
    device_name,
    gdn_backends,
    load_checkpoint,
    lr_at,
    make_optimizer,
    resolve_device,
    save_checkpoint,
    test_model,
)
from expressivity.runners.training.train_set import stack, validation_accuracy

SHRINK_MIN_CHECKS = 5  # a group shrinks only with at least this many checks' steps left: rebuilding it costs a compile


def optimizer_order(model, names: list[str]) -> list[int]:
    """For each parameter of `make_optimizer(model)`, in its state_dict order, its index in `names` (the fused
    model's stacked names): matrices first, then vectors, each in the model's parameter order."""
    named = dict(model.named_parameters())
    index = {id(p): names.index(n) for n, p in named.items()}
    params = list(named.values())
    return [index[id(p)] for p in [*(p for p in params if p.dim() >= 2), *(p for p in params if p.dim() < 2)]]


def train_fused(
    configs: list[dict[str, Any]],
    *,
    device: str = "auto",
    checkpoints: list[str | os.PathLike | None] | None = None,
    graphs: bool | None = None,
    data_processes: int | None = None,
    bucketed: bool | None = None,
    compile_stages: bool | None = None,
    on_result: Callable[[int, dict[str, Any]], None] | None = None,
    shrink: float | None = None,
    packed_length: int | str | None = None,
) -> list[dict[str, Any]]:
    """Train and evaluate the runs of `configs` as one fused model; one result per run, as `train()` returns it.

    Runs resume from their checkpoints; runs saved at different steps train as separate fused groups, one after
    the other. `graphs`: capture the training step as CUDA graphs (default: on CUDA, yes). `data_processes`: worker
    processes generating batches ahead (default: the environment's EXPRESSIVITY_DATA_PROCESSES, which a grid's GPU
    slots set to their share of the cores (workers.data_processes_per_slot), else 2 on CUDA, where a fused step can
    outrun two threads, and none on CPU, where threads keep up with training). `bucketed`: pad each
    step's batch to a few fixed lengths (default: when capturing or compiling, which need static shapes), so an eager
    run can be given exactly the captured run's batches. `compile_stages`: compile the per-token stages of the
    training step (FusedModel.compile_stages; default: on CUDA, unless the environment sets
    EXPRESSIVITY_COMPILE_STAGES=0; about 2x faster steps on an H200, and tens of seconds of compiling per group).
    `on_result(i, result)`: given each run's result as soon as it is final. A run that stops early (its target
    accuracy, or divergence) is tested then, alone, while the rest of its group trains on, so a grid records it even
    when the group is cut off later: on 2026-12-04 a time limit put a six-run group back in the queue at step 7500 of
    8000, five of its runs having stopped at their target by step 3100, and their results were lost with it.
    `shrink`: a group whose runs still training are at most this fraction of it (with SHRINK_MIN_CHECKS checks' steps
    left) ends there, and those runs go on as a smaller group from their state at that step (handed over in memory,
    and written to their checkpoints), so runs that stopped no longer cost steps: a fused step computes every run of
    its group, stopped or not (static shapes). Default: the environment's EXPRESSIVITY_SHRINK, else off. Not yet safe
    on a GPU: its first use in a grid (2026-12-04, one H200, EXPRESSIVITY_SHRINK=0.5) ended about 35 s after a
    captured DeltaProduct group of 3 shrank to 1 with "CUDA error: an illegal memory access", which failed the other
    group of its process too; the GPU test (tests/runners/test_fused_gpu.py, a GDN group) passes. Undiagnosed.
    `packed_length`: rows of several examples each, as train() takes it (packing.py; default: EXPRESSIVITY_PACK)."""
    configs = [complete(c) for c in configs]
    paths = [None if p is None else Path(p) for p in (checkpoints or [None] * len(configs))]
    keys = {fusion_key(c) for c in configs}
    if None in keys or len(keys) != 1:
        raise ValueError("train_fused needs runs of one fusion key (same architecture, shapes and step count)")
    packed = row_length(configs, packed_length)
    dev = resolve_device(device)
    if data_processes is None:
        data_processes = int(os.environ.get("EXPRESSIVITY_DATA_PROCESSES", 2 if dev.startswith("cuda") else 0))
    if compile_stages is None:
        compile_stages = os.environ.get("EXPRESSIVITY_COMPILE_STAGES", "1") == "1" and dev.startswith("cuda")
    saved = []
    for config, path in zip(configs, paths, strict=True):
        s = load_checkpoint(path, dev) if path is not None and path.exists() else None
        saved.append(s if s is not None and s.get("key") == run_key(config) else None)
    if shrink is None and os.environ.get("EXPRESSIVITY_SHRINK"):
        shrink = float(os.environ["EXPRESSIVITY_SHRINK"])
    starts = [s["step"] if s is not None else 0 for s in saved]
    results: list[dict[str, Any] | None] = [None] * len(configs)
    # Runs saved at different steps cannot step in lockstep: one group each. A group that shrinks hands its runs
    # still training on to a new group (first in line), with their state as `saved`.
    pending = [[i for i, s in enumerate(starts) if s == start] for start in sorted(set(starts))]
    while pending:
        members = pending.pop(0)
        with deterministic(configs[0]["train"]["deterministic"]):  # a shared key (fusion_key)
            report = None if on_result is None else lambda j, result, members=members: on_result(members[j], result)
            group = _Group([configs[i] for i in members], [paths[i] for i in members], [saved[i] for i in members],
                           dev, data_processes, compile_stages, report, packed)  # fmt: skip
            finished, carried = group.run(graphs, bucketed, shrink)
        for j, result in enumerate(finished):
            if result is not None:
                results[members[j]] = result
        for j, state in carried.items():
            saved[members[j]] = state
        if carried:
            pending.insert(0, [members[j] for j in sorted(carried)])
    return results


class _Group:
    """One fused group at one starting step: the fused model, its optimiser and each run's bookkeeping."""

    def __init__(self, configs, paths, saved, dev: str, processes: int = 0, compile_stages: bool = False,
                 on_result: Callable[[int, dict[str, Any]], None] | None = None, packed: int = 0):  # fmt: skip
        import torch

        from expressivity import tasks
        from expressivity.architectures.fused import FusedModel
        from expressivity.runners.training.optim import StackedAdamW

        building = time.perf_counter()
        self.configs, self.paths, self.dev, self.processes = configs, paths, dev, processes
        self.packed = packed  # rows of several examples (packing.py), or 0
        self.on_result, self.early = on_result, {}  # early: run -> its result, reported when it stopped early
        self.cfgs = [c["train"] for c in configs]
        self.M = len(configs)
        self.tasks = [tasks.make(c["task"], **c["task_params"]) for c in configs]
        members = [build_model(c, len(task.vocab)) for c, task in zip(configs, self.tasks, strict=True)]
        for model, s in zip(members, saved, strict=True):
            if s is not None:
                model.load_state_dict(s["model"])
        self.model = FusedModel(members).to(dev)
        self.model.compile_stages = compile_stages
        flat = self.model.flatten_()  # one (M, P) buffer: the optimizer's few kernels a step (after the move)
        self.opt = StackedAdamW(
            self.model.stacked_parameters(),
            weight_decay=[c["weight_decay"] for c in self.cfgs],
            beta2=[c["beta2"] for c in self.cfgs],
            flat=(*flat, self.model.decaying(vectors=self.cfgs[0]["decay_vectors"])),
            decay_vectors=self.cfgs[0]["decay_vectors"],  # a shared key (fusion_key)
        )
        self.order = optimizer_order(members[0], self.model.names)
        self.template = make_optimizer(members[0], self.cfgs[0], "cpu").state_dict()
        self.shapes = [[self.model.member_shape(m, n) for n in self.model.names] for m in range(self.M)]
        for m, s in enumerate(saved):
            if s is not None:
                self.opt.load_member(m, s["optimizer"], self.order, self.shapes[m])
        fresh = {"step": 0, "history": [], "train_seconds": 0.0, "train_tokens": 0, "stop_reason": ""}
        self.state = [{k: s[k] for k in fresh} if s is not None else dict(fresh, history=[]) for s in saved]
        self.window = torch.zeros(self.M, 6, dtype=torch.float64, device=dev)
        for m, s in enumerate(saved):
            if s is not None:
                self.window[m] = s["window"].to(dev)
        self.clip = torch.tensor([c["clip"] for c in self.cfgs], dtype=torch.float32, device=dev)
        self.parts = [Parts(task, cfg, c["seed"], s.get("parts") if s is not None else None) if has_parts(cfg) else None
                      for task, cfg, c, s in zip(self.tasks, self.cfgs, configs, saved, strict=True)]  # fmt: skip
        self.built_in = time.perf_counter() - building

    def run(
        self, graphs: bool | None, bucketed: bool | None = None, shrink: float | None = None
    ) -> tuple[list[dict[str, Any] | None], dict[int, dict[str, Any]]]:
        """Train the group: each run's result (None for one handed on), and the states of the runs handed on to a
        smaller group when it shrank (see train_fused), by run."""
        import torch

        from expressivity.runners.training.captured import StepRunner

        self.capture = self.dev.startswith("cuda") if graphs is None else bool(graphs and self.dev.startswith("cuda"))
        if graphs is None and self.model.compile_stages and pad_mode() == "ladder":
            self.capture = False  # a ladder's steps are long, and each rung's graph would hold its own memory
        stops = [s["stop_reason"] for s in self.state]
        steps = self.cfgs[0]["steps"]
        step = first = self.state[0]["step"]  # runs of a group start at one step (train_fused)
        runner = StepRunner(self.model, self.opt, self.clip, self.window, capture=self.capture)
        started = self.started = time.perf_counter()
        active = [not s for s in stops]
        checkpoint_every = self.cfgs[0]["checkpoint_every"]
        check_every = self.cfgs[0]["check_every"]
        shrinking = False
        if any(active) and step < steps:
            # Static shapes for a captured step and for compiled stages alike (each new length compiles them again).
            static = self.capture or self.model.compile_stages
            bucketed = static if bucketed is None else bucketed
            least = least_length(self.configs, bucketed=bucketed, compiled=self.model.compile_stages)
            cap = padded_length(self.configs) if bucketed else 0  # no bucket past the group's own longest
            ladder = pad_ladder(self.configs, bucketed=bucketed, compiled=self.model.compile_stages)
            make = StepArrays(self.configs, bucketed=bucketed, compact=self.processes > 0, least=least, cap=cap,
                              packed=self.packed, ladder=ladder)  # fmt: skip
            print(members_line(self.configs), file=sys.stderr, flush=True)
            with Prefetcher(make, range(step, steps), depth=8, processes=self.processes) as ahead:
                for s, (arrays, tokens) in ahead:
                    if not any(active):
                        break
                    arrays = tuple(a.astype(np.int64) if a.dtype == np.int16 else a for a in arrays)
                    lrs = [lr_at(s, cfg) for cfg in self.cfgs]
                    runner.step(arrays, lrs, active)
                    if any(p is not None for p in self.parts):  # the step's sums, by part (one copy a step)
                        last = runner.last.clone()
                        for m, p in enumerate(self.parts):
                            if p is not None and active[m]:
                                p.add(s, last[m])
                    for m, n in enumerate(tokens):
                        self.state[m]["train_tokens"] += n if active[m] else 0
                    step = s + 1
                    if step - first in START_STEPS:  # the group's start (compiling, warm-up, capture), in the log
                        if self.dev.startswith("cuda"):  # the device's seconds too
                            torch.cuda.synchronize()
                        line = start_line(self.M, self.built_in, step - first, time.perf_counter() - started)
                        print(line, file=sys.stderr, flush=True)
                    if step % check_every == 0 or step == steps:
                        self._check(step, stops, active)
                        left = sum(active)
                        if shrink and 0 < left <= shrink * self.M and steps - step >= SHRINK_MIN_CHECKS * check_every:
                            shrinking = True
                            break
                    if checkpoint_every and step % checkpoint_every == 0:
                        line = progress_line(self.configs, self.state, stops, step, time.perf_counter() - started)
                        print(line, file=sys.stderr, flush=True)
                        for m in range(self.M):
                            if active[m]:
                                self._save(m, step, "", started)
            # One line per group in the worker's log: whether data generation kept up with the steps.
            print(f"fused x{self.M}: steps {first}-{step} in {time.perf_counter() - started:.2f}s, "
                  f"waited {ahead.waited:.2f}s for data ({self.processes or 'no'} data processes)", file=sys.stderr,
                  flush=True)  # fmt: skip
        if self.dev.startswith("cuda"):
            torch.cuda.synchronize()
        seconds = time.perf_counter() - started
        carried = {}
        for m in range(self.M):
            if shrinking and active[m]:  # goes on in the smaller group, from here
                carried[m] = self._payload(m, step, "", started)
                if self.paths[m] is not None:
                    save_checkpoint(self.paths[m], carried[m])
            elif stops[m] != "diverged":
                stops[m] = stops[m] or "steps"
                if active[m]:  # a run stopped early saved itself when it stopped
                    self._save(m, step, stops[m], started)
        evaluated, eval_seconds = self._evaluate(stops, skip=carried)
        return [None if m in carried else self.early.get(m) or self._result(
                    m, stops[m], self.state[m]["step"] if stops[m] and not active[m] else step, seconds, evaluated[m],
                    eval_seconds)
                for m in range(self.M)], carried  # fmt: skip

    def _evaluate(self, stops: list[str], skip=()) -> tuple[list[dict[int, dict[str, float]] | None], float]:
        """Every run's test metrics by length, all runs in one stacked forward per batch (`evaluate_stacked`: the
        examples and metrics of `evaluate_by_length`, run by run), and each run's share of the seconds it took.
        Runs whose test settings differ are left to `_result` (None), which evaluates its own model alone, as
        `train()` does: the readable reference."""
        import torch

        settings = {json.dumps([c["eval_lengths"], c["eval_examples"], c["eval_batch_size"]]) for c in self.cfgs}
        if len(settings) > 1:
            return [None] * self.M, 0.0
        started = time.perf_counter()
        tested = [eval_task(c) if stop != "diverged" and m not in self.early and m not in skip else None
                  for m, (c, stop) in enumerate(zip(self.configs, stops, strict=True))]  # fmt: skip
        cuda = self.dev.startswith("cuda")

        def logits_of(inputs):
            with torch.autocast(self.dev.split(":")[0], dtype=torch.bfloat16, enabled=cuda):
                return self.model(inputs.to(self.dev))

        cfg = self.cfgs[0]
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                metrics = evaluate_stacked(
                    logits_of, tested, lambda m, length: test_rng(self.configs[m]["seed"], length),
                    cfg["eval_lengths"], num_examples=cfg["eval_examples"], batch_size=cfg["eval_batch_size"],
                )  # fmt: skip
        finally:
            self.model.train(was_training)
        return metrics, (time.perf_counter() - started) / max(1, sum(t is not None for t in tested))

    def _check(self, step: int, stops: list[str], active: list[bool]) -> None:
        """Each active run's checked window (one host sync for all): divergence and early stop, run by run."""
        windows = self.window.clone()
        self.window.zero_()
        vals = self._validation() if self.cfgs[0].get("val_examples") is not None else [None] * self.M
        for m in range(self.M):
            if not active[m]:
                continue
            stop = check_window(windows[m], step, self.cfgs[m], self.state[m]["history"], vals[m], self.parts[m])
            if stop:
                stops[m], active[m] = stop, False
                self.state[m]["step"] = step
                if stop != "diverged":
                    self._save(m, step, stop, self.started)
                if self.on_result is not None:  # tested now, alone, as train() tests it: the group goes on
                    self.early[m] = self._result(m, stop, step, time.perf_counter() - self.started, None, 0.0)
                    self.on_result(m, self.early[m])

    def _validation(self) -> list[tuple[float, float]]:
        """Every run's (final, token) accuracy on its own validation set, in one stacked forward per chunk (the runs
        of a group share `val_examples`: it is part of the fusion key)."""
        import torch

        runs = zip(self.tasks, self.cfgs, self.configs, strict=True)
        sets = stack([validation_set(task, cfg, c["seed"]) for task, cfg, c in runs])
        cuda = self.dev.startswith("cuda")

        def logits_of(inputs):
            with torch.autocast(self.dev.split(":")[0], dtype=torch.bfloat16, enabled=cuda):
                return self.model(inputs.to(self.dev))

        return validation_accuracy(logits_of, sets, self.cfgs[0]["eval_batch_size"], runs=self.M)

    def _save(self, m: int, step: int, stop: str, started: float) -> None:
        if self.paths[m] is not None:
            save_checkpoint(self.paths[m], self._payload(m, step, stop, started))

    def _payload(self, m: int, step: int, stop: str, started: float) -> dict[str, Any]:
        """Run m's state at `step` in the single-run checkpoint format."""
        state = self.state[m]
        return ({"parts": self.parts[m].state()} if self.parts[m] is not None else {}) | {
            "key": run_key(self.configs[m]),
            "model": self.model.member_state_dict(m),
            "optimizer": self.opt.member_state(m, self.template, self.order, self.shapes[m]),
            "window": self.window[m].cpu(),
            "step": step,
            "history": state["history"],
            "train_seconds": state["train_seconds"] + time.perf_counter() - started,
            "train_tokens": state["train_tokens"],
            "stop_reason": stop,
        }

    def _result(self, m: int, stop: str, step: int, seconds: float, evaluated, eval_seconds: float) -> dict[str, Any]:
        """Run m's result, with its metrics as `_evaluate` gave them, or (None) its own model evaluated exactly as
        `train()` evaluates it."""
        config, cfg = self.configs[m], self.cfgs[m]
        model = build_model(config, len(self.tasks[m].vocab)).to(self.dev)
        model.load_state_dict(self.model.member_state_dict(m))
        metrics: dict[int, dict[str, float]] = evaluated or {}
        if evaluated is None:
            eval_started = time.perf_counter()
            if stop != "diverged":
                tested = eval_task(config)  # runs of a group may be evaluated on different tasks (eval_task_params)
                metrics = test_model(model, tested, config, cfg["eval_lengths"])
            eval_seconds = time.perf_counter() - eval_started
        backends = gdn_backends(self.model.template)
        where = device_name(self.dev) + f", fused x{self.M}" + (f", gdn backend {backends}" if backends else "")
        where += f", packed rows of {self.packed}" if self.packed else ""
        return {
            "status": "diverged" if stop == "diverged" else "done",
            "stop_reason": stop,
            "steps": step,
            "metrics": metrics,
            "summary": summarize(metrics, cfg["train_max_length"]) if metrics else None,
            "history": self.state[m]["history"],
            "num_params": model.num_params(),
            "train_seconds": self.state[m]["train_seconds"] + seconds,
            "eval_seconds": eval_seconds,
            "train_tokens": self.state[m]["train_tokens"],
            "device": where,
            "error": None,
        }
