PY ?= python3
PIP = $(PY) -m pip install -q --disable-pip-version-check

.PHONY: setup setup-dev demo test lint bench

# What the demo needs: the package and CPU torch (pinned; an unpinned torch would pull a multi-GB CUDA build).
setup:
	$(PIP) -r requirements-cpu.txt
	$(PIP) -e .

# What the tests need besides: pytest, hypothesis, ruff, matplotlib, and the optional paths they test (Ray; transformers
# and lm-eval, the `hf` extra). The torch pin stays on the line: lm-eval's dependencies would otherwise pull CUDA torch.
setup-dev: setup
	$(PIP) -r requirements-cpu.txt -e ".[dev,ray,hf]"

CLI = $(PY) -m expressivity.runners.cli

# The main job on its embedded default, on CPU in about 6 minutes: a program of the headline task, the exact
# constructions (executable proofs), then the reduced CPU grid of the Grazzi et al. table (`reproduce
# negative-eigenvalues --quick`: running parity, transformer vs GDN [0,1] vs GDN [-1,1], 2 seeds) printed beside the
# published numbers, and those runs held against theory by the checker. The runs go to the default store,
# runs/results.sqlite, so `expressivity status`, `check` and `table` show them afterwards; rerunning resumes.

# The demo's constructions: all but the dict-layout variants of the recall ones (the same stacks; the tests run them
# at 2000), which would add about 3 minutes to the demo's 6.
DEMO_CONSTRUCTIONS = parity swap_s5 word_problem_a5 word_problem_s5 word_problem_a4xz5 reverse_string indexed_recall state_based_recall

demo: setup
	@echo "== the headline task: state-based recall (track pointers, then read bits[pointer])"
	$(CLI) sample state_based_recall --length 4 -n 1
	@echo "== constructions: hand-set weights, exact at every length"
	$(CLI) construct $(DEMO_CONSTRUCTIONS) --max-length 2000
	@echo "== training: the negative-eigenvalues table, reduced for a CPU"
	$(CLI) reproduce negative-eigenvalues --quick
	@echo "== theory check of those runs"
	$(CLI) check --strict --grid negative-eigenvalues-quick

test: setup-dev
	$(PY) -m ruff check expressivity tests benchmarks
	$(PY) -m pytest -x -p no:cacheprovider

lint:
	$(PY) -m ruff check expressivity tests benchmarks
	$(PY) -m ruff format --check expressivity tests benchmarks

bench:
	$(PY) benchmarks/generators.py
