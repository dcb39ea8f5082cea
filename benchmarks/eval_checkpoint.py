"""Test a stored run's checkpoint at other lengths or task parameters than its own, without training: e.g. whether
recall learned on lists of up to 64 bits holds at 128 and 256.

    python benchmarks/eval_checkpoint.py --store S.sqlite --key KEY --checkpoint KEY.pt --lengths 64 128 256 \
        [--set lookups=1] [--part indexed_recall] [--examples 1000] [--threads 1]

The run's config comes from the store (its row, by key), the weights from the checkpoint (which must be the run's:
its recorded key is checked). A checkpoint is deleted when its run finishes (a grid keeps it with
--keep-checkpoints, or copy it during the run's evaluation: the last one is written after the final step). The test
task is the run's own (its `eval_task_params` applied), with `--set` overriding parameters on top; each length draws
its test set as the run's own evaluation does, from the run's seed (`test_model`), so at a
length and settings the run was tested at, the figure is the stored one. `--part NAME` tests a part of the run's
training mixture instead (mixtures.py), built from the test task as training builds it from the step's task, at
lengths in that part's own unit: e.g. `--part indexed_recall --lengths 16 64 256`, the recall half alone of a
state-based recall run, 16 lookups a list of that many bits. A part whose token ids are not the run's (pointer_tracking
beside bits written as a dict) is refused. Prints one line a length (final, token and sequence accuracy, a 95% Wilson
interval on the final answer) and a JSON line; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from expressivity import tasks  # noqa: E402
from expressivity.runners.execution.store import Store  # noqa: E402
from expressivity.runners.training.config import complete, run_key  # noqa: E402
from expressivity.runners.training.evaluate import wilson  # noqa: E402
from expressivity.runners.training.options import parse_sets  # noqa: E402
from expressivity.runners.training.train import build_model, load_checkpoint, test_model  # noqa: E402


def load_run(store: str, key: str, checkpoint: str, sets: dict):
    """(config, test task, model in eval mode, step) of the run `key` of `store` with the weights of `checkpoint`, its
    test task with `sets` overriding parameters. A checkpoint of another run is a one-line error."""
    row = Store(store, readonly=True).get(key)
    if row is None:
        raise ValueError(f"no run {key!r} in {store}")
    config = complete(row["config"])
    saved = load_checkpoint(Path(checkpoint), "cpu")
    found = None if saved is None else saved.get("key")
    if found != run_key(config):
        raise ValueError(f"{checkpoint} is not a checkpoint of run {key} (its key: {found})")
    params = {**config["task_params"], **(config.get("eval_task_params") or {}), **sets}
    task = tasks.make(config["task"], **params)
    model = build_model(config, len(task.vocab))
    model.load_state_dict(saved["model"])
    model.eval()
    return config, task, model, saved["step"]


def mixture_part(config: dict, task, name: str):
    """The part `name` of the run's training mixture, built from `task` as training builds it from a step's task. A
    run without a mixture, a part it lacks, or one whose token ids are not the run's is a one-line error."""
    from expressivity.runners.training.mixtures import components, vocab_map

    mixture = config["train"].get("mixture")
    if mixture is None:
        raise ValueError(f"--part {name}: run {run_key(config)} trains on no mixture")
    parts = {made.name: made for _, made, _ in components(mixture, task)}
    if name not in parts:
        raise ValueError(f"--part {name}: mixture {mixture!r} has the parts {', '.join(parts)}")
    if vocab_map(parts[name], task, mixture) is not None:
        raise ValueError(f"--part {name}: its token ids are not the run's (the model would read other tokens)")
    return parts[name]


def evaluate_checkpoint(
    store: str, key: str, checkpoint: str, lengths: list[int], sets: dict, examples: int | None, part: str | None = None
):
    """{length: metrics} of the run `key` of `store` with the weights of `checkpoint`, on its test task with `sets`
    overriding parameters (or that task's mixture part `part`); `examples` test examples a length (None: the run's
    own `eval_examples`)."""
    config, task, model, step = load_run(store, key, checkpoint, sets)
    if part is not None:
        task = mixture_part(config, task, part)
    return test_model(model, task, config, lengths, examples), step


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--lengths", type=int, nargs="+", required=True)
    parser.add_argument("--set", dest="sets", action="append", default=[], help="task parameter: key=value")
    parser.add_argument("--part", default=None, help="a part of the run's training mixture, e.g. indexed_recall")
    parser.add_argument("--examples", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    sets = parse_sets(args.sets)
    metrics, step = evaluate_checkpoint(
        args.store, args.key, args.checkpoint, args.lengths, sets, args.examples, args.part
    )
    on = f", its mixture's part {args.part}" if args.part else ""
    print(f"run {args.key}, checkpoint at step {step}, task parameters set: {sets or 'none'}{on}")
    for length, m in metrics.items():
        lo, hi = wilson(m["final_acc"], m["examples"])
        print(f"  length {length:>5}: final {m['final_acc']:.3f} [{lo:.3f}, {hi:.3f}], token {m['token_acc']:.3f}, "
              f"sequence {m['seq_acc']:.3f} ({m['examples']} examples)")  # fmt: skip
    out = {"key": args.key, "step": step, "sets": sets, "part": args.part}
    out["metrics"] = {str(k): v for k, v in metrics.items()}
    print(json.dumps(out, sort_keys=True))
    return out


if __name__ == "__main__":
    main()
