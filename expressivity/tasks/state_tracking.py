"""State tracking: running parity (more tasks of this family are added here).

Every task in this module scores the running state after each input token (`targets="running"`) or only the state
after the last one (`targets="final"`).
"""

from __future__ import annotations

import numpy as np

from expressivity.tasks.base import Batch, Task, check_choice, register, with_bos

TARGET_MODES = ("running", "final")


def _running_mask(batch_size: int, length: int, targets: str) -> np.ndarray:
    """(B, length) bool: every step scored, or only the last."""
    mask = np.zeros((batch_size, length), bool)
    if targets == "running":
        mask[:] = True
    else:
        mask[:, -1] = True
    return mask


@register
class Parity(Task):
    """Running parity of a bit string. `length` counts bits.

        input : <bos> 1 0 1 1
        target:     . 1 1 0 1      (targets="running": parity of the bits read so far)
    """

    name = "parity"
    family = "state_tracking"
    level = "regular (TC0)"
    length_unit = "bits"

    def __init__(self, *, targets: str = "running"):
        check_choice(self.name, "targets", targets, TARGET_MODES)
        self.targets = targets
        self._set_symbols(["0", "1"])

    @property
    def chance(self) -> float:
        return 0.5

    def _sample(self, rng: np.random.Generator, batch_size: int, length: int) -> Batch:
        bits = rng.integers(0, 2, size=(batch_size, length), dtype=np.int64)
        parity = np.bitwise_xor.accumulate(bits, axis=1)
        zero = self.token_id["0"]  # "0" and "1" are adjacent ids
        return with_bos(bits + zero, parity + zero, _running_mask(batch_size, length, self.targets))
