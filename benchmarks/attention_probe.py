"""Where a trained model's attention reads when it answers a recall query: at every scored `assert bits[...] == _`,
the share of each head's attention on the dict entry the query names (its key's digits, the colon and the bit),
beside the share of the whole dict and how often the named entry is the one read most. State-based recall names the
entry through a pointer variable, whose value at that line the probe finds by running the program's assignments;
indexed recall names it in digits. So one checkpoint tells whether attention reads the right entry where the query is
written out (the recall half) and where it needs the tracked pointer (the composition of the two halves).

    python benchmarks/attention_probe.py --store S.sqlite --key KEY --checkpoint KEY.pt --length 4 \
        [--set num_vars=2] [--component indexed_recall] [--examples 200] [--threads 1]

The run's config comes from the store and the weights from the checkpoint (as in eval_checkpoint.py); the programs
are the run's test task at `--length`, drawn from the run's seed, with `--set` overriding task parameters, or with
`--component` one part of the run's training mixture (its dense recall steps, say), in the run's token ids. Needs the
bits as a dict (`bits_format = "dict"`): in a list an entry is found by its position, not by a key. Prints one line
per attention layer and head, and a JSON line; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval_checkpoint import load_run  # noqa: E402

from expressivity.architectures.layers import Attention  # noqa: E402
from expressivity.runners.training.batches import test_rng  # noqa: E402
from expressivity.runners.training.options import parse_sets  # noqa: E402


def dict_entries(tokens: list[str]) -> dict[int, list[int]]:
    """{key: positions of its entry's tokens (the key's digits, ':' and the bit)} of the `bits = {...}` line."""
    opening = [i for i in range(len(tokens) - 2) if tokens[i : i + 3] == ["bits", "=", "{"]]
    if not opening:
        raise ValueError("these programs have no `bits = {...}` dict: the probe reads recall queries into one")
    start = opening[0] + 3
    end = tokens.index("}", start)
    entries, begin = {}, start
    for i in range(start, end + 1):
        if tokens[i] in (",", "}"):
            digits = tokens[begin : tokens.index(":", begin)]
            entries[int("".join(digits))] = list(range(begin, i))
            begin = i + 1
    return entries


def _value(item: list[str], env: dict[str, int]) -> int:
    return int("".join(item)) if item[0].isdigit() else env[item[0]]


def _split(tokens: list[str]) -> list[list[str]]:
    items, cur = [], []
    for t in tokens:
        if t == ",":
            items.append(cur)
            cur = []
        else:
            cur.append(t)
    return [*items, cur]


def named_keys(tokens: list[str]) -> list[tuple[int, int | None]]:
    """(position of the `_`, the dict key its assert names, or None for an assert that reads no bit) for every `_`
    in order, running the program's assignments (`a, b = 5, 7`, `a, b = b, a`, `a = b`) to know each pointer."""
    env: dict[str, int] = {}
    out, line, pos = [], [], 0
    for i, t in enumerate([*tokens, "\n"]):
        if t != "\n":
            if not line:
                pos = i
            line.append(t)
            continue
        if line and line[0] == "assert":
            under = pos + line.index("_")
            if line[1:3] == ["bits", "["]:
                out.append((under, _value(line[3 : line.index("]")], env)))
            else:
                out.append((under, None))
        elif line and line[0] != "bits" and "=" in line and line[0] not in ("<bos>", "<pad>"):
            eq = line.index("=")
            names, values = _split(line[:eq]), _split(line[eq + 1 :])
            env.update({n[0]: _value(v, env) for n, v in zip(names, values, strict=True)})
        line = []
    return out


@contextmanager
def recorded_attention(model):
    """Record, for every Attention layer of `model` in order, its softmax weights (B, H, T, T) at each forward."""
    import torch

    layers = [m for m in model.modules() if isinstance(m, Attention)]
    weights: list[list] = [[] for _ in layers]

    def recording(layer, store):
        plain = layer.op  # the class's method, bound

        def op(q, k, v):  # q, k, v (B, T, H, D), as Attention.op takes them
            scores = q.transpose(1, 2) @ k.transpose(1, 2).transpose(-1, -2) / q.shape[-1] ** 0.5
            T = q.shape[1]
            causal = torch.ones(T, T, dtype=torch.bool, device=q.device).tril()
            store.append(scores.masked_fill(~causal, float("-inf")).softmax(-1))
            return plain(q, k, v)

        return op

    for layer, store in zip(layers, weights, strict=True):
        layer.op = recording(layer, store)
    try:
        yield weights
    finally:
        for layer in layers:
            del layer.op  # the instance attribute goes; the class's method shows through again


def test_batch(task, config: dict, length: int, examples: int, component: str | None = None):
    """`examples` programs of the run's test task at `length` (from the run's seed), or of one component of the run's
    training mixture (the component's own length for that step length), written in the run's token ids."""
    from expressivity.runners.training.mixtures import components, in_run_vocab

    rng = test_rng(config["seed"], length)
    if component is None:
        return task.sample(rng, examples, length)
    mixture = config["train"].get("mixture")
    parts = {made.name: (made, length_of) for _, made, length_of in components(mixture, task)} if mixture else {}
    if component not in parts:
        raise ValueError(f"--component {component}: this run's mixture ({mixture}) has components {sorted(parts)}")
    made, length_of = parts[component]
    return in_run_vocab(made.sample(rng, examples, length_of(length)), made, task)


def probe(model, task, config: dict, length: int, examples: int, component: str | None = None) -> dict:
    """Per attention layer and head, over every scored bit query of `examples` test programs at `length`: the mean
    share of attention on the named entry and on the whole dict (and on their bit tokens: the values that answer), and
    how often the named entry is the most read."""
    import torch

    batch = test_batch(task, config, length, examples, component)
    inputs = torch.as_tensor(batch.inputs)
    with torch.no_grad(), recorded_attention(model) as weights:
        logits = model(inputs).float()
    predicted = logits.argmax(-1).numpy()
    named, whole, bit_named, bit_all, top, right, m = [], [], [], [], [], [], 0
    for b in range(examples):
        tokens = task.decode(batch.inputs[b])
        entries = dict_entries(tokens)
        m = len(entries)
        keys = sorted(entries)
        spans = [entries[k] for k in keys]
        every = [p for span in spans for p in span]
        bits = [span[-1] for span in spans]  # each entry's bit, the token whose value answers
        for pos, key in named_keys(tokens):
            if key is None:
                continue
            bit = tokens[entries[key][-1]]  # the oracle's check of the probe: the named entry holds the answer
            if not batch.mask[b, pos] or task.decode([batch.targets[b, pos]])[0] != bit:
                raise ValueError(f"example {b}: the entry the probe finds at position {pos} does not hold the answer")
            per_layer = [w[0][b, :, pos].numpy() for w in weights]  # each (H, T)
            named.append([row[:, entries[key]].sum(-1) for row in per_layer])
            whole.append([row[:, every].sum(-1) for row in per_layer])
            bit_named.append([row[:, entries[key][-1]] for row in per_layer])
            bit_all.append([row[:, bits].sum(-1) for row in per_layer])
            top.append([np.array([np.argmax([r[s].sum() for s in spans]) for r in row]) == keys.index(key)
                        for row in per_layer])  # fmt: skip
            right.append(predicted[b, pos] == batch.targets[b, pos])
    if not named:
        raise ValueError("no scored bit query in these programs: the probe reads `assert bits[...] == _` lines")
    named_a, whole_a, bit_a, bits_a, top_a = (np.array(x, dtype=float) for x in (named, whole, bit_named, bit_all, top))
    return {
        "queries": len(named),
        "list_size": m,
        "accuracy": float(np.mean(right)),
        "named_share": named_a.mean(0).tolist(),
        "dict_share": whole_a.mean(0).tolist(),
        "named_bit_share": bit_a.mean(0).tolist(),
        "bits_share": bits_a.mean(0).tolist(),
        "named_is_top": top_a.mean(0).tolist(),
    }


def probe_parser(doc: str, examples: int) -> argparse.ArgumentParser:
    """The arguments of a probe of one stored run's checkpoint on programs of one length (this script's, and
    pointer_value_probe.py's)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--length", type=int, required=True)
    parser.add_argument("--set", dest="sets", action="append", default=[], help="task parameter: key=value")
    parser.add_argument("--examples", type=int, default=examples)
    parser.add_argument("--component", help="a part of the run's training mixture (e.g. indexed_recall) instead")
    parser.add_argument("--threads", type=int, default=1)
    return parser


def main(argv: list[str] | None = None) -> dict:
    args = probe_parser(__doc__, examples=200).parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    sets = parse_sets(args.sets)
    if sets.get("bits_format", "dict") != "dict":  # before the weights: another format has another vocabulary
        raise ValueError(f"the probe needs bits_format=dict, not {sets['bits_format']}")
    config, task, model, step = load_run(args.store, args.key, args.checkpoint, sets)
    if getattr(task, "bits_format", "dict") != "dict":
        raise ValueError(f"the probe needs bits_format=dict (this run's test task has {task.bits_format})")
    out = probe(model, task, config, args.length, args.examples, args.component)
    m = out["list_size"]
    print(f"run {args.key}, checkpoint at step {step}, task parameters set: {sets or 'none'}, programs of "
          f"{args.component or 'its test task'}; {out['queries']} bit "
          f"queries at length {args.length}, m = {m} (a uniform read over the entries puts 1/{m} = {1 / m:.3f} of "
          f"the dict's share on the named entry); answered right: {out['accuracy']:.3f}")  # fmt: skip
    keys = ("named_share", "dict_share", "named_bit_share", "bits_share", "named_is_top")
    for layer, (named, whole, bit, bits, top) in enumerate(zip(*(out[k] for k in keys), strict=True)):
        for h in range(len(named)):
            print(f"  attention layer {layer} head {h}: {named[h]:.3f} on the named entry ({bit[h]:.3f} on its bit), "
                  f"{whole[h]:.3f} on the dict ({bits[h]:.3f} on its bits); the named entry read most at "
                  f"{top[h]:.3f} of queries")  # fmt: skip
    print(json.dumps({"key": args.key, "step": step, "sets": sets, "component": args.component, **out}, sort_keys=True))
    return out


if __name__ == "__main__":
    try:
        main()
    except ValueError as err:  # bad input: one line, not a traceback
        sys.exit(f"attention_probe: {err}")
