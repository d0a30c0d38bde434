# Two entry points for a fresh machine: `make demo` (the main job) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test setup bench

$(BIN)/newsarchive: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

setup: $(BIN)/newsarchive

demo: setup
	$(BIN)/newsarchive demo

test: setup
	$(BIN)/ruff check crawler storage migrations tests bench
	$(BIN)/lint-imports
	$(BIN)/deptry .
	$(BIN)/pytest -n 2 -q

bench: setup
	for script in bench/bench_*.py; do $(BIN)/python -m bench.$$(basename $$script .py) || exit 1; done
