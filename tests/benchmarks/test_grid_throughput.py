"""benchmarks/grid_throughput.py's modes: old, new and newN (fused groups of at most N runs), and a one-line refusal of
anything else, before any run starts."""

import contextlib

import pytest


def test_modes_name_their_slots_group_cap_and_capture(load_benchmark):
    bench = load_benchmark("grid_throughput")
    assert bench.mode_settings("old") == (4, 1, False)
    assert bench.mode_settings("new") == (4, 32, True)
    assert bench.mode_settings("new12") == (4, 12, True)
    assert bench.mode_settings("new8-all") == (4, 8, True) and bench.unfused_of("new8-all") == ""
    assert bench.mode_settings("new-LS") == (4, 32, True) and bench.unfused_of("new-LS") == "LS"
    assert bench.unfused_of("new") == bench.unfused_of("new12") == "L"  # the grid's default: the LSTM apart


@pytest.mark.parametrize("mode", ["nw", "new0", "new-3", "old2", "old-L", "new-l", "new-All", ""])
def test_an_unknown_mode_is_refused_with_the_valid_ones(mode, load_benchmark):
    with pytest.raises(SystemExit, match="valid are old, new, and newN"):
        load_benchmark("grid_throughput").mode_settings(mode)


def test_a_mode_naming_no_layer_is_refused_before_any_run(load_benchmark):
    with pytest.raises(SystemExit, match="names a layer letter that does not exist; valid are"):
        load_benchmark("grid_throughput").mode_settings("new-Q")


def test_a_pass_trains_from_step_0_though_a_checkpoint_of_its_key_is_left_beside_its_store(
    tmp_path, monkeypatch, load_benchmark
):
    """Modes share run keys and a checkpoint folder, and a warm GPU machine keeps /tmp between calls: a checkpoint left
    by a pass that was cut off must not be resumed by the next pass (it would time part of a run as the whole)."""
    from expressivity.runners.execution import workers
    from expressivity.runners.execution.checkpoints import checkpoint_folder
    from expressivity.runners.training.config import resolve, run_key

    bench = load_benchmark("grid_throughput")
    config = resolve("parity", "transformer", {"steps": 2})
    store = tmp_path / "new.sqlite"
    stale = checkpoint_folder(store) / f"{run_key(config)}.pt"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"a checkpoint of an earlier pass")
    seen = []

    class Started(Exception):
        pass

    def drive(store, keys, pool, **kwargs):  # where the real driver would resume from the checkpoint
        seen.append(stale.exists())
        raise Started

    monkeypatch.setattr(workers, "drive", drive)
    monkeypatch.setattr(workers, "LocalPool", lambda slots, log_dir: None)
    with pytest.raises(Started):
        bench.run([config], store, "new", tmp_path / "logs")
    assert seen == [False]


def test_the_groups_start_is_read_from_their_worker_logs_as_fused_training_writes_it(tmp_path, load_benchmark):
    """The start line comes from training/fused.py itself (a CPU group of 2 runs, 10 steps), not a copy of its
    format, so a change of wording there fails here."""
    from expressivity.runners.training.config import resolve
    from expressivity.runners.training.fused import train_fused

    configs = [resolve("parity", "transformer", {"steps": 10, "seed": s, "eval_lengths": [4]}) for s in (0, 1)]
    log = tmp_path / "worker-0.log"
    with open(log, "w") as stream, contextlib.redirect_stderr(stream):
        train_fused(configs, device="cpu")
    (tmp_path / "worker-1.log").write_text("no group here\n")
    starts = load_benchmark("grid_throughput").group_starts(tmp_path)
    assert len(starts) == 1 and 0 <= starts[0][0] and 0 < starts[0][1]
