PY ?= python3
PIP = $(PY) -m pip install -q --disable-pip-version-check

.PHONY: setup demo test lint bench

setup:
	$(PIP) -r requirements-cpu.txt
	$(PIP) -e ".[dev,ray]"

CLI = $(PY) -m expressivity.runners.cli
DEMO_STORE = runs/demo.sqlite

# The main job on its embedded default, on CPU in about 5 minutes: a program of the headline task, the exact
# constructions (executable proofs), then a real training grid (GDN and DeltaNet with beta in [0,1] vs [0,2] on
# running parity) held against theory by the checker. Rerunning resumes from $(DEMO_STORE).
demo: setup
	@echo "== the headline task: state-based recall (track pointers, then read bits[pointer])"
	$(CLI) sample state_based_recall --length 4 -n 1
	@echo "== constructions: hand-set weights, exact at every length"
	$(CLI) construct --max-length 2000
	@echo "== training: parity, eigenvalues in [0,1] vs [-1,1] (grids/parity_eigenvalues.toml)"
	$(CLI) grid grids/parity_eigenvalues.toml --cpu-workers 2 --store $(DEMO_STORE)
	@echo "== theory check of those runs"
	$(CLI) check --strict --store $(DEMO_STORE)

test: setup
	$(PY) -m ruff check expressivity tests benchmarks
	$(PY) -m pytest -x -p no:cacheprovider

lint:
	$(PY) -m ruff check expressivity tests benchmarks
	$(PY) -m ruff format --check expressivity tests benchmarks

bench:
	$(PY) benchmarks/generators.py
