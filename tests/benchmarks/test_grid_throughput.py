"""benchmarks/grid_throughput.py's modes: old, new and newN (fused groups of at most N runs), and a one-line refusal of
anything else, before any run starts."""

import pytest


def test_modes_name_their_slots_group_cap_and_capture(load_benchmark):
    bench = load_benchmark("grid_throughput")
    assert bench.mode_settings("old") == (4, 1, False)
    assert bench.mode_settings("new") == (4, 32, True)
    assert bench.mode_settings("new12") == (4, 12, True)


@pytest.mark.parametrize("mode", ["nw", "new0", "new-3", "old2", ""])
def test_an_unknown_mode_is_refused_with_the_valid_ones(mode, load_benchmark):
    with pytest.raises(SystemExit, match="valid are old, new, and newN"):
        load_benchmark("grid_throughput").mode_settings(mode)
