# Set-up lives here and only here: `make demo` and `make test` create .venv when needed.
PYTHON ?= python3
VENV ?= .venv
# The CPU wheel by default; e.g. `make TORCH=torch demo` for a CUDA build.
TORCH ?= torch==2.13.0
EXTRAS ?= test,models
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell printf '%s' '$(TORCH)-$(EXTRAS)' | tr -c 'A-Za-z0-9.=_-' '_')
DOCS_STAMP := $(VENV)/.installed-docs
OUT ?= results/demo

.PHONY: env demo demo-quick test lint docs browser clean

env: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	rm -f $(VENV)/.installed-*
	touch $@

demo: $(STAMP)
	$(BIN)/neuroalign demo --out $(OUT)

demo-quick: $(STAMP)
	$(BIN)/neuroalign demo --quick --out $(OUT)

lint: $(STAMP)
	$(BIN)/ruff check neuroalign data_adapters tests experiments benchmarks docs/examples
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest

# Headless Chromium (Debian's package) for the report's browser test; that test is
# skipped where Chromium is absent, so this target only tries and says so.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
		|| echo "chromium not installed: the report's browser test will be skipped"

$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS),docs]"
	touch $@

docs: $(DOCS_STAMP)
	$(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html

clean:
	rm -rf $(VENV) docs/_build docs/auto_examples results
