"""This package's tasks as lm-evaluation-harness tasks, so that any model lm-eval runs sees the same generators.

    expressivity export-lm-eval parity word_problem --lengths 8,16 --examples 64 --out lm_tasks
    lm_eval --model hf --model_args pretrained=PATH --include_path lm_tasks --tasks expressivity_parity_8

What DIR holds (no path in it depends on the working directory: the YAMLs name a loader beside them, which reads the
JSONL beside itself):

    expressivity_data.py             the loader every YAML names (`custom_dataset: !function expressivity_data.load`)
    NAME_LENGTH.yaml                 one lm-eval task per task and length, e.g. expressivity_parity_16
    NAME_LENGTH.jsonl                its examples, one per line: {"prompt", "answer", "length", "index"}
    NAME_LENGTH.fewshot.jsonl        a pool of other examples at that length, with --fewshot K > 0
    tokenizers/NAME/                 a word-level tokenizer of the task's vocabulary (token i is id i, as this
                                     package's models read tasks), for a model trained here, which has none

What is scored: the final answer only. An example is the task's input up to and including its last scored position,
the tokens joined by single spaces (BOS left to the tokenizer); the answer is the target there: a running task's state
after the whole sequence (its `final_acc`), a final-answer task's answer. lm-eval scores it as `output_type:
loglikelihood`; its `acc` is 1 when the answer is the model's greedy continuation (every answer token the argmax over
the model's whole vocabulary), so on a model with a task-vocabulary tokenizer it is exactly this package's own
`final_acc` on the same examples: the examples of length n are those `evaluate_by_length(model, task, lengths,
np.random.default_rng(seed), num_examples=N, batch_size=64)` draws, lengths in increasing order. Few-shot examples
(lm-eval's `num_fewshot`) come from a separate draw at the same length, joined by lm-eval's blank line: they are for
pretrained tokenizers; a task-vocabulary tokenizer has no word for a blank line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

PREFIX = "expressivity"
LOADER = "expressivity_data"
DRAW_BATCH = 64  # evaluate_by_length's default batch size: the examples are drawn in batches of this many
FEWSHOT_POOL = 8  # few-shot examples written per requested shot

_LOADER_SOURCE = '''"""Reads the examples that `expressivity export-lm-eval` wrote beside this file."""

import json
from pathlib import Path

import datasets

HERE = Path(__file__).resolve().parent


def _read(name):
    with open(HERE / name, encoding="utf-8") as f:
        return datasets.Dataset.from_list([json.loads(line) for line in f])


def load(data_file, fewshot_file=None, **_):
    splits = {"test": _read(data_file)}
    if fewshot_file:
        splits["train"] = _read(fewshot_file)
    return datasets.DatasetDict(splits)
'''


@dataclass(frozen=True)
class Exported:
    """One exported lm-eval task: a task of this package at one length."""

    name: str  # the lm-eval task name, e.g. expressivity_parity_16
    base: str  # the name without the length (tokenizers/<base>)
    task: Any  # the Task
    length: int
    examples: int


def base_name(task) -> str:
    """expressivity_<task>, with its parameters that differ from the defaults (expressivity_word_problem_group-S3)."""
    defaults = type(task).param_defaults()
    tags = [f"{k}-{v}" for k, v in task.params.items() if v != defaults[k]]
    return re.sub(r"[^A-Za-z0-9_.-]", "-", "_".join([PREFIX, task.name, *tags]))


def _example(task, batch, i: int, last: int) -> dict[str, Any]:
    tokens = task.decode(batch.inputs[i, 1 : last + 1])  # position 0 is BOS: the tokenizer's to add
    answer = task.vocab[int(batch.targets[i, last])]
    # lm-eval moves a context's trailing whitespace into the continuation: such a token would change sides.
    for what, token in (("last prompt token", tokens[-1]), ("answer", answer)):
        if not token.strip():
            raise ValueError(f"{task.name}: its {what} {token!r} is whitespace, which lm-eval strips from a context")
    return {"prompt": " ".join(tokens), "answer": answer}


def draw(task, length: int, num: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    """`num` examples of `task` at `length` from `rng`, drawn in batches of DRAW_BATCH as evaluate_by_length draws."""
    from expressivity.runners.training.evaluate import last_scored

    out: list[dict[str, Any]] = []
    while len(out) < num:
        batch = task.sample(rng, min(DRAW_BATCH, num - len(out)), length)
        for i, last in enumerate(last_scored(batch.mask)):
            out.append({**_example(task, batch, i, int(last)), "length": length, "index": len(out)})
    return out


def _yaml(name: str, base: str, data: str, fewshot_file: str | None, shots: int, meta: dict[str, Any]) -> str:
    q = json.dumps  # a JSON string is a YAML scalar: no quoting rules of our own
    kwargs = {"data_file": data, **({"fewshot_file": fewshot_file} if fewshot_file else {})}
    lines = [
        "# Written by `expressivity export-lm-eval`: one task of the expressivity testbed at one length.",
        f"task: {q(name)}",
        f"tag: [{q(base)}, {q(PREFIX)}]",
        f"custom_dataset: !function {LOADER}.load",
        f"dataset_kwargs: {q(kwargs)}",
        "test_split: test",
        *(["fewshot_split: train"] if fewshot_file else []),
        f"num_fewshot: {shots}",
        "output_type: loglikelihood",
        "doc_to_text: prompt",
        # loglikelihood requests take the target as it is: the space goes into it, and none between (few-shot)
        "doc_to_target: \"{{' ' + answer}}\"",
        'target_delimiter: ""',
        "metric_list:",
        "  - metric: acc",
        "    aggregation: mean",
        "    higher_is_better: true",
        f"metadata: {q({'version': 1.0, **meta})}",
    ]
    return "\n".join(lines) + "\n"


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)


def export(
    specs: list, lengths: list[int], *, examples: int, seed: int = 0, fewshot: int = 0, out: Path
) -> list[Exported]:
    """Write every task of `specs` (Task objects) at every length of `lengths` into `out` as lm-eval tasks; returns
    what was written, in order. Same seed, same examples (per task: one rng over the lengths in increasing order)."""
    if examples < 1 or fewshot < 0:
        raise ValueError(f"--examples must be >= 1 and --fewshot >= 0, got {examples} and {fewshot}")
    lengths = sorted(set(lengths))
    bases = [base_name(t) for t in specs]
    if len(set(bases)) != len(bases):
        raise ValueError(f"a task is named twice: {', '.join(bases)}")
    for task in specs:
        for n in lengths:
            task.check_length(n)  # one line naming the task's lengths, before anything is written
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{LOADER}.py").write_text(_LOADER_SOURCE)
    written = []
    for task, base in zip(specs, bases, strict=True):
        rng = np.random.default_rng(seed)
        shots_rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1,)))
        for n in lengths:
            name = f"{base}_{n}"
            _write_jsonl(out / f"{name}.jsonl", draw(task, n, examples, rng))
            pool = None
            if fewshot:
                pool = f"{name}.fewshot.jsonl"
                _write_jsonl(out / pool, draw(task, n, FEWSHOT_POOL * fewshot, shots_rng))
            meta = {"task": task.name, "task_params": task.params, "length": n, "examples": examples, "seed": seed,
                    "scored": "final answer, greedy", "vocab": task.vocab}  # fmt: skip
            (out / f"{name}.yaml").write_text(_yaml(name, base, f"{name}.jsonl", pool, fewshot, meta))
            written.append(Exported(name=name, base=base, task=task, length=n, examples=examples))
    return written


def write_tokenizers(exported: list[Exported], out: Path) -> list[Path]:
    """tokenizers/<base>/ for every exported task: its vocabulary as a word-level tokenizer (needs transformers)."""
    from expressivity.architectures.hf import vocab_tokenizer
    from expressivity.tasks.base import BOS, PAD

    paths = []
    for e in {e.base: e for e in exported}.values():
        path = out / "tokenizers" / e.base
        vocab_tokenizer(e.task.vocab, pad=PAD, bos=BOS).save_pretrained(path)
        paths.append(path)
    return paths
