"""Shared by the task tests: a short fingerprint of a batch, to pin what a generator draws for a seed."""

import hashlib

import numpy as np
import pytest


def _digest(batch) -> str:
    """16 hex digits of sha256 over inputs, targets and mask (bytes and shapes): equal iff the batches are."""
    h = hashlib.sha256()
    for a in (batch.inputs, batch.targets, batch.mask):
        h.update(np.ascontiguousarray(a).tobytes())
        h.update(str(a.shape).encode())
    return h.hexdigest()[:16]


@pytest.fixture
def digest():
    return _digest
