"""Tests of the scripts in benchmarks/: `load_benchmark("name")` imports benchmarks/name.py as a module, so a test
calls its functions (or its main) in-process and a test session imports torch once. `recall_run_args` trains a
tiny state-based recall hybrid (GGA, m = 12, the bits as a dict, dense recall beside it) for 4 steps into a store of
its own and gives the probes' arguments for its checkpoint. `gpu_setup_function("name")` is one shell function of
benchmarks/gpu_setup.sh, as the GPU scripts define it by sourcing the file (which also installs fla, so the tests take
the function alone)."""

import importlib.util
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture
def load_benchmark():
    def load(name: str):
        spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


@pytest.fixture
def gpu_setup_function():
    def function(name: str) -> str:
        script = (BENCHMARKS / "gpu_setup.sh").read_text()
        body = script[script.index(f"{name}() {{") :]
        return body[: body.index("\n}\n") + 3]

    return function


@pytest.fixture
def recall_run_args(tmp_path) -> list[str]:
    """["--store", S, "--key", K, "--checkpoint", C, "--length", "4"] of a 4-step run (see the module docstring)."""
    from expressivity.runners.execution.store import Store
    from expressivity.runners.training.config import resolve, run_key
    from expressivity.runners.training.train import train

    sets = {"steps": 4, "batch_size": 4, "train_max_length": 4, "train_min_length": 4, "eval_lengths": [4],
            "eval_examples": 4, "checkpoint_every": 2, "d_model": 32, "n_heads": 2, "pattern": "GGA",
            "m": 12, "bits_format": "dict", "queries": "every_line", "mixture": "with_dense_recall"}  # fmt: skip
    config = resolve("state_based_recall", "hybrid", sets)
    store, ckpt = tmp_path / "s.sqlite", tmp_path / "run.pt"
    with Store(store) as st:
        st.enqueue([config])
    train(config, device="cpu", checkpoint=ckpt)
    return ["--store", str(store), "--key", run_key(config), "--checkpoint", str(ckpt), "--length", "4"]
