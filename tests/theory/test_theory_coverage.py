"""How much of the suite the theory covers: EXPRESS over every registered task and the seven model classes the
testbed compares, and EXPECT wherever a published table reports a result. `pytest -s` prints the table.

    task                         transformer  gdn[0,1]  gdn[-1,1]  ...
    parity                       yes/fails    no/fails  yes/learns ...
"""

import pytest

from expressivity import tasks
from expressivity.theory import predict
from expressivity.theory.published import DELETANG_MODELS, DELETANG_TASKS, FIGURES

NEG = {"neg_eigval": True}
CLASSES = {  # label -> (registry architecture, model parameters)
    "transformer": ("transformer", {}),
    "gdn[0,1]": ("gdn", {}),
    "gdn[-1,1]": ("gdn", NEG),
    "diagonal[0,1]": ("diagonal", {}),
    "diagonal[-1,1]": ("diagonal", NEG),
    "lstm": ("lstm", {}),
    "hybrid GGGA [-1,1]": ("hybrid", {"pattern": "GGGA", **NEG}),
}
# How published figures name the models they report (published.py) -> the registry architecture and parameters.
FIGURE_MODELS = {
    **{label: CLASSES[label] for label in ("transformer", "gdn[0,1]", "gdn[-1,1]", "diagonal[0,1]", "diagonal[-1,1]")},
    "lstm": ("lstm", {}),
    "deltanet[0,1]": ("deltanet", {}),
    "deltanet[-1,1]": ("deltanet", NEG),
}
EXPRESS_SHARE = 0.9
# Published cells left without an EXPECT, each with why. Filling one must remove it here (the test checks the list
# is exact), and a new published cell must get its EXPECT or a line here.
GAPS = {
    **{
        ("modular_arithmetic_brackets", "", model): "the sources disagree (Grazzi et al.: DeltaNet [-1,1] 0.260 "
        "scaled; Mamba-3: GDN [-1,1] 93.5%): the EXPECT row says so and stays unknown"
        for model in ("deltanet[-1,1]", "gdn[-1,1]")
    },
}


def _spec(task_spec: str) -> tuple[str, dict[str, str], str]:
    """'word_problem[group=A5]' -> ('word_problem', {'group': 'A5'}, 'group=A5')."""
    if "[" not in task_spec:
        return task_spec, {}, ""
    name, rest = task_spec.rstrip("]").split("[", 1)
    return name, dict(kv.split("=", 1) for kv in rest.split(",")), rest


def published_cells() -> set[tuple[str, str, str]]:
    """(task, its parameters as written, model label) of every figure in published.FIGURES and every cell of Delétang
    et al.'s Table 2 that the testbed's models cover."""
    cells = {(t, "", m) for t in DELETANG_TASKS for m in DELETANG_MODELS}
    for _, spec, model in FIGURES:
        name, _, params = _spec(spec)
        cells.add((name, params, model))
    return cells


def _predict(task: str, params: str, arch: str, model_params: dict):
    task_params = dict(kv.split("=", 1) for kv in params.split(",")) if params else {}
    return predict(task, arch, task_params=task_params, model_params=model_params)


def coverage() -> dict[str, dict[str, tuple[str, str]]]:
    """{task: {class label: (EXPRESS, EXPECT)}} over tasks.names() and CLASSES, default task parameters."""
    return {
        name: {
            label: (p.express.value, p.expect.value)
            for label, (arch, params) in CLASSES.items()
            for p in [predict(name, arch, model_params=params)]
        }
        for name in tasks.names()
    }


def _print_table(table: dict[str, dict[str, tuple[str, str]]]) -> None:
    width = max(map(len, table)) + 2
    print("\n" + "task".ljust(width) + "".join(label.ljust(22) for label in CLASSES))
    for name, row in table.items():
        print(name.ljust(width) + "".join(f"{e}/{x}".ljust(22) for e, x in row.values()))
    for label in CLASSES:
        express = sum(row[label][0] != "unknown" for row in table.values())
        expect = sum(row[label][1] != "unknown" for row in table.values())
        print(f"{label:20s} EXPRESS known {express:2d}/{len(table)}   EXPECT known {expect:2d}/{len(table)}")


def test_express_is_known_for_most_of_the_suite():
    table = coverage()
    _print_table(table)
    cells = [cell for row in table.values() for cell in row.values()]
    known = sum(e != "unknown" for e, _ in cells)
    print(f"EXPRESS known for {known} of {len(cells)} cells ({known / len(cells):.1%})")
    assert known >= EXPRESS_SHARE * len(cells)


def test_every_published_cell_has_an_expectation():
    missing = {}
    for task, params, model in sorted(published_cells()):
        arch, model_params = FIGURE_MODELS[model]
        p = _predict(task, params, arch, model_params)
        if p.expect.value == "unknown":
            missing[(task, params, model)] = p.expect.reason
        else:
            assert p.expect.sources, (task, params, model)
    print(f"\npublished cells without an EXPECT ({len(missing)}):")
    for (task, params, model), why in GAPS.items():
        print(f"  {task}[{params}] {model}: {why}")
    assert set(missing) == set(GAPS), "published cells without EXPECT must be exactly the documented gaps"


@pytest.mark.parametrize("label", list(CLASSES))
def test_every_known_answer_names_its_source(label):
    arch, params = CLASSES[label]
    for name in tasks.names():
        p = predict(name, arch, model_params=params)
        for answer in (p.express, p.expect):
            assert answer.value == "unknown" or (answer.sources and answer.reason), (name, label, answer)
