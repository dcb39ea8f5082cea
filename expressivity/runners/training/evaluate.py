"""Accuracy by test length: the length-generalisation measurement, shared by trained models and theory constructions.

For each test length (the task's own units) and every example:

- final: is the last scored position right? For a running task this is the state after the whole sequence, the
  headline number; for a final-answer task it is the answer.
- token: the fraction of scored positions that are right (pooled over the examples).
- seq: are all scored positions of the example right?
- scaled: (acc - chance) / (1 - chance), so 0 is guessing and 1 is perfect (Grazzi et al. 2025); acc is final, or
  token where the answer is a sequence (`Task.scored_by`); `Task.chance` is the best guess that skips the computation.

    >>> metrics = evaluate_by_length(model, tasks.make("parity"), [40, 256], np.random.default_rng(0))
    >>> metrics[256]
    {'final_acc': 0.51, 'token_acc': 0.55, 'seq_acc': 0.0, 'scaled_acc': 0.02, 'loss': 0.9, 'examples': 256}
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

import numpy as np

METRICS = ("final_acc", "token_acc", "seq_acc", "scaled_acc")


def scaled(acc: float, chance: float) -> float:
    """(acc - chance) / (1 - chance): 0 at chance, 1 when perfect, negative below chance."""
    return (acc - chance) / (1.0 - chance) if chance < 1.0 else 0.0


def wilson(p: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval (95% by default) of an accuracy p measured on n independent examples."""
    if n <= 0:
        return 0.0, 1.0
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def rescaled(metrics: Mapping[int, Mapping[str, float]], chance: float, scored_by: str) -> dict[int, dict[str, float]]:
    """Metrics by length with scaled_acc derived anew from the recorded accuracy `scored_by` ("final" or "token", see
    `Task.scored_by`), e.g. after a task's chance or its headline accuracy was corrected."""
    return {n: {**m, "scaled_acc": scaled(m[f"{scored_by}_acc"], chance)} for n, m in metrics.items()}


def last_scored(mask: np.ndarray) -> np.ndarray:
    """(B,) index of the last True in each row of a bool (B, T) mask (every row scores at least one position)."""
    return mask.shape[1] - 1 - np.argmax(mask[:, ::-1], axis=1)


def batch_counts(logits, targets, mask, ends=None) -> dict[str, float]:
    """Correct counts of one batch, as torch scalars on the logits' device: no host sync until the caller reads them.

    logits float (B, T, V); targets int64 (B, T); mask bool (B, T). `ends` bool (B, T), for packed rows (several
    examples a row: training/packing.py), marks each example's last scored position; without it a row is an example.
    """
    import torch

    correct = (logits.argmax(-1) == targets) & mask
    if ends is not None:
        return {
            "final": (correct & ends).sum(),
            "token": correct.sum(),
            "scored": mask.sum(),
            "examples": ends.sum(),
        }
    rows = torch.arange(mask.shape[0], device=mask.device)
    last = (mask * torch.arange(mask.shape[1], device=mask.device)).amax(1)  # the last scored position of each row
    return {
        "final": correct[rows, last].sum(),
        "token": correct.sum(),
        "seq": (correct == mask).all(1).sum(),
        "scored": mask.sum(),
        "examples": torch.tensor(mask.shape[0], device=mask.device),
    }


def stacked_counts(logits, targets, mask, ends=None):
    """The counts a training window sums (`batch_counts`' final, token, scored, examples) for M runs' batches at once:
    logits (M, B, T, V), targets and mask (M, B, T) (and `ends`, for packed rows, as there) -> float (M, 4), on the
    device, with no host sync."""
    import torch

    correct = (logits.argmax(-1) == targets) & mask
    if ends is not None:
        final, examples = (correct & ends).sum((1, 2)), ends.sum((1, 2))
        return torch.stack([final, correct.sum((1, 2)), mask.sum((1, 2)), examples], dim=1).float()
    T = mask.shape[-1]
    last = (mask * torch.arange(T, device=mask.device)).amax(-1, keepdim=True)  # (M, B, 1): last scored position
    final = correct.gather(-1, last).squeeze(-1) & mask.any(-1)
    examples = mask.any(-1).sum(-1)
    return torch.stack([final.sum(-1), correct.sum((1, 2)), mask.sum((1, 2)), examples], dim=1).float()


def _model_device(model):
    import torch

    try:
        return next(model.parameters()).device
    except StopIteration:  # a hand-built construction may hold no parameters
        return torch.device("cpu")


def evaluate_by_length(
    model,
    task,
    lengths: Iterable[int],
    rng: np.random.Generator,
    *,
    num_examples: int = 256,
    batch_size: int = 64,
    bf16: bool = True,
) -> dict[int, dict[str, float]]:
    """Metrics by test length: {length: {"final_acc", "token_acc", "seq_acc", "scaled_acc", "loss", "examples"}}.

    Lengths are evaluated in the given order, each drawing `num_examples` examples from `rng` in batches of
    `batch_size`: same rng state and model in, same metrics out. Runs under no_grad in eval mode on the model's device
    (bf16 autocast on CUDA unless `bf16=False`, e.g. for a hand-set construction that needs exact fp32 arithmetic) and
    restores the model's training mode afterwards.
    """
    import torch
    import torch.nn.functional as F

    if num_examples < 1 or batch_size < 1:
        raise ValueError(f"num_examples and batch_size must be >= 1, got {num_examples} and {batch_size}")
    device = _model_device(model)
    was_training = model.training
    model.eval()
    out: dict[int, dict[str, float]] = {}
    try:
        with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16 and device.type == "cuda"):
            for length in lengths:
                sums = {"final": 0.0, "token": 0.0, "seq": 0.0, "scored": 0.0, "examples": 0.0, "loss": 0.0}
                done = 0
                while done < num_examples:
                    b = min(batch_size, num_examples - done)
                    batch = task.sample(rng, b, int(length))
                    inputs = torch.from_numpy(batch.inputs).to(device)
                    targets = torch.from_numpy(batch.targets).to(device)
                    mask = torch.from_numpy(batch.mask).to(device)
                    logits = model(inputs).float()
                    for k, v in batch_counts(logits, targets, mask).items():
                        sums[k] += float(v)
                    sums["loss"] += float(F.cross_entropy(logits[mask], targets[mask], reduction="sum"))
                    done += b
                out[int(length)] = length_metrics(sums, task)
    finally:
        model.train(was_training)
    return out


def length_metrics(sums: Mapping[str, float], task) -> dict[str, float]:
    """One length's metrics from its summed counts (`batch_counts`' keys and the summed loss)."""
    accuracy = {"final": sums["final"] / sums["examples"], "token": sums["token"] / sums["scored"]}
    return {
        "final_acc": accuracy["final"],
        "token_acc": accuracy["token"],
        "seq_acc": sums["seq"] / sums["examples"],
        "scaled_acc": scaled(accuracy[task.scored_by], task.chance),
        "loss": sums["loss"] / sums["scored"],
        "examples": int(sums["examples"]),
    }


def evaluate_stacked(
    logits_of,
    tasks: Sequence,
    rng_of,
    lengths: Iterable[int],
    *,
    num_examples: int = 256,
    batch_size: int = 64,
) -> list[dict[int, dict[str, float]]]:
    """`evaluate_by_length` for M models at once (a fused group's runs), one stacked forward per batch.

    logits_of(inputs int64 (M, b, T) on the CPU) -> float logits (M, b, T, V), under no_grad and in eval mode (the
    caller's business: device, autocast); a model's logits beyond its own vocabulary must be -inf. tasks[m]: model m's
    test task, or None to skip it (a diverged run: it gets {}). rng_of(m, length): model m's generator for that length.
    Model m draws the same examples in the same batches as `evaluate_by_length(model_m, tasks[m], [length],
    rng_of(m, length))` would, each batch padded to the longest of the M (padding is unscored, and causal models do not
    see it), so its metrics are that call's up to floating-point order; tests/runners/test_fused_eval.py compares them.
    """
    import torch
    import torch.nn.functional as F

    from expressivity.tasks.base import pad_stack

    if num_examples < 1 or batch_size < 1:
        raise ValueError(f"num_examples and batch_size must be >= 1, got {num_examples} and {batch_size}")
    live = [m for m, task in enumerate(tasks) if task is not None]
    out: list[dict[int, dict[str, float]]] = [{} for _ in tasks]
    if not live:
        return out
    for length in lengths:
        rngs = {m: rng_of(m, int(length)) for m in live}
        sums = {m: dict.fromkeys(("final", "token", "seq", "scored", "examples", "loss"), 0.0) for m in live}
        done = 0
        while done < num_examples:
            b = min(batch_size, num_examples - done)
            drawn = {m: tasks[m].sample(rngs[m], b, int(length)) for m in live}
            stand_in = drawn[live[0]]  # a skipped model still needs rows in the stacked batch; its outputs are dropped
            inputs, targets, mask = pad_stack([drawn.get(m, stand_in) for m in range(len(tasks))])
            logits = logits_of(torch.from_numpy(inputs)).float()
            targets, mask = torch.from_numpy(targets).to(logits.device), torch.from_numpy(mask).to(logits.device)
            for m in live:  # on the device, no host sync until the length is done
                for k, v in batch_counts(logits[m], targets[m], mask[m]).items():
                    sums[m][k] = sums[m][k] + v
                loss = F.cross_entropy(logits[m][mask[m]], targets[m][mask[m]], reduction="sum")
                sums[m]["loss"] = sums[m]["loss"] + loss
            done += b
        for m in live:
            out[m][int(length)] = length_metrics({k: float(v) for k, v in sums[m].items()}, tasks[m])
    return out


def summarize(
    metrics: Mapping[int, Mapping[str, float]], train_max_length: int, ood_lengths: Collection[int] = ()
) -> dict[str, dict[str, float]]:
    """Mean of each metric over in-distribution lengths (<= train_max_length) and out-of-distribution ones (above).

    {"id": {"final_acc": ..., ..., "lengths": [8, 16]}, "ood": {...}}; a split with no lengths is absent.
    `ood_lengths` (a protocol's scored lengths: theory.published.Protocol.scored_lengths) keeps only those of the
    out-of-distribution lengths in the "ood" split; where the metrics have none of them, every length above training
    counts.
    """
    out: dict[str, dict[str, float]] = {}
    above = {int(n) for n in metrics if int(n) > train_max_length}
    scored = above & {int(n) for n in ood_lengths} or above
    for split, keep in (("id", lambda n: n <= train_max_length), ("ood", lambda n: n in scored)):
        lengths = sorted(int(n) for n in metrics if keep(int(n)))
        if lengths:
            # A metric some length lacks (None: an eval-lm row scores the final answer only) is left out.
            present = [m for m in METRICS if all(metrics[n].get(m) is not None for n in lengths)]
            row: dict = {m: float(np.mean([metrics[n][m] for n in lengths])) for m in present}
            row["lengths"] = lengths
            out[split] = row
    return out


def across_seeds(values: Sequence[float]) -> dict[str, float]:
    """Mean, min, max and best (= max: Grazzi et al. report the best of 3 seeds) of one metric over seeds."""
    if not values:
        raise ValueError("across_seeds needs at least one value")
    arr = np.asarray(values, dtype=float)
    return {
        "mean": float(arr.mean()),
        "min": float(arr.min()),
        "max": float(arr.max()),
        "best": float(arr.max()),
        "n": len(arr),
    }
