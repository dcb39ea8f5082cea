"""benchmarks/fused_probe.py's `--inductor KEY=VALUE`: the option reaches torch._inductor.config; a name inductor does
not have is refused in one line, before anything compiles."""

import pytest
from torch._inductor import config


def test_an_inductor_option_is_set_as_a_python_literal(load_benchmark, monkeypatch):
    monkeypatch.setattr(config, "max_pointwise_cat_inputs", config.max_pointwise_cat_inputs)  # restored afterwards
    load_benchmark("fused_probe")._set_inductor(["max_pointwise_cat_inputs=1"])
    assert config.max_pointwise_cat_inputs == 1


def test_an_unknown_inductor_option_is_refused_in_one_line(load_benchmark):
    message = r"^--inductor no_such_option=1: torch._inductor.config has no 'no_such_option'$"
    with pytest.raises(SystemExit, match=message):
        load_benchmark("fused_probe")._set_inductor(["no_such_option=1"])
