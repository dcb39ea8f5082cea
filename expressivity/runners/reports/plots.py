"""PNG plots of a preset's table (matplotlib, the `plot` extra; imported inside the functions so the CLI stays fast).

    paths = write_plots(cells, preset, Path("results/negative-eigenvalues"))
    # curves-parity.png ... (the metric by test length, one line per architecture), heatmap.png (task x architecture)

Curves show the mean over seeds at each test length, with the longest training length marked; the heatmap shows
each cell's headline number (best over seeds, or the smallest depth that passed), blank where nothing finished.
"""

from __future__ import annotations

import re
from pathlib import Path

from expressivity.runners.reports.presets import Preset
from expressivity.runners.reports.tables import TableCell


def _pyplot():
    try:
        import matplotlib
    except ModuleNotFoundError:
        raise ValueError("plots need matplotlib: pip install 'expressivity[plot]'") from None
    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    return plt


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "task"


def _save(plt, fig, path: Path) -> Path:
    """Lay the figure out, write it as PNG at `path` and free it."""
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def curves(
    cells: list[TableCell], preset: Preset, out_dir: Path, *, quick: bool = False, protocol: str | None = None
) -> list[Path]:
    """One PNG per table row: the metric (mean over seeds) against test length, one line per architecture."""
    plt = _pyplot()
    rows, _ = preset.layout(quick=quick, protocol=protocol)
    paths = []
    for row in rows:
        mine = [c for c in cells if c.row == row.label and c.curve]
        if not mine:
            continue
        fig, ax = plt.subplots(figsize=(6, 4))
        for cell in mine:
            lengths = sorted(cell.curve)
            ax.plot(lengths, [cell.curve[n] for n in lengths], marker="o", label=cell.column)
        trained = row.train.get("train_max_length", preset.sets.get("train_max_length"))
        if trained is not None:
            ax.axvline(trained, color="grey", linestyle=":", label="longest training length")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("test length")
        ax.set_ylabel(f"{preset.metric.field} (mean over seeds)")
        ax.set_title(f"{preset.name}: {row.label}")
        ax.legend(fontsize="small")
        paths.append(_save(plt, fig, out_dir / f"curves-{_slug(row.label)}.png"))
    return paths


def heatmap(
    cells: list[TableCell], preset: Preset, out_dir: Path, *, quick: bool = False, protocol: str | None = None
) -> Path:
    """One PNG: task rows x architecture columns, coloured by each cell's headline number."""
    import numpy as np

    plt = _pyplot()
    rows, columns = preset.layout(quick=quick, protocol=protocol)
    grid = np.full((len(rows), len(columns)), np.nan)
    by_cell = {(c.row, c.column): c for c in cells}
    for i, row in enumerate(rows):
        for j, column in enumerate(columns):
            cell = by_cell.get((row.label, column.label))
            if cell is not None and cell.best is not None:
                grid[i, j] = cell.best
    fig, ax = plt.subplots(figsize=(1.4 * len(columns) + 3, 0.5 * len(rows) + 2))
    image = ax.imshow(np.ma.masked_invalid(grid), cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(columns)), [c.label for c in columns], rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), [r.label for r in rows])
    for (i, j), value in np.ndenumerate(grid):
        if not np.isnan(value):
            ax.text(j, i, f"{value:.2f}" if preset.metric.scale == 1 else f"{value:.0f}", ha="center", va="center",
                    color="white" if value < np.nanmean(grid) else "black", fontsize="small")  # fmt: skip
    fig.colorbar(image, ax=ax, label=preset.metric.describe.split(":")[0])
    ax.set_title(f"{preset.grid_name(quick=quick, protocol=protocol)}: {preset.summary}", fontsize="small")
    return _save(plt, fig, out_dir / "heatmap.png")


def min_depths(
    cells: list[TableCell], preset: Preset, out_dir: Path, *, quick: bool = False, protocol: str | None = None
) -> list[Path]:
    """Depth-metric presets (Illusion of State): one PNG per group, the smallest depth whose best seed passes against
    the training length, one line per model; a length no depth passed sits one above the deepest tried, hollow."""
    plt = _pyplot()
    rows, columns = preset.layout(quick=quick, protocol=protocol)
    by_cell = {(c.row, c.column): c for c in cells}
    groups: dict[str, list] = {}
    for row in rows:
        groups.setdefault(str(row.params.get("group", row.task)), []).append(row)
    paths = []
    for group, members in groups.items():
        fig, ax = plt.subplots(figsize=(6, 4))
        plotted = False
        for column in columns:
            points = []
            for row in members:
                cell = by_cell.get((row.label, column.label))
                length = {**row.train, **row.own}.get("train_max_length")
                if cell is None or not cell.done or length is None:
                    continue
                points.append((length, cell.best, cell.max_depth))
            if not points:
                continue
            points.sort()
            plotted = True
            ys = [best if best is not None else (deepest or 0) + 1 for _, best, deepest in points]
            line = ax.plot([p[0] for p in points], ys, label=column.label)[0]
            for passed in (True, False):  # filled where a depth passed, hollow where none tried did
                marks = [(p[0], y) for p, y in zip(points, ys, strict=True) if (p[1] is not None) == passed]
                if marks:
                    face = line.get_color() if passed else "none"
                    ax.scatter(
                        *zip(*marks, strict=True), s=40 if passed else 80, facecolors=face, edgecolors=line.get_color()
                    )
        if not plotted:  # a group whose runs have not finished yet: no empty figure
            plt.close(fig)
            continue
        ax.set_xscale("log", base=2)
        ax.set_xlabel("training (and test) length")
        ax.set_ylabel(f"smallest depth reaching {preset.metric.depth_threshold}")
        ax.set_title(
            f"{preset.grid_name(quick=quick, protocol=protocol)}: {group} (hollow: no depth tried passed)",
            fontsize="small",
        )
        ax.legend(fontsize="small")
        paths.append(_save(plt, fig, out_dir / f"min-depth-{_slug(group)}.png"))
    return paths


def along_axes(
    cells: list[TableCell], preset: Preset, out_dir: Path, *, quick: bool = False, protocol: str | None = None
) -> list[Path]:
    """Rows that sweep a task parameter (`Row.axis`, e.g. the list size m of state-based recall): one PNG per axis,
    each cell's best over seeds against the parameter's value, one line per architecture, with the capacity reading's
    thresholds (theory/capacity.py) drawn across and the scaled range in view, so a flat line at 1.0 reads as one."""
    from expressivity.theory.capacity import FALLS
    from expressivity.theory.check import LEARNS

    plt = _pyplot()
    rows, columns = preset.layout(quick=quick, protocol=protocol)
    by_cell = {(c.row, c.column): c for c in cells}
    axes: dict[str, list] = {}
    for row in rows:
        if row.axis is not None:
            axes.setdefault(row.axis, []).append(row)
    paths = []
    for axis, members in axes.items():
        fig, ax = plt.subplots(figsize=(6, 4))
        plotted = False
        for column in columns:
            points = sorted(
                (row.params[axis], by_cell[(row.label, column.label)].best)
                for row in members
                if (row.label, column.label) in by_cell and by_cell[(row.label, column.label)].best is not None
            )
            if points:
                ax.plot(*zip(*points, strict=True), marker="o", label=column.label)
                plotted = True
        if not plotted:  # no run of the sweep has finished yet: no empty figure
            plt.close(fig)
            continue
        ax.axhline(LEARNS, color="grey", linestyle=":", label=f"learns ({LEARNS})")
        ax.axhline(FALLS, color="grey", linestyle="--", label=f"falls ({FALLS})")
        ax.set_ylim(min(-0.05, ax.get_ylim()[0]), 1.05)
        ax.set_xscale("log", base=2)
        ax.set_xlabel(axis)
        split = members[0].split or preset.metric.split
        ax.set_ylabel(f"{split} {preset.metric.field} (best over seeds)")
        ax.set_title(f"{preset.name}: {members[0].task} against {axis}", fontsize="small")
        ax.legend(fontsize="small")
        paths.append(_save(plt, fig, out_dir / f"against-{_slug(axis)}.png"))
    return paths


def write_plots(
    cells: list[TableCell], preset: Preset, out_dir: Path, *, quick: bool = False, protocol: str | None = None
) -> list[Path]:
    """Curves per task, the heatmap, curves along a swept task parameter (and, for a depth metric, the min-depth
    curves), written under `out_dir`
    (created); returns the paths written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    kw = {"quick": quick, "protocol": protocol}
    paths = [*curves(cells, preset, out_dir, **kw), heatmap(cells, preset, out_dir, **kw)]
    paths += along_axes(cells, preset, out_dir, **kw)
    if preset.metric.depth_threshold is not None:
        paths += min_depths(cells, preset, out_dir, **kw)
    return paths
