"""benchmarks/grid_throughput.py's modes: old, new and newN (fused groups of at most N runs), and a one-line refusal of
anything else, before any run starts."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load():
    spec = importlib.util.spec_from_file_location("grid_throughput", ROOT / "benchmarks" / "grid_throughput.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_modes_name_their_slots_group_cap_and_capture():
    bench = load()
    assert bench.mode_settings("old") == (4, 1, False)
    assert bench.mode_settings("new") == (4, 32, True)
    assert bench.mode_settings("new12") == (4, 12, True)


@pytest.mark.parametrize("mode", ["nw", "new0", "new-3", "old2", ""])
def test_an_unknown_mode_is_refused_with_the_valid_ones(mode):
    with pytest.raises(SystemExit, match="valid are old, new, and newN"):
        load().mode_settings(mode)
