# Everything a fresh machine needs, from Python 3.11+ and make.
# `make run` sets up, builds what is missing and serves; `make test` runs the whole suite.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000
SOURCE ?= ../shared/data

.PHONY: run test lint typecheck pytest bench reference register database model system-deps clean help

help:
	@echo "make run    - set up, build missing data, train a model if none is promoted, serve on http://$(HOST):$(PORT)"
	@echo "make test   - install with test extras and run lint, type checks and the whole test suite"
	@echo "make bench  - run the benchmarks and print their tables"
	@echo "make reference / make register / make model - rebuild derived data, default register, model"

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required, found " + sys.version.split()[0]'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

data/reference/bodies.csv:
	$(MAKE) reference

reference: $(STAMP)
	$(BIN)/recommender data build-reference --source $(SOURCE)

register: $(STAMP)
	$(BIN)/recommender register build-default

# The local database's schema: created when empty, upgraded when this checkout needs a newer one
# (the service and the other commands never upgrade a schema by themselves).
database: $(STAMP)
	$(BIN)/recommender db upgrade

model: $(STAMP) data/reference/bodies.csv database
	$(BIN)/recommender models ensure

run: model
	$(BIN)/recommender serve --host $(HOST) --port $(PORT)

system-deps:
	@sh .ci/system-deps.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) system-deps
	$(BIN)/python -m pytest -n 2 --dist loadgroup

test: lint typecheck pytest

bench: $(STAMP) system-deps data/reference/bodies.csv
	$(BIN)/python -m recommender.bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
