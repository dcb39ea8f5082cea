"""`expressivity archs`: every architecture, its parameters and its parameter count at each size."""

from typer.testing import CliRunner

from expressivity import architectures
from expressivity.runners.cli import app

runner = CliRunner()


def test_archs_lists_every_architecture_and_size():
    result = runner.invoke(app, ["archs", "--vocab-size", "40"], terminal_width=400)
    assert result.exit_code == 0, result.output
    assert "vocab_size=40" in result.output
    for size in architectures.sizes():
        assert size in result.output
    for name in architectures.names():
        assert name in result.output
    tiny_gdn = architectures.build("gdn", vocab_size=40).num_params()
    assert f"{tiny_gdn:,}" in result.output  # the counts are the built models'


def test_bad_vocab_size_is_one_line():
    result = runner.invoke(app, ["archs", "--vocab-size", "0"])
    assert result.exit_code == 2
    lines = [line for line in result.output.strip().splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("error:") and "vocab_size" in lines[0]
