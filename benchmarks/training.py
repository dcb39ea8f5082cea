"""Training throughput (tokens per second) of the tiny preset of every architecture, with the real training loop.

    PYTHONPATH=. python3 benchmarks/training.py --log $OUT/training.log          # on the GPU machine

For each registered architecture: a short warm-up run (CUDA init, Triton compilation and autotuning of the fla kernels),
then a timed run of `--steps` steps at a fixed length (batch x (length + 1) tokens a step, BOS included), fresh data
from the task generator each step, bf16 autocast on CUDA. tokens/s = training tokens / training wall time (evaluation
excluded). Prints one table and writes it, with any error, to --log. Architectures not started before --time-limit
seconds are reported as skipped, so the command finishes inside one 10-minute device call.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--log", type=Path, default=Path("runs/bench/training.log"), help="where the table and errors go"
    )
    parser.add_argument("--task", default="parity")
    parser.add_argument("--archs", default="", help="comma-separated (default: every registered architecture)")
    parser.add_argument("--size", default="tiny")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--warmup-steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--length", type=int, default=256)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--time-limit", type=float, default=420.0, help="seconds; later architectures are skipped")
    args = parser.parse_args()

    import torch

    from expressivity import architectures
    from expressivity.runners.training.config import resolve
    from expressivity.runners.training.train import resolve_device, train

    device = resolve_device(args.device)
    names = args.archs.split(",") if args.archs else architectures.names()
    args.log.parent.mkdir(parents=True, exist_ok=True)
    card = torch.cuda.get_device_name() if device.startswith("cuda") else (platform.processor() or platform.machine())
    header = (
        f"# training throughput: task={args.task} size={args.size} batch={args.batch} length={args.length} "
        f"steps={args.steps} device={device} ({card}) torch={torch.__version__}"
    )
    lines, errors = [header, f"{'arch':<12} {'params':>10} {'ms/step':>9} {'tokens/s':>12} {'warm-up s':>10}"], []
    started = time.monotonic()
    for name in names:
        if time.monotonic() - started > args.time_limit:
            lines.append(f"{name:<12} skipped (time limit)")
            continue
        sets = {
            "size": args.size,
            "batch_size": args.batch,
            "length_schedule": "fixed",
            "train_min_length": args.length,
            "train_max_length": args.length,
            "eval_lengths": [args.length],
            "eval_examples": args.batch,
            "eval_batch_size": args.batch,
            "warmup": 0,
            "checkpoint_every": 0,
        }
        try:
            t0 = time.monotonic()
            train(
                resolve(args.task, name, {**sets, "steps": args.warmup_steps, "check_every": args.warmup_steps}),
                device=device,
            )
            warm = time.monotonic() - t0
            result = train(
                resolve(args.task, name, {**sets, "steps": args.steps, "check_every": args.steps}), device=device
            )
            tps = result["train_tokens"] / result["train_seconds"]
            ms = 1000 * result["train_seconds"] / result["steps"]
            lines.append(f"{name:<12} {result['num_params']:>10,} {ms:>9.2f} {tps:>12,.0f} {warm:>10.1f}")
        except Exception as err:  # one broken architecture must not hide the others' figures
            lines.append(f"{name:<12} error: {type(err).__name__}: {str(err).splitlines()[0][:80]}")
            errors.append(f"## {name}\n{traceback.format_exc()}")
        print(lines[-1], flush=True)
    text = "\n".join(lines + [f"# total {time.monotonic() - started:.0f}s"] + errors) + "\n"
    args.log.write_text(text)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
