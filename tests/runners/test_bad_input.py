"""Bad input, as a user would type it, in a subprocess under a 2 GiB address-space limit: one line on stderr, exit
code 2, and the result store's bytes unchanged. No wall-clock limits: each command either answers or is refused."""

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from expressivity.runners.execution.store import Store
from expressivity.runners.training.config import resolve

LIMIT = 2 << 30  # bytes of address space


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop(("EXPRESSIVITY_MEMORY_LIMIT"), None)
    cmd = [sys.executable, "-m", "expressivity.runners.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env, preexec_fn=_limited)


def _refused(result: subprocess.CompletedProcess, *needles: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr[-2000:]
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture
def store(tmp_path) -> Path:
    """A store holding a few queued runs: its bytes must not change under any refused command."""
    path = tmp_path / "s.sqlite"
    with Store(path) as st:
        st.enqueue([resolve("parity", "lstm", {"seed": i, "steps": 10}) for i in range(60)], grid="g")
    return path


CASES = {
    "a 100000-layer pattern": (["predict", "parity", "hybrid", "--set", "pattern=G*100000"], ["256"]),
    "a trillion bits": (["sample", "parity", "--length", "1000000000000"], ["EXPRESSIVITY_MEMORY_LIMIT"]),
    "ten million program lines": (["sample", "state_based_recall", "--length", "10000000"], ["memory"]),
    "a construction at ten million": (["construct", "parity", "--max-length", "10000000"], ["--max-length"]),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_requests_too_big_are_refused_in_one_line(case, tmp_path):
    args, needles = CASES[case]
    _refused(_cli(*args, cwd=tmp_path), *needles)


def test_a_run_too_big_to_test_never_reaches_the_store(store, tmp_path):
    before = store.read_bytes()
    args = ["train", "parity", "lstm", "--set", "eval_lengths=10000000", "--store", str(store)]
    _refused(_cli(*args, cwd=tmp_path), "eval_lengths")
    _refused(_cli(*args, cwd=tmp_path), "eval_lengths")  # and again: nothing was recorded as failed
    assert store.read_bytes() == before


def _corrupt_an_interior_page(path: Path) -> None:
    data = bytearray(path.read_bytes())
    page = len(data) // 4096 // 2  # a page of the runs table, neither the header nor the schema
    data[page * 4096 : (page + 1) * 4096] = b"\xa5" * 4096
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("command", ["status", "check", "table"])
def test_a_store_with_a_corrupt_page_is_one_line_naming_integrity_check(command, store, tmp_path):
    _corrupt_an_interior_page(store)
    before = store.read_bytes()
    _refused(_cli(command, "--store", str(store), cwd=tmp_path), "integrity_check")
    assert store.read_bytes() == before


@pytest.mark.parametrize("command", ["status", "check", "table"])
def test_read_only_commands_write_nothing_into_an_empty_file(command, tmp_path):
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    _refused(_cli(command, "--store", str(empty), cwd=tmp_path), "empty")
    assert empty.read_bytes() == b""


def _grid(tmp_path: Path, name: str = "") -> Path:
    path = tmp_path / "g.toml"
    head = f'name = "{name}"\n' if name else ""
    path.write_text(head + 'tasks = ["parity"]\narchs = ["lstm"]\nseeds = [0, 1]\n[set]\nsteps = 10\n')
    return path


def test_zero_cpu_workers_is_refused_before_the_store_is_touched(store, tmp_path):
    before = store.read_bytes()
    _refused(_cli("grid", str(_grid(tmp_path)), "--cpu", "--cpu-workers", "0", "--store", str(store), cwd=tmp_path))
    assert store.read_bytes() == before


def test_a_grid_name_cannot_leave_the_log_folder(store, tmp_path):
    before = store.read_bytes()
    work = tmp_path / "deep" / "er"
    work.mkdir(parents=True)
    _refused(_cli("grid", str(_grid(tmp_path, "../../../x")), "--store", str(store), cwd=work), "grid name")
    assert store.read_bytes() == before
    assert not list(tmp_path.rglob("x"))


def test_a_directory_is_not_a_grid_file(tmp_path):
    _refused(_cli("grid", str(tmp_path), "--store", str(tmp_path / "s.sqlite"), cwd=tmp_path), "is a directory")
    assert not (tmp_path / "s.sqlite").exists()


def test_status_after_a_killed_driver_shows_its_runs_abandoned_not_running(tmp_path):
    store = tmp_path / "s.sqlite"
    grid = tmp_path / "g.toml"
    grid.write_text('tasks = ["parity"]\narchs = ["lstm"]\nseeds = [0]\n[set]\nsteps = 100000\ncheckpoint_every = 0\n')
    cmd = [sys.executable, "-m", "expressivity.runners.cli", "grid", str(grid), "--store", str(store), "--cpu"]
    driver = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=tmp_path)
    try:
        for line in driver.stdout:  # wait for the event: the driver reports the run it started
            if "started" in line:
                break
        else:
            raise AssertionError("the grid ended before starting its run")
    finally:
        driver.kill()
        driver.wait()  # reaped: a zombie would still look alive
    result = subprocess.run(
        [sys.executable, "-m", "expressivity.runners.cli", "status", "--store", str(store)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "1 abandoned" in result.stdout.splitlines()[0]
    table = [line.split("\t")[0] for line in result.stdout.splitlines() if "\t" in line]
    assert table == ["status", "abandoned"]  # the header, then the one run
