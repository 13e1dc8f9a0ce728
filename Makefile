# hfsnap: `make demo` (offline), `make refresh` (real Hub), `make test`, `make lint`, `make browse [DB=data/demo.db]`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_MODELS ?= 5000
DEMO_LATENCY_MS ?= 20
DB ?= data/hf_catalog.db
PORT ?= 8001

.PHONY: install demo refresh test lint schedule bench health status browse clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,browse,lint]'
	touch $(STAMP)

demo: install
	$(BIN)/python -m etl.demo --models $(DEMO_MODELS) --latency-ms $(DEMO_LATENCY_MS) --db data/demo.db

refresh: install
	HFSNAP_DB_URL=$${HFSNAP_DB_URL:-sqlite:///data/hf_catalog.db} $(BIN)/hfsnap refresh

test: install
	$(BIN)/python -m pytest

# ruff (lint and format) over the tree; mypy strict over etl/ (settings in pyproject.toml)
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy etl

schedule: install
	$(BIN)/hfsnap schedule

health: install
	$(BIN)/hfsnap health

status: install
	$(BIN)/hfsnap status

browse: install  # make browse DB=data/demo.db
	$(BIN)/hfsnap browse --db sqlite:///$(DB) --port $(PORT)

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) data/*.db data/*.db-* data/*.lock .pytest_cache
