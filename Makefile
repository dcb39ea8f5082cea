PY ?= python3
PIP = $(PY) -m pip install -q --disable-pip-version-check

.PHONY: setup demo test lint bench

setup:
	$(PIP) -r requirements-cpu.txt
	$(PIP) -e ".[dev,ray]"

demo: setup
	$(PY) -m expressivity.runners.demo

test: setup
	$(PY) -m ruff check expressivity tests benchmarks
	$(PY) -m pytest -x -p no:cacheprovider

lint:
	$(PY) -m ruff check expressivity tests benchmarks
	$(PY) -m ruff format --check expressivity tests benchmarks

bench:
	$(PY) benchmarks/generators.py
