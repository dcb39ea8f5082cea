"""`eval-lm`: this package's tasks through lm-evaluation-harness's Python API, on a transformers model (a local model
directory) or a model of this package (through `architectures.hf.to_hf`), each result a row of the result store.

    results = eval_lm("models/olmo-small", [tasks.make("parity")], [8, 16], examples=64)
    record(Store("runs/results.sqlite"), results)       # one row per (model, task), metrics by length

The tasks are exported as `export-lm-eval` writes them (lm_eval_export.py says what is scored: the final answer only,
greedy) into a temporary folder (or `out`) and run with lm-eval's `HFLM`, so a row's accuracy is what `lm_eval
--include_path DIR` prints for the same export. A model directory without a tokenizer (a model trained here and saved
with `to_hf`) and a model of this package are given one per task, built from the task's vocabulary: token i is id i,
as this package's models read tasks, and BOS is prepended; such a model needs a vocab_size that covers the task's.

A row: arch "hf:<name>" (the model folder's name, or --name), size "pretrained", model_params the summary of its HF
config (`architectures.hf.summary`: type, layer pattern, neg_eigval, widths: what theory reads its class from; a model
type whose layers do not map has layers None and class "unknown"), train the evaluation protocol (lengths, examples,
seed, shots, tokenizer; train_max_length 0: no length was trained on, so every length counts as out-of-distribution),
metrics by length with final_acc = lm-eval's acc and scaled_acc against the task's chance.
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path
from typing import Any

from expressivity.runners.reports.lm_eval_export import Exported, export

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model")


def _lm_eval():
    try:
        import lm_eval
        from lm_eval.models.huggingface import HFLM
        from lm_eval.tasks import TaskManager
    except ImportError:
        raise ValueError(
            "lm-eval is not installed: install the `hf` extra (pip install -r requirements-cpu.txt 'expressivity[hf]')"
        ) from None
    return lm_eval.simple_evaluate, HFLM, TaskManager


def load_model(spec: Any, *, store: Path | None = None) -> tuple[Any, str, bool]:
    """(HF model or model directory, name, whether it has a tokenizer) for `spec`: a transformers model directory, a
    hub id (org/name, fetched by transformers where the hub is reachable), a finished run of `store` whose checkpoint
    was kept ("run:KEY"), a transformers model or a model of this package."""
    from expressivity.architectures.hf import to_hf

    if isinstance(spec, str) and spec.startswith("run:"):
        return _from_run(spec[4:], store), f"run-{spec[4:]}", False
    if isinstance(spec, (str, Path)):
        path = Path(spec)
        if not path.exists() and re.fullmatch(r"[\w.-]+/[\w.-]+", str(spec)):  # a hub id (org/name): it has a tokenizer
            return str(spec), str(spec).split("/")[-1], True
        if not (path / "config.json").is_file():
            raise ValueError(f"{spec} is not a transformers model directory (no config.json), a hub id nor run:KEY")
        has_tokenizer = any((path / f).is_file() for f in TOKENIZER_FILES)
        return str(path.resolve()), path.resolve().name, has_tokenizer
    if hasattr(spec, "cfg") and hasattr(spec, "state_size"):  # a SequenceModel
        return to_hf(spec), "sequence-model", False
    return spec, getattr(spec.config, "name_or_path", "") or spec.config.model_type, False


def _from_run(key: str, store: Path | None):
    import torch

    from expressivity import tasks
    from expressivity.architectures.hf import to_hf
    from expressivity.runners.execution.checkpoints import checkpoint_path
    from expressivity.runners.execution.store import Store
    from expressivity.runners.training.train import build_model

    if store is None or not Path(store).is_file():
        raise ValueError(f"run:{key} needs the result store that holds the run (--store)")
    with Store(store, readonly=True) as st:
        row, path = st.get(key), checkpoint_path(st, key)
    if row is None or row["status"] != "done" or not path.is_file():
        raise ValueError(f"run {key} is not a finished run of {store} with a kept checkpoint (train --keep-checkpoint)")
    config = row["config"]
    model = build_model(config, len(tasks.make(config["task"], **config["task_params"]).vocab))
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True)["model"])
    return to_hf(model)


def _hf_config(model: Any):
    if not isinstance(model, str):
        return model.config
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(model)
    except OSError as err:  # a hub id that cannot be fetched here, a broken folder
        raise ValueError(f"cannot read the config of {model}: {str(err).splitlines()[0]}") from None


def _evaluate(model, exported: list[Exported], folder: Path, *, tokenizer, batch_size: int, device: str | None):
    """({lm-eval task name: (acc, examples)}, {"device", "num_params"}) for `exported` on `model` through lm-eval's
    Python API."""
    import random

    import numpy as np
    import torch

    simple_evaluate, HFLM, TaskManager = _lm_eval()
    kwargs = {"batch_size": batch_size}
    if isinstance(model, str):
        kwargs.update(device=device or ("cuda" if torch.cuda.is_available() else "cpu"), dtype="auto")
    lm = HFLM(pretrained=model, tokenizer=tokenizer, **kwargs)
    manager = TaskManager(include_path=str(folder), include_defaults=False)  # no index of lm-eval's own tasks
    py_state, np_state = random.getstate(), np.random.get_state()
    try:  # lm-eval seeds the global generators: leave the caller's as they were
        with torch.random.fork_rng(devices=[]):
            results = simple_evaluate(
                model=lm, tasks=[e.name for e in exported], task_manager=manager, bootstrap_iters=0, log_samples=False
            )
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
    info = {"device": str(lm.device), "num_params": sum(p.numel() for p in lm.model.parameters())}
    return {e.name: (float(results["results"][e.name]["acc,none"]), e.examples) for e in exported}, info


def eval_lm(
    model: Any,
    specs: list,
    lengths: list[int],
    *,
    examples: int,
    seed: int = 0,
    fewshot: int = 0,
    name: str | None = None,
    batch_size: int = 8,
    device: str | None = None,
    store: Path | None = None,
    out: Path | None = None,
) -> list[dict[str, Any]]:
    """Run `specs` (Task objects) at `lengths` through lm-eval on `model` (see `load_model`); returns one
    {"config", "result"} per task, ready for `record`. `out` keeps the exported tasks (default: a temporary folder)."""
    from expressivity.architectures.hf import summary, vocab_tokenizer
    from expressivity.tasks.base import BOS, PAD

    _lm_eval()  # before any loading: a missing extra is one line
    loaded, default_name, has_tokenizer = load_model(model, store=store)
    hf_config = _hf_config(loaded)
    if not has_tokenizer and fewshot:
        raise ValueError("few-shot prompts join examples with a blank line, which a task-vocabulary tokenizer lacks")
    for task in specs if not has_tokenizer else []:
        if len(task.vocab) > hf_config.vocab_size:
            raise ValueError(f"{task.name} has {len(task.vocab)} tokens; the model reads {hf_config.vocab_size} ids")
    if not has_tokenizer and not isinstance(loaded, str):
        loaded.eval()
    elif not has_tokenizer:
        from transformers import AutoModelForCausalLM

        loaded = AutoModelForCausalLM.from_pretrained(loaded, dtype="auto").eval()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="expressivity-lm-eval-") as tmp:
        folder = Path(out) if out is not None else Path(tmp)
        exported = export(specs, lengths, examples=examples, seed=seed, fewshot=fewshot, out=folder)
        accs: dict[str, tuple[float, int]] = {}
        if has_tokenizer:
            accs, info = _evaluate(loaded, exported, folder, tokenizer=None, batch_size=batch_size, device=device)
        else:
            for task in specs:
                mine = [e for e in exported if e.task is task]
                tok = vocab_tokenizer(task.vocab, pad=PAD, bos=BOS)
                done, info = _evaluate(loaded, mine, folder, tokenizer=tok, batch_size=batch_size, device=device)
                accs.update(done)
    seconds = time.perf_counter() - started
    protocol = {"protocol": "lm-eval", "scored": "final", "eval_lengths": tuple(sorted(set(lengths))),
                "eval_examples": examples, "num_fewshot": fewshot, "train_max_length": 0,
                "tokenizer": "model" if has_tokenizer else "task vocabulary"}  # fmt: skip
    rows, model_params = [], summary(hf_config)
    for task in specs:
        mine = [e for e in exported if e.task is task]
        config = {"task": task.name, "task_params": task.params, "arch": f"hf:{name or default_name}",
                  "size": "pretrained", "model_params": model_params, "seed": seed, "train": protocol}  # fmt: skip
        result = _result(task, {e.length: accs[e.name] for e in mine}, {**info, "eval_seconds": seconds})
        rows.append({"config": config, "result": result})
    return rows


def _result(task, accs: dict[int, tuple[float, int]], info: dict[str, Any]) -> dict[str, Any]:
    from expressivity.runners.training.evaluate import scaled, summarize

    metrics = {
        n: {"final_acc": acc, "token_acc": None, "seq_acc": None, "scaled_acc": scaled(acc, task.chance),
            "examples": count}
        for n, (acc, count) in accs.items()
    }  # fmt: skip
    return {"status": "done", "stop_reason": "lm-eval", "steps": 0, "metrics": metrics,
            "summary": summarize(metrics, 0), **info}  # fmt: skip


def record(store, rows: list[dict[str, Any]]) -> list[str]:
    """Write eval-lm results as store rows (replacing a row of the same key: the same evaluation again); their keys."""
    from expressivity.runners.execution.owners import owner_id
    from expressivity.runners.execution.store import FINISHED
    from expressivity.runners.training.config import run_key

    keys, owner = [], owner_id()
    for row in rows:
        key = run_key(row["config"])
        store.enqueue([row["config"]])
        if store.get(key)["status"] in FINISHED:
            store.requeue([key])
        if store.claim(owner, [key]) is None:
            raise ValueError(f"row {key} is being written by another live process")
        store.finish(key, owner, row["result"])
        keys.append(key)
    return keys
