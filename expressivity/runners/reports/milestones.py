"""When each part of a run's training mixture was learned, read from its training curve.

A run trained on a mixture (`mixture = "all_three_dense"`: indexed recall, pointer tracking and state-based recall)
or with a curriculum over a task parameter logs each part's loss apart in every window of its curve
(`history[i]["parts"]`, windows of `check_every` steps). Whether a mixture's halves were learned, and when, is what
tells "never composed" from "never learned a half" (results/README.md, the m axis), so it gets one home here rather
than a script per session.

    milestones(history, below=0.05)  ->  [PartMilestone("indexed_recall", first_seen=50, below_at=6950, ...), ...]

A run without parts gives one part, `all`, the window's loss. A part's loss in a window is the mean over the steps
that drew it there, so a part drawn rarely (a curriculum's newest value) is noisier (the curve's
`parts[name]["steps"]` says how many steps each window averaged).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WHOLE_RUN = "all"  # the part name of a run whose curve has no parts


@dataclass(frozen=True)
class PartMilestone:
    """One part of a run's mixture over its training curve (steps are the windows' last steps)."""

    part: str
    first_seen: int  # the first window that logged it (a curriculum adds parts as it goes)
    below_at: int | None  # the first window whose loss is below the threshold; None: never
    lowest: float
    lowest_at: int
    last: float
    last_at: int
    windows: int  # how many windows logged it


def part_curves(history: list[dict[str, Any]]) -> dict[str, list[tuple[int, float]]]:
    """{part: [(step, loss), ...]} in the order the parts first appear in the curve."""
    curves: dict[str, list[tuple[int, float]]] = {}
    for point in history:
        parts = point.get("parts") or {WHOLE_RUN: {"loss": point["loss"]}}
        for name, stats in parts.items():
            curves.setdefault(name, []).append((int(point["step"]), float(stats["loss"])))
    return curves


def milestones(history: list[dict[str, Any]], *, below: float) -> list[PartMilestone]:
    """Each part's first window with loss below `below`, its lowest and last loss (parts in order of appearance)."""
    out = []
    for part, curve in part_curves(history).items():
        lowest_at, lowest = min(curve, key=lambda point: point[1])
        out.append(
            PartMilestone(
                part=part,
                first_seen=curve[0][0],
                below_at=next((s for s, loss in curve if loss < below), None),
                lowest=lowest,
                lowest_at=lowest_at,
                last=curve[-1][1],
                last_at=curve[-1][0],
                windows=len(curve),
            )
        )
    return out
