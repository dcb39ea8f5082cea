"""What a preset is: a published table as data (presets.py holds the tables). A preset is a grid (the structure grid.py
expands from TOML), a table layout (rows are tasks, columns are architectures, a metric summarised over seeds) and the
published figures beside which ours are printed (theory.published, by source).

    preset.grid(protocol="reduced")         # a grid.Grid: every run of the table under that protocol
    preset.grid(quick=True)                  # the reduced CPU grid of `reproduce ... --quick`
    preset.published[("parity", "gdn[-1,1]")]  # Published(value=1.0, source='mamba3')

Protocols. Each row names its paper's training protocol (`Row.protocol`, a key of theory.published.PROTOCOLS: steps,
batch, optimiser, schedule, lengths, test set and model shape, with its source). A preset offers it `full` (the
paper's budget), `reduced` (the same protocol with fewer steps, where the full budget does not fit the preset's GPU
budget: the default then) and `testbed-v1`: the testbed's own first protocol (`sets`, `Row.train`), under which the
results committed before issue 14 were made and which keeps their run keys. Rows sharing one protocol become one grid
part, so every part is a plain grid.py table. `quick` is a genuinely reduced grid for 2 CPU cores in about 10
minutes: fewer rows, columns and seeds, fewer steps, smaller batches; what it cannot show is said in `needs_gpu`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from expressivity.runners.execution.grid import Grid, expand, run_seed
from expressivity.theory.published import FIGURES, PROTOCOLS, task_spec


@dataclass(frozen=True)
class Row:
    """A table row: a task with parameters, under its own training protocol (`train`, keys of `--set`)."""

    label: str
    task: str
    params: Mapping[str, Any] = field(default_factory=dict)
    train: Mapping[str, Any] = field(default_factory=dict)  # the testbed-v1 protocol's settings for this row
    protocol: str | None = None  # its paper's protocol: a key of theory.published.PROTOCOLS
    variants: tuple[str, ...] | None = None  # the protocol variants whose table has this row (None: every one)
    own: Mapping[str, Any] = field(default_factory=dict)  # keys the row keeps under every protocol (its fixed length)
    ref: str | None = None  # the task spec whose published figures this row shows (default: its own: `spec`)
    split: str | None = None  # the summary its cells read, where not the metric's ("id": tested at its training n)
    axis: str | None = None  # a task parameter along which rows with the same axis form a sweep (plotted against it)

    @property
    def spec(self) -> str:
        """The task as published figures name it (theory.published.task_spec)."""
        return self.ref or task_spec(self.task, self.params)


TESTBED = "testbed-v1"  # the testbed's own first protocol: the committed results before issue 14 ran under it
VARIANTS = ("reduced", "full", TESTBED)


@dataclass(frozen=True)
class Column:
    """A table column: an architecture with parameters (a model class such as GDN [-1,1]); `paper` adds what the
    papers' protocols give this column (e.g. Deletang et al.'s LSTM: one layer of 256 cells, no residual block)."""

    label: str
    arch: str
    params: Mapping[str, Any] = field(default_factory=dict)
    paper: Mapping[str, Any] = field(default_factory=dict)
    sweep: Mapping[str, list] = field(default_factory=dict)  # its own [sweep] (e.g. depths), besides the preset's
    variants: tuple[str, ...] | None = None  # the protocol variants whose table has this column (None: every one)


@dataclass(frozen=True)
class Metric:
    """What a cell shows: `field` of the `split` summary (ood: lengths above training), times `scale`, summarised
    over seeds by best (the headline, as Grazzi et al. and Deletang et al. report) and mean. With `depth_threshold`
    the cell is instead the smallest `n_layers` whose best seed reaches that value (Illusion of State)."""

    field: str = "scaled_acc"
    split: str = "ood"
    scale: float = 1.0
    depth_threshold: float | None = None

    @property
    def describe(self) -> str:
        what = f"{self.split} {self.field}" + (" (%)" if self.scale == 100 else "")
        if self.depth_threshold is not None:
            return (
                f"smallest depth (n_layers) whose best seed reaches {self.split} {self.field} >= {self.depth_threshold}"
            )
        return f"{what}: best over seeds (mean beside it)"


@dataclass(frozen=True)
class Published:
    value: float | str  # a number in the metric's units, or a qualitative finding ("grows with length")
    source: str  # a key of theory.sources.SOURCES


@dataclass(frozen=True)
class Quick:
    """The reduced CPU grid: subsets of rows (or its own rows) and columns by label, its seeds, extra `--set`s."""

    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    seeds: tuple[int, ...] = (0,)
    sets: Mapping[str, Any] = field(default_factory=dict)
    sweep: Mapping[str, list] = field(default_factory=dict)


@dataclass(frozen=True)
class Preset:
    name: str
    summary: str
    rows: tuple[Row, ...]
    columns: tuple[Column, ...]
    quick: Quick
    needs_gpu: str  # what only the full GPU grid can show (printed by `reproduce --quick`)
    metric: Metric = Metric()
    sources: tuple[str, ...] = ()  # whose published figures (theory.published) the table prints beside ours
    sets: Mapping[str, Any] = field(default_factory=dict)  # [set] of every run
    sweep: Mapping[str, list] = field(default_factory=dict)  # [sweep] of every run
    seeds: tuple[int, ...] = (0, 1, 2)
    size: str = "tiny"
    budget: str = ""  # how the full grid fits its GPU budget
    protocols: tuple[str, ...] = (TESTBED,)  # the protocol variants it offers, the default first

    @property
    def protocol(self) -> str:
        """The protocol variant `reproduce` runs by default."""
        return self.protocols[0]

    def check_protocol(self, variant: str | None) -> str:
        variant = variant or self.protocol
        if variant not in self.protocols:
            raise ValueError(f"{self.name} offers the protocols {', '.join(self.protocols)}, not {variant!r}")
        return variant

    def row_settings(self, row: Row, variant: str) -> dict[str, Any]:
        """The training `--set` keys of one row under a protocol variant (its model keys: `row_model`)."""
        if variant == TESTBED or row.protocol is None:
            return {**self.sets, **row.train}
        protocol = PROTOCOLS[row.protocol]
        return {**{k: v for k, v in protocol.settings(variant).items() if k not in protocol.model}, **row.own}

    def row_model(self, row: Row, variant: str, column: Column) -> dict[str, Any]:
        """The model keys a row's paper protocol gives a column (those its architecture takes), then the column's
        own paper settings."""
        if variant == TESTBED or row.protocol is None:
            return dict(column.params)
        from expressivity import architectures

        takes = architectures.param_defaults(column.arch)
        model = {k: v for k, v in PROTOCOLS[row.protocol].model_settings(variant).items() if k in takes}
        return {**model, **column.params, **column.paper}

    def describe_protocol(self, variant: str | None = None) -> str:
        """Which protocol a table of this preset shows, in words, with its sources."""
        variant = self.check_protocol(variant)
        if variant == TESTBED:
            return f"{TESTBED}: the testbed's first protocol (tiny models, 3000 steps of batch 128; see the preset)"
        names = dict.fromkeys(r.protocol for r in self.rows if r.protocol)
        reduced = variant == "reduced"
        parts = [PROTOCOLS[n].summary + (f"; reduced: {PROTOCOLS[n].reduced_why}" if reduced else "") for n in names]
        return f"{variant} ({', '.join(names)}): " + " | ".join(parts)

    @property
    def published(self) -> dict[tuple[str, str], Published]:
        """{(row label, column label): Published} for every row (quick rows too) with a figure in `sources`; the
        first source that has a cell wins."""
        out: dict[tuple[str, str], Published] = {}
        for source in self.sources:
            for row in (*self.rows, *self.quick.rows):
                for column in self.columns:
                    figure = FIGURES.get((source, row.spec, column.label))
                    if figure is not None:
                        out.setdefault((row.label, column.label), Published(figure.value, source))
        return out

    def layout(self, *, quick: bool = False, protocol: str | None = None) -> tuple[tuple[Row, ...], tuple[Column, ...]]:
        """The rows and columns of the full table under a protocol variant, or of the quick one."""
        if not quick:
            variant = self.check_protocol(protocol)
            rows = tuple(r for r in self.rows if r.variants is None or variant in r.variants)
            return rows, tuple(c for c in self.columns if c.variants is None or variant in c.variants)
        by_label = {c.label: c for c in self.columns}
        return self.quick.rows, tuple(by_label[label] for label in self.quick.columns)

    def grid_name(
        self, *, quick: bool = False, protocol: str | None = None, sets: Mapping[str, Any] | None = None
    ) -> str:
        """The grid's name in the store: NAME-quick, NAME (testbed-v1: the committed results') or NAME-VARIANT, and
        with command-line `sets` a suffix `-set-` and 8 hex digits of their hash, so that runs made with other
        steps, say, are queued under a grid of their own rather than the protocol's."""
        if quick:
            name = f"{self.name}-quick"
        else:
            variant = self.check_protocol(protocol)
            name = self.name if variant == TESTBED else f"{self.name}-{variant}"
        if not sets:
            return name
        digest = hashlib.sha1(json.dumps(dict(sets), sort_keys=True, default=str).encode()).hexdigest()[:8]
        return f"{name}-set-{digest}"

    def _row_sets(self, row: Row, variant: str, quick: bool) -> dict[str, Any]:
        """A row's `--set` keys: its protocol's; on the quick grid, the preset's [set] < the quick's < the row's."""
        if quick:
            return {**self.sets, **self.quick.sets, **row.train}
        return self.row_settings(row, variant)

    def pick(
        self, rows: tuple[Row, ...], columns: tuple[Column, ...], only_rows: Sequence[str], only_columns: Sequence[str]
    ) -> tuple[tuple[Row, ...], tuple[Column, ...]]:
        """The rows and columns named (by label; none named: all), e.g. for a pilot of part of a grid; an unknown
        label is a ValueError naming the valid ones."""
        for kind, have, named in (("row", rows, only_rows), ("column", columns, only_columns)):
            labels = [x.label for x in have]
            unknown = [n for n in named if n not in labels]
            if unknown:
                raise ValueError(f"{self.name} has no {kind} {unknown[0]!r}; valid: {'; '.join(labels)}")
        return (tuple(r for r in rows if not only_rows or r.label in only_rows),
                tuple(c for c in columns if not only_columns or c.label in only_columns))  # fmt: skip

    def specs(
        self,
        *,
        quick: bool = False,
        sets: Mapping[str, Any] | None = None,
        protocol: str | None = None,
        rows: Sequence[str] = (),
        columns: Sequence[str] = (),
    ) -> list[dict[str, Any]]:
        """The grid.py tables of this preset: one per distinct row protocol; command-line `sets` over everything;
        `rows` and `columns` (labels) keep only those."""
        rows, columns = self.pick(*self.layout(quick=quick, protocol=protocol), rows, columns)
        variant = TESTBED if quick else self.check_protocol(protocol)
        parts: dict[str, list[Row]] = {}
        for row in rows:
            parts.setdefault(repr(sorted(self._row_sets(row, variant, quick).items())), []).append(row)
        by_sweep: dict[str, list[Column]] = {}  # columns with their own sweep (a depth sweep) form their own part
        for column in columns:
            by_sweep.setdefault(repr(sorted(column.sweep.items())), []).append(column)
        return [
            {
                "name": self.grid_name(quick=quick, protocol=protocol, sets=sets),
                "tasks": [{"name": r.task, **r.params} for r in members],
                "archs": [{"name": c.arch, **self.row_model(members[0], variant, c)} for c in cols],
                "sizes": [self.size],
                "seeds": list(self.quick.seeds if quick else self.seeds),
                "set": {**self._row_sets(members[0], variant, quick), **(sets or {})},
                "sweep": {**self.sweep, **cols[0].sweep, **(self.quick.sweep if quick else {})},
            }
            for members in parts.values()
            for cols in by_sweep.values()
        ]

    def grid(
        self,
        *,
        quick: bool = False,
        sets: Mapping[str, Any] | None = None,
        protocol: str | None = None,
        rows: Sequence[str] = (),
        columns: Sequence[str] = (),
        depths: Sequence[int] = (),
        seeds: Sequence[int] = (),
    ) -> Grid:
        """Every run of the preset under a protocol variant (resolved and validated), parts in order, identical
        configs once; `rows` and `columns` (labels) keep only those, `depths` only the runs of those n_layers, `seeds`
        only those seeds (a run keeps its key: a pilot's runs count for the whole grid later)."""
        configs: dict[str, dict[str, Any]] = {}
        name = self.grid_name(quick=quick, protocol=protocol, sets=sets)
        for spec in self.specs(quick=quick, sets=sets, protocol=protocol, rows=rows, columns=columns):
            part = expand(spec, name=name)
            configs.update((k, c) for k, c in zip(part.keys, part.configs, strict=True) if k not in configs)
        grid = Grid(name=name, configs=list(configs.values()))
        return grid.only(depths, run_depth, "depth (n_layers)").only(seeds, run_seed, "seed")

    def scored_lengths(self, variant: str, sets: Mapping[str, Any] | None = None) -> dict[str, tuple[int, ...]]:
        """Run key -> the out-of-distribution lengths its row's protocol scores (Protocol.scored_lengths), for the
        runs of the rows whose protocol names some, under a protocol variant with command-line `sets`."""
        if variant == TESTBED:
            return {}
        out: dict[str, tuple[int, ...]] = {}
        for row in self.layout(protocol=variant)[0]:
            lengths = PROTOCOLS[row.protocol].scored_lengths if row.protocol else ()
            if lengths:
                out.update(dict.fromkeys(self.grid(protocol=variant, sets=sets, rows=[row.label]).keys, lengths))
        return out


def rescored(rows: Iterable[Mapping[str, Any]], lengths_by_key: Mapping[str, Sequence[int]]) -> list[Mapping[str, Any]]:
    """Store rows with the summary of each run in `lengths_by_key` recomputed so that its "ood" split averages those
    lengths only (evaluate.summarize); other rows as they are. Nothing is written back: the store keeps every length."""
    from expressivity.runners.training.evaluate import summarize

    out = []
    for row in rows:
        lengths = lengths_by_key.get(row.get("key", ""))
        if lengths and row.get("metrics"):
            summary = summarize(row["metrics"], row["config"]["train"]["train_max_length"], lengths)
            row = {**row, "summary": summary}
        out.append(row)
    return out


def run_depth(config: Mapping[str, Any]) -> int:
    """A run's number of layers, its size's default where n_layers is not set."""
    from expressivity import architectures

    return len(architectures.layer_letters(config["arch"], config["size"], **config["model_params"]))
