"""Theory as executable data: predictions, complexity facts, hand-built constructions and the result checker.

    from expressivity import theory
    theory.predict("parity", "gdn", model_params={"neg_eigval": True}).render()   # EXPRESS and EXPECT with sources
    theory.check(rows)                       # result rows (from the runners' store) against the predictions
    from expressivity.theory import constructions
    constructions.build("parity").model      # a registry model with hand-set weights, exact at any length

Modules: facts (task complexity facts, computed), classes (an architecture's class, from its config), express and
expect (the two rule tables), predictions (both answers together), check (the checker), constructions (executable
proofs; imports torch, so it is not imported here). Imports `tasks` and `architectures` only, never `runners`.
"""

from __future__ import annotations

from expressivity.theory.answers import Answer
from expressivity.theory.check import Cell, check
from expressivity.theory.classes import ArchClass, arch_class
from expressivity.theory.facts import TaskFacts, task_facts
from expressivity.theory.predictions import Prediction, predict

__all__ = ["Answer", "ArchClass", "Cell", "Prediction", "TaskFacts", "arch_class", "check", "predict", "task_facts"]
