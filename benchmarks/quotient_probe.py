"""What part of a group a word-problem run has learned: its final answers scored modulo each normal subgroup of the
derived series (G' is the commutator subgroup, so "mod G'" asks for the abelianisation only) and, for a direct
product, factor by factor. A run stuck at a fraction of the full accuracy often sits exactly at 1 / |N| for some N
here: e.g. at 1/4 on A4xZ5 when it tracks the abelian quotient Z3 x Z5 and guesses within V4, the commutator subgroup.

    python benchmarks/quotient_probe.py --store S.sqlite --key KEY --checkpoint KEY.pt [--length 8] [--examples N]

The run's test examples at `--length` (default: its first test length), drawn as its own evaluation draws them (its
seed, its eval batch size), so at the run's own length and example count the full group's line is the stored final
accuracy. Prints one line a quotient (accuracy, 95% Wilson interval, chance 1 / |G/N|) and a JSON line; asserts
nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval_checkpoint import load_run  # noqa: E402

from expressivity.runners.training.batches import test_rng  # noqa: E402
from expressivity.runners.training.evaluate import wilson  # noqa: E402
from expressivity.tasks.groups import Group  # noqa: E402


def quotient_accuracy(g: Group, predicted: np.ndarray, target: np.ndarray) -> list[dict]:
    """predicted, target (B,) element indices (-1 for a prediction that is no element) -> one row a quotient: the
    share of answers right modulo N (predicted * target^-1 in N, the same coset: N is normal) for each N of the
    derived series below G and the trivial group, then for a direct product each factor alone (its token component),
    with chance 1 / |G/N| (the running product of uniform letters is uniform)."""
    rows, valid = [], predicted >= 0
    quotient = g.table[np.where(valid, predicted, 0), g.inverses[target]]  # pred * target^-1
    normals = list(g.derived_series[1:])  # empty for a perfect group
    if not normals or len(normals[-1]) > 1:
        normals.append(np.array([g.identity]))
    for n, sub in enumerate(normals, start=1):
        right = valid & np.isin(quotient, sub)
        name = "{1}: the full group" if len(sub) == 1 else f"G{chr(39) * n}, of order {len(sub)}"
        rows.append({"modulo": name, "quotient_order": g.order // len(sub), "accuracy": float(right.mean())})
    if "x" in g.tokens[0]:
        tokens = np.array([t.split("x") for t in g.tokens])  # (order, factors) of component tokens
        for f, factor in enumerate(g.name.split("x")):
            right = valid & (tokens[np.where(valid, predicted, 0), f] == tokens[target, f])
            label, order = f"the {factor} factor alone", len(set(tokens[:, f]))
            rows.append({"modulo": label, "quotient_order": order, "accuracy": float(right.mean())})
    for row in rows:
        row["chance"] = 1 / row["quotient_order"]
        row["interval"] = wilson(row["accuracy"], len(target))
    return rows


def final_answers(model, task, config: dict, length: int, examples: int) -> tuple[np.ndarray, np.ndarray]:
    """(predicted, target) element indices (B,) at each test example's last scored position, the examples drawn as
    the run's evaluation draws them (`test_rng`, batches of its eval batch size); -1 where the argmax is no element."""
    import torch

    element_of = np.array([task.elements.index.get(tok, -1) for tok in task.vocab])
    rng, size = test_rng(config["seed"], length), config["train"]["eval_batch_size"]
    predicted, target = [], []
    with torch.no_grad():
        for start in range(0, examples, size):
            batch = task.sample(rng, min(size, examples - start), length)
            last = (batch.mask * np.arange(batch.seq_len)).max(1)
            rows = np.arange(batch.batch_size)
            logits = model(torch.as_tensor(batch.inputs)).float()
            predicted.append(element_of[logits.argmax(-1).numpy()[rows, last]])
            target.append(element_of[batch.targets[rows, last]])
    return np.concatenate(predicted), np.concatenate(target)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--length", type=int, default=None, help="default: the run's first test length")
    parser.add_argument("--examples", type=int, default=None, help="default: the run's eval_examples")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    config, task, model, step = load_run(args.store, args.key, args.checkpoint, {})
    if not hasattr(task, "elements"):
        raise ValueError(f"run {args.key} is on {config['task']}, not a word problem (a task with a group)")
    length = args.length or config["train"]["eval_lengths"][0]
    examples = args.examples or config["train"]["eval_examples"]
    rows = quotient_accuracy(task.elements, *final_answers(model, task, config, length, examples))
    print(f"run {args.key} ({task.elements.name}), checkpoint at step {step}, length {length}, {examples} examples")
    for r in rows:
        lo, hi = r["interval"]
        print(f"  {r['modulo']:<22} |G/N| {r['quotient_order']:>4}: final {r['accuracy']:.4f} "
              f"[{lo:.4f}, {hi:.4f}], chance {r['chance']:.4f}")  # fmt: skip
    out = {"key": args.key, "step": step, "length": length, "examples": examples, "quotients": rows}
    print(json.dumps(out, sort_keys=True))
    return out


if __name__ == "__main__":
    main()
