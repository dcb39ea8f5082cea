"""export-lm-eval and eval-lm end to end on a small random OlmoHybrid saved to a temporary directory: `lm_eval
--include_path` in a subprocess on the export, `expressivity eval-lm`'s rows and this package's own evaluation (through
from_hf) agree on every task and length; `table`, `check` and `status` read the rows."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from expressivity import tasks
from expressivity.runners.cli import app
from expressivity.runners.execution.store import Store
from expressivity.runners.reports.lm_eval_export import base_name, export
from expressivity.runners.training.config import run_key
from expressivity.runners.training.evaluate import evaluate_by_length

transformers = pytest.importorskip("transformers")
pytest.importorskip("lm_eval")

runner = CliRunner()
TASKS = ["parity", "word_problem", "state_based_recall"]
SETS = ["--set", "group=S3"]  # six group elements: a random model is right now and then
LENGTHS, EXAMPLES = [4, 8], 16
COMMON = ["--lengths", "4,8", "--examples", str(EXAMPLES), *SETS]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "OMP_NUM_THREADS": "1",
       "TOKENIZERS_PARALLELISM": "false"}  # fmt: skip


def _specs():
    return [tasks.make("parity"), tasks.make("word_problem", group="S3"), tasks.make("state_based_recall")]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A random OlmoHybrid (GGGA, [-1,1], RoPE) with no tokenizer, its head leaning to ids 2 and 3 (the answers 0 and
    1 of parity and recall) so that accuracies are neither 0 nor 1; and the tasks exported beside it."""
    root = tmp_path_factory.mktemp("lm")
    cfg = transformers.OlmoHybridConfig(
        vocab_size=32, hidden_size=64, intermediate_size=96, num_hidden_layers=4, num_attention_heads=4,
        layer_types=["linear_attention"] * 3 + ["full_attention"], pad_token_id=0, bos_token_id=1, eos_token_id=None,
    )  # fmt: skip
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(2)  # a seed whose accuracies are neither 0 nor 1 on any of the three tasks
        model = transformers.OlmoHybridForCausalLM(cfg)
    with torch.no_grad():
        model.lm_head.weight[2:4] *= 30
    model.save_pretrained(root / "model")
    elsewhere = root / "elsewhere"  # every command runs from an unrelated folder: no path may depend on the cwd
    elsewhere.mkdir()
    cwd = os.getcwd()
    os.chdir(elsewhere)
    try:
        result = runner.invoke(app, ["export-lm-eval", *TASKS, *COMMON, "--out", str(root / "tasks")])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.output
    return root


def _own(root) -> dict[str, dict[int, float]]:
    from expressivity.architectures.hf import from_hf

    model = from_hf(transformers.AutoModelForCausalLM.from_pretrained(root / "model"))
    out = {}
    for task in _specs():
        metrics = evaluate_by_length(model, task, LENGTHS, np.random.default_rng(0), num_examples=EXAMPLES, bf16=False)
        out[task.name] = {n: m["final_acc"] for n, m in metrics.items()}
    return out


def _start_lm_eval(root) -> dict:
    """`lm_eval` itself, one subprocess per task (each with its task's tokenizer), started side by side."""
    procs = {}
    for task in _specs():
        base = base_name(task)
        args = [sys.executable, "-m", "lm_eval", "--model", "hf", "--model_args",
                f"pretrained={root / 'model'},tokenizer={root / 'tasks' / 'tokenizers' / base},dtype=float32",
                "--include_path", str(root / "tasks"), "--tasks", ",".join(f"{base}_{n}" for n in LENGTHS),
                "--device", "cpu", "--batch_size", "8", "--output_path", str(root / "out" / task.name)]  # fmt: skip
        env = {**ENV, "HF_HOME": str(root / "hf-home")}
        procs[task.name] = (base, subprocess.Popen(args, cwd=root / "elsewhere", env=env, stdout=subprocess.PIPE,
                                                   stderr=subprocess.STDOUT, text=True))  # fmt: skip
    return procs


def _lm_eval_results(root, procs) -> dict[str, dict[int, float]]:
    out = {}
    for name, (base, proc) in procs.items():
        log, _ = proc.communicate()
        assert proc.returncode == 0, log[-3000:]
        (path,) = (root / "out" / name).rglob("results_*.json")
        results = json.loads(path.read_text())["results"]
        out[name] = {n: results[f"{base}_{n}"]["acc,none"] for n in LENGTHS}
    return out


def test_lm_eval_eval_lm_and_our_evaluation_agree(saved, monkeypatch):
    store = saved / "rows.sqlite"
    procs = _start_lm_eval(saved)  # they run while this process evaluates
    monkeypatch.chdir(saved / "elsewhere")
    result = runner.invoke(app, ["eval-lm", str(saved / "model"), *TASKS, *COMMON, "--store", str(store),
                                 "--name", "olmo-small", "--device", "cpu"])  # fmt: skip
    assert result.exit_code == 0, result.output
    with Store(store) as st:
        rows = {r["task"]: r for r in st.rows()}
    rows_acc = {name: {n: m["final_acc"] for n, m in r["metrics"].items()} for name, r in rows.items()}
    own, cli = _own(saved), _lm_eval_results(saved, procs)
    assert rows_acc == own == cli, (rows_acc, own, cli)
    assert all(0 < sum(accs.values()) < len(LENGTHS) for accs in own.values())  # not all wrong, not all right
    row = rows["parity"]
    assert row["arch"] == "hf:olmo-small" and row["config"]["model_params"]["layers"] == "GGGA"
    assert row["config"]["train"]["tokenizer"] == "task vocabulary" and row["summary"]["ood"]["lengths"] == LENGTHS
    assert run_key(row["config"]) == row["key"]  # the config read back hashes to the stored key

    wide = {"COLUMNS": "250"}  # rich wraps at the terminal's width
    table = runner.invoke(app, ["table", "--store", str(store)], env=wide)
    assert table.exit_code == 0, table.output
    assert table.output.count("hf:olmo-small") == 3 and "GGGA [-1,1]" in table.output
    check = runner.invoke(app, ["check", "--store", str(store)], env=wide)
    assert check.exit_code == 0 and "hf:olmo-small GGGA [-1,1]" in check.output
    status = runner.invoke(app, ["status", "--store", str(store), "--csv", str(saved / "rows.csv")])
    assert status.exit_code == 0 and "3 done" in status.output


def test_a_run_of_this_package_goes_through_the_converter(tmp_path):
    store = str(tmp_path / "r.sqlite")
    sets = ["steps=10", "batch_size=16", "check_every=5", "eval_lengths=4", "eval_examples=4", "pattern=GA",
            "block=olmo", "mlp_width=32", "tie_embeddings=false", "backend=torch"]  # fmt: skip
    args = ["train", "parity", "hybrid", *[x for s in sets for x in ("--set", s)], "--store", store, "--quiet"]
    trained = runner.invoke(app, [*args, "--keep-checkpoint"])
    assert trained.exit_code == 0, trained.output
    with Store(store) as st:
        (row,) = st.rows()
    evaluated = runner.invoke(app, ["eval-lm", f"run:{row['key']}", "parity", "--lengths", "4", "--examples", "8",
                                    "--store", store, "--device", "cpu"])  # fmt: skip
    assert evaluated.exit_code == 0, evaluated.output
    with Store(store) as st:
        (lm_row,) = [r for r in st.rows() if r["arch"].startswith("hf:")]
    from expressivity.architectures.hf import from_hf
    from expressivity.runners.reports.lm_eval import load_model

    model = from_hf(load_model(f"run:{row['key']}", store=tmp_path / "r.sqlite")[0])
    own = evaluate_by_length(model, tasks.make("parity"), [4], np.random.default_rng(0), num_examples=8, bf16=False)
    assert lm_row["arch"] == f"hf:run-{row['key']}" and lm_row["metrics"][4]["final_acc"] == own[4]["final_acc"]


def test_a_model_with_its_own_tokenizer_is_read_with_it(saved, tmp_path):
    import shutil

    model = tmp_path / "with-tokenizer"
    shutil.copytree(saved / "model", model)
    for f in (saved / "tasks" / "tokenizers" / base_name(tasks.make("parity"))).iterdir():
        shutil.copy(f, model / f.name)
    store = tmp_path / "s.sqlite"
    args = ["eval-lm", str(model), "parity", "--lengths", "4,8", "--examples", str(EXAMPLES), "--store", str(store)]
    result = runner.invoke(app, [*args, "--device", "cpu"])
    assert result.exit_code == 0, result.output
    with Store(store) as st:
        (row,) = st.rows()
    assert row["config"]["train"]["tokenizer"] == "model" and row["arch"] == "hf:with-tokenizer"
    assert {n: m["final_acc"] for n, m in row["metrics"].items()} == _own(saved)["parity"]


def test_export_writes_each_task_at_each_length_with_its_loader(tmp_path):
    exported = export([tasks.make("parity")], [8, 4, 8], examples=3, seed=1, fewshot=2, out=tmp_path)
    assert [e.name for e in exported] == ["expressivity_parity_4", "expressivity_parity_8"]
    rows = [json.loads(line) for line in (tmp_path / "expressivity_parity_8.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and all(len(r["prompt"].split()) == 8 and r["answer"] in "01" for r in rows)
    assert len((tmp_path / "expressivity_parity_8.fewshot.jsonl").read_text().splitlines()) == 16
    yaml = (tmp_path / "expressivity_parity_8.yaml").read_text()
    assert "!function expressivity_data.load" in yaml and "num_fewshot: 2" in yaml and "fewshot_split: train" in yaml
    assert (tmp_path / "expressivity_data.py").is_file()
    assert base_name(tasks.make("word_problem", group="A4xZ5")) == "expressivity_word_problem_group-A4xZ5"


@pytest.mark.parametrize(
    "args, why",
    [
        (["export-lm-eval", "parity", "--lengths", "0", "--out", "x"], "--lengths"),
        (["export-lm-eval", "parity", "--set", "group=S3", "--out", "x"], "no named task takes 'group'"),
        (["export-lm-eval", "nope", "--out", "x"], "unknown task"),
        (["export-lm-eval", "dyck", "--lengths", "1", "--out", "x"], "length for dyck"),
        (["eval-lm", "not-a-folder", "parity"], "not a transformers model directory"),
    ],
)
def test_bad_input_is_one_line(args, why, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and why in result.output and len(result.output.strip().splitlines()) == 1


def test_without_lm_eval_the_error_names_the_extra(saved, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "lm_eval", None)
    result = runner.invoke(app, ["eval-lm", str(saved / "model"), "parity", "--store", str(tmp_path / "s.sqlite")])
    assert result.exit_code == 2 and "`hf` extra" in result.output


def test_the_cli_imports_neither_transformers_nor_lm_eval():
    code = "import sys, expressivity.runners.cli; print(sorted({'transformers', 'lm_eval'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, check=True)
    assert out.stdout.strip() == "[]"
