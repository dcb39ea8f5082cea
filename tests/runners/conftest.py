"""Runner tests train small models in-process: one intra-op thread keeps them fast on a shared 2-core machine (threads
fighting other processes for cores slow tiny models down by orders of magnitude), and bitwise comparisons with worker
processes started at OMP_NUM_THREADS=1 need the same thread count on both sides."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
