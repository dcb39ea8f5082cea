"""Presets as data: every grid (full and quick) resolves, the quick grids are genuinely reduced CPU grids, the row
protocols and command-line overrides reach the runs, and every published number names a real cell and source."""

import json

import pytest

from expressivity.runners.reports import presets
from expressivity.runners.training.config import resolve
from expressivity.runners.training.evaluate import METRICS
from expressivity.theory.sources import SOURCES

ALL = [presets.get(n) for n in presets.names()]
IDS = presets.names()


def _cost(configs) -> int:
    """Training examples over the whole grid: a proxy of its CPU time."""
    return sum(c["train"]["steps"] * c["train"]["batch_size"] for c in configs)


def test_the_issue_presets_are_registered():
    assert presets.names() == ["olmo-hybrid", "negative-eigenvalues", "chomsky", "illusion-of-state", "alternations"]
    with pytest.raises(ValueError, match="valid: olmo-hybrid, negative-eigenvalues, chomsky"):
        presets.get("nope")


def _size(values_by_key) -> int:
    n = 1
    for values in values_by_key.values():
        n *= len(values)
    return n


@pytest.mark.parametrize("preset", ALL, ids=IDS)
def test_full_grid_is_every_row_column_and_seed(preset):
    grid = preset.grid()
    rows, columns = preset.layout(protocol=preset.protocol)
    per_row = sum(_size({**preset.sweep, **c.sweep}) for c in columns)  # a column's own sweep (depths) multiplies it
    assert len(grid.configs) == len(rows) * per_row * len(preset.seeds)
    assert len(set(grid.keys)) == len(grid.keys)
    assert {c["seed"] for c in grid.configs} == set(preset.seeds) and len(preset.seeds) >= 3
    assert preset.metric.field in METRICS and preset.budget


@pytest.mark.parametrize("preset", ALL, ids=IDS)
def test_quick_grid_is_a_reduced_cpu_grid(preset):
    full, quick = preset.grid().configs, preset.grid(quick=True).configs
    assert 0 < len(quick) <= 16 and len(quick) < len(full)
    assert _cost(quick) * 10 < _cost(full)
    for c in quick:
        # 1000 steps of batch 64: what running parity needs on CPU (grids/parity_eigenvalues.toml)
        assert c["train"]["steps"] <= 1000 and c["train"]["batch_size"] <= 64 and c["size"] == "tiny"
    assert set(preset.quick.columns) <= {c.label for c in preset.columns}
    assert preset.needs_gpu


@pytest.mark.parametrize("preset", ALL, ids=IDS)
def test_published_numbers_name_real_cells_and_sources(preset):
    rows = {r.label for r in preset.rows}
    columns = {c.label for c in preset.columns}
    for (row, column), pub in preset.published.items():
        assert row in rows and column in columns and pub.source in SOURCES
    for row in preset.quick.rows:
        assert row.label in rows


def test_negative_eigenvalues_quick_holds_the_parity_separation():
    quick = presets.get("negative-eigenvalues").grid(quick=True).configs
    gdn = {(c["model_params"]["neg_eigval"], c["seed"]) for c in quick if c["arch"] == "gdn" and c["task"] == "parity"}
    assert gdn == {(True, 0), (True, 1), (False, 0), (False, 1)}
    # Trained to 40, tested beyond it (to 128: the CPU-calibrated reach of grids/parity_eigenvalues.toml).
    assert all(c["train"]["train_max_length"] == 40 and max(c["train"]["eval_lengths"]) == 128 for c in quick)


def test_published_grazzi_numbers_are_the_papers():
    pub = presets.get("negative-eigenvalues").published
    assert pub[("parity", "transformer")].value == 0.022
    assert pub[("mod arithmetic", "deltanet[-1,1]")].value == 0.971
    assert pub[("mod arithmetic with brackets", "diagonal[0,1]")].value == 0.123
    assert presets.get("chomsky").published[("parity (R)", "transformer")].value == 52.0


def test_row_protocols_and_command_line_sets_reach_the_runs():
    illusion = presets.get("illusion-of-state")
    for c in illusion.grid().configs:
        n = c["train"]["train_max_length"]
        assert c["train"]["train_min_length"] == n and c["train"]["eval_lengths"] == (n,)
        assert c["model_params"]["n_layers"] in (1, 2, 3, 4)
    assert {c["train"]["train_max_length"] for c in illusion.grid().configs} == {8, 16, 32, 64}
    olmo = presets.get("olmo-hybrid").grid(sets={"steps": 7, "eval_lengths": [4, 16, 20]}, protocol="testbed-v1")
    olmo = olmo.configs
    assert {c["train"]["steps"] for c in olmo} == {7} and {c["train"]["eval_lengths"] for c in olmo} == {(4, 16, 20)}
    assert {c["train"]["train_max_length"] for c in olmo} == {16}


def test_the_olmo_hybrid_redo_moves_n_and_m_apart():
    """Issue 15: dense asserts, scored at test by the last one (the state after all n lines); the n rows keep
    m = 16 and test to 4x n; the m rows hold n at 4 and sweep m past a small GDN's recall; the eigenvalue and order
    controls only under the new protocol; every run raises the number of pointers from 2 over the first half."""
    preset = presets.get("olmo-hybrid")
    full = preset.grid(protocol="full")
    olmo = full.configs
    n_rows = [c for c in olmo if c["train"]["train_max_length"] == 16]
    m_rows = [c for c in olmo if c["train"]["train_max_length"] == 4]
    assert len(olmo) == len(n_rows) + len(m_rows) == 5 * 3 * 6
    for c in olmo:
        assert c["task_params"]["queries"] == "every_line" and c["eval_task_params"] == {}  # headline: last assert
        assert c["task_params"]["max_vars"] == 5
        assert c["train"]["length_schedule"] == ("fixed" if c["train"]["train_max_length"] == 4 else "increasing")
        assert c["model_params"].get("pos", "nope") == "nope"
        assert (c["train"]["curriculum_param"], c["train"]["curriculum_from"]) == ("num_vars", 2)
        assert c["train"]["curriculum_frac"] == 0.5 and c["train"]["steps"] == 20000
    assert {c["task_params"].get("m") for c in n_rows} == {16, None}  # tracking has no list
    assert {c["train"]["eval_lengths"] for c in n_rows} == {(8, 16, 32, 64)}
    assert {c["task_params"]["m"] for c in m_rows} == {16, 64, 256}  # GDN's limit, about 128 items, inside
    assert {c["train"]["eval_lengths"] for c in m_rows} == {(4,)}
    for c in m_rows:  # the bits as a dict, with dense tracking and recall steps beside: what first composed at 64
        assert c["task_params"]["bits_format"] == "dict" and c["train"]["mixture"] == "all_three_dense"
        assert c["train"]["curriculum_also"] == "m=16" and c["train"]["batch_size"] == 128
    assert all(c["task_params"].get("bits_format", "list") == "list" and not c["train"]["mixture"] for c in n_rows)
    patterns = {c["model_params"].get("pattern") for c in olmo if c["arch"] == "hybrid"}
    assert patterns == {"GGGA", "AGGG"}
    # The default (reduced) grid is the n axis's state-based recall row at the same steps: the same runs, fewer rows.
    reduced = preset.grid(protocol="reduced")
    assert set(reduced.keys) < set(full.keys) and len(reduced.keys) == 6 * 3
    assert {(c["task"], c["task_params"]["m"], c["train"]["train_max_length"]) for c in reduced.configs} == {
        ("state_based_recall", 16, 16)
    }
    with pytest.raises(ValueError, match="unknown key 'nope'"):
        presets.get("chomsky").grid(quick=True, sets={"nope": 1})


@pytest.mark.parametrize("preset", ALL, ids=IDS)
def test_every_protocol_variant_resolves_and_names_its_grid(preset):
    names = set()
    for variant in preset.protocols:
        grid = preset.grid(protocol=variant)
        assert grid.configs and grid.name == preset.grid_name(protocol=variant)
        names.add(grid.name)
        assert variant in preset.describe_protocol(variant)
    assert len(names) == len(preset.protocols)
    with pytest.raises(ValueError, match="offers the protocols"):
        preset.grid(protocol="no-such-protocol")


def test_paper_protocols_are_data_with_sources_and_reduced_only_in_steps_unless_the_model_is_narrowed():
    from expressivity.theory.published import PROTOCOLS
    from expressivity.theory.sources import SOURCES

    for protocol in PROTOCOLS.values():
        assert protocol.source == "ours" or protocol.source in SOURCES
        assert not (protocol.reduced or protocol.reduced_model) or protocol.reduced_why
        if not protocol.reduced_model:
            assert set(protocol.reduced) <= {"steps", "warmup"}
        else:  # a narrower model with its learning rate fitted: nothing else of the paper's changes
            assert set(protocol.reduced) <= {"steps", "warmup", "lr", "schedule"}
            assert set(protocol.reduced_model) <= set(protocol.model)


def test_the_olmo_hybrid_m_axis_runs_are_the_gpu_pilots_runs():
    """The m axis's cells train exactly as the GPU pilots did (pilot-m-axis-dict-b128.toml at m = 16 and 64,
    pilot-m-axis-staged-late.toml at m = 256), so their runs, merged into the committed store under
    olmo-hybrid-full, are the grid's: the same keys. The m = 256 runs of the earlier, unstaged protocol stay in the
    store and leave the grid."""
    import sqlite3
    from pathlib import Path

    store = Path(__file__).resolve().parents[2] / "results" / "olmo-hybrid" / "runs.sqlite"
    keys = set(presets.get("olmo-hybrid").grid(protocol="full").keys)
    db = sqlite3.connect(store)
    merged = {key for (key,) in db.execute("SELECT key FROM runs WHERE config LIKE '%all_three_dense%'")}
    db.close()
    pilots = {"492c08cd0075c464", "08d1257d49030271", "24956867ec634c06", "c15323a38247ba7d", "f98eaaa85d027cc4"}
    assert pilots <= merged and pilots <= keys, (pilots - merged, pilots - keys)
    unstaged = {"ae7a50f5dac5684f", "d61411a1027e06f1"}  # GGGA [-1,1] and GDN [-1,1] at m = 256, seed 0
    assert unstaged <= merged and not unstaged & keys


def test_illusion_reduced_runs_are_the_pilots_that_taught_deltaproduct_and_its_negative_control():
    """The reduced illusion-of-state grid trains the DeltaProduct and GDN [-1,1] cells exactly as the committed 8-head
    pilots did (results/illusion-of-state/pilot-heads-*.sqlite), but for keys that change neither model nor data."""
    import sqlite3
    from pathlib import Path

    results = Path(__file__).resolve().parents[2] / "results"
    configs = presets.get("illusion-of-state").grid(protocol="reduced").configs
    inert = {"n_heads", "checkpoint_every"}  # n_heads: unused by layers with gdn_heads set (no attention)
    for store, arch, group, layers in [("a5", "deltaproduct", "A5", 2), ("s5", "deltaproduct", "S5", 4),
                                       ("gdn", "gdn", "A5", None)]:  # fmt: skip
        db = sqlite3.connect(results / "illusion-of-state" / f"pilot-heads-{store}.sqlite")
        pilot = json.loads(db.execute("SELECT config FROM runs WHERE seed = 0").fetchone()[0])
        db.close()
        ours = next(
            c for c in configs
            if c["arch"] == arch and c["task_params"]["group"] == group and c["seed"] == 0
            and c["train"]["train_max_length"] == 16 and c["model_params"]["n_layers"] == 1
            and c["model_params"].get("num_householder") == layers
        )  # fmt: skip
        resolved = resolve(pilot["task"], pilot["arch"], {**pilot["task_params"], **pilot["model_params"],
                                                          **pilot["train"], "seed": 0})  # fmt: skip
        for part in ("task_params", "model_params", "train"):
            differ = {k for k in {*ours[part], *resolved[part]} if ours[part].get(k) != resolved[part].get(k)}
            assert differ <= inert, (store, part, {k: (ours[part].get(k), resolved[part].get(k)) for k in differ})


def test_grazzi_runs_are_grazzis_shape_and_deletangs_lstm_is_plain():
    neg = presets.get("negative-eigenvalues").grid(protocol="full").configs
    parity = [c for c in neg if c["task"] == "parity_check" and c["arch"] == "gdn"]
    train, model = parity[0]["train"], parity[0]["model_params"]
    shape = (train["steps"], train["batch_size"], train["lr"], train["warmup"], train["clip"])
    assert shape == (20000, 256, 1e-3, 2000, 0.0)
    assert train["length_sampling"] == "example" and train["eval_examples"] == 2500
    assert {k: v for k, v in model.items() if k != "neg_eigval"} == {
        "d_model": 128, "n_heads": 4, "n_layers": 2, "tie_embeddings": False}  # fmt: skip
    lstm = [c for c in presets.get("chomsky").grid().configs if c["arch"] == "lstm"][0]
    assert lstm["model_params"] == {"n_layers": 1, "lstm_hidden": 256, "block": "plain", "tie_embeddings": False}
    assert lstm["train"]["schedule"] == "constant" and lstm["train"]["clip"] == 1.0


def test_a_pilot_of_some_rows_and_columns_is_part_of_the_grid_with_the_same_keys():
    preset = presets.get("olmo-hybrid")
    full = preset.grid(protocol="reduced")
    pilot = preset.grid(protocol="reduced", rows=["state-based recall (n)"], columns=["transformer", "gdn[-1,1]"])
    assert set(pilot.keys) < set(full.keys) and len(pilot.keys) == 2 * len(preset.seeds)
    assert {c["arch"] for c in pilot.configs} == {"transformer", "gdn"}
    with pytest.raises(ValueError, match="no column 'gdn'; valid: transformer"):
        preset.grid(protocol="reduced", columns=["gdn"])


def test_a_pilot_of_one_depth_keeps_the_depth_sweeps_keys_and_an_absent_depth_is_a_one_line_error():
    preset = presets.get("illusion-of-state")
    full = preset.grid(protocol="reduced", rows=["A5 @ 8"], columns=["gdn[-1,1]"])
    one = preset.grid(protocol="reduced", rows=["A5 @ 8"], columns=["gdn[-1,1]"], depths=[1])
    assert sorted({c["model_params"]["n_layers"] for c in full.configs}) == [1, 2, 3, 4]
    assert {c["model_params"]["n_layers"] for c in one.configs} == {1} and len(one.keys) == len(preset.seeds)
    assert set(one.keys) < set(full.keys)
    with pytest.raises(ValueError, match=r"has depth \(n_layers\) \[7\]; valid: \[1, 2, 3, 4\]"):
        preset.grid(protocol="reduced", rows=["A5 @ 8"], columns=["gdn[-1,1]"], depths=[7])


def test_a_pilot_of_one_seed_keeps_the_cells_keys_and_an_absent_seed_is_a_one_line_error():
    preset = presets.get("olmo-hybrid")  # a cell of 20000 steps at m = 256: one seed fills a session's card time
    cell = {"protocol": "full", "rows": ["state-based recall, m = 256"], "columns": ["hybrid GGGA[-1,1]"]}
    full, one = preset.grid(**cell), preset.grid(**cell, seeds=[0])
    assert sorted(c["seed"] for c in full.configs) == [0, 1, 2]
    assert [c["seed"] for c in one.configs] == [0] and set(one.keys) < set(full.keys)
    both = preset.grid(**cell, seeds=[2, 0], depths=[4])  # with a depth too: both filters apply
    assert sorted(c["seed"] for c in both.configs) == [0, 2]
    with pytest.raises(ValueError, match=r"has seed \[7\]; valid: \[0, 1, 2\]"):
        preset.grid(**cell, seeds=[7])


def test_a_depth_pilot_reads_the_depth_a_size_or_pattern_gives_where_n_layers_is_not_set():
    preset = presets.get("alternations")  # its quick grid's hybrid patterns AG, GA, AGA: no n_layers in their configs
    full = preset.grid(quick=True)
    assert all("n_layers" not in c["model_params"] for c in full.configs)
    three = preset.grid(quick=True, depths=[3])
    assert three.configs and {c["model_params"]["pattern"] for c in three.configs} == {"AGA"}
    with pytest.raises(ValueError, match=r"valid: \[2, 3\]"):
        preset.grid(quick=True, depths=[9])
