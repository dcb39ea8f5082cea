"""benchmarks/checkpoints_to_ship.py: the checkpoints a call wrote, most advanced first; those carried in stay."""

import os

import torch


def test_the_checkpoints_written_during_a_call_go_most_advanced_first(tmp_path, load_benchmark):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    marker = tmp_path / "started"
    marker.touch()
    began = marker.stat().st_mtime - 30
    os.utime(marker, (began, began))  # the call began before these checkpoints were written
    for key, step in (("aaa", 500), ("bbb", 3000), ("ccc", 1500), ("old", 9000)):
        torch.save({"key": key, "step": step}, folder / f"{key}.pt")
    (folder / "bad.pt").write_bytes(b"not a checkpoint")  # unreadable: shipped last (step 0), as training reads it
    os.utime(folder / "old.pt", (began - 30, began - 30))  # carried in before the call began
    ship = load_benchmark("checkpoints_to_ship").to_ship
    shipped = ["checkpoints/bbb.pt", "checkpoints/ccc.pt", "checkpoints/aaa.pt", "checkpoints/bad.pt"]
    assert ship(folder, marker) == shipped
    assert ship(folder)[0] == "checkpoints/old.pt"  # without a marker, every checkpoint


def test_a_budget_ships_the_most_advanced_checkpoints_that_fit_whole(tmp_path, load_benchmark):
    import tarfile

    folder = tmp_path / "checkpoints"
    folder.mkdir()
    for key, step in (("aaa", 500), ("bbb", 3000), ("ccc", 1500)):
        torch.save({"key": key, "step": step, "weights": torch.zeros(25_000)}, folder / f"{key}.pt")  # ~100 KB each
    module = load_benchmark("checkpoints_to_ship")
    everything = module.to_ship(folder)
    archive = tmp_path / "all.tar"
    with tarfile.open(archive, "w") as tar:  # what gpu_pilot.sh makes of the list, with `tar cf`
        for name in everything:
            tar.add(tmp_path / name, arcname=name)
    estimate = module.TAR_END + sum(module.tar_bytes((tmp_path / n).stat().st_size) for n in everything)
    assert archive.stat().st_size <= estimate  # never below the real tar: a shipped list always fits its budget
    assert module.to_ship(folder, budget=estimate) == everything
    two = module.to_ship(folder, budget=estimate - 1)
    assert two == everything[:2] == ["checkpoints/bbb.pt", "checkpoints/ccc.pt"]  # the least advanced stays behind
    assert module.to_ship(folder, budget=1000) == []  # not even one fits: nothing, rather than a cut-off part
