"""The two answers a prediction gives, each with its reason, sources and assumptions."""

from __future__ import annotations

from dataclasses import dataclass

from expressivity.theory.sources import cite

EXPRESS_VALUES = ("yes", "no", "unknown")
# learns: length-generalises (scaled OOD accuracy >= 0.9); fails: <= 0.1; partial: in between;
# depth-grows: the depth needed grows with length, so a fixed depth fails out of distribution;
# state-bound: accuracy falls once the items to hold outgrow the state, i.e. fails out of distribution.
EXPECT_VALUES = ("learns", "fails", "partial", "depth-grows", "state-bound", "unknown")
# The task parameter that counts the items a state must hold ("state-bound"'s items), per task whose items can be set
# apart from its length: where a run fixes it, a longer test does not grow the items (capacity.py sweeps it instead).
ITEM_AXES = {"state_based_recall": "m"}


@dataclass(frozen=True)
class Answer:
    """One answer: its value, why, the source keys (`sources.SOURCES`) and the assumptions it rests on."""

    value: str
    reason: str
    sources: tuple[str, ...] = ()
    assumptions: str = ""
    # For EXPRESS = no, how a model that learns anyway is read (theory/check.py):
    # asymptotic: the bound only bites beyond what a given model's state or depth covers (state size, circuit depth,
    #   automaton size): success at the lengths tested is no surprise (a note; EXPECT decides);
    # neither: a finite-precision argument (a sign flip from nonnegative eigenvalues: Grazzi et al. Thm 1) that holds
    #   for long enough inputs: success beyond the trained lengths is "suspect", worth a look;
    # exact: no length, precision or state escapes it: success means a bug or a leak ("impossible").
    asymptotic: bool = False
    exact: bool = False

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
        return {**out, "asymptotic": self.asymptotic, "exact": self.exact} if self.value == "no" else out
