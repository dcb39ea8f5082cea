"""benchmarks/stack_manipulation_diagnosis.py at a tiny budget on CPU: it trains, evaluates and prints its tables for
both lengths, and its tabulated token accuracy is the package's own on the same examples. In-process (the script's
main), so a test session imports torch once."""

import re

import torch


def cell(text: str, row: str) -> list[float]:
    """The numeric cells of the table row whose first cell is `row` (the first such row)."""
    line = re.search(rf"^\| {re.escape(row)} \|(.*)\|$", text, flags=re.M)
    assert line, f"no row {row!r} in\n{text}"
    return [float(v) for v in line.group(1).split("|") if re.fullmatch(r"\s*[-\d.]+\s*", v) and v.strip() != "-"]


def test_diagnosis_prints_its_tables_and_agrees_with_the_package(capsys, load_benchmark):
    threads = torch.get_num_threads()
    try:
        args = ["--steps", "20", "--length", "16", "--compare-lengths", "8", "--examples", "32"]
        load_benchmark("stack_manipulation_diagnosis").main(args)
    finally:
        torch.set_num_threads(threads)  # the script sets its own (--threads 1)
    text = capsys.readouterr().out
    assert text.startswith("# GDN [-1,1] on stack_manipulation: seed 0, 20 steps"), text
    sections = re.split(r"^## ", text, flags=re.M)[1:]
    assert [s.split(":")[0] for s in sections] == ["length 8", "length 16"], text
    for section in sections:
        accs = re.search(r"evaluate_by_length\) (\S+), batch_counts here (\S+), tabulated (\S+) ", section)
        assert accs and len({float(a) for a in accs.groups()}) == 1, section  # the same examples, the same metric
        predicted, target = cell(section, "end")[:2]
        assert 0 <= predicted <= 1 and 0 < target < 1, section
        zero, one = cell(section, "constant 0")[0], cell(section, "constant 1")[0]
        assert abs(zero + one + target - 1) < 2e-3, section  # every scored target is a bit or `end`
        assert abs(cell(section, "told H: `end` at H, a blind bit before it")[0] - (0.5 + target / 2)) < 2e-3
        positions = [cell(section, part)[0] for part in ("first quarter", "middle half", "last quarter")]
        assert sum(positions) == float(section.split(" scored positions")[0].split(", ")[-1]), section
        ends = re.search(r"^first predicted `end` .* `end` right at H (\S+) \(package final_acc (\S+)\)", section, re.M)
        assert ends and ends.group(1) == ends.group(2), section  # the answer is aligned as evaluate.py reads it
