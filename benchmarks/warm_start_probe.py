"""Warm-start probe (issues 16, 15): can training reach a solution that the architecture can express?

Starts training a construction's model moved a fraction alpha of the way toward a random init of the same
architecture and shapes, theta = (1 - alpha) theta_star + alpha theta_rand (every parameter tensor), and reports,
every `--every` steps, the training loss and held-out loss and accuracy (final position, all positions) at `--length`:

    python3 benchmarks/warm_start_probe.py --group A5 --num-householder 2 --length 16 --steps 1500 --log out.txt
    python3 benchmarks/warm_start_probe.py --task state_based_recall --length 8 --also-length 16 --steps 600

`--task word_problem` (default): a one-layer DeltaProduct and `theory.constructions.reflections` (exact at every
length). `--task state_based_recall`: the GGA hybrid of `recall.state_based_recall_model` (Gated DeltaNet x 2, then
NoPE attention, with MLPs) on the olmo-hybrid rows' variant (m=16, max_vars=5, queries="every_line"), `--length`
update lines; "final" is the last assert of each program. Built in float64, it is exact in float32 at these lengths
too (the step-0 rows show it), so it trains in float32, the pilots' dtype, unless `--float64`.
`--also-length N` scores a second held-out batch at N at the first and last checkpoints.

The constructions' residual stream carries an anchor of 1e5 (wiring.py), which the pre-norms' weights (~1e4) pass on
to the projections reading it: one Adam step of 1e-3 on such a column moves a pre-activation by ~100, so even alpha = 0
loses the solution within a few steps (`--raw` keeps those weights to show it). By default the anchor column is
balanced first: each norm's anchor weight is set to 1 (a fresh init's) and the linear layer(s) after it (mixer input
projection, MLP gate_up, head) read the anchor that much more strongly, the same function (the script prints the largest
logit difference). On state_based_recall that is not enough: other sharp constants remain (the log,
results/olmo-hybrid/warm-start-probe.txt, names them). Training: the package's AdamW groups (`make_optimizer`) and
`lr_at` (linear warm-up, then constant), clip 1.0, fresh batches from a numpy Generator seeded by `--seed` (the same
batches for every alpha), op backend `torch`. Prints figures, never asserts.
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
from expressivity.theory.constructions import recall, reflections  # noqa: E402

# The olmo-hybrid rows' variant (issue 15), as the GPU pilots trained it; the construction answers every assert of it
# (tests/theory/test_theory_constructions.py, `..._answers_every_assert_of_the_redone_preset`).
RECALL = {"m": 16, "max_vars": 5, "queries": "every_line"}


def word_problem_models(group: str, n_h: int, seed: int):
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
    return task, star, rand


def recall_models(max_length: int, seed: int):
    """(task, construction, random twin) for state_based_recall: the twin is a `hybrid` built from the construction's
    own config (pattern, widths, every model option), so nothing is restated here that could drift from recall.py."""
    task = tasks.make("state_based_recall", **RECALL)
    star = recall.state_based_recall_model(task, max(max_length, task.m))  # W digits cover every index < m
    c = star.cfg
    widths = set(c.mlp_widths.values())
    if len(widths) != 1:
        raise SystemExit(f"the construction's MLP widths differ by layer ({c.mlp_widths}); build takes one")
    options = {k: getattr(c, k) for k in architectures.param_defaults("hybrid") if hasattr(c, k) and k != "lstm_hidden"}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        rand = architectures.build(
            "hybrid", vocab_size=c.vocab_size, pattern=c.layers, mlp_width=widths.pop(), **options
        )
    if rand.cfg != c:
        raise SystemExit(f"the random twin's config differs from the construction's:\n{rand.cfg}\n{c}")
    return task, star, rand


def models(args):
    """(task, construction, random twin) for `args.task`, both in the training dtype, op backend "torch" (CPU)."""
    if args.task == "word_problem":
        task, star, rand = word_problem_models(args.group, args.num_householder, args.seed)
    else:
        task, star, rand = recall_models(max(args.length, args.also_length or 0), args.seed)
    dtype = torch.float64 if args.float64 else torch.float32  # recall.py builds in float64, reflections.py in float32
    for model in (star, rand):
        model.to(dtype)
        for block in model.blocks:
            if hasattr(block.mixer, "backend"):  # attention has no op backend
                block.mixer.backend = "torch"  # the constructions are built with "auto"
    shapes = {k: v.shape for k, v in rand.state_dict().items()}
    if shapes != {k: v.shape for k, v in star.state_dict().items()}:
        raise SystemExit("the random twin's parameters differ from the construction's")
    return task, star, rand


def _readers(block) -> list:
    """The linear layers reading block.norm1's output: the mixer's input projection (GDN/DeltaProduct) or qkv."""
    for name in ("proj", "qkv"):
        if hasattr(block.mixer, name):
            return [getattr(block.mixer, name)]
    raise SystemExit(f"balance does not know the input projection of {type(block.mixer).__name__}")


def balance(model) -> None:
    """Move each pre-norm's anchor weight (channel 0) into the linear layer(s) that read it: the same function.
    Pairs: norm1 -> the mixer's input projection, norm2 -> the MLP's gate_up, the final norm -> the head."""
    pairs = []
    for b in model.blocks:
        if b.post_norm or b.plain:
            raise SystemExit("balance handles pre-norm blocks only: a post-norm reads no norm before its linear")
        pairs += [(b.norm1, linear) for linear in _readers(b)]
        if b.mlp is not None:
            pairs.append((b.norm2, b.mlp.gate_up))
    pairs.append((model.norm, model.head))
    with torch.no_grad():
        for norm, linear in pairs:
            linear.weight[:, 0] *= norm.weight[0]
        for norm, _ in pairs:  # after every reader has taken its share
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


def train_from(model, task, held, args, alpha: float, say, also=None) -> list[dict]:
    """Train `model` in place; one row per checkpoint (step 0 first). `also`, a second held-out batch (at
    `--also-length`), is scored at the first and last checkpoints only: a longer batch costs more."""
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
            if also is not None and step in (0, args.steps):
                rows[-1]["also"] = far = scores(model, also)
                say(f"alpha {alpha:.3f}  step {step:5d}  @ {args.also_length}: held-out loss {far[0]:8.4f}  "
                    f"final acc {far[1]:.3f}  token acc {far[2]:.3f}")  # fmt: skip
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
    ap.add_argument("--task", choices=("word_problem", "state_based_recall"), default="word_problem")
    ap.add_argument("--group", default="A5", help="word_problem only")
    ap.add_argument("--num-householder", type=int, default=2, help="word_problem only")
    ap.add_argument("--alphas", type=float, nargs="+", default=[0.0, 0.1, 0.25, 0.5, 0.75, 1.0])
    ap.add_argument("--length", type=int, help="default 16 (word_problem), 8 update lines (state_based_recall)")
    ap.add_argument("--also-length", type=int, help="a second held-out length, scored at the start and end")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--every", type=int, default=100)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--eval-examples", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--raw", action="store_true", help="interpolate the construction's weights as built (no balance)")
    ap.add_argument("--float64", action="store_true", help="train in float64 (default: float32)")
    ap.add_argument("--log", type=Path, help="also write the printed text here")
    args = ap.parse_args(argv)
    if args.length is None:
        args.length = 16 if args.task == "word_problem" else 8
    torch.set_num_threads(args.threads)
    lines: list[str] = []

    def say(text: str) -> None:
        print(text, flush=True)
        lines.append(text)
        if args.log is not None:
            args.log.write_text("\n".join(lines) + "\n")

    task, star, rand = models(args)
    eval_rng = rng_for(args.seed, EVAL_STREAM)
    held = task.sample(eval_rng, args.eval_examples, args.length)  # drawn once
    also = task.sample(eval_rng, args.eval_examples, args.also_length) if args.also_length else None
    probe, probe_mask = torch.from_numpy(held.inputs[:64]), torch.from_numpy(held.mask[:64])
    with torch.no_grad():
        before = star(probe)
        if not args.raw:
            balance(star)
        change = (star(probe) - before).abs().amax(-1)
    moved = float(change.max())
    star_sd = {k: v.clone() for k, v in star.state_dict().items()}
    rand_sd = {k: v.clone() for k, v in rand.state_dict().items()}
    start = "raw construction" if args.raw else f"anchor balanced (max |logit change| {moved:.2e})"
    tail = (f"seed {args.seed}, {args.steps} steps, batch {args.batch}, lr {args.lr} (warm-up {args.warmup}), "
            f"{args.eval_examples} held-out examples, {args.threads} thread(s)")  # fmt: skip
    if args.task == "word_problem":
        say(f"word_problem {args.group} @ {args.length}, deltaproduct n_h={args.num_householder} (neg_eigval, "
            f"ungated, 1 layer, d_model {star.cfg.d_model}, {star.num_params()} params), chance {task.chance:.4f}; "
            f"{start}; {tail}")  # fmt: skip
    else:
        c = star.cfg
        # the logits at unscored positions may jump where an MLP step sits on its threshold: only scored ones count
        scored = float(change[probe_mask].max())
        say(f"state_based_recall {RECALL} @ {args.length} update lines, hybrid {c.layers} (pos {c.pos}, neg_eigval "
            f"{c.neg_eigval}, d_model {c.d_model}, {c.n_heads} heads, MLP {c.mlp_widths}, {star.num_params()} "
            f"params, {next(star.parameters()).dtype}); final acc = the last assert: tracking-free guess "
            f"{task.chance:.4f}, coin 0.5000; {start}, {scored:.2e} at scored positions; {tail}")  # fmt: skip
    results = {}
    for alpha in args.alphas:
        rand.load_state_dict({k: (1 - alpha) * star_sd[k] + alpha * rand_sd[k] for k in star_sd})
        results[alpha] = train_from(rand, task, held, args, alpha, say, also)
    say("")
    extra = f" final acc @{args.also_length}: 0 -> end |" if also is not None else ""
    head = "| alpha | final acc @0 | best final acc (step) | final acc @end | token acc @end | held-out loss @end |"
    say(head + extra)
    say("|---:|---:|---:|---:|---:|---:|" + ("---:|" if also is not None else ""))
    for alpha, rows in results.items():
        best, end = max(rows, key=lambda r: r["final"]), rows[-1]
        more = f" {rows[0]['also'][1]:.3f} -> {end['also'][1]:.3f} |" if also is not None else ""
        say(f"| {alpha:.3f} | {rows[0]['final']:.3f} | {best['final']:.3f} ({best['step']}) | {end['final']:.3f} "
            f"| {end['token']:.3f} | {end['loss']:.4f} |{more}")  # fmt: skip


if __name__ == "__main__":
    main()
