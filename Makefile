# Two commands a newcomer needs: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean dashboard wheel-smoke lowest-versions

# The exact versions the dashboard and its browser test were checked with (pyproject.toml
# declares ranges; a user's pip install gets the newest within them).
CONSTRAINTS := constraints/tested.txt
PIP_INSTALL := $(BIN)/python -m pip install --quiet -c $(CONSTRAINTS)

$(BIN)/activate:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-core: $(BIN)/activate pyproject.toml $(CONSTRAINTS)
	$(PIP_INSTALL) -e .
	touch $@

# Installing numba (the dev and fast extras) also compiles the kernels into numba's cache,
# so that the first large run does not spend ≈ 4.5 s compiling them.
COMPILE_KERNELS := $(BIN)/python -m simulation.compile_kernels

$(VENV)/.installed-dev: $(BIN)/activate pyproject.toml $(CONSTRAINTS)
	$(PIP_INSTALL) -e ".[dev]"
	$(COMPILE_KERNELS)
	touch $@ $(VENV)/.installed-core $(VENV)/.installed-dashboard $(VENV)/.installed-fast

# The compiled kernels (numba) that large runs use: what the benchmark measures.
$(VENV)/.installed-fast: $(BIN)/activate pyproject.toml $(CONSTRAINTS)
	$(PIP_INSTALL) -e ".[fast]"
	$(COMPILE_KERNELS)
	touch $@ $(VENV)/.installed-core

$(VENV)/.installed-dashboard: $(BIN)/activate pyproject.toml $(CONSTRAINTS)
	$(PIP_INSTALL) -e ".[dashboard]"
	touch $@ $(VENV)/.installed-core

# The teaching dashboard at http://127.0.0.1:8765/ (docs/DASHBOARD.md, docs/TEACHING.md).
dashboard: $(VENV)/.installed-dashboard
	$(BIN)/snowball dashboard

demo: $(VENV)/.installed-core
	$(BIN)/snowball run --out results/runs/demo

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q

bench: $(VENV)/.installed-fast
	$(BIN)/python -m benchmarks

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The built wheel, installed in a fresh venv, run from an empty folder (CI runs it).
wheel-smoke:
	bash ci/wheel_smoke.sh

# The lowest versions pyproject.toml allows, installed and tested (by hand; docs/INSTALL.md).
lowest-versions:
	bash ci/lowest_versions.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build dist
