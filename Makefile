# patentpool — the two commands a new user needs:
#   make demo   set everything up, then run the main job (local chain, deploy, demo pool)
#   make test   set everything up, then run every test (contracts, registry, indexer, API, pages
#               in Debian's chromium, CLI, Slither)
# Both create .venv and node_modules by themselves; nothing needs installing by hand.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_PY := $(VENV)/.installed
STAMP_NODE := node_modules/.installed

.PHONY: setup browser demo test fuzz lint typecheck compile clean

setup: $(STAMP_PY) $(STAMP_NODE)

$(STAMP_PY): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

$(STAMP_NODE): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

demo: setup
	$(BIN)/patentpool demo

# The page tests drive Debian's chromium (tests/pages): install it where it is missing and apt-get
# can (as root); otherwise say so, and those tests skip with the reason (under CI they fail).
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium for the page tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
			|| echo "could not install chromium: the page tests will skip"; \
	else \
		echo "no /usr/bin/chromium and no apt-get as root: the page tests will skip (apt-get install chromium)"; \
	fi

# Three workers on two cores: much of a test's time is spent waiting (for a subprocess to start,
# anvil, PostgreSQL, a browser), so two workers leave the cores idle part of the time (2026-12-05:
# 722 s with two; 579 s with three, which kept 1.75 cores busy on average).
test: setup browser lint typecheck
	$(BIN)/python -m pytest -n 3 --dist loadfile $(PYTEST_ARGS)

# The Foundry invariant campaign alone (also part of `make test`; docs/contracts.md, "How the rules
# are fuzzed"). FUZZ_SEED=<seed> replays a failing run's sequence.
fuzz: $(STAMP_NODE)
	FOUNDRY_CONFIG=tests/foundry/foundry.toml node_modules/.bin/forge test $(if $(FUZZ_SEED),--fuzz-seed $(FUZZ_SEED))

lint: $(STAMP_PY)
	$(BIN)/ruff check registry indexer api patentpool scripts benchmarks tests
	$(BIN)/ruff format --check registry indexer api patentpool scripts benchmarks tests

typecheck: $(STAMP_PY)
	$(BIN)/mypy

compile: setup
	$(BIN)/patentpool compile

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis crytic-export out cache
