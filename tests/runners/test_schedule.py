"""The driver's claim order (longest run first) and the commit recorded beside each run."""

from expressivity import architectures
from expressivity.runners.execution import provenance
from expressivity.runners.execution.store import Store
from expressivity.runners.execution.workers import estimated_cost, longest_first
from expressivity.runners.training.config import resolve, run_key


def _config(arch, **sets):
    return resolve("parity", arch, {"steps": 100, **sets})


def test_layer_letters_match_the_built_model():
    cases = [("transformer", {}), ("gdn", {"n_layers": 3}), ("hybrid", {"pattern": "GA*2"}), ("lstm", {})]
    for name, params in cases:
        model = architectures.build(name, vocab_size=4, size="tiny", **params)
        assert architectures.layer_letters(name, "tiny", **params) == model.cfg.layers


def test_cost_grows_with_steps_length_and_depth_and_knows_slow_layers():
    base = estimated_cost(_config("transformer"))
    assert estimated_cost(_config("transformer", steps=200)) > base
    assert estimated_cost(_config("transformer", train_max_length=80)) > base
    assert estimated_cost(_config("transformer", n_layers=4)) > base
    assert estimated_cost(_config("gdn")) > base > estimated_cost(_config("lstm"))


def test_runs_are_claimed_longest_first_and_ties_keep_their_order(tmp_path):
    configs = [_config("lstm"), _config("transformer", seed=1), _config("gdn"), _config("transformer", seed=2)]
    keys = [run_key(c) for c in configs]
    with Store(tmp_path / "s.sqlite") as st:
        st.enqueue(configs, grid="g")
        assert longest_first(st, keys) == [keys[2], keys[1], keys[3], keys[0]]


def test_the_commit_can_be_given_where_the_tree_has_no_git(monkeypatch):
    monkeypatch.setattr(provenance, "_GIT", [])
    monkeypatch.setenv("EXPRESSIVITY_GIT_COMMIT", "abc123")
    assert provenance.git_commit() == "abc123"


def test_a_stop_requeues_the_runs_in_flight_and_the_next_drive_finishes_them(tmp_path):
    """Stopped once the run in flight has checkpointed (an event, not a wall-clock limit: CI's cores may be busy), the
    drive puts its runs back in the queue, and the next drive resumes and finishes them."""
    from expressivity.runners.execution.workers import LocalPool, drive, local_slots

    sets = {"steps": 1000, "batch_size": 8, "checkpoint_every": 10, "eval_lengths": [8], "eval_examples": 8}
    configs = [resolve("parity", "lstm", {**sets, "seed": s}) for s in (0, 1)]
    keys = [run_key(c) for c in configs]
    checkpointed = lambda: any((tmp_path / "checkpoints").glob("*.pt"))  # noqa: E731
    with Store(tmp_path / "s.sqlite") as st:
        st.enqueue(configs, grid="g")
        pool = LocalPool(local_slots(cpu_workers=1, use_gpus=False), log_dir=tmp_path / "logs")
        counts = drive(st, keys, pool, stop_when=checkpointed)
        assert checkpointed(), "the drive stopped before its run checkpointed"
        assert counts.get("queued") == 2 and not counts.get("running")  # both back in the queue, none lost
        assert [e["event"] for e in st.events()].count("claimed") == 1
        pool = LocalPool(local_slots(cpu_workers=2, use_gpus=False), log_dir=tmp_path / "logs")
        assert drive(st, keys, pool)["done"] == 2
        for key in keys:
            assert [e["event"] for e in st.events(key)].count("done") == 1


def test_a_spent_time_limit_claims_nothing(tmp_path):
    from expressivity.runners.execution.workers import LocalPool, drive, local_slots

    configs = [_config("lstm", seed=s) for s in (0, 1)]
    with Store(tmp_path / "s.sqlite") as st:
        st.enqueue(configs, grid="g")
        pool = LocalPool(local_slots(cpu_workers=1, use_gpus=False), log_dir=tmp_path / "logs")
        counts = drive(st, [run_key(c) for c in configs], pool, time_limit=0.0)
        assert counts["queued"] == 2 and not st.events()


def test_runs_of_one_fusion_key_go_as_one_job_and_finish_each_on_its_own(tmp_path):
    from expressivity.runners.execution.workers import LocalPool, drive, local_slots

    sets = {"steps": 20, "batch_size": 8, "check_every": 5, "eval_lengths": [8], "eval_examples": 8, "lr": 5e-4}
    configs = [resolve("parity", "gdn", {**sets, "seed": s, "neg_eigval": s == 1}) for s in (0, 1, 2)]
    configs.append(resolve("parity", "lstm", sets))  # another fusion key and no mate: a job of its own
    keys = [run_key(c) for c in configs]
    with Store(tmp_path / "s.sqlite") as st:
        st.enqueue(configs, grid="g")
        pool = LocalPool(local_slots(cpu_workers=2, use_gpus=False), log_dir=tmp_path / "logs")
        assert drive(st, keys, pool, fuse=8)["done"] == 4
        rows = {r["key"]: r for r in st.rows()}
        assert ["fused x3" in rows[k]["device"] for k in keys] == [True, True, True, False]
        assert [[e["event"] for e in st.events(k)] for k in keys] == [["claimed", "done"]] * 4


def test_a_fused_run_that_stopped_early_is_recorded_though_its_group_is_cut_off(tmp_path):
    """A time limit (here the event "the early run is recorded", as CI's cores may be busy) that cuts a fused group
    off keeps the result of its run that had already stopped at its target; only the runs still training go back to
    the queue. Before 2026-12-04 the whole group's results came back at its end, so the limit lost them all (and
    here the drive ends with all three done). The others' 3000 steps take about a minute of CPU: the drive reacts to
    the recorded run within one of its polls."""
    from expressivity.runners.execution.workers import LocalPool, drive, local_slots

    sets = {"steps": 3000, "batch_size": 8, "check_every": 5, "eval_lengths": [8], "eval_examples": 8, "lr": 5e-4}
    configs = [resolve("parity", "gdn", {**sets, "seed": s, "target_acc": 0.0 if s == 1 else None}) for s in (0, 1, 2)]
    keys = [run_key(c) for c in configs]
    with Store(tmp_path / "s.sqlite") as st:
        st.enqueue(configs, grid="g")
        recorded = lambda: st.rows(keys=[keys[1]])[0]["status"] == "done"  # noqa: E731
        pool = LocalPool(local_slots(cpu_workers=1, use_gpus=False), log_dir=tmp_path / "logs")
        counts = drive(st, keys, pool, fuse=8, stop_when=recorded)
        assert (counts["done"], counts["queued"], counts["running"]) == (1, 2, 0), counts
        row = st.rows(keys=[keys[1]])[0]
        assert row["stop_reason"] == "target_acc" and row["steps"] == 5 and "fused x3" in row["device"]


def test_a_run_resumed_at_another_step_goes_to_a_job_of_its_own_and_every_run_finishes(tmp_path):
    """Runs of one fusion key fuse only at one starting step: one run stopped once it checkpointed (an event) is
    resumed in a job apart from its two fresh mates, which fuse with each other, so it does not wait behind them in
    one slot. All three then finish, the resumed one from its checkpoint."""
    from expressivity.runners.execution.checkpoints import checkpoint_path
    from expressivity.runners.execution.workers import LocalPool, _fusion_keys, drive, local_slots

    sets = {"steps": 300, "batch_size": 8, "check_every": 5, "checkpoint_every": 10, "eval_lengths": [8],
            "eval_examples": 8, "lr": 5e-4}  # fmt: skip
    configs = [resolve("parity", "gdn", {**sets, "seed": s}) for s in (0, 1, 2)]
    keys = [run_key(c) for c in configs]
    with Store(tmp_path / "s.sqlite") as st:
        st.enqueue(configs, grid="g")
        fresh = _fusion_keys(st, keys)
        assert fresh[keys[0]] == fresh[keys[1]] == fresh[keys[2]] and fresh[keys[0]][1] == 0
        pool = LocalPool(local_slots(cpu_workers=1, use_gpus=False), log_dir=tmp_path / "logs")
        checkpointed = lambda: checkpoint_path(st, keys[0]).exists()  # noqa: E731
        assert drive(st, keys[:1], pool, fuse=8, stop_when=checkpointed)["queued"] == 1
        grouped = _fusion_keys(st, keys)
        assert grouped[keys[1]] == grouped[keys[2]] != grouped[keys[0]] and grouped[keys[0]][1] > 0
        pool = LocalPool(local_slots(cpu_workers=2, use_gpus=False), log_dir=tmp_path / "logs")
        assert drive(st, keys, pool, fuse=8)["done"] == 3
        rows = {r["key"]: r for r in st.rows()}
        assert ["fused x2" in rows[k]["device"] for k in keys] == [False, True, True]
        assert [e["event"] for e in st.events(keys[0])].count("claimed") == 2


def test_a_slot_whose_job_failed_runs_its_next_job_in_a_fresh_worker(tmp_path):
    """A failure may leave a worker unusable (a CUDA fault is sticky: every later launch in the process fails), so the
    pool lets go of a worker whose job failed, and the slot's next job trains in a new process."""
    from expressivity.runners.execution.workers import LocalPool, local_slots

    broken = _config("lstm", steps=2)
    broken["task_params"]["targets"] = "sometimes"  # as if the store held a config this version rejects
    good = _config("lstm", steps=2, eval_lengths=[8], eval_examples=8)
    pool = LocalPool(local_slots(cpu_workers=1, use_gpus=False), log_dir=tmp_path / "logs")
    try:
        results, workers = [], []
        for key, config in (("broken", broken), ("good", good)):
            pool.submit({"keys": [key], "configs": [config], "checkpoints": [None]})
            workers.append(pool.procs[0])
            while not results or results[-1][0] != key:  # an event: the job's result comes back
                results.extend(pool.poll(timeout=1.0))
        assert [(k, r["status"]) for k, r in results] == [("broken", "failed"), ("good", "done")]
        assert workers[1] is not workers[0]  # the good run trained in a process started after the failure
        assert workers[0].wait() == 0  # the failed job's worker was let go, and left cleanly
        assert pool.procs[0] is workers[1]  # the good job's worker stays for the slot's next job
    finally:
        pool.close()
