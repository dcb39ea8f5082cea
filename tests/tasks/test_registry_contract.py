"""The contract every registered task keeps (DESIGN.md, batch layout), parametrised over the whole registry."""

import numpy as np
import pytest

from expressivity import tasks
from expressivity.tasks import BOS_ID, PAD_ID

ALL = tasks.names()


def _sample(task, seed, batch_size, length):
    return task.sample(np.random.default_rng(seed), batch_size, length)


def _smallest_length(task):
    return max(task.min_length, 4)


def _long_length(task):
    """400, or the task's own cap where a fixed token pool bounds it (e.g. distinct keys)."""
    return 400 if task.max_length is None else min(400, task.max_length)


@pytest.mark.parametrize("name", ALL)
def test_layout(name):
    task = tasks.make(name)
    length = _smallest_length(task) + 3
    batch = _sample(task, 0, 16, length)
    b, t = batch.inputs.shape
    assert b == 16 and batch.targets.shape == (b, t) and batch.mask.shape == (b, t)
    assert batch.inputs.dtype == np.int64 and batch.targets.dtype == np.int64 and batch.mask.dtype == np.bool_
    assert (batch.inputs[:, 0] == BOS_ID).all() and not batch.mask[:, 0].any()
    assert (batch.inputs >= 0).all() and (batch.inputs < len(task.vocab)).all()
    assert (batch.targets >= 0).all() and (batch.targets < len(task.vocab)).all()
    assert (batch.targets[~batch.mask] == PAD_ID).all(), "unscored targets must be PAD"
    assert batch.mask.any(axis=1).all(), "every example scores at least one position"
    assert (batch.inputs[:, 1:] != BOS_ID).all(), "BOS only at position 0"
    # Right padding: once an example hits PAD it stays PAD, and padded positions are never scored.
    is_pad = batch.inputs == PAD_ID
    assert (np.cumsum(is_pad, axis=1) > 0)[is_pad].all()
    assert (is_pad <= np.maximum.accumulate(is_pad, axis=1)).all()
    assert not (batch.mask & is_pad).any()
    assert not is_pad.all(axis=0).any(), "T is as long as the longest example, no wholly padded columns"


@pytest.mark.parametrize("name", ALL)
def test_same_rng_same_batch(name):
    task = tasks.make(name)
    length = _smallest_length(task) + 5
    a, b = _sample(task, 7, 8, length), _sample(task, 7, 8, length)
    for field in ("inputs", "targets", "mask"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    c = _sample(task, 8, 8, length)
    assert not np.array_equal(a.inputs, c.inputs), "another seed should give other data"


@pytest.mark.parametrize("name", ALL)
def test_vocab_fixed_across_lengths(name):
    task = tasks.make(name)
    vocab = list(task.vocab)
    for length in (_smallest_length(task), _long_length(task)):
        batch = _sample(task, 1, 4, length)
        assert task.vocab == vocab
        assert batch.inputs.max() < len(vocab) and batch.targets.max() < len(vocab)
    assert tasks.make(name).vocab == vocab


@pytest.mark.parametrize("name", ALL)
def test_render_info_and_metadata(name):
    task = tasks.make(name)
    batch = _sample(task, 2, 3, _smallest_length(task))
    for i in range(3):
        text = task.render(batch, i)
        assert isinstance(text, str) and text.strip()
    info = task.info
    assert info["name"] == name and info["family"] and info["level"] and info["length_unit"]
    assert 0.0 < info["chance"] < 1.0
    assert task.__doc__ and "length" in task.__doc__, "docstring shows an example and says what length counts"
    assert set(info["params"]) == set(type(task).param_defaults())


@pytest.mark.parametrize("name", ALL)
def test_rejects_bad_length_and_parameters(name):
    task = tasks.make(name)
    with pytest.raises(ValueError, match="length"):
        task.sample(np.random.default_rng(0), 2, task.min_length - 1)
    with pytest.raises(ValueError, match="no_such_param"):
        tasks.make(name, no_such_param=1)


def test_unknown_task_names_valid_ones():
    with pytest.raises(ValueError, match="valid tasks: .*parity"):
        tasks.make("no_such_task")
