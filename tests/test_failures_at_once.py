"""The conftest's EXPRESSIVITY_FAILURES_AT_ONCE: a failure's report the moment its test ends, before the next test
runs, so a GPU call whose time limit kills pytest before its summary still says why a test failed."""

import os
import subprocess
import sys
from pathlib import Path

CONFTEST = Path(__file__).with_name("conftest.py")


def _run_pytest(folder: Path, at_once: bool) -> str:
    """pytest -v on `folder` (a failing test, then a passing one) in a subprocess, with this suite's conftest hooks."""
    (folder / "conftest.py").write_text(
        "import importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('suite_conftest', {str(CONFTEST)!r})\n"
        "suite = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(suite)\n"
        "pytest_configure = suite.pytest_configure\n"
        "pytest_runtest_logreport = suite.pytest_runtest_logreport\n"
    )
    (folder / "test_two.py").write_text(
        "def test_a_fails():\n    assert 1 + 1 == 3, 'the reason this test fails'\n\n\ndef test_b_passes():\n    pass\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "EXPRESSIVITY_FAILURES_AT_ONCE"}
    if at_once:
        env["EXPRESSIVITY_FAILURES_AT_ONCE"] = "1"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:randomly", "-p", "no:cacheprovider", "--rootdir",
         str(folder), str(folder)],
        capture_output=True, text=True, env=env, cwd=folder,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr  # one test failed, as written
    return done.stdout


def test_with_the_setting_a_failure_is_reported_before_the_next_test_runs(tmp_path):
    out = _run_pytest(tmp_path, at_once=True)
    reason, next_test = out.index("the reason this test fails"), out.index("test_b_passes PASSED")
    assert "test_two.py::test_a_fails failed in its call" in out
    assert reason < next_test


def test_without_it_the_report_waits_for_the_summary(tmp_path):
    out = _run_pytest(tmp_path, at_once=False)
    assert "failed in its call" not in out
    assert out.index("the reason this test fails") > out.index("test_b_passes PASSED")
