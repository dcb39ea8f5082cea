"""How many tokens a compiled fused group's steps carry under each padding (EXPRESSIVITY_PAD), read from the batches it
would train on (no training; CPU, seconds to minutes): the group's runs are a preset's cell (its seeds), each step's
length is the longest of their batches, padded to the group's longest example (`longest`, the default: one compile)
or to that step's own bucket (`bucket`: a compile for each bucket met; a bucket past the group's longest is cut to
it) or to the first rung of a ladder of sizes that fits (`ladder`: fusion.pad_ladder), beside the exact longest (no
padding at all). With `--packed L`, also the tokens a step carries as packed rows
of L tokens, as the group would train on them (EXPRESSIVITY_PACK=L, packing.py: several examples a row, every run
to one row count, StepArrays.least_rows unless a step needs more), the row counts met, and how long a data process
takes to make a step packed and not (from a pickled copy of make(), as Prefetcher's processes get it).

    python3 benchmarks/pad_lengths.py olmo-hybrid --row 'state-based recall (n)' --column 'hybrid GGGA[-1,1]'
    python3 benchmarks/pad_lengths.py negative-eigenvalues --row 'mod arithmetic' --column 'gdn[-1,1]' --packed 64

Prints the buckets met (steps in each), the mean padded length a step under each padding, and their ratio: an upper
bound on what `bucket` saves where a step's time grows with its length (the GPU A/B measures the rest: compiles, and
how step time follows length). Every `--every`-th step is read (default 50). Prints figures, never asserts.
"""

from __future__ import annotations

import argparse
import collections
import pickle
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    from expressivity import tasks
    from expressivity.runners.reports import presets
    from expressivity.runners.training.batches import StepArrays, padded_to, train_batch
    from expressivity.runners.training.config import complete
    from expressivity.runners.training.fusion import ladder, padded_length
    from expressivity.runners.training.packing import example_lengths

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("preset")
    parser.add_argument("--row", required=True, help="a row label of the preset's table")
    parser.add_argument("--column", required=True, help="a column label of the preset's table")
    parser.add_argument("--protocol", default=None, help="the protocol variant (default: the preset's)")
    parser.add_argument("--every", type=int, default=50, help="read every N-th step")
    parser.add_argument("--seed", type=int, action="append", default=[], help="only these seeds (a group of them)")
    parser.add_argument("--packed", type=int, default=0, help="also count packed rows of this many tokens")
    args = parser.parse_args()
    grid = presets.get(args.preset).grid(
        protocol=args.protocol, rows=[args.row], columns=[args.column], seeds=args.seed
    )
    configs = [complete(c) for c in grid.configs]
    made = [tasks.make(c["task"], **c["task_params"]) for c in configs]
    least = padded_length(configs)
    steps = configs[0]["train"]["steps"]
    met: collections.Counter[int] = collections.Counter()
    exact = longest = own = real = packed = laddered = 0
    rungs = ladder(least)
    climbed: collections.Counter[int] = collections.Counter()
    make_packed = StepArrays(configs, bucketed=True, packed=args.packed)
    shapes: collections.Counter[int] = collections.Counter()
    read = range(0, steps, args.every)
    for step in read:
        batches = [train_batch(t, c["train"], c["seed"], step) for t, c in zip(made, configs, strict=True)]
        T = max(b.seq_len for b in batches)
        real += sum(int(example_lengths(b).sum()) for b in batches)
        if args.packed:
            rows = make_packed(step)[0][0].shape[1]
            shapes[rows] += 1
            packed += len(configs) * rows * args.packed
        padded = padded_to(T, cap=least)  # as StepArrays pads under EXPRESSIVITY_PAD=bucket
        met[padded] += 1
        exact += T
        longest += padded_to(T, least=least)  # ... and by default
        own += padded
        rung = padded_to(T, ladder=rungs)  # as StepArrays pads under EXPRESSIVITY_PAD=ladder
        climbed[rung] += 1
        laddered += rung
    n = len(read)
    print(f"{args.preset} / {args.row} / {args.column}: {len(configs)} runs fused, {steps} steps, every "
          f"{args.every}th read ({n} steps)")  # fmt: skip
    print("buckets met (padded length: steps read): " + ", ".join(f"{b}: {k}" for b, k in sorted(met.items())))
    print(f"mean padded length a step: longest (pad to {least}) {longest / n:.1f}, bucket {own / n:.1f}, "
          f"exact {exact / n:.1f}; bucket / longest = {own / longest:.3f}")  # fmt: skip
    print(f"ladder ({len(rungs)} rungs, {', '.join(map(str, rungs))}): mean {laddered / n:.1f}, "
          f"{laddered / longest:.3f} of longest; rungs met (length: steps read): "
          + ", ".join(f"{r}: {k}" for r, k in sorted(climbed.items())))  # fmt: skip
    rows = len(configs) * configs[0]["train"]["batch_size"]
    padded = rows * longest / n
    print(f"tokens a step (all runs): padded to the longest {padded:.0f}, examples' own {real / n:.0f} "
          f"({real / n / padded:.3f} of padded)")  # fmt: skip
    if args.packed:
        print(
            f"packed rows of {args.packed}: {packed / n:.0f} tokens a step, {packed / n / padded:.3f} of padded; row "
            "counts met (rows: steps read): " + ", ".join(f"{r}: {k}" for r, k in sorted(shapes.items()))
        )
        made = {name: StepArrays(configs, bucketed=True, compact=True, least=least, packed=rows)  # as fused.py builds
                for name, rows in (("packed", args.packed), ("one example a row", 0))}  # fmt: skip
        print("a data process's step (a pickled copy of make(), as Prefetcher's processes get it): " + ", ".join(
            f"{name} {_ms_a_step(make, read):.1f} ms" for name, make in made.items()))  # fmt: skip


def _ms_a_step(make, steps: range) -> float:
    """Mean milliseconds of make(step) over the first 20 of `steps`, on one unpickled copy (its first call, which
    builds the tasks, untimed)."""
    copy = pickle.loads(pickle.dumps(make))
    taken = list(steps)[:20]
    copy(taken[0])
    started = time.perf_counter()
    for step in taken:
        copy(step)
    return 1e3 * (time.perf_counter() - started) / len(taken)


if __name__ == "__main__":
    main()
