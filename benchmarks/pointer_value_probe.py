"""What the layers carry to a recall query: linear probes of a trained model's residual stream at every scored
`assert bits[...] == _`, after each block, for the digits of the dict key the query names (units, tens, hundreds)
and, where the query names it through a pointer (state-based recall), for which variable's initial value the pointer
holds (its origin: 0 for the first name of the initial tuple). The block below the attention layer is the one that
matters: attention can read the named entry only if the query at `_` already holds the key's digits there.

    python benchmarks/pointer_value_probe.py --store S.sqlite --key KEY --checkpoint KEY.pt --length 4 \
        [--component indexed_recall] [--examples 300] [--threads 1]

Indexed recall writes the key in digits just before `_` (the control: where the model answers right, the digits must
be readable there); state-based recall names it by a pointer, so its digits are readable before attention only if the
recurrent layers carried each pointer's value (not just its name) through the swaps, as the GGA construction does.
Programs as in attention_probe.py (the run's test task at `--length`, or one component of its training mixture). The
probes are multinomial logistic regressions (torch, L-BFGS, L2) fitted on the first 60% of the programs and scored
on the rest, beside the majority guess of the scored part. Prints one line per block and label, and a JSON line;
asserts nothing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from attention_probe import _split, named_keys, probe_parser, test_batch  # noqa: E402
from eval_checkpoint import load_run  # noqa: E402

from expressivity.runners.training.options import parse_sets  # noqa: E402

TRAIN_SHARE = 0.6  # of the programs: the probes' fit; the rest scores them


def initial_tuple(tokens: list[str]) -> tuple[dict[int, int], dict[str, int]]:
    """({initial value: ordinal of the name that held it}, {name: its ordinal}) from the program's first tuple
    assignment (`a , b , c = 2 5 5 , 1 4 8 , 7`); empty where there is none (indexed recall assigns one name at a
    time)."""
    for line in " ".join(tokens).split("\n"):
        words = line.split()
        if "=" in words and "," in words[: words.index("=")] and words[0] not in ("bits", "assert"):
            eq = words.index("=")
            names, values = _split(words[:eq]), _split(words[eq + 1 :])
            if all(v[0].isdigit() for v in values):
                return {int("".join(v)): i for i, v in enumerate(values)}, {n[0]: i for i, n in enumerate(names)}
    return {}, {}


def query_labels(tokens: list[str]) -> list[tuple[int, dict[str, int]]]:
    """(position of `_`, {label: class}) for every bit query of one program: the named key's digits and, where the
    key is an initial pointer value, its origin and the queried name's own ordinal ("name": where the swaps left
    the pointer unmoved, the origin is the name, readable without tracking)."""
    held, ordinal = initial_tuple(tokens)
    out = []
    for pos, key in named_keys(tokens):
        if key is None:
            continue
        labels = {"units": key % 10, "tens": key // 10 % 10, "hundreds": key // 100}
        if key in held:
            labels["origin"] = held[key]
            labels["name"] = ordinal[tokens[pos - 3]]  # `assert bits [ x ] == _`: x is 3 before `_`
        out.append((pos, labels))
    return out


def residuals(model, inputs, positions: list[list[int]], chunk: int = 25) -> list[np.ndarray]:
    """Per block, the residual stream after it at each program's `positions`: [(queries, d_model)] in program order."""
    import torch

    kept: list[list[np.ndarray]] = [[] for _ in model.blocks]
    current: list = [None] * len(model.blocks)
    hooks = [
        block.register_forward_hook(lambda _m, _i, out, k=k: current.__setitem__(k, out))
        for k, block in enumerate(model.blocks)
    ]
    try:
        with torch.no_grad():
            for start in range(0, len(inputs), chunk):
                model(torch.as_tensor(inputs[start : start + chunk]))
                for k, out in enumerate(current):
                    for b, pos in enumerate(positions[start : start + chunk]):
                        kept[k].append(out[b, pos].float().numpy())
    finally:
        for hook in hooks:
            hook.remove()
    return [np.concatenate(rows) for rows in kept]


def probe_accuracy(x_fit, y_fit, x_score, y_score, l2: float = 1e-3) -> float:
    """Accuracy on (x_score, y_score) of a multinomial logistic regression fitted to (x_fit, y_fit), features
    standardised by the fit part."""
    import torch

    mean, std = x_fit.mean(0), x_fit.std(0) + 1e-6
    xf = torch.as_tensor((x_fit - mean) / std, dtype=torch.float64)
    xs = torch.as_tensor((x_score - mean) / std, dtype=torch.float64)
    yf = torch.as_tensor(y_fit)
    classes = int(max(y_fit.max(), y_score.max())) + 1
    linear = torch.nn.Linear(xf.shape[1], classes, dtype=torch.float64)
    optimizer = torch.optim.LBFGS(linear.parameters(), max_iter=300, line_search_fn="strong_wolfe")

    def loss():
        optimizer.zero_grad()
        value = torch.nn.functional.cross_entropy(linear(xf), yf) + l2 * linear.weight.pow(2).sum()
        value.backward()
        return value

    optimizer.step(loss)
    with torch.no_grad():
        return float((linear(xs).argmax(-1).numpy() == y_score).mean())


def main(argv: list[str] | None = None) -> dict:
    args = probe_parser(__doc__, examples=300).parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    config, task, model, step = load_run(args.store, args.key, args.checkpoint, parse_sets(args.sets))
    batch = test_batch(task, config, args.length, args.examples, args.component)
    per_program = [query_labels(task.decode(row)) for row in batch.inputs]
    features = residuals(model, batch.inputs, [[p for p, _ in q] for q in per_program])
    program = np.concatenate([[i] * len(q) for i, q in enumerate(per_program)]).astype(int)
    fit = program < int(TRAIN_SHARE * len(per_program))
    labels = [lab for q in per_program for _, lab in q]
    what = args.component or "test task"
    print(f"run {args.key}, checkpoint at step {step}, {what} at length {args.length}: {len(labels)} bit queries in "
          f"{len(per_program)} programs ({fit.sum()} fit, {(~fit).sum()} scored)")  # fmt: skip
    result: dict = {"key": args.key, "step": step, "component": args.component, "queries": len(labels), "probes": {}}
    for name in ("units", "tens", "hundreds", "origin", "name"):
        has = np.array([name in lab for lab in labels])
        if not has.any():
            continue
        y = np.array([lab.get(name, -1) for lab in labels])
        scored = y[has & ~fit]
        guess = float(np.bincount(scored).max() / len(scored))
        accs = [probe_accuracy(x[has & fit], y[has & fit], x[has & ~fit], scored) for x in features]
        result["probes"][name] = {"majority": guess, "after_block": accs}
        print(f"  {name:8s} (majority {guess:.3f}): " + ", ".join(f"block {k + 1} {a:.3f}" for k, a in enumerate(accs)))
    if "origin" in result["probes"]:  # the origin read off the queried name, no tracking
        scored = [lab for lab, f in zip(labels, fit, strict=True) if not f and "origin" in lab]
        unmoved = float(np.mean([lab["origin"] == lab["name"] for lab in scored]))
        result["origin_is_name"] = unmoved
        print(f"  the origin is the queried name itself at {unmoved:.3f} of the scored queries (no tracking needed)")
    print(json.dumps(result, sort_keys=True))
    return result


if __name__ == "__main__":
    main()
