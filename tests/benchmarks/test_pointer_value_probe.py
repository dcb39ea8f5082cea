"""benchmarks/pointer_value_probe.py: each bit query's labels are read off the program (a written-out program, and the
task's programs checked against their dict and initial tuple), the probe separates what is separable and not what is
not, and a stored run's checkpoint gives one accuracy per block and label."""

import numpy as np

from expressivity import tasks

WRITTEN = (
    "<bos> bits = { 0 : 1 , 1 : 0 , 1 2 : 1 } \n a , b = 1 2 , 0 \n a , b = b , a \n assert bits [ a ] == _ \n"
    " assert bits [ b ] == _"
)


def test_a_written_program_gives_each_query_its_key_digits_origin_and_name(load_benchmark):
    probe = load_benchmark("pointer_value_probe")
    tokens = [t for line in WRITTEN.split("\n") for t in [*line.split(), "\n"]][:-1]  # "\n" is a token
    (pos_a, first), (pos_b, second) = probe.query_labels(tokens)
    assert tokens[pos_a] == tokens[pos_b] == "_" and pos_a < pos_b
    assert first == {"units": 0, "tens": 0, "hundreds": 0, "origin": 1, "name": 0}  # a holds b's 0
    assert second == {"units": 2, "tens": 1, "hundreds": 0, "origin": 0, "name": 1}  # b holds a's 12


def test_the_tasks_programs_label_each_query_with_its_entry_and_its_initial_holder(load_benchmark):
    probe = load_benchmark("pointer_value_probe")
    task = tasks.make("state_based_recall", m=300, num_vars=5, bits_format="dict", queries="every_line")
    batch = task.sample(np.random.default_rng(3), 20, 6)
    for row in batch.inputs:
        tokens = task.decode(row)
        entries = load_benchmark("attention_probe").dict_entries(tokens)
        initial = " ".join(tokens).split("\n")[1].split("=")[1].split(",")  # the initial tuple's values, in order
        labels = probe.query_labels(tokens)
        assert len(labels) == 6
        for _, lab in labels:
            key = lab["hundreds"] * 100 + lab["tens"] * 10 + lab["units"]
            assert key in entries and int(initial[lab["origin"]].replace(" ", "")) == key
    recall = tasks.make("indexed_recall", bits_format="dict", lookups=4)
    tokens = recall.decode(recall.sample(np.random.default_rng(3), 1, 32).inputs[0])
    assert all("origin" not in lab and "name" not in lab for _, lab in probe.query_labels(tokens))


def test_the_probe_reads_a_separable_label_and_not_a_random_one(load_benchmark):
    probe = load_benchmark("pointer_value_probe")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 16))
    y = x[:, :3].argmax(1)  # linearly separable: a region of 3 half-planes
    assert probe.probe_accuracy(x[:400], y[:400], x[400:], y[400:]) > 0.9
    noise = rng.integers(0, 3, size=600)
    assert probe.probe_accuracy(x[:400], noise[:400], x[400:], noise[400:]) < 0.5


def test_a_stored_runs_checkpoint_gives_one_accuracy_per_block_and_label(recall_run_args, load_benchmark, capsys):
    probe = load_benchmark("pointer_value_probe")
    args = recall_run_args
    out = probe.main([*args, "--examples", "10"])
    assert out["queries"] == 10 * 4 and set(out["probes"]) == {"units", "tens", "hundreds", "origin", "name"}
    for result in out["probes"].values():
        assert len(result["after_block"]) == 3 and all(0 <= a <= 1 for a in result["after_block"])
        assert 0 < result["majority"] <= 1
    assert 0 <= out["origin_is_name"] <= 1 and "block 3" in capsys.readouterr().out
    recall = probe.main([*args, "--examples", "4", "--component", "indexed_recall"])
    assert recall["queries"] == 4 * 16 and set(recall["probes"]) == {"units", "tens", "hundreds"}
