"""Why GDN [-1,1] scores below chance on stack_manipulation beyond the trained lengths (issue 14).

The task (tasks/context_free.py, `StackManipulation`): a stack of bits, then pop / push0 / push1 instructions, then
length + 1 blanks; blank j is scored with the final stack's j-th symbol from the top, blank H (H the final height)
with `end`, and the blanks after `end` are not scored. Token accuracy pools every scored position; the task's chance
is 1/2, a blind guess at a stack bit. results/chomsky has GDN [-1,1] at 0.30 at length 128 and 0.15 at 256, far
below 1/2, where the LSTM and the transformer stay near 0.5-0.6. Is that a scoring artefact or what the model does?

The script trains one GDN [-1,1] at the testbed's protocol (tiny size, the task's default training lengths 1-40) on
CPU with the package's own `train` (`--steps`, `--seed`), then reads the trained model's argmax at every scored
position of the run's own test examples at `--length` and `--compare-lengths` (drawn as `evaluate_by_length` draws
them, from the run's evaluation stream) and prints, per length:

- the package's token accuracy for those examples beside the one tabulated here (they must agree: same examples);
- which tokens the model writes at the scored positions against what the targets are (shares of all scored
  positions), and the accuracy at each target token;
- accuracy by where the position lies in the answer: its quarters (of H + 1), and absolute answer index, to tell
  "wrong everywhere" from "wrong past the answer lengths seen in training" (training answers are at most 40 long);
- where the model writes its first `end` against the true H, and how many positions per example it gets right;
- what blind guessers score on the same positions (chance, read off the targets): a constant bit, and a guesser
  told H that writes `end` there and a blind bit before it (1/2 expected at each).

    python benchmarks/stack_manipulation_diagnosis.py --steps 1500 --length 256 --seed 0

Read it: the model writes `end` from an answer index that stays near the training answers' lengths (median ~35 at
length 256, where H + 1 is ~170) and keeps writing it to the end of the answer; so `end`, 0.6% of the targets at 256,
is ~77% of its outputs, every stack bit past index ~40 is scored wrong, and token accuracy falls like
(right in the first ~40) / (H + 1). Blind guessers on the same positions stay at ~0.50 (see results/chomsky/
stack-manipulation-diagnosis.txt). Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from expressivity import tasks  # noqa: E402
from expressivity.runners.training.batches import test_rng  # noqa: E402
from expressivity.runners.training.config import resolve  # noqa: E402
from expressivity.runners.training.evaluate import batch_counts  # noqa: E402
from expressivity.runners.training.train import build_model, load_checkpoint, train  # noqa: E402

TASK = "stack_manipulation"
# Absolute answer-index bins: training draws lengths 1-40, so answers of at most 41 positions (40 bits and `end`).
INDEX_BINS = (0, 10, 20, 30, 41, 64, 128, 256, 512, 1024)


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=1500, help="training steps (the chomsky grid trained 3000)")
    p.add_argument("--length", type=int, default=256, help="the long test length diagnosed")
    # The default test lengths are those of the command in results/chomsky/stack-manipulation-diagnosis.txt: they are
    # part of the run's key, so the same lengths find (and reuse) a checkpoint that `expressivity train` kept.
    p.add_argument("--compare-lengths", type=int, nargs="+", default=[20, 40, 128], help="lengths shown beside it")
    p.add_argument("--seed", type=int, default=0, help="run seed: training data, init and test examples")
    p.add_argument("--examples", type=int, default=256, help="test examples per length")
    p.add_argument("--checkpoint", type=Path, default=None,
                   help="keep the weights here (a rerun with the same settings then only evaluates)")  # fmt: skip
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    return p.parse_args(argv)


def trained(args: argparse.Namespace, checkpoint: Path):
    """(config, train's result, model in eval mode): GDN [-1,1] trained and evaluated by the package's `train`."""
    sets = {"neg_eigval": True, "steps": args.steps, "seed": args.seed, "eval_examples": args.examples,
            "eval_lengths": sorted({*args.compare_lengths, args.length})}  # fmt: skip
    config = resolve(TASK, "gdn", sets)
    result = train(config, device="cpu", checkpoint=checkpoint)
    model = build_model(config, len(tasks.make(TASK).vocab))
    model.load_state_dict(load_checkpoint(checkpoint, "cpu")["model"])
    return config, result, model.eval()


def predict(model, task, config: dict, length: int):
    """The run's test examples at `length`, drawn as `evaluate_by_length` draws them (its rng stream, its batch
    size), and the model's argmax: (inputs, targets, mask, predictions), each (examples, T), plus the package's
    correct-token count (`batch_counts`) summed over the batches."""
    cfg, rng = config["train"], test_rng(config["seed"], length)
    parts, counted = [], 0.0
    with torch.no_grad():
        for start in range(0, cfg["eval_examples"], cfg["eval_batch_size"]):
            batch = task.sample(rng, min(cfg["eval_batch_size"], cfg["eval_examples"] - start), length)
            x, y, m = (torch.from_numpy(a) for a in (batch.inputs, batch.targets, batch.mask))
            logits = model(x).float()
            counted += float(batch_counts(logits, y, m)["token"])
            parts.append((batch.inputs, batch.targets, batch.mask, logits.argmax(-1).numpy()))
    return (*(np.concatenate(a) for a in zip(*parts, strict=True)), counted)


def table(title: str, header: tuple[str, ...], rows: list[tuple]) -> None:
    print(f"\n{title}\n| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row) + " |")


def share(x: np.ndarray) -> float | str:
    """The mean of a bool array, or "-" where it is empty (e.g. no stack bit at that answer index)."""
    return float(x.mean()) if x.size else "-"


def diagnose(task, length: int, targets, mask, pred, counted: float, package: dict) -> None:
    """Print the tables for one length; `package` is the run's metrics there (`evaluate_by_length`)."""
    vocab, end = task.vocab, task.token_id["end"]
    # The answer starts at the first scored position (the first blank, length + 1): blank j is answer index j.
    start = mask.argmax(1)[:, None]
    height = mask.sum(1) - 1  # H: the answer is H stack bits, then `end`
    index = (np.arange(mask.shape[1]) - start)[mask]  # answer index j of each scored position
    rel = index / np.repeat(height + 1, mask.sum(1))  # j / (H + 1), in [0, 1)
    tgt, got = targets[mask], pred[mask]
    right = got == tgt
    print(f"\n## length {length}: {mask.shape[0]} examples, {mask.sum()} scored positions, answer length H + 1: "
          f"mean {height.mean() + 1:.1f}, min {height.min() + 1}, max {height.max() + 1}")  # fmt: skip
    print(f"token accuracy: package (train's evaluate_by_length) {package['token_acc']:.4f}, batch_counts here "
          f"{counted / mask.sum():.4f}, tabulated {right.mean():.4f} (the same examples)")  # fmt: skip
    print(f"task chance {task.chance:.3f}; best input-only shortcut {task.shortcut_acc(length):.4f} "
          f"({task.shortcut_name(length)})")  # fmt: skip

    shown = [i for i in range(len(vocab)) if (got == i).any() or (tgt == i).any()]
    table("Tokens at the scored positions (shares of all scored positions)",
          ("token", "predicted", "target", "accuracy where target"),
          [(vocab[i], share(got == i), share(tgt == i), share(right[tgt == i]))
           for i in shown])  # fmt: skip

    parts = [("first quarter", rel < 0.25), ("middle half", (rel >= 0.25) & (rel < 0.75)),
             ("last quarter", rel >= 0.75)]  # fmt: skip
    edges = [*INDEX_BINS, int(index.max()) + 1]
    bins = [(f"index {lo}-{hi - 1}", (index >= lo) & (index < hi)) for lo, hi in pairwise(edges) if hi > lo]
    rows = []
    for name, where in parts + bins:
        if where.any():
            bits = where & (tgt != end)
            rows.append((name, int(where.sum()), share(right[where]), share(right[bits]), share(got[where] == end),
                         share(np.isin(got[where], task.ids(["0", "1"])))))  # fmt: skip
    table(
        "Accuracy by place in the answer (quarters of H + 1; absolute index j, training answers have j <= 40)",
        ("answer part", "positions", "accuracy", "accuracy on bits", "predicted end", "predicted 0/1"),
        rows,
    )

    # Where does the model close the answer? Its first `end` at or after the first blank, per example.
    ends = (pred == end) & (np.arange(mask.shape[1]) >= start)
    first_end = np.where(ends.any(1), ends.argmax(1) - start[:, 0], -1)
    q = np.percentile(first_end[first_end >= 0], [25, 50, 75]) if (first_end >= 0).any() else [np.nan] * 3
    per_example = (np.where(mask, pred == targets, False)).sum(1)
    early = (first_end >= 0) & (first_end < height)
    at_h = pred[np.arange(len(height)), start[:, 0] + height]  # the last scored position, `end`'s
    print(f"\nfirst predicted `end` (answer index): quartiles {q[0]:.0f} / {q[1]:.0f} / {q[2]:.0f}; at H "
          f"{share(first_end == height):.3f}, before H {share(early):.3f}, after H {share(first_end > height):.3f}, "
          f"never {share(first_end < 0):.3f} of examples; `end` right at H {share(at_h == end):.3f} (package final_acc "
          f"{package['final_acc']:.3f})")  # fmt: skip
    print(f"right per example: mean {per_example.mean():.1f} of {height.mean() + 1:.1f} "
          f"(median {np.median(per_example):.0f})")  # fmt: skip

    # Blind guessers on the same positions: what the targets allow without reading the input.
    zero, one = task.token_id["0"], task.token_id["1"]
    told_h = np.where(tgt == end, 1.0, 0.0) + np.where(tgt != end, 0.5, 0.0)  # knows H, guesses each bit blindly
    table("Chance on these positions (read off the targets)", ("guesser", "token accuracy"),
          [("constant 0", share(tgt == zero)), ("constant 1", share(tgt == one)),
           ("told H: `end` at H, a blind bit before it", float(told_h.mean())),
           ("the model", share(right))])  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    torch.set_num_threads(args.threads)
    task = tasks.make(TASK)
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = args.checkpoint or Path(tmp) / "gdn.pt"
        started = time.perf_counter()
        config, result, model = trained(args, checkpoint)
        took = time.perf_counter() - started
        print(f"# GDN [-1,1] on {TASK}: seed {args.seed}, {result['steps']} steps ({result['status']}), size "
              f"{config['size']}, trained on lengths {config['train']['train_min_length']}-"
              f"{config['train']['train_max_length']}, {result['num_params']} parameters; train "
              f"{result['train_seconds']:.0f} s (as recorded in the checkpoint), this process {took:.0f} s (training "
              f"skipped when --checkpoint is complete), on {result['device']}")  # fmt: skip
        last = result["history"][-1]
        print(f"last training window: loss {last['loss']:.3f}, token accuracy {last['token_acc']:.3f}")
        for length in config["train"]["eval_lengths"]:
            _, targets, mask, pred, counted = predict(model, task, config, length)
            diagnose(task, length, targets, mask, pred, counted, result["metrics"][length])


if __name__ == "__main__":
    main()
