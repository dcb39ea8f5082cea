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


def test_a_part_of_the_runs_mixture_is_tested_as_training_builds_it(tmp_path, load_benchmark):
    """--part indexed_recall tests the recall half alone of a state-based recall run on all_three_dense: the part as
    training builds it from the run's task (the bits as a dict, 16 lookups), at lengths in bits, with the run's
    weights; the same figures as testing that task directly. A part whose token ids differ from the run's, a part the
    mixture lacks and a run on no mixture are one-line errors."""
    from expressivity import tasks
    from expressivity.runners.training.train import test_model

    script = load_benchmark("eval_checkpoint")
    sets = {"steps": 4, "batch_size": 4, "train_min_length": 2, "train_max_length": 2, "eval_lengths": [2],
            "eval_examples": 6, "checkpoint_every": 4, "m": 8, "max_vars": 3, "num_vars": 3, "queries": "every_line",
            "bits_format": "dict", "mixture": "all_three_dense", "d_model": 32, "n_layers": 1}  # fmt: skip
    config = resolve("state_based_recall", "transformer", sets)
    store, ckpt = tmp_path / "s.sqlite", tmp_path / "run.pt"
    with Store(store) as st:
        st.enqueue([config])
    train(config, device="cpu", checkpoint=ckpt)
    key = run_key(config)
    metrics, _ = script.evaluate_checkpoint(str(store), key, str(ckpt), [8, 12], {}, 10, part="indexed_recall")
    _, run_task, model, _ = script.load_run(str(store), key, str(ckpt), {})
    recall = tasks.make("indexed_recall", bits_format="dict", numbers=run_task.params["numbers"], lookups=16)
    assert metrics == test_model(model, recall, config, [8, 12], 10)
    for part, why in (("pointer_tracking", "token ids are not the run's"), ("parity", "has the parts")):
        with pytest.raises(ValueError, match=why):
            script.evaluate_checkpoint(str(store), key, str(ckpt), [8], {}, 4, part=part)
    plain = resolve("parity", "transformer", {k: sets[k] for k in ("steps", "batch_size", "d_model", "n_layers")})
    with Store(store) as st:
        st.enqueue([plain])
    train(plain, device="cpu", checkpoint=tmp_path / "plain.pt")
    with pytest.raises(ValueError, match="trains on no mixture"):
        script.evaluate_checkpoint(str(store), run_key(plain), str(tmp_path / "plain.pt"), [8], {}, 4, part="x")
