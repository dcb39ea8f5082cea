"""Step times on the GPU: a single run, a fused group run eagerly, the same group captured as CUDA graphs, each fused
setting with the optimizer per parameter and over one buffer (FusedModel.flatten_), and the one-buffer settings again
with the per-token stages compiled (FusedModel.compile_stages). `--device cpu` runs the eager ones.

    PYTHONPATH=. python3 -u benchmarks/fused_probe.py --arch gdn --runs 6 --steps 200
    PYTHONPATH=. python3 -u benchmarks/fused_probe.py --arch gdn --runs 24 --steps 30 --profile 5 \
        --only "fused eager, one buffer"
    PYTHONPATH=. python3 -u benchmarks/fused_probe.py --task word_problem --arch deltaproduct --runs 3 --steps 30 \
        --profile 5 --set group=A5 --set d_model=512 --set n_heads=8 --set mlp_width=2048 --set n_layers=1 \
        --set batch_size=512 --set train_min_length=16 --set train_max_length=16      # the illusion pilot's groups
    PYTHONPATH=. python3 -u benchmarks/fused_probe.py --task parity_check --arch gdn --runs 6 --steps 60 --pad 42 \
        --set length_sampling=example --set batch_size=256 --packed 64    # Grazzi's lengths, packed rows

Prints, as it goes (each line flushed), the time of the first steps (compilation, autotuning, capture) and the mean
step time after them, for each setting, and whether capture fell back to eager. A probe for a lent machine's first
minutes, before a grid: it says where the time goes. `--profile N` adds, for each setting, torch.profiler's table of the
25 most expensive kernels (by device time; CPU time on a CPU) over N steps after the timed ones, the kernel count a
step, and on a GPU every kernel by its full name with its device time a step (run with TORCH_LOGS=output_code to get
the compiled kernels' source beside it): what a fused step's time is made of. `--inductor KEY=VALUE` sets an
inductor option before anything compiles (an A/B of how the stages are generated). Prints figures, never asserts.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def main() -> None:
    import torch

    from expressivity import tasks
    from expressivity.architectures.fused import FusedModel
    from expressivity.runners.training.captured import StepRunner
    from expressivity.runners.training.config import resolve, valid_keys
    from expressivity.runners.training.optim import StackedAdamW
    from expressivity.runners.training.options import parse_sets
    from expressivity.runners.training.train import build_model, lr_at

    parser = argparse.ArgumentParser()
    parser.add_argument("--arch", default="gdn")
    parser.add_argument("--task", default="parity")
    parser.add_argument("--size", default="tiny")
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--profile", type=int, default=0, help="steps to profile after the timed ones (0: none)")
    parser.add_argument("--only", action="append", default=[], help="run only the settings of these labels")
    parser.add_argument("--set", action="append", default=[], help="key=value for the runs (as the CLI's --set)")
    parser.add_argument("--pad", type=int, default=64, help="padded length of a captured or compiled step (default 64)")
    parser.add_argument("--packed", type=int, default=0, help="rows of this many tokens, several examples each")
    inductor_help = "KEY=VALUE of torch._inductor.config for the compiled stages (e.g. max_pointwise_cat_inputs=1)"
    parser.add_argument("--inductor", action="append", default=[], help=inductor_help)
    args = parser.parse_args()
    _set_inductor(args.inductor)
    dev = torch.device(args.device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    sets = {"steps": args.steps, "size": args.size}
    if "neg_eigval" in valid_keys(args.task, args.arch):  # not the transformer's, the LSTM's or the Stack-RNN's
        sets["neg_eigval"] = True
    sets.update(parse_sets(args.set))  # e.g. the illusion pilot's --set group=A5 --set d_model=512 --set batch_size=512
    configs = [resolve(args.task, args.arch, {**sets, "seed": s}) for s in range(args.runs)]
    task = tasks.make(args.task, **configs[0]["task_params"])
    R = args.runs
    settings = (("single", 1, False, False, False), ("fused eager", R, False, False, False),
                ("fused eager, one buffer", R, False, True, False), ("fused graphs", R, True, False, False),
                ("fused graphs, one buffer", R, True, True, False),
                ("fused eager, one buffer, compiled", R, False, True, True),
                ("fused graphs, one buffer, compiled", R, True, True, True))  # fmt: skip
    for label, members, capture, flat, compiled in settings:
        if args.only and label not in args.only:
            continue
        group = configs[:members]
        model = FusedModel([build_model(c, len(task.vocab)) for c in group]).to(dev)
        model.compile_stages = compiled
        buffers = (*model.flatten_(), model.decaying()) if flat else None
        cfgs = [c["train"] for c in group]
        opt = StackedAdamW(model.stacked_parameters(), weight_decay=[c["weight_decay"] for c in cfgs],
                           beta2=[c["beta2"] for c in cfgs], flat=buffers)  # fmt: skip
        clip = torch.tensor([c["clip"] for c in cfgs], device=dev)
        window = torch.zeros(members, 6, dtype=torch.float64, device=dev)
        if capture and dev.type != "cuda":
            continue
        runner = StepRunner(model, opt, clip, window, capture=capture)
        times = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for step in range(args.steps):
                arrays = _arrays(task, group, step, capture or compiled, args.pad, args.packed)
                sync()
                started = time.perf_counter()
                runner.step(arrays, [lr_at(step, cfg) for cfg in cfgs], [True] * members)
                sync()
                times.append(time.perf_counter() - started)
                if step in (0, 1, 2, 3, 9):
                    _say(f"{label}: step {step} took {times[-1] * 1e3:.1f} ms")
        late = times[10:] or times
        mean = sum(late) / len(late)
        last = _arrays(task, group, args.steps - 1, capture or compiled, args.pad, args.packed)  # what a step carries
        _say(f"{label}: a step's rows {tuple(last[0].shape)}, of which scored positions {int(last[2].sum())}")
        _say(f"{label} ({members} run(s), {args.arch} {args.size}): {mean * 1e3:.2f} ms a step after warm-up, "
             f"{mean / members * 1e3:.2f} ms per run-step; first 10 steps {sum(times[:10]):.1f} s; loss window "
             f"{(window[:, 0] / window[:, 5].clamp(min=1)).tolist()}")  # fmt: skip
        for w in caught:
            _say(f"  warning: {str(w.message)[:200]}")
        if args.profile:  # the batches of the steps after the timed ones, made before profiling: only steps count
            static = capture or compiled
            inputs = [(_arrays(task, group, step, static, args.pad, args.packed), [lr_at(step, cfg) for cfg in cfgs])
                      for step in range(args.steps, args.steps + args.profile)]  # fmt: skip
            _profile(runner, inputs, members, dev, sync, label)


def _set_inductor(pairs: list[str]) -> None:
    """Set torch._inductor.config values (KEY=VALUE, the value read as a Python literal) before anything compiles: an
    A/B of how the compiled stages are generated, e.g. concatenations as one pointwise kernel or as copies."""
    import ast

    from torch._inductor import config

    for pair in pairs:
        key, _, value = pair.partition("=")
        if not hasattr(config, key):
            raise SystemExit(f"--inductor {pair}: torch._inductor.config has no {key!r}")
        setattr(config, key, ast.literal_eval(value))
        _say(f"torch._inductor.config.{key} = {getattr(config, key)!r}")


def _arrays(task, group: list[dict], step: int, static: bool, pad: int = 64, packed: int = 0):
    """The group's batches of `step`, stacked (M, B, T); padded to `pad` for a captured or compiled step (static
    shapes; a compiled step compiles again for every new shape). A pad shorter than a batch's length cuts the batch:
    the step then times that padded length, which is what `--pad` is for (the cost of a step against its length)."""
    import numpy as np

    from expressivity.runners.training.batches import train_batch
    from expressivity.runners.training.packing import pack_stack
    from expressivity.tasks.base import pad_stack

    batches = [train_batch(task, c["train"], c["seed"], step) for c in group]
    if packed:  # --packed N: rows of N tokens, several examples each (packing.py), as a fused group packs them
        return pack_stack(batches, packed).arrays()
    if not static:
        return pad_stack(batches)
    arrays = pad_stack(batches, max(pad, *(b.seq_len for b in batches)))
    return tuple(np.ascontiguousarray(a[..., :pad]) for a in arrays)


def _profile(runner, inputs, members: int, dev, sync, label: str) -> None:
    """torch.profiler over the steps of `inputs`: the most expensive kernels and how many ran a step."""
    from torch.profiler import ProfilerActivity, profile

    count = len(inputs)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == "cuda" else [])
    sync()
    with profile(activities=activities) as prof:
        for arrays, lrs in inputs:
            runner.step(arrays, lrs, [True] * members)
        sync()
    events = prof.key_averages()
    key = "device_time_total" if dev.type == "cuda" else "cpu_time_total"
    kernels = sum(e.count for e in events if e.device_type.name == "CUDA") if dev.type == "cuda" else 0
    _say(f"{label}: profile of {count} steps; {kernels / count:.0f} device kernels a step")
    print(events.table(sort_by=key, row_limit=25, max_name_column_width=70), flush=True)
    if dev.type == "cuda":  # every kernel by its full name (to match with TORCH_LOGS=output_code's dump), per step
        own = sorted((e for e in events if e.device_type.name == "CUDA"), key=lambda e: -e.self_device_time_total)
        for e in own:
            per_step = e.self_device_time_total / count / 1e3
            _say(f"  kernel {per_step:7.3f} ms a step, {e.count / count:4.1f} a step: {e.key}")


if __name__ == "__main__":
    main()
