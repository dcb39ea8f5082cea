"""benchmarks/warm_start_probe.py at tiny settings on CPU: the balanced construction (alpha = 0) solves A5 at step 0,
the random twin (alpha = 1) is near chance there, and the run finishes with its summary table.
In-process (the script's main), so a test session imports torch once."""

import re

import torch


def test_probe_starts_exact_at_alpha_0_and_near_chance_at_alpha_1(tmp_path, load_benchmark):
    log = tmp_path / "log.txt"
    threads = torch.get_num_threads()
    try:
        args = ["--length", "8", "--alphas", "0", "1", "--steps", "10", "--every", "5", "--batch", "16",
                "--eval-examples", "120", "--seed", "3", "--log", str(log)]  # fmt: skip
        load_benchmark("warm_start_probe").main(args)
    finally:
        torch.set_num_threads(threads)  # the script sets its own (--threads 1)
    text = log.read_text()
    # balancing the anchor column leaves the construction's function as it was
    change = float(re.search(r"max \|logit change\| (\S+)\)", text).group(1))
    assert change < 1e-3, text
    table = re.findall(r"^\| ([\d.]+) \| ([\d.]+) \| [^|]+\| ([\d.]+) \|", text, flags=re.M)
    start = {float(alpha): float(acc) for alpha, acc, _ in table}
    assert set(start) == {0.0, 1.0}, text
    assert start[0.0] == 1.0, text  # the construction: every final position right before any training
    assert start[1.0] < 0.2, text  # a random init: A5 has 60 elements, chance 1/60
    assert re.findall(r"^alpha 0\.000  step\s+(\d+)", text, flags=re.M) == ["0", "5", "10"], text
