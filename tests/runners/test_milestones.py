"""When each part of a run's mixture was learned (reports/milestones.py) and the `expressivity milestones` command:
from a finished run's curve in the store, and from a queued run's checkpoint beside it."""

from typer.testing import CliRunner

from expressivity.runners.cli import app
from expressivity.runners.execution.checkpoints import checkpoint_folder
from expressivity.runners.execution.owners import owner_id
from expressivity.runners.execution.store import Store
from expressivity.runners.reports.milestones import WHOLE_RUN, milestones, part_curves
from expressivity.runners.training.config import resolve
from expressivity.runners.training.train import save_checkpoint

runner = CliRunner()


def _window(step: int, parts: dict[str, float]) -> dict:
    """One logged window as the trainer records a mixture's: the mean loss over all parts and each part's own."""
    mean = sum(parts.values()) / len(parts)
    return {"step": step, "loss": mean, "parts": {p: {"loss": v, "steps": 10} for p, v in parts.items()}}


# A mixture whose recall half is learned at step 150, whose tracking part appears at step 100 (a curriculum) and is
# learned at 200, and whose composition never falls below a coin's 0.69.
HISTORY = [
    _window(50, {"recall": 0.69, "composition": 0.70}),
    _window(100, {"recall": 0.30, "composition": 0.69, "tracking": 0.60}),
    _window(150, {"recall": 0.04, "composition": 0.66, "tracking": 0.10}),
    _window(200, {"recall": 0.01, "composition": 0.68, "tracking": 0.049}),
]


def test_each_part_gets_its_first_window_below_the_threshold_its_lowest_and_last_loss_in_order_of_appearance():
    got = {m.part: m for m in milestones(HISTORY, below=0.05)}
    assert [m.part for m in milestones(HISTORY, below=0.05)] == ["recall", "composition", "tracking"]
    assert (got["recall"].first_seen, got["recall"].below_at, got["recall"].windows) == (50, 150, 4)
    assert (got["recall"].lowest, got["recall"].lowest_at, got["recall"].last_at) == (0.01, 200, 200)
    assert got["composition"].below_at is None and (got["composition"].lowest, got["composition"].lowest_at) == (
        0.66,
        150,
    )
    assert (got["tracking"].first_seen, got["tracking"].below_at, got["tracking"].windows) == (100, 200, 3)
    # the threshold is strict and chosen by the caller: at 0.7 the composition counts from its second window
    assert {m.part: m.below_at for m in milestones(HISTORY, below=0.7)} == {
        "recall": 50,
        "composition": 100,
        "tracking": 100,
    }


def test_a_curve_without_parts_is_one_part_read_from_the_windows_loss():
    history = [{"step": 50, "loss": 0.7}, {"step": 100, "loss": 0.02}]
    assert part_curves(history) == {WHOLE_RUN: [(50, 0.7), (100, 0.02)]}
    (only,) = milestones(history, below=0.05)
    assert (only.part, only.below_at, only.last) == (WHOLE_RUN, 100, 0.02)


def _store(path) -> tuple[str, str]:
    """A store with one finished run (the mixture curve above) and one queued run; their keys."""
    with Store(path) as st:
        st.enqueue([resolve("parity", "lstm", {"steps": 1, "seed": s}) for s in (0, 1)])
        done, _ = st.claim(owner_id())
        st.finish(done, owner_id(), {"status": "done", "steps": 200, "history": HISTORY, "metrics": {}})
        queued = next(r["key"] for r in st.rows() if r["key"] != done)
    return done, queued


def test_the_command_reads_a_finished_runs_curve_from_the_store(tmp_path):
    path = tmp_path / "r.sqlite"
    done, _ = _store(path)
    result = runner.invoke(app, ["milestones", "--store", str(path), "--key", done[:6]])
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.output.splitlines()[2:]]
    assert [(r[0], r[2], r[4]) for r in rows] == [
        (done, "recall", "150"),
        (done, "composition", "never"),
        (done, "tracking", "200"),
    ]
    assert "(done, store)" in rows[0][1] and rows[1][1] == ""  # the run named once, on its first part


def test_a_queued_run_is_read_from_its_own_checkpoint_beside_the_store_and_another_runs_is_ignored(tmp_path):
    path = tmp_path / "r.sqlite"
    done, queued = _store(path)
    folder = checkpoint_folder(path)
    save_checkpoint(folder / f"{queued}.pt", {"key": queued, "step": 150, "history": HISTORY[:3]})
    result = runner.invoke(app, ["milestones", "--store", str(path), "--key", queued, "--below", "0.5"])
    assert result.exit_code == 0, result.output
    assert "(queued, checkpoint at step 150)" in result.output
    assert [line.split("\t")[4] for line in result.output.splitlines()[2:]] == ["100", "never", "150"]
    save_checkpoint(folder / f"{queued}.pt", {"key": done, "step": 150, "history": HISTORY})  # not this run's
    ignored = runner.invoke(app, ["milestones", "--store", str(path), "--key", queued])
    assert ignored.exit_code == 2 and "has a training curve yet" in ignored.output


def test_an_unknown_key_is_a_one_line_error_naming_the_store(tmp_path):
    path = tmp_path / "r.sqlite"
    _store(path)
    result = runner.invoke(app, ["milestones", "--store", str(path), "--key", "ffffffff"])
    assert result.exit_code == 2
    assert "has a key starting with ffffffff" in result.output and len(result.output.strip().splitlines()) == 1
