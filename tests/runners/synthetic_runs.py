"""A synthetic result store written through the real Store API, for the table and plot tests: one finished run per
config of a grid, every metric of a run set to one value.

    write_runs(tmp_path / "r.sqlite", grid, [0.5] * len(grid.configs), status={key: "failed"})
"""

from expressivity.runners.execution.owners import owner_id
from expressivity.runners.execution.store import Store


def summary(value: float, lengths) -> dict:
    metrics = {m: value for m in ("final_acc", "token_acc", "seq_acc", "scaled_acc")}
    return {**metrics, "lengths": list(lengths)}


def write_runs(path, grid, values, *, status=None) -> None:
    """One finished run per config of `grid`, its ood (and every per-length) metric set to values[i]."""
    status = status or {}
    with Store(path) as store:
        store.enqueue(grid.configs, grid=grid.name)
        owner = owner_id()
        for key, config, value in zip(grid.keys, grid.configs, values, strict=True):
            store.claim(owner, [key])
            lengths = config["train"]["eval_lengths"]
            top = config["train"]["train_max_length"]
            metrics = {n: summary(value, []) for n in lengths}
            result_summary = {"id": summary(value, [n for n in lengths if n <= top])}
            if any(n > top for n in lengths):
                result_summary["ood"] = summary(value, [n for n in lengths if n > top])
            result = {"status": status.get(key, "done"), "metrics": metrics, "summary": result_summary, "steps": 1}
            store.finish(key, owner, result)
