"""Pretrained models (eval-lm rows, arch "hf:<name>"): their class is read from the summary of their HF config, EXPECT
does not apply to them (they were not trained on the task), EXPRESS still does."""

import pytest

from expressivity.theory import check
from expressivity.theory.classes import arch_class


def test_the_class_of_a_pretrained_model_comes_from_its_layers():
    cls = arch_class("hf:olmo", {"model_type": "olmo_hybrid", "layers": "GGGA*2", "neg_eigval": True})
    assert cls.label == "hf:olmo GGGAGGGA [-1,1]" and cls.layers[0] == "householder[-1,1]"
    assert arch_class("hf:llama", {"model_type": "llama", "layers": "A*2"}).label == "hf:llama AA"
    with pytest.raises(ValueError, match="mamba layers map onto no layer kind"):
        arch_class("hf:m", {"model_type": "mamba", "layers": None})


def test_check_reads_pretrained_rows():
    rows = [
        {"task": "parity", "arch": "hf:g", "model_params": {"layers": "GG", "neg_eigval": False}, "ood_scaled": 0.95},
        {"task": "parity", "arch": "hf:h", "model_params": {"layers": "GGGA", "neg_eigval": True}, "ood_scaled": 0.0},
        {"task": "parity", "arch": "hf:m", "model_params": {"layers": None, "model_type": "mamba"}, "ood_scaled": 0.5},
    ]
    cells = {c.arch: c for c in check(rows)}
    assert cells["hf:g GG [0,1]"].verdict == "suspect"  # beating a finite-precision EXPRESS = no, pretrained or not
    hybrid = cells["hf:h GGGA [-1,1]"]
    assert hybrid.express.value == "yes" and hybrid.expect.value == "unknown" and hybrid.verdict == "inconclusive"
    assert cells["hf:m"].express.value == "unknown"
