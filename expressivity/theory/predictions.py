"""Predictions as data: for a (task with parameters, architecture class), two separate answers.

    p = predict("parity", "transformer")
    p.express.value     # 'yes'   (Chiang & Cholak 2022: a transformer can compute parity)
    p.expect.value      # 'fails' (Grazzi et al. 2025: 0.022 scaled; Delétang et al.: 52%)
    print(p.render())   # both answers with reasons, sources and assumptions

EXPRESS (a theorem: can the class represent the task at every length with fixed depth) comes from `express.py`,
EXPECT (the empirical literature under the usual protocol) from `expect.py`; the task's complexity facts are computed
by `facts.py` and the architecture's class by `classes.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from expressivity.theory.answers import Answer
from expressivity.theory.classes import ArchClass, arch_class
from expressivity.theory.expect import expect
from expressivity.theory.express import express
from expressivity.theory.facts import TaskFacts, task_facts


@dataclass(frozen=True)
class Prediction:
    facts: TaskFacts
    arch: ArchClass
    express: Answer
    expect: Answer

    def render(self) -> str:
        """Readable text: the task's facts, the class, then both answers."""
        params = ", ".join(f"{k}={v!r}" for k, v in self.facts.params.items())
        lines = [
            f"task:   {self.facts.name}({params})  level {self.facts.level}",
            f"        properties: {', '.join(sorted(self.facts.properties)) or 'none'}",
            f"class:  {self.arch.label}{f' ({self.arch.pos} attention)' if self.arch.pos else ''}: "
            f"{self.arch.describe()}",
        ]
        for title, answer in (("EXPRESS", self.express), ("EXPECT", self.expect)):
            lines.append(f"{title}: {answer.value}: {answer.reason}")
            if answer.sources:
                lines.append(f"        source: {answer.citation}")
            if answer.assumptions:
                lines.append(f"        assumes: {answer.assumptions}")
        return "\n".join(lines)


def predict_for(facts: TaskFacts, cls: ArchClass) -> Prediction:
    return Prediction(facts=facts, arch=cls, express=express(facts, cls), expect=expect(facts, cls))


def predict(
    task: str,
    arch: str,
    *,
    task_params: Mapping[str, Any] | None = None,
    model_params: Mapping[str, Any] | None = None,
) -> Prediction:
    """Both answers for registry task `task` (built with `task_params`) and architecture `arch` (with
    `model_params`); unknown names or parameters -> ValueError naming the valid ones."""
    from expressivity import tasks

    facts = task_facts(tasks.make(task, **dict(task_params or {})))
    return predict_for(facts, arch_class(arch, model_params))
