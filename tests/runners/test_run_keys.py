"""Run keys stay stable: every committed store's rows resolve to their stored keys, and a key added to the config
changes no existing run's key unless it is set away from its default."""

from pathlib import Path

import pytest

from expressivity import tasks
from expressivity.runners.execution.store import Store
from expressivity.runners.training import config as configs
from expressivity.runners.training.config import complete, keyed, resolve, run_key, sets_of
from expressivity.runners.training.keys import Key

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = sorted((ROOT / "results").glob("*/*.sqlite"))


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_committed_run_resolves_to_its_stored_key(path):
    with Store(path, readonly=True) as st:
        rows = st.rows()
    assert rows
    for row in rows:
        config = row["config"]
        assert run_key(config) == row["key"]  # the stored config hashes to its key
        again = resolve(config["task"], config["arch"], sets_of(config))  # and so does the same run resolved today
        assert run_key(again) == row["key"], f"{path.name}: {row['key']} would be orphaned"


def test_a_new_training_key_enters_the_key_only_away_from_its_default(monkeypatch):
    before = resolve("parity", "gdn", {"steps": 10})
    monkeypatch.setitem(configs.TRAIN_KEYS, "new_knob", Key(0.5, float, "a key added later"))
    at_default = resolve("parity", "gdn", {"steps": 10})
    assert at_default["train"]["new_knob"] == 0.5  # the resolved config has it, for the code that reads it
    assert run_key(at_default) == run_key(before)
    assert run_key(resolve("parity", "gdn", {"steps": 10, "new_knob": 0.7})) != run_key(before)


def test_a_new_task_parameter_enters_the_key_only_away_from_its_default(monkeypatch):
    config = resolve("parity", "gdn", {"steps": 10})
    cls = tasks.get("parity")
    defaults = cls.param_defaults()
    monkeypatch.setattr(cls, "param_defaults", classmethod(lambda c: {**defaults, "new_param": "x"}))
    assert run_key({**config, "task_params": {**config["task_params"], "new_param": "x"}}) == run_key(config)
    assert run_key({**config, "task_params": {**config["task_params"], "new_param": "y"}}) != run_key(config)


def test_a_new_top_level_entry_enters_the_key_only_when_set():
    config = resolve("parity", "gdn", {"steps": 10})
    assert run_key({**config, "eval_task": None}) == run_key(config)
    assert run_key({**config, "eval_task": {"name": "parity"}}) != run_key(config)


def test_a_stored_config_is_completed_with_the_defaults_it_leaves_out(monkeypatch):
    monkeypatch.setitem(configs.TRAIN_KEYS, "new_knob", Key(0.5, float, "a key added later"))
    config = resolve("parity", "gdn", {"steps": 10})
    stored = keyed(config)
    assert "new_knob" not in stored["train"]
    assert complete(stored) == config
