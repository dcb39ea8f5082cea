"""Warm-start probe (issue 16): can training reach a word-problem solution that the trainable layer can express?

Starts training a one-layer DeltaProduct from the construction's weights (`theory.constructions.reflections`, exact at
every length) moved a fraction alpha of the way toward a random init of the same architecture and shapes,
theta = (1 - alpha) theta_star + alpha theta_rand (every parameter tensor), and reports, every `--every` steps, the
training loss and held-out loss and accuracy (final position, all positions) at `--length`:

    python3 benchmarks/warm_start_probe.py --group A5 --num-householder 2 --length 16 --steps 1500 --log out.txt

The construction's residual stream carries an anchor of 1e5 (wiring.py), which the pre-norms' weights (~1e4) pass on
to the projections reading it: one Adam step of 1e-3 on such a column moves a pre-activation by ~100, so even alpha = 0
loses the solution within a few steps (`--raw` keeps those weights to show it). By default the anchor column is
balanced first: each norm's anchor weight is set to 1 (a fresh init's) and the linear layer after it reads the anchor
that much more strongly, the same function (the script prints the largest logit difference). Training: the package's
AdamW groups (`make_optimizer`) and `lr_at` (linear warm-up, then constant), clip 1.0, fresh batches from a numpy
Generator seeded by `--seed` (the same batches for every alpha), op backend `torch`. Prints figures, never asserts.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from expressivity import architectures, tasks  # noqa: E402
from expressivity.runners.training.batches import EVAL_STREAM, TRAIN_STREAM, rng_for  # noqa: E402
from expressivity.runners.training.evaluate import batch_counts  # noqa: E402
from expressivity.runners.training.train import lr_at, make_optimizer  # noqa: E402
from expressivity.theory.constructions import reflections  # noqa: E402


def models(group: str, n_h: int, seed: int):
    """(task, construction, random twin): the twin is built with `word_problem_model`'s arguments, seeded init."""
    task = tasks.make("word_problem", group=group)
    star = reflections.word_problem_model(task, n_h)
    c = star.cfg
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        rand = architectures.build(
            "deltaproduct", vocab_size=len(task.vocab), n_layers=1, d_model=c.d_model, n_heads=c.n_heads,
            mlp_width=0, neg_eigval=True, num_householder=n_h, gated=False, expand_v=c.expand_v,
            tie_embeddings=False, backend="torch",
        )  # fmt: skip
    for model in (star, rand):
        for block in model.blocks:
            block.mixer.backend = "torch"  # the construction is built with "auto"
    shapes = {k: v.shape for k, v in rand.state_dict().items()}
    if shapes != {k: v.shape for k, v in star.state_dict().items()}:
        raise SystemExit("the random twin's parameters differ from the construction's")
    return task, star, rand


def balance(model) -> None:
    """Move each pre-norm's anchor weight (channel 0) into the linear layer that reads it: the same function."""
    pairs = [(b.norm1, b.mixer.proj) for b in model.blocks] + [(model.norm, model.head)]
    with torch.no_grad():
        for norm, linear in pairs:
            linear.weight[:, 0] *= norm.weight[0]
            norm.weight[0] = 1.0


def scores(model, held, chunk: int = 250) -> tuple[float, float, float]:
    """(loss, final-position accuracy, token accuracy) on the held-out batch, as evaluate.py counts them."""
    sums = dict.fromkeys(("loss", "final", "token", "scored", "examples"), 0.0)
    model.eval()
    with torch.no_grad():
        for i in range(0, held.inputs.shape[0], chunk):
            x, y, m = (torch.from_numpy(a[i : i + chunk]) for a in (held.inputs, held.targets, held.mask))
            logits = model(x).float()
            for k, v in batch_counts(logits, y, m).items():
                if k in sums:
                    sums[k] += float(v)
            sums["loss"] += float(F.cross_entropy(logits[m], y[m], reduction="sum"))
    model.train()
    return sums["loss"] / sums["scored"], sums["final"] / sums["examples"], sums["token"] / sums["scored"]


def train_from(model, task, held, args, alpha: float, say) -> list[dict]:
    """Train `model` in place; one row per checkpoint (step 0 first)."""
    cfg = {"lr": args.lr, "weight_decay": 0.01, "decay_vectors": False, "beta2": 0.98, "steps": args.steps,
           "warmup": args.warmup, "min_lr_frac": 1.0, "schedule": "constant"}  # fmt: skip
    opt = make_optimizer(model, cfg, "cpu")
    rng = rng_for(args.seed, TRAIN_STREAM)  # the same batches for every alpha
    rows, window, started = [], [], time.perf_counter()
    for step in range(args.steps + 1):
        if step % args.every == 0 or step == args.steps:
            loss, final, token = scores(model, held)
            train_loss = sum(window) / len(window) if window else float("nan")
            rows.append({"step": step, "train_loss": train_loss, "loss": loss, "final": final, "token": token})
            window = []
            say(f"alpha {alpha:.3f}  step {step:5d}  train loss {train_loss:8.4f}  held-out loss {loss:8.4f}  "
                f"final acc {final:.3f}  token acc {token:.3f}  ({time.perf_counter() - started:.0f} s)")  # fmt: skip
        if step == args.steps:
            return rows
        batch = task.sample(rng, args.batch, args.length)
        inputs, targets, mask = (torch.from_numpy(a) for a in (batch.inputs, batch.targets, batch.mask))
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg)
        logits = model(inputs).float()
        loss = F.cross_entropy(logits.flatten(0, 1), torch.where(mask, targets, -100).flatten(), ignore_index=-100)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        window.append(loss.item())
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--group", default="A5")
    ap.add_argument("--num-householder", type=int, default=2)
    ap.add_argument("--alphas", type=float, nargs="+", default=[0.0, 0.1, 0.25, 0.5, 0.75, 1.0])
    ap.add_argument("--length", type=int, default=16)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--every", type=int, default=100)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--eval-examples", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--raw", action="store_true", help="interpolate the construction's weights as built (no balance)")
    ap.add_argument("--log", type=Path, help="also write the printed text here")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    lines: list[str] = []

    def say(text: str) -> None:
        print(text, flush=True)
        lines.append(text)
        if args.log is not None:
            args.log.write_text("\n".join(lines) + "\n")

    task, star, rand = models(args.group, args.num_householder, args.seed)
    held = task.sample(rng_for(args.seed, EVAL_STREAM), args.eval_examples, args.length)  # drawn once
    probe = held.inputs[:64]
    with torch.no_grad():
        before = star(torch.from_numpy(probe))
        if not args.raw:
            balance(star)
        moved = float((star(torch.from_numpy(probe)) - before).abs().max())
    star_sd = {k: v.clone() for k, v in star.state_dict().items()}
    rand_sd = {k: v.clone() for k, v in rand.state_dict().items()}
    start = "raw construction" if args.raw else f"anchor balanced (max |logit change| {moved:.2e})"
    say(f"word_problem {args.group} @ {args.length}, deltaproduct n_h={args.num_householder} (neg_eigval, ungated, "
        f"1 layer, d_model {star.cfg.d_model}, {star.num_params()} params), chance {task.chance:.4f}; {start}; "
        f"seed {args.seed}, {args.steps} steps, batch {args.batch}, lr {args.lr} (warm-up {args.warmup}), "
        f"{args.eval_examples} held-out examples, {args.threads} thread(s)")  # fmt: skip
    results = {}
    for alpha in args.alphas:
        rand.load_state_dict({k: (1 - alpha) * star_sd[k] + alpha * rand_sd[k] for k in star_sd})
        results[alpha] = train_from(rand, task, held, args, alpha, say)
    say("")
    say("| alpha | final acc @0 | best final acc (step) | final acc @end | token acc @end | held-out loss @end |")
    say("|---:|---:|---:|---:|---:|---:|")
    for alpha, rows in results.items():
        best, end = max(rows, key=lambda r: r["final"]), rows[-1]
        say(f"| {alpha:.3f} | {rows[0]['final']:.3f} | {best['final']:.3f} ({best['step']}) | {end['final']:.3f} "
            f"| {end['token']:.3f} | {end['loss']:.4f} |")  # fmt: skip


if __name__ == "__main__":
    main()
