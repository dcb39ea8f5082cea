"""`expressivity predict | construct | check` as a user runs them, `check` against a real result store."""

from typer.testing import CliRunner

from expressivity.runners.cli import app
from expressivity.runners.execution.owners import owner_id
from expressivity.runners.execution.store import Store
from expressivity.runners.training.config import resolve

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, list(args), terminal_width=200)


def test_predict_prints_both_answers_with_sources():
    result = invoke("predict", "parity", "gdn", "--set", "neg_eigval=false")
    assert result.exit_code == 0, result.output
    assert "EXPRESS: no" in result.output and "EXPECT: fails" in result.output and "Grazzi" in result.output


def test_predict_deltaproduct_on_a5_is_a_sourced_yes():
    args = ["--set", "group=A5", "--set", "neg_eigval=true", "--set", "num_householder=2"]
    result = invoke("predict", "word_problem", "deltaproduct", *args)
    assert result.exit_code == 0, result.output
    assert "EXPRESS: yes" in result.output and "Siems et al. 2025" in result.output and "2 reflections" in result.output
    one_gdn = invoke("predict", "word_problem", "gdn", "--set", "group=A5", "--set", "neg_eigval=true", "--set",
                     "n_layers=1")  # fmt: skip
    assert one_gdn.exit_code == 0 and "EXPRESS: no" in one_gdn.output


def test_predict_bad_input_is_one_line():
    result = invoke("predict", "parity", "nosuch")
    assert result.exit_code == 2 and result.output.startswith("error:") and "Traceback" not in result.output


def test_construct_prints_accuracy_by_length():
    result = invoke("construct", "parity", "--max-length", "64", "--examples", "8")
    assert result.exit_code == 0, result.output
    assert "64" in result.output and "1.0000" in result.output


def test_construct_runs_the_constructions_named():
    result = invoke("construct", "parity", "swap_s5", "--max-length", "16", "--examples", "2")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("parity:") and "\nswap_s5:" in result.output and "reverse" not in result.output


def test_the_demo_names_constructions_that_exist():
    from pathlib import Path

    from expressivity.theory import constructions

    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    line = next(row for row in makefile.splitlines() if row.startswith("DEMO_CONSTRUCTIONS ="))
    named = line.split("=", 1)[1].split()
    assert set(named) <= set(constructions.names()) and len(named) == len(constructions.names()) - 2


def test_construct_runs_inside_a_larger_stack():
    """Swap tracking (1-layer GDN) inside GAG: the attention and second GDN block zeroed, still exact."""
    result = invoke("construct", "swap_s5", "--pattern", "GAG", "--max-length", "64", "--examples", "4")
    assert result.exit_code == 0, result.output
    assert "inside GAG (2 more block(s)" in result.output and "64  1.0000  1.0000" in result.output
    wrong = invoke("construct", "state_based_recall", "--pattern", "AG", "--max-length", "64")
    assert wrong.exit_code == 2 and "not a subsequence" in wrong.output


def _store_with(path, runs):
    """A store holding finished runs: (task, arch, sets, ood scaled accuracy) each, all learned in distribution."""
    with Store(path) as store:
        for task, arch, sets, ood in runs:
            config = resolve(task, arch, sets)
            store.enqueue([config])
            key, _ = store.claim(owner_id())
            summary = {"id": {"scaled_acc": 1.0}, "ood": {"scaled_acc": ood, "lengths": [64]}}
            assert store.finish(key, owner_id(), {"status": "done", "metrics": {}, "summary": summary})


def test_check_reads_the_store_and_strict_fails_on_contradiction(tmp_path):
    path = tmp_path / "results.sqlite"
    _store_with(path, [("parity", "lstm", {}, 1.0), ("parity", "transformer", {"seed": 1}, 0.0)])
    result = invoke("check", "--store", str(path), "--strict")
    assert result.exit_code == 0, result.output
    assert result.output.count("agree") == 2

    _store_with(path, [("parity", "gdn", {}, 0.98)])  # beats a finite-precision EXPRESS = no: worth a look
    result = invoke("check", "--store", str(path), "--strict")
    assert result.exit_code == 0 and "SUSPECT" in result.output and "gdn[0,1]" in result.output

    _store_with(path, [("parity", "lstm", {"seed": 2, "steps": 10}, 0.0)])  # EXPECT learns, learned only in dist.
    result = invoke("check", "--store", str(path), "--strict")
    assert result.exit_code == 1 and "contradict parity/lstm" in result.output
    assert invoke("check", "--store", str(path)).exit_code == 0


def test_check_without_a_store_is_one_line(tmp_path):
    result = invoke("check", "--store", str(tmp_path / "none.sqlite"))
    assert result.exit_code == 2 and result.output.startswith("error: no result store")
