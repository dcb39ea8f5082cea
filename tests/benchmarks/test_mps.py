"""benchmarks/gpu_setup.sh's start_mps and stop_mps, against a stand-in for NVIDIA's MPS control program: a daemon left
by an earlier call is quit before a fresh one starts (on 2026-12-06 a call that reused one failed at its first CUDA
call), a failed check leaves MPS off, stop_mps returns at once when no daemon runs, and two pilots of one call share
one daemon, the last to stop quitting it (on 2026-12-07 the second pilot quit the first's, failing all its runs)."""

import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("pgrep") is None, reason="needs pgrep, as the lent machine has")

# The stand-in: `-d` starts a daemon process (a sleep whose name begins nvidia-cuda-mps-control, as stop_mps looks for)
# unless one runs, `quit` on stdin ends it and returns when it has ended. `get_server_list` prints a pid, as the real
# one does.
CONTROL = """#!/bin/bash
tag={tag}
if [ "$1" = -d ]; then
  if pgrep -f "nvidia-cuda-mps-control-$tag" >/dev/null; then
    echo "An instance of this daemon is already running"
    exit 1
  fi
  (exec -a "nvidia-cuda-mps-control-$tag" sleep infinity) >/dev/null 2>&1 &
  echo started >>"$OUT/starts"
  exit 0
fi
read -r command
case "$command" in
  quit)  # returns once the daemon has ended, so stop_mps finds it gone at its first look and never waits
    pkill -f "nvidia-cuda-mps-control-$tag"
    while pgrep -f "nvidia-cuda-mps-control-$tag" >/dev/null; do :; done
    echo quit >>"$OUT/quits" ;;
  get_server_list) echo 123 ;;
esac
"""


def _run(tmp_path: Path, function, script: str, check_passes: bool) -> tuple[subprocess.CompletedProcess, str]:
    """Run `script` after defining start_mps and stop_mps, with the stand-in first on PATH and a `python3` whose CUDA
    check passes or fails; the script is a file, so no process's command line holds the functions' text."""
    tag = uuid.uuid4().hex[:8]
    bin_dir, out = tmp_path / "bin", tmp_path / "out"
    bin_dir.mkdir()
    out.mkdir()
    (bin_dir / "nvidia-cuda-mps-control").write_text(CONTROL.format(tag=tag))
    (bin_dir / "python3").write_text(f"#!/bin/bash\nexit {0 if check_passes else 1}\n")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    functions = "".join(function(name) for name in ("quit_mps", "live_mps_users", "stop_mps", "start_mps"))
    (tmp_path / "mps.sh").write_text(f"MPS_USERS={tmp_path}/mps-users\n" + functions)
    (tmp_path / "call.sh").write_text(f"source {tmp_path}/mps.sh\n" + script)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "OUT": str(out), "TAG": tag}
    try:
        done = subprocess.run(["bash", str(tmp_path / "call.sh")], capture_output=True, text=True, env=env)
    finally:
        subprocess.run(["pkill", "-f", f"nvidia-cuda-mps-control-{tag}"], check=False)
    return done, tag


def _running(tag: str) -> bool:
    return subprocess.run(["pgrep", "-f", f"nvidia-cuda-mps-control-{tag}"], capture_output=True).returncode == 0


def test_a_daemon_left_by_an_earlier_call_is_quit_before_a_fresh_one_starts(tmp_path, gpu_setup_function):
    script = """
nvidia-cuda-mps-control -d    # the earlier call's daemon, still running
start_mps
echo "pipe=${CUDA_MPS_PIPE_DIRECTORY:-unset}"
pgrep -f "nvidia-cuda-mps-control-$TAG" >/dev/null && echo "daemon running"
stop_mps
pgrep -f "nvidia-cuda-mps-control-$TAG" >/dev/null || echo "daemon gone"
"""
    done, tag = _run(tmp_path, gpu_setup_function, script, check_passes=True)
    out = tmp_path / "out"
    assert done.returncode == 0, done.stderr
    assert (out / "starts").read_text().split() == ["started", "started"]  # the leftover, then the fresh one
    assert (out / "quits").read_text().split() == ["quit", "quit"]  # the leftover by start_mps, the fresh by stop_mps
    assert "pipe=/tmp/nvidia-mps" in done.stdout and "MPS servers: 123" in done.stdout
    assert "daemon running" in done.stdout and "daemon gone" in done.stdout
    assert "already running" not in done.stdout + done.stderr
    assert not _running(tag)


def test_a_failed_check_leaves_mps_off_and_stop_mps_without_a_daemon_returns_at_once(tmp_path, gpu_setup_function):
    script = """
stop_mps && echo "nothing to stop"
start_mps
echo "pipe=${CUDA_MPS_PIPE_DIRECTORY:-unset}"
"""
    done, tag = _run(tmp_path, gpu_setup_function, script, check_passes=False)
    assert done.returncode == 0, done.stderr
    assert "nothing to stop" in done.stdout and "MPS failed its check: running without it" in done.stdout
    assert "pipe=unset" in done.stdout
    assert (tmp_path / "out" / "quits").read_text().split() == ["quit"]  # the failed daemon, by start_mps
    assert not _running(tag)


def test_two_pilots_share_one_daemon_and_the_last_to_stop_quits_it(tmp_path, gpu_setup_function):
    """Each pilot is its own bash process (its own $$), as two gpu_pilot.sh started side by side are; each waits for a
    file before it stops, so the order is set by events, not by time."""
    script = """
pilot() { bash -c "source $(dirname "$0")/mps.sh; start_mps >/dev/null; touch $OUT/in-$1
  while [ ! -f $OUT/go-$1 ]; do sleep 0.05; done; stop_mps"; }
pilot a & a=$!
while [ ! -f "$OUT/in-a" ]; do sleep 0.05; done
pilot b & b=$!
while [ ! -f "$OUT/in-b" ]; do sleep 0.05; done
touch "$OUT/go-a"; wait $a
pgrep -f "nvidia-cuda-mps-control-$TAG" >/dev/null && echo "running after the first stopped"
touch "$OUT/go-b"; wait $b
pgrep -f "nvidia-cuda-mps-control-$TAG" >/dev/null || echo "gone after the last stopped"
"""
    done, tag = _run(tmp_path, gpu_setup_function, script, check_passes=True)
    out = tmp_path / "out"
    assert done.returncode == 0, done.stderr
    assert (out / "starts").read_text().split() == ["started"]  # the second pilot joined the first's daemon
    assert (out / "quits").read_text().split() == ["quit"]  # by the last to stop, not by the second to start
    assert "running after the first stopped" in done.stdout and "gone after the last stopped" in done.stdout
    assert "MPS: joined the daemon of pids" in (out / "card.log").read_text()
    assert not _running(tag)
