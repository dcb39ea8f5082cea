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
