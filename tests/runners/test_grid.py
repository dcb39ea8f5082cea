"""Grid files and the grid runner: expansion, one-line errors, SIGKILL-and-resume, failures that stay contained."""

import json
import random
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from typer.testing import CliRunner

from expressivity.runners.cli import app
from expressivity.runners.execution import grid as grids
from expressivity.runners.execution.store import Store
from expressivity.runners.execution.workers import run_job
from expressivity.runners.training.config import resolve, run_key
from expressivity.runners.training.train import train

runner = CliRunner()
CLI = [sys.executable, "-c", "from expressivity.runners.cli.main import main; main()"]
FAST = "steps = 30\nbatch_size = 32\ncheck_every = 5\ncheckpoint_every = 5\nwarmup = 5\neval_lengths = [6, 30]\n"
FAST += "eval_examples = 16\n"


def _write(tmp_path, text, name="g.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_product_of_every_axis_is_the_set_of_runs(tmp_path):
    path = _write(
        tmp_path,
        'tasks = ["parity", {name = "parity", targets = "final"}]\narchs = ["lstm"]\nseeds = [0, 1, 2]\n'
        "[set]\nsteps = 10\n[sweep]\nlr = [1e-3, 3e-4]\nwarmup = [0, 5]\n",
    )
    spec = grids.load(path)
    assert spec.name == "g" and len(spec.configs) == 2 * 1 * 3 * 2 * 2 == len(set(spec.keys))
    assert {c["task_params"]["targets"] for c in spec.configs} == {"running", "final"}
    assert {(c["train"]["lr"], c["train"]["warmup"]) for c in spec.configs} == {
        (1e-3, 0),
        (1e-3, 5),
        (3e-4, 0),
        (3e-4, 5),
    }
    assert all(c["train"]["steps"] == 10 for c in spec.configs)
    assert spec.configs[0] == resolve("parity", "lstm", {"steps": 10, "lr": 1e-3, "warmup": 0, "seed": 0})


def test_the_documented_example_is_a_valid_grid(tmp_path):
    example = grids.__doc__.split("\n\n", 1)[1].split("\n\nEvery run")[0]
    text = "\n".join(line.split("  #")[0].strip() for line in example.splitlines())
    spec = grids.load(_write(tmp_path, text))
    assert spec.name == "parity-vs-archs" and len(spec.configs) == 2 * 2 * 1 * 3 * 2 * 2


def test_dotted_keys_reach_their_namespace(tmp_path):
    path = _write(tmp_path, 'tasks = ["parity"]\narchs = ["lstm"]\n[set]\ntask.targets = "final"\ntrain.lr = 0.01\n')
    (config,) = grids.load(path).configs
    assert config["task_params"]["targets"] == "final" and config["train"]["lr"] == 0.01


def test_a_task_parameter_reaches_the_task_from_a_table_or_a_sweep(tmp_path):
    text = 'tasks = [{name = "state_based_recall", bits_format = "dict"}]\narchs = ["gdn"]\n'
    (config,) = grids.load(_write(tmp_path, text)).configs
    assert config["task_params"]["bits_format"] == "dict"
    text = 'tasks = ["state_based_recall"]\narchs = ["gdn"]\n[sweep]\nbits_format = ["list", "dict"]\n'
    listed, keyed = grids.load(_write(tmp_path, text)).configs
    assert [listed["task_params"]["bits_format"], keyed["task_params"]["bits_format"]] == ["list", "dict"]
    # the default stays out of the run key: the list run is the run made before the parameter existed
    assert run_key(listed) == run_key(resolve("state_based_recall", "gdn")) != run_key(keyed)


def test_identical_runs_collapse_and_command_line_sets_apply(tmp_path):
    path = _write(tmp_path, 'tasks = ["parity", {name = "parity", targets = "running"}]\narchs = ["lstm"]\n')
    spec = grids.load(path, sets={"steps": 7})
    assert len(spec.configs) == 1 and spec.configs[0]["train"]["steps"] == 7


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('tasks = ["nope"]\narchs = ["lstm"]\n', "unknown task 'nope'"),
        ('tasks = ["parity"]\narchs = ["nope"]\n', "unknown architecture 'nope'"),
        ('tasks = ["parity"]\narchs = ["lstm"]\ncolour = "red"\n', "unknown grid key(s) colour"),
        ('tasks = ["parity"]\narchs = ["lstm"]\n[set]\nbogus = 1\n', "unknown key 'bogus'"),
        ('tasks = ["parity"]\narchs = ["lstm"]\n[sweep]\nlr = 0.1\n', "must be a list"),
        ('tasks = []\narchs = ["lstm"]\n', "no runs: tasks is empty"),
        ('tasks = ["parity"]\narchs = ["lstm"]\nseeds = []\n', "no runs: seeds is empty"),
        ('archs = ["lstm"]\n', "no runs: tasks is empty"),
        ('tasks = ["parity"\n', "not valid TOML"),
        ('tasks = ["parity"]\narchs = ["lstm"]\n[set]\nlr = 0.1\n[sweep]\nlr = [0.1]\n', "given twice"),
    ],
)
def test_bad_grid_files_are_one_line_errors(tmp_path, text, expected):
    path = _write(tmp_path, text)
    result = runner.invoke(app, ["grid", str(path), "--store", str(tmp_path / "r.sqlite")])
    lines = [line for line in result.output.strip().splitlines() if line]
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error:"), result.output
    assert expected in lines[0]
    assert not (tmp_path / "r.sqlite").exists()


def test_missing_grid_file(tmp_path):
    result = runner.invoke(app, ["grid", str(tmp_path / "absent.toml")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_dry_run_lists_runs_and_writes_nothing(tmp_path):
    path = _write(tmp_path, 'tasks = ["parity"]\narchs = ["lstm"]\nseeds = [0, 1]\n[sweep]\nlr = [1e-3, 3e-4]\n')
    result = runner.invoke(app, ["grid", str(path), "--dry-run", "--store", str(tmp_path / "r.sqlite")])
    assert result.exit_code == 0, result.output
    assert "4 runs in grid g" in result.output and result.output.count("new") == 4
    assert "lr=0.0003" in result.output and "seed1" in result.output
    assert not (tmp_path / "r.sqlite").exists()


def test_grid_runs_everything_once_and_summarises_across_seeds(tmp_path):
    path = _write(tmp_path, f'tasks = ["parity"]\narchs = ["lstm"]\nseeds = [0, 1]\n[set]\n{FAST}')
    args = ["grid", str(path), "--store", str(tmp_path / "r.sqlite"), "--cpu", "--cpu-workers", "2"]
    first = runner.invoke(app, args, terminal_width=200)
    assert first.exit_code == 0, first.output
    assert "finished" in first.output and "2 done" in first.output and "2/2" in first.output
    again = runner.invoke(app, args, terminal_width=200)
    assert again.exit_code == 0 and "(0 new); 2 done" in again.output
    assert [e["event"] for e in _events(tmp_path / "r.sqlite")].count("done") == 2


def test_each_finished_runs_line_names_the_lengths_its_figure_averages(tmp_path):
    # A grid file's run is read over every test length above training (the stored summary): the line says which,
    # so a mean over 2x and 4x is not taken for the 2x figure a preset's table reads.
    sets = FAST.replace("eval_lengths = [6, 30]", "eval_lengths = [6, 20, 30]") + "train_max_length = 10\n"
    path = _write(tmp_path, f'tasks = ["parity"]\narchs = ["lstm"]\n[set]\n{sets}')
    args = ["grid", str(path), "--store", str(tmp_path / "r.sqlite"), "--cpu", "--cpu-workers", "1"]
    result = runner.invoke(app, args, terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "ood@20,30 scaled_acc " in result.output, result.output


def test_a_failing_run_is_a_failed_result_not_a_crash():
    config = resolve("parity", "lstm", {"steps": 2})
    config["task_params"]["targets"] = "sometimes"  # as if the store held a config this version rejects
    result = run_job({"keys": ["k"], "configs": [config], "checkpoints": [None], "device": "cpu"})["k"]
    assert result["status"] == "failed" and "targets" in result["error"]


def _events(store_path):
    with Store(store_path) as st:
        return st.events()


def _start(path, store_path):
    env_cmd = [*CLI, "grid", str(path), "--store", str(store_path), "--cpu", "--cpu-workers", "2"]
    return subprocess.Popen(env_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_env())


def _env():
    import os

    return {**os.environ, "OMP_NUM_THREADS": "1"}  # workers then match the in-process reference's thread count


def _wait_for(predicate, proc, timeout=1800.0):
    """Wait for an event of the grid (not for an amount of time); the timeout only guards against a hang, and
    running into it fails the test rather than carrying on with the event missing."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert proc.poll() is None, f"the grid exited ({proc.returncode}) before the awaited event"
        assert time.monotonic() < deadline, "the awaited event did not come"
        time.sleep(0.05)


@pytest.mark.slow
def test_sigkill_at_any_moment_then_rerun_finishes_every_run_exactly_once(tmp_path):
    path = _write(
        tmp_path, f'tasks = ["parity"]\narchs = ["lstm"]\nseeds = [0, 1, 2]\n[set]\n{FAST}[sweep]\nlr = [3e-3, 1e6]\n'
    )
    store_path = tmp_path / "r.sqlite"
    finished = ("done", "diverged", "failed")
    kills = [
        lambda: any(e["event"] == "claimed" for e in _events(store_path)) and any(tmp_path.glob("checkpoints/*.pt")),
        lambda: sum(e["event"] in finished for e in _events(store_path)) >= 1,
        lambda: sum(e["event"] in finished for e in _events(store_path)) >= 3,
    ]
    for predicate in kills:
        proc = _start(path, store_path)
        _wait_for(lambda: store_path.exists() and predicate(), proc)  # noqa: B023 - used within the iteration
        time.sleep(random.Random(len(_events(store_path))).uniform(0, 0.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    proc = _start(path, store_path)
    _, err = proc.communicate(timeout=1800)  # a guard against a hang only
    assert proc.returncode == 0, err.decode()[-2000:]

    events = _events(store_path)
    assert any(e["event"] == "abandoned" for e in events), "some run should have been killed mid-flight"
    ends = Counter(e["key"] for e in events if e["event"] in finished)
    spec = grids.load(path)
    assert sorted(ends) == sorted(spec.keys) and set(ends.values()) == {1}
    with Store(store_path) as st:
        rows = {r["key"]: r for r in st.rows()}
    assert Counter(r["status"] for r in rows.values()) == {"done": 3, "diverged": 3}
    assert not list(tmp_path.glob("checkpoints/*.pt")), "finished runs clean up their checkpoints"
    # Killed and resumed or not, every run's numbers are those of one uninterrupted training run (one thread on both
    # sides: tests/runners/conftest.py here, OMP_NUM_THREADS=1 in the workers).
    for config in spec.configs:
        expected = json.loads(json.dumps(train(config)["metrics"]))
        assert json.loads(json.dumps(rows[run_key(config)]["metrics"])) == expected


def test_only_checkpointed_resumes_the_runs_whose_checkpoints_were_carried_and_leaves_the_rest_queued(tmp_path):
    # A lent machine's call brings back only a few runs' checkpoints; the next call resumes those alone.
    path = _write(tmp_path, f'tasks = ["parity"]\narchs = ["lstm"]\nseeds = [0, 1]\n[set]\n{FAST}')
    store = tmp_path / "r.sqlite"
    args = ["grid", str(path), "--store", str(store), "--cpu", "--cpu-workers", "1", "--only-checkpointed"]
    nothing = runner.invoke(app, args)
    assert nothing.exit_code != 0 and "none of the 2 runs selected has a checkpoint" in nothing.output
    assert "0 checkpoint files" in nothing.output and len(nothing.output.strip().splitlines()) == 1
    configs = {c["seed"]: c for c in grids.load(path).configs}
    folder = tmp_path / "checkpoints"
    train(configs[1], device="cpu", checkpoint=folder / f"{run_key(configs[1])}.pt")
    # seed 1's checkpoint under seed 0's name is not seed 0's: a resume would start seed 0 at step 0.
    (folder / f"{run_key(configs[0])}.pt").write_bytes((folder / f"{run_key(configs[1])}.pt").read_bytes())
    listed = runner.invoke(app, [*args, "--dry-run"], terminal_width=200)
    assert listed.exit_code == 0 and "1 runs in grid g (of 2)" in listed.output and "seed1" in listed.output
    assert "seed0" not in listed.output
    result = runner.invoke(app, args, terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "1 of them resume from their checkpoints" in result.output
    with Store(store) as st:
        assert {r["seed"]: r["status"] for r in st.rows()} == {0: "queued", 1: "done"}


def test_seed_runs_part_of_a_grid_under_its_keys(tmp_path):
    path = _write(tmp_path, 'tasks = ["parity"]\narchs = ["lstm"]\nseeds = [0, 1, 2]\n')
    store = str(tmp_path / "r.sqlite")
    every = runner.invoke(app, ["grid", str(path), "--dry-run", "--store", store], terminal_width=200)
    part = runner.invoke(app, ["grid", str(path), "--dry-run", "--store", store, "--seed", "2", "--seed", "0"],
                         terminal_width=200)  # fmt: skip
    assert part.exit_code == 0, part.output
    assert "2 runs in grid g" in part.output and "seed1" not in part.output
    kept = [line for line in part.output.splitlines() if "seed" in line and "runs in grid" not in line]
    assert kept and all(line in every.output for line in kept)  # the same keys as in the whole grid
    bad = runner.invoke(app, ["grid", str(path), "--dry-run", "--store", store, "--seed", "7"])
    lines = [line for line in bad.output.strip().splitlines() if line]
    assert bad.exit_code == 2 and len(lines) == 1 and "seed [7]; valid: [0, 1, 2]" in lines[0], bad.output
