"""benchmarks/eval_checkpoint.py: a stored run's checkpoint, tested again, gives the run's own figures at its own
lengths, and other settings on top; a checkpoint of another run is refused."""

import pytest

from expressivity.runners.execution.store import Store
from expressivity.runners.training.config import resolve, run_key
from expressivity.runners.training.train import train


def test_a_checkpoint_reproduces_its_runs_figures_and_takes_other_settings(tmp_path, load_benchmark):
    script = load_benchmark("eval_checkpoint")
    sets = {"steps": 12, "batch_size": 8, "train_max_length": 8, "eval_lengths": [8], "eval_examples": 24,
            "checkpoint_every": 4, "lookups": 2, "eval.lookups": 1, "d_model": 32, "n_layers": 2}  # fmt: skip
    config = resolve("indexed_recall", "transformer", sets)
    store, ckpt = tmp_path / "s.sqlite", tmp_path / "run.pt"
    with Store(store) as st:
        st.enqueue([config])
    result = train(config, device="cpu", checkpoint=ckpt)
    key = run_key(config)
    metrics, step = script.evaluate_checkpoint(str(store), key, str(ckpt), [8], {}, None)
    assert step == 12 and metrics[8] == result["metrics"][8]
    other, _ = script.evaluate_checkpoint(str(store), key, str(ckpt), [8, 12], {"lookups": 3}, 10)
    assert sorted(other) == [8, 12] and other[12]["examples"] == 10
    out = script.main(["--store", str(store), "--key", key, "--checkpoint", str(ckpt), "--lengths", "8"])
    assert out["metrics"]["8"] == result["metrics"][8]


def test_a_checkpoint_of_another_run_is_refused(tmp_path, load_benchmark):
    script = load_benchmark("eval_checkpoint")
    sets = {"steps": 2, "batch_size": 4, "train_max_length": 8, "eval_lengths": [8], "eval_examples": 4,
            "checkpoint_every": 2, "d_model": 32, "n_layers": 1}  # fmt: skip
    a, b = resolve("parity", "transformer", sets), resolve("parity", "transformer", {**sets, "seed": 1})
    store, ckpt = tmp_path / "s.sqlite", tmp_path / "b.pt"
    with Store(store) as st:
        st.enqueue([a, b])
    train(b, device="cpu", checkpoint=ckpt)
    with pytest.raises(ValueError, match="is not a checkpoint of run"):
        script.evaluate_checkpoint(str(store), run_key(a), str(ckpt), [8], {}, None)
    with pytest.raises(ValueError, match="no run 'nope'"):
        script.evaluate_checkpoint(str(store), "nope", str(ckpt), [8], {}, None)
