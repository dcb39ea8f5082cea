"""The task commands of the CLI, as a user runs them."""

from typer.testing import CliRunner

from expressivity import tasks
from expressivity.runners.cli import app

runner = CliRunner()


def test_tasks_lists_every_task():
    result = runner.invoke(app, ["tasks"], terminal_width=400)
    assert result.exit_code == 0, result.output
    for name in tasks.names():
        assert name in result.output


def test_tasks_shows_chance_and_the_shortcut_at_length_8():
    result = runner.invoke(app, ["tasks"])  # not a terminal: tab-separated rows
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    header = lines[1].split("\t")
    assert header[-2:] == ["chance", "shortcut (len 8)"]
    rows = {line.split("\t")[0]: line.split("\t") for line in lines[2:]}
    copy = tasks.make("copy")
    assert rows["copy"][-2:] == [f"{copy.chance:.3f}", f"{copy.shortcut_acc(8):.3f} majority_symbol"]
    assert rows["needle"][-1].endswith("(len 20)")  # its shortest length


def test_sample_prints_examples():
    result = runner.invoke(app, ["sample", "parity", "--length", "6", "-n", "2", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert result.output.count("input :") == 2


def test_sample_set_option_reaches_task():
    result = runner.invoke(app, ["sample", "parity", "--set", "targets=final"])
    assert result.exit_code == 0, result.output
    assert "targets='final'" in result.output


def _one_line_error(args, *expected):
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    lines = [line for line in result.output.strip().splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    for text in expected:
        assert text in lines[0]
    assert "Traceback" not in result.output


def test_unknown_task_is_one_line():
    _one_line_error(["sample", "nope"], "unknown task", "parity")


def test_unknown_parameter_is_one_line():
    _one_line_error(["sample", "parity", "--set", "bogus=1"], "bogus", "targets")


def test_bad_length_is_one_line():
    _one_line_error(["sample", "parity", "--length", "-3"], "length")


def test_malformed_set_is_one_line():
    _one_line_error(["sample", "parity", "--set", "targets"], "key=value")
