"""The CPU path, this tree against an older checkout of the same repository, side by side on this machine: does any
change make CPU training slower? (Issue 13 asks that nothing of the CPU path gets slower.)

    git worktree add /tmp/old 54e563d          # the last commit before issue 13's work
    python3 benchmarks/cpu_path.py --old /tmp/old --rounds 3

Runs, old and new in each round, the order swapped every round (so load from other work, and whatever favours the
first or the second run, falls on both alike), each tree's own `benchmarks/training.py --device cpu` (the single-run
training loop, fresh data each step) and `benchmarks/kernels.py --cpu` (the GDN op's `torch` backend against causal
SDPA, forward and backward) in a fresh process whose imports come from that tree, then prints the median of each
figure over the rounds and the ratio new / old (ms: above 1 is slower). Prints figures, never asserts; record them in
BENCHMARKS.md with the machine and the load.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

NEW = Path(__file__).resolve().parents[1]


def _run(tree: Path, args: list[str], threads: int) -> str:
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    out = subprocess.run([sys.executable, *args], cwd=tree, env=env, capture_output=True, text=True, check=True)
    return out.stdout


def _training(tree: Path, archs: str, steps: int, threads: int) -> dict[str, float]:
    """{arch: ms a step} from the tree's training benchmark (its table has 'arch params ms/step tokens/s ...')."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "training.log"
        _run(tree, ["benchmarks/training.py", "--device", "cpu", "--archs", archs, "--steps", str(steps),
                    "--warmup-steps", "3", "--batch", "16", "--length", "64", "--log", str(log)], threads)  # fmt: skip
        text = log.read_text()
    found = re.findall(r"^(\w+)\s+[\d,]+\s+([\d.]+)\s", text, re.MULTILINE)
    return {f"train {arch} (ms/step)": float(ms) for arch, ms in found}


def _kernels(tree: Path, threads: int) -> dict[str, float]:
    """{row: ms} from the tree's CPU kernel comparison (lines '  B8 T512 H4 D64   op torch (fp32)   51.55')."""
    text = _run(tree, ["benchmarks/kernels.py", "--cpu", "--threads", str(threads)], threads)
    rows = re.findall(r"^\s*B\d+ T\d+ H\d+ D\d+\s+(op .+?)\s+([\d.]+)\s*$", text, re.MULTILINE)
    return {f"kernel {name} (ms)": float(ms) for name, ms in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--old", type=Path, required=True, help="a checkout of an older commit (git worktree add)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--archs", default="transformer,gdn,lstm")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if not (args.old / "benchmarks" / "training.py").is_file():
        raise SystemExit(f"--old {args.old} is not a checkout of this repository (no benchmarks/training.py)")
    figures: dict[str, dict[str, list[float]]] = {"old": {}, "new": {}}
    for r in range(args.rounds):
        # The order swaps each round: with old always first, 7 of 7 rounds had the new tree's GDN op slower (median
        # 1.28x, 2026-12-04) although the op's code and its benchmark were byte-identical in both trees.
        trees = (("old", args.old), ("new", NEW))
        for label, tree in trees if r % 2 == 0 else trees[::-1]:
            found = {**_training(tree, args.archs, args.steps, args.threads), **_kernels(tree, max(2, args.threads))}
            for key, value in found.items():
                figures[label].setdefault(key, []).append(value)
            print(f"round {r + 1} {label}: " + ", ".join(f"{k} {v:.1f}" for k, v in found.items()), flush=True)
    print(f"\n| figure (median of {args.rounds}) | old | new | new / old |\n|---|---:|---:|---:|")
    for key in figures["new"]:
        if key in figures["old"]:
            old, new = statistics.median(figures["old"][key]), statistics.median(figures["new"][key])
            print(f"| {key} | {old:.1f} | {new:.1f} | {new / old:.2f} |")


if __name__ == "__main__":
    main()
