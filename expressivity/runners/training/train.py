"""One training run: a resolved config (runners/config.py) in, a result dict out.

AdamW (weight decay on matrices only), linear warm-up then cosine, WSD or constant learning rate, gradient clipping,
bf16 autocast on CUDA and fp32 on CPU, loss only on scored positions. Each step draws a fresh batch from the task
generator (batches.py: one length for the batch, or one per example). All randomness comes from the config's seed
through separate numpy SeedSequence streams, so evaluation seeds are disjoint from training seeds and a resumed run
replays exactly:

    training step s:        SeedSequence(seed, spawn_key=(0, s))   (its length(s), then its batch)
    test length L:          SeedSequence(seed, spawn_key=(1, L))   (on the config's eval task: `eval_task_params`)
    model initialisation:   SeedSequence(seed, spawn_key=(2,)) -> torch.manual_seed inside fork_rng (global state kept)
    curriculum at step s:   SeedSequence(seed, spawn_key=(3, s))   (the curriculum parameter's value, if any)

Every `check_every` steps the mean training loss and accuracy of that window (fresh data, so an in-distribution
estimate) decide divergence (NaN or above `diverge_loss`: status "diverged", the curve so far kept) and early stop
(`target_acc`); a run with a mixture or a curriculum also logs the window split by what each step trained on
(parts.py). Checkpoints (every `checkpoint_every` steps, and when training ends) hold everything a resume needs and
load with `torch.load(weights_only=True)`; same seed on CPU gives bitwise-identical metrics, resumed or not (at the
same torch thread count: reductions split differently across threads).
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from expressivity.runners.training.batches import (
    INIT_STREAM,
    draw_length,
    test_rng,
    train_batch,
    validation_set,
)
from expressivity.runners.training.config import complete, run_key
from expressivity.runners.training.evaluate import batch_counts, evaluate_by_length, summarize
from expressivity.runners.training.fusion import row_length
from expressivity.runners.training.packing import pack
from expressivity.runners.training.parts import Parts, has_parts
from expressivity.runners.training.progress import Progress
from expressivity.runners.training.run_tasks import eval_task
from expressivity.runners.training.train_set import validation_accuracy

__all__ = ["build_model", "draw_length", "lr_at", "resolve_device", "train"]
COUNTS = ("final", "token", "scored", "examples")  # of evaluate.batch_counts, summed into the check window


def resolve_device(device: str = "auto") -> str:
    """ "auto" -> "cuda" when a GPU is visible, else "cpu"; anything else is passed through."""
    if device == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def lr_at(step: int, cfg: dict[str, Any]) -> float:
    """Learning rate of `step` (0-based): linear warm-up, then cosine / WSD decay to min_lr_frac * lr, or constant."""
    peak, steps, warmup = cfg["lr"], cfg["steps"], cfg["warmup"]
    if step < warmup:
        return peak * (step + 1) / warmup
    floor = peak * cfg["min_lr_frac"]
    if cfg["schedule"] == "constant":
        return peak
    if cfg["schedule"] == "cosine":
        progress = (step - warmup) / max(1, steps - warmup)
        return floor + (peak - floor) * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
    # WSD: warm-up, stable at the peak, then a linear decay over the final decay_frac of the steps.
    decay_start = steps - int(cfg["decay_frac"] * steps)
    if step < decay_start:
        return peak
    return peak + (floor - peak) * (step - decay_start + 1) / max(1, steps - decay_start)


class deterministic:  # noqa: N801 - used as a context manager, like torch's own
    """With `on`, PyTorch's deterministic algorithms for the run (cuBLAS's fixed workspace too, on CUDA); restored
    after. They make torch's own CUDA kernels repeat bit for bit; Triton kernels (fla's) are not covered."""

    def __init__(self, on: bool):
        self.on = bool(on)

    def __enter__(self):
        import torch

        if self.on:
            self.before = torch.are_deterministic_algorithms_enabled()
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True, warn_only=True)
        return self

    def __exit__(self, *exc):
        import torch

        if self.on:
            torch.use_deterministic_algorithms(self.before)


def build_model(config: dict[str, Any], vocab_size: int):
    """The config's model on the CPU, initialised from the seed without touching torch's global RNG state."""
    import torch

    from expressivity import architectures

    init_seed = int(np.random.SeedSequence(config["seed"], spawn_key=(INIT_STREAM,)).generate_state(1)[0])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(init_seed)
        return architectures.build(config["arch"], vocab_size=vocab_size, size=config["size"], **config["model_params"])


def test_model(model, task, config: dict[str, Any], lengths, num_examples: int | None = None) -> dict[int, dict]:
    """{length: metrics} of `model` on `task` at each length, on the run's own test examples (`test_rng`: the same
    examples at a length whatever else is tested), `num_examples` of them (default: the run's `eval_examples`)."""
    cfg = config["train"]
    n = cfg["eval_examples"] if num_examples is None else num_examples
    metrics: dict[int, dict[str, float]] = {}
    for length in lengths:
        rng = test_rng(config["seed"], length)
        metrics.update(
            evaluate_by_length(model, task, [length], rng, num_examples=n, batch_size=cfg["eval_batch_size"])
        )
    return metrics


def make_optimizer(model, cfg: dict[str, Any], device: str):
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    vector_decay = cfg["weight_decay"] if cfg["decay_vectors"] else 0.0  # norm gains, biases: off by default
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg["weight_decay"]},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": vector_decay},
    ]
    return torch.optim.AdamW(groups, lr=cfg["lr"], betas=(0.9, cfg["beta2"]), fused=device.startswith("cuda"))


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.save(payload, tmp)
    os.replace(tmp, path)  # atomic: a kill mid-save leaves the previous checkpoint intact


def load_checkpoint(path: Path, dev: str) -> dict[str, Any] | None:
    """A checkpoint, or None (with a warning) when it cannot be read: the run then starts over rather than fail."""
    import warnings

    import torch

    try:
        return torch.load(path, map_location=dev, weights_only=True)
    except Exception as err:  # an unreadable file is no reason to lose the run
        warnings.warn(f"ignoring unreadable checkpoint {path}: {type(err).__name__}: {err}", stacklevel=2)
        return None


def train(
    config: dict[str, Any],
    *,
    device: str = "auto",
    checkpoint: str | os.PathLike | None = None,
    progress: bool = False,
    packed_length: int | str | None = None,
) -> dict[str, Any]:
    """Train and evaluate one run. Returns a result dict with keys status ("done" or "diverged"), stop_reason
    ("steps", "target_acc" or "diverged"), steps, metrics ({length: {...}} from `evaluate_by_length`), summary
    (in-distribution / out-of-distribution means), history (the checked training curve), num_params, train_seconds,
    eval_seconds, train_tokens and device. Resumes from `checkpoint` when it exists and belongs to this config.
    `packed_length`: train on rows of that many tokens holding several examples each (packing.py: the same losses
    to float rounding, less padding; "auto", 0, or None for the environment's EXPRESSIVITY_PACK, off when unset),
    where lengths are drawn per example and the layers read packed rows; the result's `device` then says so.
    """
    config = complete(config)  # a stored config leaves keys at their defaults out
    packed = row_length([config], packed_length)
    with deterministic(config["train"]["deterministic"]):
        return _train(config, device=device, checkpoint=checkpoint, progress=progress, packed=packed)


def _train(config: dict[str, Any], *, device: str, checkpoint, progress: bool, packed: int = 0) -> dict[str, Any]:
    import torch
    import torch.nn.functional as F

    from expressivity import tasks

    cfg, seed = config["train"], config["seed"]
    task = tasks.make(config["task"], **config["task_params"])
    dev = resolve_device(device)
    model = build_model(config, len(task.vocab)).to(dev)
    opt = make_optimizer(model, cfg, dev)
    key = run_key(config)
    path = Path(checkpoint) if checkpoint is not None else None
    # window: sum of step losses, final correct, token correct, scored positions, examples, steps
    state: dict[str, Any] = {"step": 0, "history": [], "train_seconds": 0.0, "train_tokens": 0, "stop_reason": ""}
    window = torch.zeros(6, dtype=torch.float64, device=dev)
    one = torch.ones((), dtype=torch.float64, device=dev)
    saved = load_checkpoint(path, dev) if path is not None and path.exists() else None
    if saved is not None and saved.get("key") == key:
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["optimizer"])
        window = saved["window"].to(dev)
        state = {k: saved[k] for k in state}
    # a mixture's or curriculum's steps, split by part in the history (parts.py); sums not yet read from a checkpoint
    parts = Parts(task, cfg, seed, saved.get("parts") if saved is not None else None) if has_parts(cfg) else None

    label = f"{config['task']}/{config['arch']}/{config['size']}/seed{seed} {key}"  # the key tells like runs apart
    bar = Progress(cfg["steps"], enabled=progress, label=label, log_every=cfg["checkpoint_every"])
    step, stop = state["step"], state["stop_reason"]
    started = time.perf_counter()
    model.train()
    with bar:
        bar.update(step, state["history"][-1] if state["history"] else None)
        while not stop and step < cfg["steps"]:
            batch = train_batch(task, cfg, seed, step)
            if packed:  # several examples a row (packing.py): the same examples, less padding
                batch = pack(batch, packed)
            inputs = torch.from_numpy(batch.inputs).to(dev, non_blocking=True)
            targets = torch.from_numpy(batch.targets).to(dev, non_blocking=True)
            mask = torch.from_numpy(batch.mask).to(dev, non_blocking=True)
            pos, ends = (None, None) if not packed else (
                torch.from_numpy(batch.pos).to(dev, non_blocking=True),
                torch.from_numpy(batch.ends).to(dev, non_blocking=True),
            )  # fmt: skip
            for group in opt.param_groups:
                group["lr"] = lr_at(step, cfg)
            with torch.autocast(torch.device(dev).type, dtype=torch.bfloat16, enabled=dev.startswith("cuda")):
                logits = model(inputs, pos)
            logits = logits.float()
            # ignore_index rather than logits[mask]: boolean indexing would sync the GPU every step.
            scored = torch.where(mask, targets, -100)
            loss = F.cross_entropy(logits.flatten(0, 1), scored.flatten(), ignore_index=-100)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg["clip"] > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg["clip"])
            opt.step()
            with torch.no_grad():
                c = batch_counts(logits, targets, mask, ends)
                sums = torch.stack([loss.detach().double(), *(c[k].double() for k in COUNTS), one])
                window += sums
                if parts is not None:
                    parts.add(step, sums)
            state["train_tokens"] += batch.inputs.size
            step += 1
            if step % cfg["check_every"] == 0 or step == cfg["steps"]:
                val = None
                if cfg.get("val_examples") is not None:
                    val = validation_accuracy(_eval_logits(model, dev), validation_set(task, cfg, seed),
                                              cfg["eval_batch_size"])  # fmt: skip
                stop = check_window(window, step, cfg, state["history"], val, parts)
                bar.update(step, state["history"][-1])
            if path is not None and cfg["checkpoint_every"] and step % cfg["checkpoint_every"] == 0 and not stop:
                save_checkpoint(path, _payload(key, model, opt, window, state, step, stop, started, parts))
        if stop != "diverged":
            stop = stop or "steps"
            if path is not None:  # a kill during evaluation then resumes straight into evaluation
                save_checkpoint(path, _payload(key, model, opt, window, state, step, stop, started, parts))
    if dev.startswith("cuda"):
        torch.cuda.synchronize()
    train_seconds = state["train_seconds"] + time.perf_counter() - started

    metrics: dict[int, dict[str, float]] = {}
    eval_started = time.perf_counter()
    if stop != "diverged":
        tested = eval_task(config)  # the training task unless the config overrides parameters for evaluation
        metrics = test_model(model, tested, config, cfg["eval_lengths"])
    return {
        "status": "diverged" if stop == "diverged" else "done",
        "stop_reason": stop,
        "steps": step,
        "metrics": metrics,
        "summary": summarize(metrics, cfg["train_max_length"]) if metrics else None,
        "history": state["history"],
        "num_params": model.num_params()
        if hasattr(model, "num_params")
        else sum(p.numel() for p in model.parameters()),
        "train_seconds": train_seconds,
        "eval_seconds": time.perf_counter() - eval_started,
        "train_tokens": state["train_tokens"],
        "device": device_name(dev)
        + (f", gdn backend {gdn_backends(model)}" if gdn_backends(model) else "")
        + (f", packed rows of {packed}" if packed else ""),
        "error": None,
    }


def check_window(window, step: int, cfg: dict[str, Any], history: list, val: tuple | None = None, parts=None) -> str:
    """Read the window's sums (one host sync), log them, reset; "diverged" / "target_acc" / "" (keep going).
    `val`: (final, token) accuracy on the run's validation set, which the early stop then reads instead. `parts`
    (parts.Parts, for a mixture or curriculum): the same window split by what each step trained on, as row["parts"]."""
    loss_sum, final, token, scored, examples, steps = window.tolist()
    window.zero_()
    row = {
        "step": step,
        "loss": loss_sum / steps,
        "token_acc": token / scored,
        "final_acc": final / examples,
        "lr": lr_at(step - 1, cfg),
    }
    if val is not None:
        row["val_final_acc"], row["val_token_acc"] = val
    if parts is not None:
        row["parts"] = parts.read()
    history.append(row)
    if not math.isfinite(row["loss"]) or row["loss"] > cfg["diverge_loss"]:
        return "diverged"
    reached = min(val) if val is not None else min(row["token_acc"], row["final_acc"])
    if cfg["target_acc"] is not None and reached >= cfg["target_acc"]:
        return "target_acc"
    return ""


def _eval_logits(model, dev: str):
    """inputs -> logits of `model` as training computes them (bf16 autocast on CUDA), in eval mode, then back."""
    import torch

    def logits_of(inputs):
        was = model.training
        model.eval()
        try:
            with torch.autocast(torch.device(dev).type, dtype=torch.bfloat16, enabled=dev.startswith("cuda")):
                return model(inputs.to(dev))
        finally:
            model.train(was)

    return logits_of


def _payload(key, model, opt, window, state, step, stop, started, parts=None) -> dict[str, Any]:
    return ({"parts": parts.state()} if parts is not None else {}) | {
        "key": key,
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "window": window.cpu(),
        "step": step,
        "history": state["history"],
        "train_seconds": state["train_seconds"] + time.perf_counter() - started,
        "train_tokens": state["train_tokens"],
        "stop_reason": stop,
    }


def gdn_backends(model) -> str:
    """The delta-rule backends the model's layers ran with ("fla", "torch", ...), or "" (none ran)."""
    used = sorted({m.backend_used for m in model.modules() if getattr(m, "backend_used", None)})
    return ",".join(used)


def device_name(dev: str) -> str:
    import torch

    if dev.startswith("cuda"):
        # Workers see one GPU each as cuda:0; CUDA_VISIBLE_DEVICES tells which physical card it was.
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        where = f", visible {visible}" if visible else ""
        return f"{dev} ({torch.cuda.get_device_name(torch.device(dev))}{where}, {torch.get_num_threads()} threads)"
    import platform

    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"
