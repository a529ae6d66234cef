# The two commands a fresh machine needs (see README):
#   make demo   installs llmobs into .venv and runs the demo
#   make test   installs llmobs with its test dependencies into .venv and runs the whole test suite (which
#               builds the docs site strictly: tests/test_docs.py), checks the Grafana dashboard against a
#               real Prometheus, then runs the tests of packages that pin openai 2.x in .venv-openai2
#   make docs   builds the docs site into site/ (mkdocs --strict: any warning, e.g. a broken link, fails)
#   make integrations   checks integrations/ against real Prometheus and Phoenix servers
PYTHON ?= python3
VENV ?= .venv
VENV2 ?= .venv-openai2
BIN := $(VENV)/bin

.PHONY: demo test docs integrations venv lint typecheck bench chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

demo: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[openai,anthropic]'
	$(BIN)/llmobs demo

# The second environment: openai 2.x, for the packages that pin it (see tests/requirements-openai2.txt).
OPENAI2_TESTS := tests/test_llama_index.py tests/test_example_llamaindex.py tests/test_openai.py tests/test_langchain.py tests/test_coexistence.py

test: $(BIN)/python $(VENV2)/bin/python chromium
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m pytest
	$(NOX) -s integration_prometheus
	$(VENV2)/bin/python -m pip install --quiet -e '.[test]' -r tests/requirements-openai2.txt
	$(VENV2)/bin/python -m pytest $(OPENAI2_TESTS)

# The docs site, strict: a broken link or anchor, a page left out of the nav or a semconv name without a
# description in docs/attributes.md fails the build (docs/hooks/reference.py generates the reference pages).
MKDOCS_BUILD := NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict --site-dir site

# Real backends from our registries (integrations/): Debian's Prometheus answers the Grafana dashboard's queries
# (~1 min, part of `make test`); a real Arize Phoenix receives our spans (~3.5 min: installing it is slow, so
# it runs only here).
NOX := $(BIN)/python -m pip install --quiet 'nox>=2024.4' && $(BIN)/python -m nox

integrations: $(BIN)/python
	$(NOX) -s integration_prometheus integration_phoenix

docs: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[docs]'
	$(MKDOCS_BUILD)

# The UI tests drive Debian's Chromium (never a downloaded browser); installed once, as root.
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

$(VENV2)/bin/python:
	$(PYTHON) -m venv $(VENV2)
	$(VENV2)/bin/python -m pip install --quiet --upgrade pip

lint: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/ruff check src tests benchmarks examples

typecheck: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/mypy

bench: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python benchmarks/run.py
