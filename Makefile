# The two commands a fresh machine needs (see README):
#   make demo   installs llmobs into .venv (at the lock's versions) and runs the demo
#   make test   installs the locked test environments and runs the whole test suite (which builds the docs
#               site strictly: tests/test_docs.py), checks the Grafana dashboard against a real Prometheus,
#               then runs the tests of packages that pin openai 2.x in .venv-openai2
# And:
#   make lock          refreshes the lock files in locks/ after a dependency changed (keeps every other pin);
#   make lock UPGRADE=1  moves every pin to the newest release (then run make test)
#   make test-newest   the whole suite on the newest releases of everything, unpinned (nox -s newest newest_openai2)
#   make docs   builds the docs site into site/ (mkdocs --strict: any warning, e.g. a broken link, fails)
#   make integrations   checks integrations/ against real Prometheus and Phoenix servers
PYTHON ?= python3
VENV ?= .venv
VENV2 ?= .venv-openai2
BIN := $(VENV)/bin

# Every test dependency, transitive ones included, comes from a lock with exact versions and hashes: the main
# environment (the test and dev extras) and the openai 2.x one. uv makes and installs them; uv itself is
# installed by pip from its own hash-checked lock into .venv-uv.
LOCK := locks/main.txt
LOCK2 := locks/openai2.txt
UV_VENV := .venv-uv
UV := $(UV_VENV)/bin/uv
export UV_NO_PROGRESS := 1
UV_COMPILE = $(UV) pip compile --quiet --universal --python-version 3.10 --generate-hashes \
	--custom-compile-command 'make lock' $(if $(UPGRADE),--upgrade)

# The second environment: openai 2.x, for the packages that pin it (tests/requirements-openai2.txt).
OPENAI2_TESTS := $(shell grep -v '^\#' tests/openai2-suite.txt)

.PHONY: demo test test-newest lock venv venv-openai2 docs integrations lint typecheck bench chromium

$(UV): locks/uv.txt
	$(PYTHON) -m venv $(UV_VENV)
	$(UV_VENV)/bin/python -m pip install --quiet --require-hashes --no-deps -r locks/uv.txt
	@touch $@

# A locked environment holds exactly its lock's packages (uv pip sync removes any other), then llmobs itself,
# editable, built by the lock's hatchling; what it holds is printed (the CI log shows the versions tested).
define sync
	@test -x $(1)/bin/python || $(PYTHON) -m venv $(1)
	$(UV) pip sync --quiet --python $(1)/bin/python --require-hashes $(2)
	$(UV) pip install --quiet --python $(1)/bin/python --no-deps --no-build-isolation -e .
	@echo "--- $(1): installed from $(2)"; $(UV) pip freeze --python $(1)/bin/python
endef

venv: $(UV)
	$(call sync,$(VENV),$(LOCK))

venv-openai2: $(UV)
	$(call sync,$(VENV2),$(LOCK2))

# The demo needs only openai and anthropic: those are installed at the lock's versions, nothing else is removed.
demo: $(UV)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(UV) pip install --quiet --python $(BIN)/python --constraint $(LOCK) --build-constraint $(LOCK) \
		-e '.[openai,anthropic]'
	$(BIN)/llmobs demo

test: chromium venv venv-openai2
	$(BIN)/python -m pytest
	$(NOX) -s integration_prometheus
	$(VENV2)/bin/python -m pytest $(OPENAI2_TESTS)

# Upstream breakage found on purpose: every dependency at its newest release, the same suites as `make test`.
test-newest: chromium venv
	$(NOX) -s newest newest_openai2

lock: $(UV)
	$(UV_COMPILE) locks/uv.in -o locks/uv.txt
	$(UV_COMPILE) pyproject.toml locks/build.in --extra dev -o $(LOCK)
	$(UV_COMPILE) pyproject.toml tests/requirements-openai2.txt locks/build.in --extra test -o $(LOCK2)

# The docs site, strict: a broken link or anchor, a page left out of the nav or a semconv name without a
# description in docs/attributes.md fails the build (docs/hooks/reference.py generates the reference pages).
MKDOCS_BUILD := NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict --site-dir site

# nox (from the main lock) with uv on PATH: its sessions make their environments with uv.
NOX = PATH="$(abspath $(UV_VENV))/bin:$$PATH" $(BIN)/python -m nox

# Real backends from our registries (integrations/): Debian's Prometheus answers the Grafana dashboard's queries
# (~1 min, part of `make test`); a real Arize Phoenix receives our spans (~3.5 min: installing it is slow, so
# it runs only here).
integrations: venv
	$(NOX) -s integration_prometheus integration_phoenix

docs: venv
	$(MKDOCS_BUILD)

# The UI tests drive Debian's Chromium (never a downloaded browser); installed once, as root.
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

lint: venv
	$(BIN)/ruff check src tests benchmarks examples noxfile.py

typecheck: venv
	$(BIN)/mypy

bench: venv
	$(BIN)/python benchmarks/run.py
