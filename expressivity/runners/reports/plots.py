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


def curves(cells: list[TableCell], preset: Preset, out_dir: Path, *, quick: bool = False) -> list[Path]:
    """One PNG per table row: the metric (mean over seeds) against test length, one line per architecture."""
    plt = _pyplot()
    rows, _ = preset.layout(quick=quick)
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
        fig.tight_layout()
        path = out_dir / f"curves-{_slug(row.label)}.png"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        paths.append(path)
    return paths


def heatmap(cells: list[TableCell], preset: Preset, out_dir: Path, *, quick: bool = False) -> Path:
    """One PNG: task rows x architecture columns, coloured by each cell's headline number."""
    import numpy as np

    plt = _pyplot()
    rows, columns = preset.layout(quick=quick)
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
    ax.set_title(f"{preset.grid_name(quick=quick)}: {preset.summary}", fontsize="small")
    fig.tight_layout()
    path = out_dir / "heatmap.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_plots(cells: list[TableCell], preset: Preset, out_dir: Path, *, quick: bool = False) -> list[Path]:
    """Curves per task and the heatmap, written under `out_dir` (created); returns the paths written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return [*curves(cells, preset, out_dir, quick=quick), heatmap(cells, preset, out_dir, quick=quick)]
