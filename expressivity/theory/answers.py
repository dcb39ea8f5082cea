"""The two answers a prediction gives, each with its reason, sources and assumptions."""

from __future__ import annotations

from dataclasses import dataclass

from expressivity.theory.sources import cite

EXPRESS_VALUES = ("yes", "no", "unknown")
# learns: length-generalises (scaled OOD accuracy >= 0.9); fails: <= 0.1; partial: in between;
# depth-grows: the depth needed grows with length, so a fixed depth fails out of distribution;
# state-bound: accuracy falls once the items to hold outgrow the state, i.e. fails out of distribution.
EXPECT_VALUES = ("learns", "fails", "partial", "depth-grows", "state-bound", "unknown")


@dataclass(frozen=True)
class Answer:
    """One answer: its value, why, the source keys (`sources.SOURCES`) and the assumptions it rests on."""

    value: str
    reason: str
    sources: tuple[str, ...] = ()
    assumptions: str = ""
    # For EXPRESS = no: True when the bound only bites beyond what a given model's state or depth covers (state size,
    # circuit depth, automaton size), so success at finite test lengths does not contradict it; False when the
    # mechanism is missing at every length (a sign flip from nonnegative eigenvalues), so success means a bug or leak.
    asymptotic: bool = False

    def __post_init__(self):
        if self.value not in EXPRESS_VALUES + EXPECT_VALUES:
            raise ValueError(f"answer value {self.value!r} is not one of {', '.join(EXPRESS_VALUES + EXPECT_VALUES)}")
        for key in self.sources:
            cite((key,))  # KeyError on an unknown source key: a typo in a rule table fails at import

    @property
    def citation(self) -> str:
        return cite(self.sources)

    def as_dict(self) -> dict[str, str]:
        out = {"value": self.value, "reason": self.reason, "sources": self.citation, "assumptions": self.assumptions}
        return {**out, "asymptotic": self.asymptotic} if self.value == "no" else out
