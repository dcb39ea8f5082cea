"""Which checkpoints a GPU call brings back, most advanced first (gpu_pilot.sh with CHECKPOINTS=1): those written
during the call (newer than a marker file made at its start: the ones carried in are on this machine already),
ordered by the step each holds, so that when the call's 8 files and 64 MiB cut the tar short, the runs whose
checkpoints are lost are the least advanced. On 2026-12-04 a call made 10 parts and 4 came back, in folder order,
two of them checkpoints it had been carried.

    python3 benchmarks/checkpoints_to_ship.py results/PRESET/checkpoints --newer MARKER   # checkpoints/KEY.pt lines
"""

from __future__ import annotations

import argparse
from pathlib import Path

from expressivity.runners.execution.workers import resume_step


def to_ship(folder: Path, newer: Path | None = None) -> list[str]:
    """The checkpoints under `folder` written after `newer` (all, without it), as paths relative to folder's parent,
    highest step first (ties by name)."""
    since = newer.stat().st_mtime if newer is not None else float("-inf")
    written = [p for p in sorted(folder.glob("*.pt")) if p.stat().st_mtime > since]
    steps = {p: resume_step(p, p.stem) for p in written}
    return [f"{folder.name}/{p.name}" for p in sorted(written, key=lambda p: (-steps[p], p.name))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--newer", type=Path, help="only checkpoints written after this file was")
    args = parser.parse_args()
    for line in to_ship(args.folder, args.newer):
        print(line)


if __name__ == "__main__":
    main()
