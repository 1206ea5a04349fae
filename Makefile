# patentpool — the two commands a new user needs:
#   make demo   set everything up, then run the main job (local chain, deploy, demo pool)
#   make test   set everything up, then run every test (contracts, registry, CLI, Slither)
# Both create .venv and node_modules by themselves; nothing needs installing by hand.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_PY := $(VENV)/.installed
STAMP_NODE := node_modules/.installed

.PHONY: setup demo test lint typecheck compile clean

setup: $(STAMP_PY) $(STAMP_NODE)

$(STAMP_PY): pyproject.toml setup.py indexer/_speedups.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

$(STAMP_NODE): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

demo: setup
	$(BIN)/patentpool demo

test: setup lint typecheck
	$(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

lint: $(STAMP_PY)
	$(BIN)/ruff check registry indexer api patentpool scripts benchmarks tests
	$(BIN)/ruff format --check registry indexer api patentpool scripts benchmarks tests

typecheck: $(STAMP_PY)
	$(BIN)/mypy

compile: setup
	$(BIN)/patentpool compile

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis crytic-export
