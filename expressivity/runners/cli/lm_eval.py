"""The lm-eval commands of the CLI: `export-lm-eval` and `eval-lm` (the logic is in runners/reports/lm_eval*.py).

expressivity export-lm-eval parity word_problem --lengths 8,16 --examples 64 --out lm_tasks
lm_eval --model hf --model_args pretrained=MODEL --include_path lm_tasks --tasks expressivity_parity_8
expressivity eval-lm models/olmo-small parity word_problem --set group=S3 --lengths 8,16 --examples 64
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from expressivity.runners.cli.app import app, friendly_errors
from expressivity.runners.cli.shared import DEFAULT_STORE, StoreOption

TasksArgument = Annotated[list[str], typer.Argument(help="Task names (see `expressivity tasks`).")]
LengthsOption = Annotated[str, typer.Option("--lengths", help="Comma-separated lengths, in the tasks' own units.")]
ExamplesOption = Annotated[int, typer.Option("--examples", help="Examples per task and length.")]
SeedOption = Annotated[int, typer.Option("--seed", help="Seed of the examples (np.random.default_rng(seed)).")]
FewshotOption = Annotated[int, typer.Option("--fewshot", help="Few-shot examples before each prompt (lm-eval).")]
SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="key=value for a task parameter, given to every named task that takes it."),
]


def make_tasks(names: list[str], sets: list[str] | None) -> list:
    """The named tasks with `--set` parameters, each key given to every named task that takes it (one line naming
    the valid keys when none does)."""
    from expressivity import tasks
    from expressivity.runners.training.options import parse_sets

    params = parse_sets(sets)
    takes = {n: tasks.get(n).param_defaults() for n in names}  # ValueError naming the tasks on an unknown name
    for key in params:
        if not any(key in p for p in takes.values()):
            valid = sorted({k for p in takes.values() for k in p})
            raise ValueError(f"no named task takes {key!r}; their parameters: {', '.join(valid) or 'none'}")
    return [tasks.make(n, **{k: v for k, v in params.items() if k in takes[n]}) for n in names]


def parse_lengths(text: str) -> list[int]:
    try:
        lengths = sorted({int(v) for v in text.replace(" ", "").split(",") if v})
    except ValueError:
        raise ValueError(f"--lengths must be comma-separated integers such as 8,16,32, got {text!r}") from None
    if not lengths or lengths[0] < 1:
        raise ValueError(f"--lengths must be positive integers such as 8,16,32, got {text!r}")
    return lengths


@app.command("export-lm-eval")
@friendly_errors
def export_command(
    names: TasksArgument,
    out: Annotated[Path, typer.Option("--out", help="The folder to write the lm-eval tasks into.")],
    lengths: LengthsOption = "8,16,32",
    examples: ExamplesOption = 64,
    seed: SeedOption = 0,
    fewshot: FewshotOption = 0,
    sets: SetOption = None,
) -> None:
    """Write each task at each length as an lm-eval task (YAML and JSONL, scored by the log-likelihood of the final
    answer), for `lm_eval --include_path OUT --tasks ...` on any model lm-eval runs; with the `hf` extra, also a
    tokenizer of each task's vocabulary (OUT/tokenizers/NAME) for models trained here."""
    from expressivity.runners.reports.lm_eval_export import export, write_tokenizers

    exported = export(make_tasks(names, sets), parse_lengths(lengths), examples=examples, seed=seed, fewshot=fewshot,
                      out=out)  # fmt: skip
    for e in exported:
        typer.echo(f"{e.name}: {e.examples} examples")
    try:
        for path in write_tokenizers(exported, out):
            typer.echo(f"tokenizer {path}")
    except ValueError as err:  # no transformers: the tasks are complete without tokenizers
        typer.echo(f"no tokenizers written: {err}")
    typer.echo(f"run: lm_eval --model hf --model_args pretrained=MODEL --include_path {out} --tasks {exported[0].name}")


@app.command("eval-lm")
@friendly_errors
def eval_lm_command(
    model: Annotated[
        str, typer.Argument(help="A transformers model directory, a hub id (org/name), or run:KEY (a run in --store).")
    ],
    names: TasksArgument,
    lengths: LengthsOption = "8,16,32",
    examples: ExamplesOption = 64,
    seed: SeedOption = 0,
    fewshot: FewshotOption = 0,
    sets: SetOption = None,
    name: Annotated[str | None, typer.Option("--name", help="The row's arch is hf:NAME (default: the folder).")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="lm-eval's batch size.")] = 8,
    device: Annotated[str | None, typer.Option("--device", help="cpu, cuda, cuda:1 (default: cuda if any).")] = None,
    keep: Annotated[Path | None, typer.Option("--keep", help="Keep the exported lm-eval tasks in this folder.")] = None,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Run tasks through lm-eval's Python API on a transformers model (or a run of this package, converted) and
    store one row per task (arch hf:NAME, metrics by length); `table` and `check` read them."""
    from expressivity.runners.execution.store import Store
    from expressivity.runners.reports.lm_eval import eval_lm, record

    rows = eval_lm(model, make_tasks(names, sets), parse_lengths(lengths), examples=examples, seed=seed,
                   fewshot=fewshot, name=name, batch_size=batch_size, device=device, store=store, out=keep)  # fmt: skip
    with Store(store) as st:
        keys = record(st, rows)
    for row, key in zip(rows, keys, strict=True):
        config, metrics = row["config"], row["result"]["metrics"]
        accs = ", ".join(f"{n}: {m['final_acc']:.3f}" for n, m in sorted(metrics.items()))
        typer.echo(f"{key}  {config['arch']}  {config['task']}  final acc by length {accs}")
    typer.echo(f"{len(keys)} row(s) in {store}; `expressivity table eval-lm --store {store}` shows them")
