"""Worker slots' environment: GPU slots get their share of the cores as batch-making processes, unless the caller set
EXPRESSIVITY_DATA_PROCESSES; CPU slots get none (their runs make batches in threads)."""

from __future__ import annotations

import pytest
import torch

from expressivity.runners.execution import workers
from expressivity.runners.execution.workers import data_processes_per_slot, local_slots


@pytest.mark.parametrize(("cores", "slots", "expected"), [(16, 16, 2), (16, 4, 4), (16, 1, 8), (2, 1, 2), (128, 3, 8)])
def test_data_processes_share_the_cores_between_2_and_8(cores, slots, expected):
    assert data_processes_per_slot(cores, slots) == expected


@pytest.fixture
def one_gpu_16_cores(monkeypatch):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(workers.os, "sched_getaffinity", lambda pid: set(range(16)), raising=False)


def test_gpu_slots_carry_their_share(one_gpu_16_cores, monkeypatch):
    monkeypatch.delenv("EXPRESSIVITY_DATA_PROCESSES", raising=False)
    slots = local_slots(per_gpu=4)
    assert len(slots) == 4 and {s["EXPRESSIVITY_DATA_PROCESSES"] for s in slots} == {"4"}
    assert {s["EXPRESSIVITY_DATA_PROCESSES"] for s in local_slots(per_gpu=16)} == {"2"}


def test_the_callers_setting_stands(one_gpu_16_cores, monkeypatch):
    monkeypatch.setenv("EXPRESSIVITY_DATA_PROCESSES", "3")
    assert all("EXPRESSIVITY_DATA_PROCESSES" not in s for s in local_slots(per_gpu=4))  # inherited from the caller


def test_cpu_slots_carry_none(monkeypatch):
    monkeypatch.delenv("EXPRESSIVITY_DATA_PROCESSES", raising=False)
    assert all("EXPRESSIVITY_DATA_PROCESSES" not in s for s in local_slots(cpu_workers=2, use_gpus=False))
