"""Reports list a preset's runs to read them from a store, so they do not hold them against this machine's memory
(limits.listing_only); commands that would train them still do."""

from pathlib import Path

from typer.testing import CliRunner

from expressivity.runners.cli import app

OLMO = Path(__file__).resolve().parents[2] / "results" / "olmo-hybrid" / "runs.sqlite"


def test_reports_read_runs_too_big_to_train_here_and_reproduce_still_refuses_them(monkeypatch, tmp_path):
    monkeypatch.setenv("EXPRESSIVITY_MEMORY_LIMIT", "1G")  # below every olmo-hybrid run's estimate (3.8-18 GiB)
    runner = CliRunner()
    for args in (["check", "--store", str(OLMO)], ["table", "olmo-hybrid", "--protocol", "full", "--store", str(OLMO)]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output[-2000:]
        assert "needs about" not in result.output
    store = tmp_path / "s.sqlite"
    refused = runner.invoke(app, ["reproduce", "olmo-hybrid", "--protocol", "full", "--dry-run", "--store", str(store)])
    assert refused.exit_code == 2, refused.output[-2000:]
    assert "needs about" in refused.output and "EXPRESSIVITY_MEMORY_LIMIT" in refused.output
    assert not store.exists()  # refused before any store is made


def test_merge_grid_reads_a_grid_too_big_to_train_here(monkeypatch, tmp_path):
    from expressivity.runners.execution.store import Store
    from expressivity.runners.reports import presets

    m256 = [c for c in presets.get("olmo-hybrid").grid(protocol="full").configs if c["task_params"].get("m") == 256]
    pilot = tmp_path / "pilot.sqlite"
    with Store(pilot) as st:
        st.enqueue(m256[:1], grid="olmo-hybrid-pilot")
    monkeypatch.setenv("EXPRESSIVITY_MEMORY_LIMIT", "1G")
    args = ["merge", str(pilot), "--grid", "olmo-hybrid-full", "--store", str(tmp_path / "s.sqlite")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0 and "1 added" in result.output, result.output[-2000:]
