"""A preset's table from store rows: our number beside the published one, and the theory verdict of every cell.

    with Store(path) as st:
        cells = table_cells(presets.get("negative-eigenvalues"), st.rows())
    print(render(cells, preset, "markdown"))     # or "csv", "latex"

Pretrained models' rows (`eval-lm`) have a table of their own: pretrained.py.

One line per (task row, architecture column), long format, so the published number sits in the column beside ours
whatever the number of architectures. A store row belongs to a preset's table when its run key is in the preset's
grid (`select`: runs made with other settings, `reproduce --set`, have other keys and a grid of their own), and
its config matches a row and a column. The verdict is `theory.check` on the row's runs, all columns together (a
failure agrees with theory only where the row shows the protocol can teach the task: theory/check.py; it always
reads out-of-distribution scaled accuracy, whatever the table shows).

Beside each best: the spread over seeds (min-max) and the 95% Wilson interval of the best run's figure (its test
examples pooled over the lengths the metric averages; for a per-token metric the examples, not the tokens, are
counted, so the interval is wide rather than narrow), and per row the task's chance and shortcut (the best input-only
guess: a cell that only reaches it has not learned the task). A published figure for another task than the row's own
(running parity beside final-answer parity) is marked as a proxy.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from expressivity.runners.reports.preset import rescored
from expressivity.runners.reports.presets import Column, Preset, Published, Row
from expressivity.theory.published import task_spec

FORMATS = ("markdown", "csv", "latex")


@dataclass(frozen=True)
class TableCell:
    """One line of a table: our summary over the cell's finished runs, the published number and the verdicts."""

    row: str
    column: str
    best: float | None  # the headline (best over seeds); with a depth metric, the smallest depth that passed
    mean: float | None
    done: int  # finished runs (status done), each key once
    runs: int  # runs of the cell in the protocol's grid, made or not (a grid under way: done < runs)
    max_depth: int | None = None  # depth metric: the deepest model tried (a cell of None reads "> max_depth")
    published: Published | None = None
    express: str = "-"
    expect: str = "-"
    verdict: str = "inconclusive"
    curve: Mapping[int, float] = field(default_factory=dict)  # the metric by test length, mean over seeds
    worst: float | None = None  # the lowest over seeds (with best: the spread); depth: the slowest seed's min depth
    interval: tuple[float, float] | None = None  # 95% Wilson interval of the best run's figure
    baseline: str = "-"  # the task's chance / shortcut at the lengths the metric reads
    proxy: str = ""  # the task the published figure is for, where it is not the row's own
    reruns: int = 0  # finished runs of a key already counted (`table --also`): in best, mean and spread, not in done


LENGTH_KEYS = ("train_min_length", "train_max_length")  # what tells rows of one task apart (more --sets may differ)


def _matches(config: Mapping[str, Any], row: Row, column: Column, settings: Mapping[str, Any]) -> bool:
    if config["task"] != row.task or config["arch"] != column.arch:
        return False
    # The row's parameters with the task's defaults filled in: a row that leaves a parameter at its default (say,
    # unpadded BFE) must not also claim the runs of a sibling row that sets it (padded BFE).
    from expressivity import tasks

    defaults = tasks.get(row.task).param_defaults()
    wanted = {**defaults, **row.params}
    if any(config["task_params"].get(k, defaults.get(k)) != v for k, v in wanted.items()):
        return False
    # The training lengths tell rows apart (Illusion of State trains each row at one length); `settings` are the
    # row's protocol's `--set` keys, of which others (steps, test lengths) may be changed on the command line.
    if any(config["train"].get(k) != settings[k] for k in LENGTH_KEYS if k in settings):
        return False
    return all(_model_param(config, column.arch, k) == v for k, v in column.params.items())


def _model_param(config: Mapping[str, Any], arch: str, key: str) -> Any:
    if key in config["model_params"]:
        return config["model_params"][key]
    from expressivity import architectures

    return architectures.param_defaults(arch).get(key)


def select(
    preset: Preset,
    rows: Iterable[Mapping[str, Any]],
    *,
    quick: bool = False,
    protocol: str | None = None,
    sets: Mapping[str, Any] | None = None,
) -> list[Mapping[str, Any]]:
    """The store rows that belong to the preset's (quick) grid under a protocol variant, with command-line `sets`
    over it: those whose run key is one of the grid's. Not those merely queued under the grid's name: a run made with
    other settings (`reproduce --set steps=...`, or an older version of the protocol) has another key, and is not a
    run of this protocol."""
    keys = set(preset.grid(quick=quick, protocol=protocol, sets=sets).keys)
    return [r for r in rows if r["key"] in keys]


def metric_value(row: Mapping[str, Any], metric) -> float | None:
    """A run's figure in a table's metric: `metric.field` of its `metric.split` summary, times `metric.scale`."""
    value = ((row.get("summary") or {}).get(metric.split) or {}).get(metric.field)
    return None if value is None else float(value) * metric.scale


def table_cells(
    preset: Preset,
    rows: Iterable[Mapping[str, Any]],
    *,
    quick: bool = False,
    protocol: str | None = None,
    sets: Mapping[str, Any] | None = None,
) -> list[TableCell]:
    """Every (row, column) of the preset's layout, in layout order, summarised from the preset's store rows of one
    protocol variant (default: the preset's), with command-line `sets` over it (see `select`)."""
    from expressivity.theory import check

    variant = "testbed-v1" if quick else preset.check_protocol(protocol)
    planned = preset.grid(quick=quick, protocol=protocol, sets=sets).configs
    chosen = select(preset, rows, quick=quick, protocol=protocol, sets=sets)
    if not quick:  # a protocol that scores some test lengths only: the headline and the verdict read those
        chosen = rescored(chosen, preset.scored_lengths(variant, sets))
    depth_cells = {}  # a depth sweep is read across lengths (theory/depth.py): each run's cell of the sweep
    if preset.metric.depth_threshold is not None:
        from expressivity.theory.depth import depth_growth

        depth_cells = {key: cell for cell in depth_growth(chosen) for key in cell.keys}
    from expressivity.theory.capacity import capacity

    # A list-size sweep is read across its values (theory/capacity.py): each run's cell of the sweep.
    capacity_cells = {key: cell for cell in capacity(chosen) for key in cell.keys}
    sweeps = {**depth_cells, **capacity_cells}
    table_rows, columns = preset.layout(quick=quick, protocol=None if quick else variant)
    published = preset.published
    out = []
    for row in table_rows:
        metric = replace(preset.metric, split=row.split) if row.split else preset.metric
        settings = preset._row_sets(row, variant, quick)
        per_column = {c.label: [r for r in chosen if _matches(r["config"], row, c, settings)] for c in columns}
        # One check over the whole row: a failure agrees with theory only beside a positive control of the row.
        checked = {run.key: cell for cell in check([r for ms in per_column.values() for r in ms]) for run in cell.runs}
        for column in columns:
            members = per_column[column.label]
            done = [r for r in members if r["status"] == "done" and metric_value(r, metric) is not None]
            best = mean = max_depth = worst = interval = None
            if metric.depth_threshold is not None:
                depths = sorted({_model_param(r["config"], column.arch, "n_layers") or 0 for r in members})
                max_depth = depths[-1] if depths else None
                passed = [_model_param(r["config"], column.arch, "n_layers") for r in done]
                passed = [
                    d for d, r in zip(passed, done, strict=True) if metric_value(r, metric) >= metric.depth_threshold
                ]
                best = float(min(passed)) if passed else None
                worst = _slowest_seed_depth(done, column, metric) if passed else None
            elif done:
                values = [metric_value(r, metric) for r in done]
                best, mean, worst = max(values), sum(values) / len(values), min(values)
                interval = _interval(done[values.index(best)], metric)
            distinct = len({r["key"] for r in done})  # a rerun (`table --also`) repeats a key: counted apart below
            verdict = express = expect = "-"
            if members:
                cells = sorted({id(checked[r["key"]]): checked[r["key"]] for r in members}.values(), key=_loudness)
                verdict, express, expect = cells[0].label, cells[0].express.value, cells[0].expect.value
                # A sweep's verdict (depth against length, state against list size) replaces check's.
                sweep = next((sweeps[r["key"]] for r in members if r["key"] in sweeps), None)
                if sweep is not None:
                    verdict, expect = sweep.label, sweep.expect.value
                    # a length the sweep left out (no model of the row learned it): its rows show the protocol
                    length = members[0]["config"]["train"]["train_max_length"]
                    if length in getattr(sweep, "left_out", ()):
                        verdict = f"inconclusive (no model learned length {length})"
                    elif length in getattr(sweep, "unfinished", ()):
                        verdict = f"inconclusive (sweep unfinished at length {length})"
            out.append(
                TableCell(
                    row=row.label,
                    column=column.label,
                    best=best,
                    mean=mean,
                    done=distinct,
                    runs=sum(_matches(c, row, column, settings) for c in planned),
                    max_depth=max_depth,
                    published=published.get((row.label, column.label)),
                    express=express,
                    expect=expect,
                    verdict=verdict if members else "no runs",
                    curve=_curve(done, metric),
                    worst=worst,
                    interval=interval,
                    baseline=_baseline(row, done, metric),
                    proxy=row.ref if row.ref and row.ref != task_spec(row.task, row.params) else "",
                    reruns=len(done) - distinct,
                )
            )
    return out


def _loudness(cell) -> int:
    from expressivity.theory.check import VERDICTS

    return VERDICTS.index(cell.verdict)


def _split_lengths(row: Mapping[str, Any], split: str) -> list[int]:
    return [int(n) for n in ((row.get("summary") or {}).get(split) or {}).get("lengths") or []]


def _interval(run: Mapping[str, Any], metric) -> tuple[float, float] | None:
    """95% Wilson interval of one run's figure: its raw accuracy pooled over the split's lengths, then put on the
    metric's scale (scaled accuracy, or %)."""
    from expressivity import tasks
    from expressivity.runners.training.evaluate import scaled, wilson

    lengths, config = _split_lengths(run, metric.split), run["config"]
    by_length = run.get("metrics") or {}
    if not lengths or any(n not in by_length for n in lengths):
        return None
    task = tasks.make(config["task"], **config["task_params"])
    field = metric.field if metric.field != "scaled_acc" else f"{task.scored_by}_acc"
    n = sum(int(by_length[m].get("examples", 0)) for m in lengths)
    if n == 0:
        return None
    p = sum(float(by_length[m][field]) for m in lengths) / len(lengths)
    lo, hi = wilson(p, n)
    if metric.field == "scaled_acc":
        lo, hi = scaled(lo, task.chance), scaled(hi, task.chance)
    return lo * metric.scale, hi * metric.scale


def _baseline(row: Row, done: list[Mapping[str, Any]], metric) -> str:
    """The row's chance and shortcut in the metric's units, at the lengths its runs' metric reads."""
    from expressivity import tasks
    from expressivity.runners.training.evaluate import scaled

    task = tasks.make(row.task, **row.params)
    lengths = sorted({n for r in done for n in _split_lengths(r, metric.split)})
    declared = getattr(task, "shortcut_acc", None)
    short = sum(declared(n) for n in lengths) / len(lengths) if declared and lengths else task.chance
    if metric.field == "scaled_acc":
        return f"0 / {scaled(short, task.chance):.2f}"
    return f"{task.chance * metric.scale:.3g} / {short * metric.scale:.3g}"


def _curve(done: list[Mapping[str, Any]], metric) -> dict[int, float]:
    """Mean over runs of the metric's field at each test length (lengths every run has)."""
    if not done:
        return {}
    lengths = set.intersection(*(set(r.get("metrics") or {}) for r in done))
    return {
        int(n): sum(float(r["metrics"][n][metric.field]) for r in done) * metric.scale / len(done)
        for n in sorted(lengths)
    }


# ---- rendering -------------------------------------------------------------------------------------------------------
HEADER = ("task", "model", "ours (best)", "95% CI", "ours (mean)", "seeds min-max", "runs done", "chance / shortcut",
          "published", "source", "EXPRESS", "EXPECT", "verdict")  # fmt: skip


def _slowest_seed_depth(done: list[Mapping[str, Any]], column: Column, metric) -> float:
    """The spread of a depth cell: each seed's smallest passing depth, the largest of them (inf: a seed that no
    depth tried got past the threshold), beside the best seed's (the cell's headline)."""
    by_seed: dict[int, list[int]] = {}
    for r in done:
        passing = by_seed.setdefault(r["config"]["seed"], [])
        if metric_value(r, metric) >= metric.depth_threshold:
            passing.append(_model_param(r["config"], column.arch, "n_layers"))
    return float(max(min(depths, default=math.inf) for depths in by_seed.values()))


def _number(value: float | None, preset: Preset) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if preset.metric.scale == 100 else f"{value:.3f}"


def _fields(cell: TableCell, preset: Preset) -> list[str]:
    interval = spread = "-"
    if preset.metric.depth_threshold is not None:
        ours = f"{cell.best:.0f}" if cell.best is not None else (f"> {cell.max_depth}" if cell.done else "-")
        mean = "-"
        if cell.worst is not None:  # seeds' min depths, best to slowest
            slowest = f"> {cell.max_depth}" if cell.worst == math.inf else f"{cell.worst:.0f}"
            spread = f"[{ours}, {slowest}]"
    else:
        ours, mean = _number(cell.best, preset), _number(cell.mean, preset)
        if cell.interval is not None:
            interval = f"[{_number(cell.interval[0], preset)}, {_number(cell.interval[1], preset)}]"
        if cell.worst is not None:
            spread = f"[{_number(cell.worst, preset)}, {_number(cell.best, preset)}]"
    pub = cell.published
    published = "-" if pub is None else pub.value if isinstance(pub.value, str) else _number(pub.value, preset)
    if pub is not None and cell.proxy:
        published += " (proxy)"
    runs = f"{cell.done}/{cell.runs}" + (f" +{cell.reruns} rerun{'s' * (cell.reruns > 1)}" if cell.reruns else "")
    return [cell.row, cell.column, ours, interval, mean, spread, runs, cell.baseline, published,
            "-" if pub is None else pub.source, cell.express, cell.expect, cell.verdict]  # fmt: skip


def _sources(cells: list[TableCell]) -> list[str]:
    from expressivity.theory.sources import SOURCES

    keys = dict.fromkeys(c.published.source for c in cells if c.published is not None)
    return [f"{k}: {SOURCES.get(k, k)}" for k in keys]


def render(
    cells: list[TableCell],
    preset: Preset,
    fmt: str = "markdown",
    *,
    quick: bool = False,
    protocol: str | None = None,
    sets: Mapping[str, Any] | None = None,
) -> str:
    """The table as markdown, CSV or LaTeX text; markdown says which protocol the runs followed."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not valid; choose one of {', '.join(FORMATS)}")
    lines = [_fields(c, preset) for c in cells]
    name = preset.grid_name(quick=quick, protocol=protocol, sets=sets)
    title = f"{name}: {preset.summary}"
    ran = "the quick CPU grid (see the preset)" if quick else preset.describe_protocol(protocol)
    if sets:
        ran += "; with " + ", ".join(f"--set {k}={v}" for k, v in sorted(sets.items()))
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["preset", *HEADER])
        writer.writerows([name, *line] for line in lines)
        return buf.getvalue()
    if fmt == "markdown":
        # Rows that read another summary than the metric's (the m axis: tested in distribution) say so here.
        rows, _ = preset.layout(quick=quick, protocol=protocol)
        apart = [r for r in rows if r.split not in (None, preset.metric.split)]
        metric = preset.metric.describe + "".join(f"; row {r.label}: {r.split} {preset.metric.field}" for r in apart)
        if any(c.reruns for c in cells):  # `table --also`: a cell's best, mean and spread read its reruns too
            metric += "; a cell marked +N reruns counts its GPU reruns (same run keys) in best, mean and spread"
        out = [f"### {title}", "", f"Metric: {metric}. Protocol: {ran}.", ""]
        out.append("| " + " | ".join(HEADER) + " |")
        out.append("|" + "|".join("---" if i < 2 else "---:" if i < 9 else "---" for i in range(len(HEADER))) + "|")
        out += ["| " + " | ".join(line) + " |" for line in lines]
        sources = _sources(cells)
        if sources:
            out += ["", "Sources: " + "; ".join(sources) + "."]
        proxies = sorted({(c.row, c.proxy) for c in cells if c.proxy and c.published is not None})
        for row, task in proxies:
            out += ["", f"(proxy) {row}: the published figure is for {task}, a different task than this row's."]
        return "\n".join(out) + "\n"
    out = [
        "% " + title,
        "\\begin{tabular}{ll" + "r" * 7 + "l" * 4 + "}",
        "\\hline",
        " & ".join(tex_escape(h) for h in HEADER) + " \\\\",
        "\\hline",
    ]
    out += [" & ".join(tex_escape(v) for v in line) + " \\\\" for line in lines]
    out += ["\\hline", "\\end{tabular}", f"% metric: {preset.metric.describe}"]
    return "\n".join(out) + "\n"


_TEX = str.maketrans({"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "_": r"\_", "#": r"\#", "$": r"\$",
                      "^": r"\^{}", "{": r"\{", "}": r"\}", "~": r"\~{}"})  # fmt: skip


def tex_escape(text: str) -> str:
    """Escape LaTeX's special characters (one pass, so an escape is never escaped again)."""
    return text.translate(_TEX)
