# The two commands a newcomer runs: `make up` and `make test`.
# Each does its own set-up: Debian packages, a virtual environment, the project.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: up demo test lint typecheck deps clean

up: deps
	$(BIN)/leitstand up $(ARGS)

demo: deps
	$(BIN)/leitstand demo $(ARGS)

test: deps
	$(BIN)/pytest $(ARGS)

lint: deps
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: deps
	$(BIN)/mypy app exporters optimizer leitstand

deps: $(STAMP)
	@scripts/install-debian-packages

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
