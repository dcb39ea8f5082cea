"""Shared by the tests of the recall tasks' formats (test_bits_format.py, test_numbers.py): random programs of
state_based_recall and indexed_recall, their answers computed by plain CPython, and the shortcut guessers compared
across two formats of the same draws. (Not a test module: pytest puts this folder on sys.path for its tests.)"""

import numpy as np
from hypothesis import strategies as st

from expressivity.tasks import shortcuts

RECALL = ["state_based_recall", "indexed_recall"]

# {"name", "params", "length", "seed"}: random valid parameters of either task (a format parameter added by the test)
cases = st.tuples(
    st.sampled_from(RECALL),
    st.integers(2, 7),
    st.sampled_from([None, 0, 9, 120]),
    st.sampled_from(["final", "every_line"]),
    st.integers(1, 24),
    st.integers(0, 2**32 - 1),
).map(
    lambda t: {
        "name": t[0],
        "params": {}
        if t[0] == "indexed_recall"
        else {"num_vars": t[1], "m": None if t[2] is None else t[1] + t[2], "queries": t[3]},
        "length": t[4],
        "seed": t[5],
    }
)


def cpython_answers(task, batch, i: int) -> list[str]:
    """Example i's answers as CPython computes them from its `to_python` source, as strings."""
    namespace: dict = {"__builtins__": {}}
    exec(task.to_python(batch, i), namespace)
    answers = namespace["answers"] if "answers" in namespace else [namespace["answer"]]
    return [str(x) for x in answers]


def assert_same_guesses(task, other, lengths) -> None:
    """Two formats of one task draw the same bits and answers for a seed, so the specific guessers (list majority,
    and pointer majority for state_based_recall) must guess the same answers on each, at every length."""
    names = ("list_majority", "pointer_majority") if task.name == "state_based_recall" else ("list_majority",)
    for length in lengths:
        a, b = (t.sample(np.random.default_rng(length), 256, length) for t in (task, other))
        ref_a, ref_b = shortcuts.Reference(task, length, a), shortcuts.Reference(other, length, b)
        for guesser in names:
            guess_a = shortcuts.GUESSERS[guesser](ref_a, a)[a.mask]
            guess_b = shortcuts.GUESSERS[guesser](ref_b, b)[b.mask]
            np.testing.assert_array_equal(task.decode(guess_a), other.decode(guess_b), err_msg=guesser)
