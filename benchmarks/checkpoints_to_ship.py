"""Which checkpoints a GPU call brings back, most advanced first (gpu_pilot.sh with CHECKPOINTS=1): those written
during the call (newer than a marker file made at its start: the ones carried in are on this machine already),
ordered by the step each holds, so that when the call's 8 files and 64 MiB cut the tar short, the runs whose
checkpoints are lost are the least advanced. On 2026-12-04 a call made 10 parts and 4 came back, in folder order,
two of them checkpoints it had been carried. With `--budget-mb` only the most advanced that fit whole in that many
MiB of tar go (on 2026-12-04 six checkpoints of 12.8 MB made 5 parts; the fifth and Triton's cache did not come back:
a part that cannot come back only crowds out what could).

    python3 benchmarks/checkpoints_to_ship.py results/PRESET/checkpoints --newer MARKER [--budget-mb 45]
    # one checkpoints/KEY.pt line per checkpoint to ship
"""

from __future__ import annotations

import argparse
from pathlib import Path

from expressivity.runners.execution.checkpoints import resume_step

TAR_HEADER, TAR_BLOCK, TAR_END = 512, 512, 10240  # a member's header; data padded to blocks; the archive's end, at most


def tar_bytes(size: int) -> int:
    """The bytes one file of `size` bytes takes in a tar archive: its header and its data padded to whole blocks."""
    return TAR_HEADER + -(-size // TAR_BLOCK) * TAR_BLOCK


def to_ship(folder: Path, newer: Path | None = None, budget: int | None = None) -> list[str]:
    """The checkpoints under `folder` written after `newer` (all, without it), as paths relative to folder's parent,
    highest step first (ties by name); with `budget` (bytes), only the leading ones whose tar fits in it whole."""
    since = newer.stat().st_mtime if newer is not None else float("-inf")
    written = [p for p in sorted(folder.glob("*.pt")) if p.stat().st_mtime > since]
    steps = {p: resume_step(p, p.stem) for p in written}
    ordered = sorted(written, key=lambda p: (-steps[p], p.name))
    if budget is not None:
        used, fits = TAR_END, 0
        for p in ordered:
            used += tar_bytes(p.stat().st_size)
            if used > budget:
                break
            fits += 1
        ordered = ordered[:fits]
    return [f"{folder.name}/{p.name}" for p in ordered]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--newer", type=Path, help="only checkpoints written after this file was")
    parser.add_argument("--budget-mb", type=int, help="only the leading checkpoints whose tar fits in this many MiB")
    args = parser.parse_args()
    budget = None if args.budget_mb is None else args.budget_mb * 2**20
    for line in to_ship(args.folder, args.newer, budget):
        print(line)


if __name__ == "__main__":
    main()
